/**
 * Preemption-proof training: the checkpoint folder of a train step that failed or was cancelled
 * (a preempted runner, a timeout, a lost GPU) goes to the Actions cache, keyed by the commit and
 * the configuration's hash; the retried run of the same commit and configuration restores it and
 * resumes. Each save gets its own key (cache entries are immutable); a restore takes the newest
 * entry of the commit and configuration by prefix.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import * as cache from '@actions/cache';

/** The key prefix shared by every checkpoint of `sha` and `configHash`. */
export function checkpointKeyPrefix(sha: string, configHash: string): string {
  return `cdl-train-checkpoint-${sha}-${configHash.replace(/^sha256:/, '').slice(0, 16)}-`;
}

/** Restore the newest checkpoint of this commit and configuration into `dir`; the key, or undefined. */
export async function restoreCheckpoint(dir: string, prefix: string): Promise<string | undefined> {
  return cache.restoreCache([dir], `${prefix}restore`, [prefix]);
}

/** Save `dir` under a key of its own; false when there is nothing to save. */
export async function saveCheckpoint(dir: string, prefix: string, attempt: string): Promise<string | false> {
  if (!existsSync(dir) || (await readdir(dir)).length === 0) return false;
  const key = `${prefix}${attempt}-${Date.now()}`;
  await cache.saveCache([dir], key);
  return key;
}
