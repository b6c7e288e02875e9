import { stat } from 'node:fs/promises';
import path from 'node:path';
import { DefaultArtifactClient } from '@actions/artifact';
import * as core from '@actions/core';
import * as glob from '@actions/glob';

function commonDir(dirs) {
  const split = dirs.map((d) => path.resolve(d).split(path.sep));
  const first = split[0];
  let n = first.length;
  for (const parts of split) {
    let i = 0;
    while (i < n && i < parts.length && parts[i] === first[i]) i++;
    n = i;
  }
  return first.slice(0, n).join(path.sep) || path.sep;
}

async function main() {
  const name = core.getInput('name') || 'artifact';
  const ifNoFiles = core.getInput('if-no-files-found') || 'warn';
  const hidden = core.getBooleanInput('include-hidden-files');
  const globber = await glob.create(core.getInput('path', { required: true }), {
    matchDirectories: false,
    excludeHiddenFiles: !hidden,
  });
  const files = [];
  for (const f of await globber.glob()) if ((await stat(f)).isFile()) files.push(f);
  if (files.length === 0) {
    const message = `No files were found with the provided path: ${core.getInput('path')}. No artifacts will be uploaded.`;
    if (ifNoFiles === 'error') throw new Error(message);
    if (ifNoFiles === 'warn') core.warning(message);
    else core.info(message);
    return;
  }
  const searchDirs = [];
  for (const p of globber.getSearchPaths()) {
    const s = await stat(p).catch(() => undefined);
    searchDirs.push(s && s.isFile() ? path.dirname(p) : p);
  }
  const root = commonDir(searchDirs);
  const client = new DefaultArtifactClient();
  if (core.getBooleanInput('overwrite')) {
    await client.deleteArtifact(name).catch(() => undefined);
  }
  const options = { compressionLevel: Number(core.getInput('compression-level') || 6) };
  const days = Number(core.getInput('retention-days') || 0);
  if (days > 0) options.retentionDays = days;
  core.info(`With the provided path, there will be ${files.length} file(s) uploaded (root ${root})`);
  const res = await client.uploadArtifact(name, files, root, options);
  core.setOutput('artifact-id', String(res.id));
  core.setOutput('artifact-digest', res.digest ?? '');
  core.setOutput(
    'artifact-url',
    `${process.env.GITHUB_SERVER_URL}/${process.env.GITHUB_REPOSITORY}/actions/runs/${process.env.GITHUB_RUN_ID}/artifacts/${res.id}`,
  );
  core.info(`Artifact ${name} has been uploaded: id ${res.id}, ${res.size} bytes`);
}

main().catch((error) => core.setFailed(error.message));
