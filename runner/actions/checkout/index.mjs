import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';

const git = (cwd, args) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

try {
  const workspace = process.env.GITHUB_WORKSPACE ?? process.cwd();
  const repository = core.getInput('repository');
  if (repository && repository.toLowerCase() !== String(process.env.GITHUB_REPOSITORY).toLowerCase()) {
    throw new Error(`offline, cdl run can only check out this repository (${process.env.GITHUB_REPOSITORY}), not ${repository}`);
  }
  const ref = core.getInput('ref') || process.env.GITHUB_SHA;
  const sub = core.getInput('path');
  if (!sub || path.resolve(workspace, sub) === path.resolve(workspace)) {
    core.info(`Using the working tree at ${workspace} as it is (commit ${process.env.GITHUB_SHA})`);
    core.setOutput('ref', process.env.GITHUB_REF ?? '');
    core.setOutput('commit', process.env.GITHUB_SHA ?? '');
  } else {
    const dest = path.resolve(workspace, sub);
    if (!existsSync(dest)) git(workspace, ['clone', '--quiet', '--shared', '--no-checkout', workspace, dest]);
    git(dest, ['checkout', '--quiet', '--force', ref]);
    const commit = git(dest, ['rev-parse', 'HEAD']);
    core.info(`Checked out ${ref} (${commit}) into ${dest}`);
    core.setOutput('ref', ref);
    core.setOutput('commit', commit);
  }
} catch (error) {
  core.setFailed(error.message);
}
