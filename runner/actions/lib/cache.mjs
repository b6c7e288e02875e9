// Shared by the built-in cache actions: restore in main, save in post (as actions/cache does).
import * as cache from '@actions/cache';
import * as core from '@actions/core';

const bool = (name) => (core.getInput(name) || 'false').toLowerCase() === 'true';

export async function restore({ saveState }) {
  const key = core.getInput('key', { required: true });
  const paths = core.getMultilineInput('path', { required: true });
  const restoreKeys = core.getMultilineInput('restore-keys');
  const crossOs = bool('enableCrossOsArchive');
  const lookupOnly = bool('lookup-only');
  if (saveState) core.saveState('CACHE_KEY', key);
  const matched = await cache.restoreCache(paths, key, restoreKeys, { lookupOnly }, crossOs);
  core.setOutput('cache-primary-key', key);
  if (!matched) {
    if (bool('fail-on-cache-miss'))
      throw new Error(`Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: ${key}`);
    core.info(`Cache not found for input keys: ${[key, ...restoreKeys].join(', ')}`);
    core.setOutput('cache-hit', 'false');
    return;
  }
  if (saveState) core.saveState('CACHE_RESULT', matched);
  const exact = matched === key;
  core.setOutput('cache-hit', String(exact));
  core.setOutput('cache-matched-key', matched);
  core.info(`Cache ${lookupOnly ? 'found' : 'restored'} from key: ${matched}`);
}

export async function save({ fromState }) {
  const key = fromState ? core.getState('CACHE_KEY') : core.getInput('key', { required: true });
  const paths = core.getMultilineInput('path', { required: true });
  if (!key) {
    core.warning('Key is not specified.');
    return;
  }
  if (fromState && core.getState('CACHE_RESULT') === key) {
    core.info(`Cache hit occurred on the primary key ${key}, not saving cache.`);
    return;
  }
  const id = await cache.saveCache(paths, key, {}, bool('enableCrossOsArchive'));
  if (id !== -1) core.info(`Cache saved with key: ${key}`);
}

export function run(fn) {
  fn().catch((error) => core.setFailed(error.message));
}
