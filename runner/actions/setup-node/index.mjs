import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';

try {
  let wanted = core.getInput('node-version');
  const file = core.getInput('node-version-file');
  if (!wanted && file) wanted = readFileSync(path.resolve(process.env.GITHUB_WORKSPACE ?? '.', file), 'utf8').trim();
  const have = process.version.replace(/^v/, '');
  const major = (v) => /^v?(\d+)/.exec(String(v))?.[1];
  if (wanted && major(wanted) && !['lts/*', 'latest', 'current', 'node'].includes(wanted) && major(wanted) !== major(have)) {
    core.warning(`node-version ${wanted} was asked for; offline, cdl run uses the Node.js it runs on (${have})`);
  }
  core.addPath(path.dirname(process.execPath));
  core.setOutput('node-version', `v${have}`);
  core.setOutput('cache-hit', 'false');
  core.info(`Using Node.js ${have} from ${process.execPath}`);
} catch (error) {
  core.setFailed(error.message);
}
