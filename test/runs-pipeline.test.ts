/**
 * Done when: under `cdl run`, a pipeline's push, tuning trials, release and pull request each leave
 * a record on the cdl-runs branch of the repository (written beside the user's checkout, never into
 * it); `cdl runs list` shows them and `cdl runs compare` of the pull request's run against the
 * release's shows the configuration diff and the metric deltas.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunRecord } from '../src/model-dir/run-record.js';
import { runWorkflow } from '../runner/engine/workflow-run.js';
import { CDL_BIN, copyExample, git, REPO, removeTempDirs, runCli, tempDir } from './helpers/example.js';

const saved = { PATH: process.env.PATH, CDL_RUNS: process.env.CDL_RUNS };
let dir: string;

beforeAll(() => {
  dir = tempDir('cdl-runs-pipeline-');
  copyExample(dir);
  mkdirSync(path.join(dir, '.github', 'workflows'), { recursive: true });
  writeFileSync(
    path.join(dir, '.github', 'workflows', 'pipeline.yml'),
    readFileSync(path.join(REPO, 'test', 'fixtures', 'workflows', 'runs', 'pipeline.yml')),
  );
  writeFileSync(path.join(dir, '.gitignore'), '.cdl/\n');
  const bin = tempDir('cdl-runs-bin-');
  writeFileSync(path.join(bin, 'cdl'), `#!/bin/sh\nexec "${process.execPath}" "${CDL_BIN}" "$@"\n`);
  chmodSync(path.join(bin, 'cdl'), 0o755);
  process.env.PATH = `${bin}${path.delimiter}${process.env.PATH ?? ''}`;
  process.env.CDL_RUNS = 'on';
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'example');
});

afterAll(() => {
  process.env.PATH = saved.PATH;
  if (saved.CDL_RUNS === undefined) delete process.env.CDL_RUNS;
  else process.env.CDL_RUNS = saved.CDL_RUNS;
  removeTempDirs();
});

async function run(event: string): Promise<void> {
  let log = '';
  const r = await runWorkflow({
    workflow: '.github/workflows/pipeline.yml',
    repoRoot: dir,
    event,
    stateDir: path.join(dir, '.cdl'),
    write: (s) => (log += s),
  });
  expect(r.exitCode, log.slice(-4000)).toBe(0);
  expect(log).toMatch(/run recorded: cdl-runs:runs\/\d{4}\/\d{2}\/\S+\.json/);
}

it('push, tuning trials, release and pull request each leave a record; list and compare show them', async () => {
  await run('push');
  await run('workflow_dispatch');
  git(dir, 'checkout', '-q', '-b', 'wider');
  writeFileSync(path.join(dir, 'cdl.yaml'), readFileSync(path.join(dir, 'cdl.yaml'), 'utf8').replace('units: 256', 'units: 320'));
  git(dir, 'commit', '-q', '-am', 'Wider first layer');
  await run('pull_request');

  // The user's checkout is as it was: same branch, nothing staged or changed.
  expect(git(dir, 'branch', '--show-current')).toBe('wider');
  expect(git(dir, 'status', '--porcelain')).toBe('');

  const list = await runCli(['runs', 'list', '--json'], { cwd: dir });
  expect(list.code, list.stderr).toBe(0);
  const runs = JSON.parse(list.stdout) as RunRecord[];
  expect(runs.map((r) => r.kind).sort()).toEqual(['pull_request', 'push', 'release', 'tune_trial', 'tune_trial']);
  const byKind = (k: string) => runs.find((r) => r.kind === k)!;
  expect(byKind('push').lineage).toMatchObject({
    branch: 'main',
    pull_request: null,
    commit: expect.stringMatching(/^[0-9a-f]{40}$/),
  });
  expect(byKind('push').history.length).toBe(2);
  expect(byKind('pull_request').lineage).toMatchObject({ branch: 'wider', pull_request: 1 });
  expect(byKind('release').output.release_tag).toBe('fashion-mnist@v1.0.0');
  expect(byKind('release').output.model_sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(byKind('push').output.model_sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(byKind('release').config.resolved).toMatchObject({ model: { name: 'fashion-mnist' } });
  expect(byKind('release').gate?.decision).toMatch(/^(blessed|rejected)/);
  // The release job's cdl gate judged the push's model: its decision is joined to the push run.
  expect(byKind('push').gate?.decision).toBe(byKind('release').gate?.decision.replace(/ \(forced\)$/, ''));
  expect(byKind('tune_trial').model).toBe('fashion-mnist-tuned');
  expect(byKind('tune_trial').tune).toMatchObject({ trial: expect.any(Number), status: 'completed' });

  const table = await runCli(['runs', 'list'], { cwd: dir });
  expect(table.stdout).toMatch(/pull_request\s+fashion-mnist\s+wider\s+#1/);

  const cmp = await runCli(['runs', 'compare', 'release', 'pr:1'], { cwd: dir });
  expect(cmp.code, cmp.stderr).toBe(0);
  expect(cmp.stdout).toMatch(/configuration differences:\n(.*\n)*\s+config\.model\.layers\s+.*"units":256.*"units":320/);
  expect(cmp.stdout).toMatch(/metrics \(delta = B − A\):\n(.*\n)*\s+test\s+accuracy\s+0\.\d{4}\s+0\.\d{4}\s+[+-]\d\.\d{4}/);
});

it('a local cdl train records a local run; CDL_RUNS=off records nothing', async () => {
  const env = { GITHUB_ACTIONS: '', GITHUB_EVENT_NAME: '', CDL_RUNS: 'on' };
  const args = [
    'train',
    '--quiet',
    '--out',
    path.join(dir, '.cdl', 'local'),
    '--set',
    'train.backend=wasm',
    '--set',
    'train.epochs=1',
    '--set',
    'data.limit.train=300',
    '--set',
    'data.limit.test=100',
  ];
  const before = (await runCli(['runs', 'list', '--json'], { cwd: dir })).stdout;
  const off = await runCli(args, { cwd: dir, env: { ...env, CDL_RUNS: 'off' } });
  expect(off.code, off.stderr).toBe(0);
  expect((await runCli(['runs', 'list', '--json'], { cwd: dir })).stdout).toBe(before);
  const on = await runCli(args, { cwd: dir, env });
  expect(on.code, on.stderr).toBe(0);
  expect(on.stderr).toMatch(/run recorded: cdl-runs:runs\//);
  const local = JSON.parse((await runCli(['runs', 'list', '--kind', 'local', '--json'], { cwd: dir })).stdout) as RunRecord[];
  expect(local).toHaveLength(1);
  expect(local[0]!.lineage).toMatchObject({ branch: 'wider', ci: null });
  expect(local[0]!.config.overrides).toContain('train.epochs=1');
});
