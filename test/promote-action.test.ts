/**
 * actions/promote from its sources (its bundle is built with the others by scripts/build-actions.mjs),
 * inputs in INPUT_* variables as GitHub passes them, the local forge: a gated model directory is
 * released as the version; bad inputs fail the step naming the input and the expected form.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { LocalForge } from '../src/forge/local.js';
import { trainExample } from './evaluate-models.js';
import { copyExample, git, QUICK, REPO, removeTempDirs, tempDir } from './helpers/example.js';

afterAll(() => removeTempDirs());

const TSX = path.join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs');

function action(cwd: string, inputs: Record<string, string>) {
  const output = path.join(cwd, 'github-output');
  writeFileSync(output, '');
  const env: Record<string, string | undefined> = { ...process.env, CDL_FORGE: 'local', GITHUB_OUTPUT: output };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  const r = spawnSync(process.execPath, [TSX, path.join(REPO, 'actions', 'promote', 'src', 'index.ts')], {
    cwd,
    env,
    encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout + r.stderr, outputs: readFileSync(output, 'utf8') };
}

describe('actions/promote', () => {
  it('mode promote releases a blessed model directory as the version', async () => {
    const dir = tempDir('cdl-promote-');
    const config = copyExample(dir);
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'add', '.');
    git(dir, 'commit', '-q', '-m', 'example');
    const model = await trainExample(path.join(dir, '.cdl', 'models', 'fashion-mnist'), QUICK, config);
    const loaded = await loadConfig(config, [...QUICK, 'gate.benchmark.latency_runs=0', 'gate.metrics.accuracy.min=0.1']);
    const { runGate } = await import('../src/evaluate/pipeline.js');
    const gated = await runGate({
      loaded,
      candidate: model,
      baseline: 'none',
      forge: new LocalForge({ root: dir }),
      publish: false,
      reportDir: path.join(dir, 'report'),
    });
    expect(gated.blessing.decision).toBe('blessed');
    const r = action(dir, { mode: 'promote', model, version: '1.0.0', config: 'cdl.yaml', token: '' });
    expect(r.code, r.out).toBe(0);
    expect(r.outputs).toMatch(/^tag<<.*\nfashion-mnist@v1\.0\.0\n/m);
    expect(r.outputs).toMatch(/^status<<.*\nreleased\n/m);
  });

  it('bad inputs fail the step, naming the input', () => {
    const dir = tempDir('cdl-promote-bad-');
    copyExample(dir);
    const mode = action(dir, { mode: 'publish', config: 'cdl.yaml', token: '' });
    expect(mode.code).toBe(1);
    expect(mode.out).toContain('input mode: expected blessed or promote, got "publish"');
    const noVersion = action(dir, { mode: 'promote', model: 'x', config: 'cdl.yaml', token: '' });
    expect(noVersion.code).toBe(1);
    expect(noVersion.out).toContain('input version: the version to release (X.Y.Z) is required');
    const variant = action(dir, {
      mode: 'promote',
      model: 'x',
      version: '1.0.0',
      variants: 'full',
      config: 'cdl.yaml',
      token: '',
    });
    expect(variant.out).toContain('input variants: expected NAME=DIR, one per line, got "full"');
  });
});
