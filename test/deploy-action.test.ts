/**
 * actions/deploy as GitHub runs it: the committed bundle started with node, inputs in INPUT_*,
 * the release of a `release: published` event, outputs in GITHUB_OUTPUT; local forge.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalForge } from '../src/forge/local.js';
import { Registry } from '../src/registry/registry.js';
import { REPO, removeTempDirs, tempDir } from './helpers/example.js';
import { candidate, project } from './helpers/registry-models.js';

afterAll(() => removeTempDirs());

function runAction(cwd: string, inputs: Record<string, string>, env: Record<string, string>) {
  const output = path.join(cwd, `out-${Math.random().toString(36).slice(2)}`);
  writeFileSync(output, '');
  const r = spawnSync(process.execPath, [path.join(REPO, 'actions', 'deploy', 'dist', 'index.js')], {
    cwd,
    encoding: 'utf8',
    timeout: 300_000,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      CDL_FORGE: 'local',
      GITHUB_OUTPUT: output,
      ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
      ...env,
    },
  });
  const outputs: Record<string, string> = {};
  const lines = readFileSync(output, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<]+)<<(.+)$/.exec(lines[i]!);
    if (!m) continue;
    const v: string[] = [];
    for (i++; i < lines.length && lines[i] !== m[2]; i++) v.push(lines[i]!);
    outputs[m[1]!] = v.join('\n');
  }
  return { code: r.status, stdout: r.stdout, outputs };
}

describe('actions/deploy bundle', () => {
  it('deploys the release of a release: published event and refuses a tampered one', async () => {
    const proj = project();
    writeFileSync(
      path.join(proj.dir, 'cdl.yaml'),
      'model: { name: lin, task: regression, layers: [{ type: dense, units: 1 }] }\ndata: { format: csv, path: ., label_column: y }\ndeploy: { target: release }\n',
    );
    const commit = proj.commit('train');
    const registry = new Registry({ forge: new LocalForge({ root: proj.dir }), model: 'lin' });
    await registry.promote(candidate(path.join(tempDir('cdl-act-'), 'm'), { bias: 1, commit }), { version: '1.0.0' });
    await registry.promote(candidate(path.join(tempDir('cdl-act-'), 'm'), { bias: 2, commit }), { version: '1.1.0' });
    const event = path.join(proj.dir, 'event.json');
    writeFileSync(event, JSON.stringify({ action: 'published', release: { tag_name: 'lin@v1.0.0' } }));
    const ok = runAction(proj.dir, { config: 'cdl.yaml', token: '' }, { GITHUB_EVENT_PATH: event, GITHUB_EVENT_NAME: 'release' });
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.outputs).toMatchObject({
      tag: 'lin@v1.0.0',
      version: '1.0.0',
      state: 'success',
      outcome: 'attached',
      source: 'release',
    });
    writeFileSync(path.join(proj.dir, '.cdl', 'releases', 'lin@v1.1.0', 'lineage.json'), '{}');
    const bad = runAction(proj.dir, { config: 'cdl.yaml', version: '1.1.0', token: '' }, {});
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/::error::release lin@v1\.1\.0 fails verification: lineage\.json: .*does not match/);
  });
});
