import path from 'node:path';
import { DefaultArtifactClient } from '@actions/artifact';
import * as core from '@actions/core';

function globToRegExp(pattern) {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`);
}

async function main() {
  const name = core.getInput('name');
  const ids = core
    .getInput('artifact-ids')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const pattern = core.getInput('pattern');
  const merge = core.getBooleanInput('merge-multiple');
  const dest = path.resolve(process.env.GITHUB_WORKSPACE ?? '.', core.getInput('path') || '.');
  const token = core.getInput('github-token');
  const runId = core.getInput('run-id') || process.env.GITHUB_RUN_ID;
  const [owner, repo] = (core.getInput('repository') || process.env.GITHUB_REPOSITORY || '/').split('/');
  const client = new DefaultArtifactClient();
  const other = token && runId && runId !== process.env.GITHUB_RUN_ID;
  const findBy = other ? { findBy: { token, workflowRunId: Number(runId), repositoryOwner: owner, repositoryName: repo } } : {};
  if (other) core.info(`Downloading from run ${runId} of ${owner}/${repo}`);

  let artifacts;
  if (name) {
    const { artifact } = await client.getArtifact(name, findBy);
    artifacts = [artifact];
  } else {
    artifacts = (await client.listArtifacts({ latest: true, ...findBy })).artifacts;
    if (ids.length) artifacts = artifacts.filter((a) => ids.includes(a.id));
    if (pattern) artifacts = artifacts.filter((a) => globToRegExp(pattern).test(a.name));
  }
  const single = Boolean(name) || (ids.length === 1 && artifacts.length === 1);
  for (const a of artifacts) {
    const target = single || merge ? dest : path.join(dest, a.name);
    const r = await client.downloadArtifact(a.id, { path: target, ...findBy });
    core.info(`Artifact ${a.name} (${a.size} bytes) downloaded to ${r.downloadPath ?? target}`);
  }
  if (!name && artifacts.length === 0) core.info('No artifacts to download');
  core.setOutput('download-path', dest);
}

main().catch((error) => core.setFailed(error.message));
