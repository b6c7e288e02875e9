/**
 * `cdl runs` over a real repository whose cdl-runs branch holds records: list with filters and
 * metric bounds, show, compare (configuration diff, metric deltas, curves), best, export, report,
 * and the usage errors.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../src/model-dir/run-record.js';
import { attachGates, compareRuns, filterRuns, parseWhere, resolveRun, toCsv } from '../src/runs/query.js';
import { appendRecord } from '../src/runs/store.js';
import { removeTempDirs, runCli, tempDir } from './helpers/example.js';
import { syntheticRecord } from './helpers/run-records.js';

let dir: string;
let push: RunRecord;
let release: RunRecord;
let pr: RunRecord;
let other: RunRecord;

beforeAll(async () => {
  dir = tempDir('cdl-runs-cli-');
  const git = (...a: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@l', ...a], { cwd: dir, encoding: 'utf8' });
  git('init', '-q', '-b', 'main');
  writeFileSync(path.join(dir, 'README.md'), 'x\n');
  git('add', '.');
  git('commit', '-q', '-m', 'x');
  push = syntheticRecord(
    { kind: 'push', accuracy: 0.81, learningRate: 0.001, units: 256, createdAt: new Date('2026-02-01T10:00:00Z') },
    1,
  );
  release = syntheticRecord(
    {
      kind: 'release',
      accuracy: 0.81,
      learningRate: 0.001,
      units: 256,
      releaseTag: 'fashion-mnist@v1.0.0',
      createdAt: new Date('2026-02-01T11:00:00Z'),
      commit: push.lineage.commit!,
    },
    2,
  );
  pr = syntheticRecord(
    {
      kind: 'pull_request',
      accuracy: 0.86,
      learningRate: 0.001,
      units: 320,
      pullRequest: 12,
      branch: 'wider',
      createdAt: new Date('2026-02-03T09:00:00Z'),
    },
    3,
  );
  other = syntheticRecord({ kind: 'local', model: 'other-model', accuracy: 0.5, createdAt: new Date('2026-01-05T09:00:00Z') }, 4);
  for (const r of [push, release, pr, other]) await appendRecord(dir, r);
});

afterAll(removeTempDirs);

const cli = (...args: string[]) => runCli(['runs', ...args], { cwd: dir });

describe('queries', () => {
  it('filters by model, branch, pull request, dates and metric bounds', () => {
    const all = [push, release, pr, other];
    expect(filterRuns(all, { model: 'fashion-mnist' })).toHaveLength(3);
    expect(filterRuns(all, { pr: 12 })).toEqual([pr]);
    expect(filterRuns(all, { branch: 'main', kind: 'release' })).toEqual([release]);
    expect(filterRuns(all, { since: new Date('2026-02-02') })).toEqual([pr]);
    expect(filterRuns(all, { where: [parseWhere('accuracy>=0.85')] })).toEqual([pr]);
    expect(filterRuns(all, { where: [parseWhere('test.accuracy < 0.6')] })).toEqual([other]);
    expect(() => parseWhere('accuracy>>1')).toThrow(/expected METRIC OP NUMBER/);
  });

  it('resolves references and compares two runs', () => {
    const all = [push, release, pr, other];
    expect(resolveRun(all, 'release')).toBe(release);
    expect(resolveRun(all, 'fashion-mnist@v1.0.0')).toBe(release);
    expect(resolveRun(all, 'pr:12')).toBe(pr);
    expect(resolveRun(all, pr.id.slice(0, 30))).toBe(pr);
    expect(() => resolveRun(all, 'pr:99')).toThrow(/no run matches "pr:99"/);
    const c = compareRuns(release, pr);
    expect(c.config).toContainEqual({ key: 'hyperparameters.units', a: '256', b: '320' });
    expect(c.config).toContainEqual({ key: 'config.model.layers', a: expect.any(String), b: expect.any(String) });
    const acc = c.metrics.find((m) => m.split === 'test' && m.metric === 'accuracy')!;
    expect(acc.delta).toBeCloseTo(0.05, 10);
    expect(c.curves).toHaveLength(5);
  });

  it('joins a gate decision to the run that trained the same model', () => {
    const sha = 'a'.repeat(64);
    const trained = { ...push, output: { ...push.output, model_sha256: sha } };
    const gate = {
      ...syntheticRecord({ kind: 'gate', createdAt: new Date('2026-02-01T10:30:00Z') }, 9),
      gate: { decision: 'rejected', reason: 'accuracy below 0.9', baseline: 'fashion-mnist@v1.0.0' },
      output: { model_sha256: sha, artifact: null, release_tag: null },
    };
    const orphan = { ...gate, id: 'orphan', output: { ...gate.output, model_sha256: 'b'.repeat(64) } };
    const joined = attachGates([trained, gate, pr, orphan]);
    expect(joined.map((r) => r.id)).toEqual([trained.id, pr.id, 'orphan']);
    expect(joined[0]!.gate).toEqual(gate.gate);
    expect(trained.gate).toBeNull();
  });

  it('exports CSV with one column per metric and hyperparameter, spreadsheet formulas defused', () => {
    const evil = { ...push, lineage: { ...push.lineage, branch: '=HYPERLINK("x")' } };
    const csv = toCsv([evil, pr]);
    const [head, row] = csv.split('\n');
    expect(head).toContain('test.accuracy');
    expect(head).toContain('hp.learning_rate');
    expect(row).toContain(`"'=HYPERLINK(""x"")"`);
  });
});

describe('cdl runs', () => {
  it('list: newest first, filtered, as a table and as JSON', async () => {
    const all = await cli('list', '--no-fetch');
    expect(all.code, all.stderr).toBe(0);
    const lines = all.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^run\s+time\s+kind\s+model\s+branch\s+pr\s+commit\s+main metric\s+release$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual([pr.id, release.id, push.id, other.id]);
    const json = await cli('list', '--model', 'fashion-mnist', '--where', 'accuracy>=0.8', '--sort', 'accuracy', '--json');
    expect(json.code, json.stderr).toBe(0);
    const ids = (JSON.parse(json.stdout) as RunRecord[]).map((r) => r.id);
    expect(ids[0]).toBe(pr.id);
    expect(ids.slice(1).sort()).toEqual([push.id, release.id].sort());
    const prs = await cli('list', '--pr', '12', '--json');
    expect((JSON.parse(prs.stdout) as RunRecord[]).map((r) => r.id)).toEqual([pr.id]);
  });

  it('show and compare: the configuration diff, the metric deltas and the curves', async () => {
    const show = await cli('show', 'pr:12');
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain(`run ${pr.id}`);
    expect(show.stdout).toMatch(/pull request #12/);
    expect(show.stdout).toMatch(/history:\n\s+epoch\s+loss/);
    const cmp = await cli('compare', 'release', 'pr:12');
    expect(cmp.code, cmp.stderr).toBe(0);
    expect(cmp.stdout).toMatch(/configuration differences:\n(.*\n)*\s+hyperparameters\.units\s+256\s+320/);
    expect(cmp.stdout).toMatch(/metrics \(delta = B − A\):\n(.*\n)*\s+test\s+accuracy\s+0\.8100\s+0\.8600\s+\+0\.0500/);
    expect(cmp.stdout).toMatch(/curves:\n\s+epoch\s+A loss\s+B loss/);
  });

  it('best per model and per branch; export to a file', async () => {
    const best = await cli('best', '--json');
    expect((JSON.parse(best.stdout) as RunRecord[]).map((r) => r.id).sort()).toEqual([pr.id, other.id].sort());
    const perBranch = await cli('best', '--per-branch', '--model', 'fashion-mnist', '--json');
    expect((JSON.parse(perBranch.stdout) as RunRecord[]).map((r) => r.lineage.branch).sort()).toEqual(['main', 'wider']);
    const file = path.join(dir, 'out', 'runs.csv');
    const exp = await cli('export', '--format', 'csv', '--out', file);
    expect(exp.code, exp.stderr).toBe(0);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(5);
  });

  it('report writes one self-contained page', async () => {
    const out = path.join(dir, 'site');
    const r = await cli('report', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(path.join(out, 'index.html'), 'utf8');
    expect(html).toMatch(/<svg role="img" aria-label="fashion-mnist: accuracy over commits/);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it('usage errors exit 2 and name what was expected', async () => {
    const bad = await cli('list', '--where', 'accuracy');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--where "accuracy": expected METRIC OP NUMBER/);
    expect((await cli('compare', 'release')).code).toBe(2);
    expect((await cli('frobnicate')).code).toBe(2);
    const outside = await runCli(['runs', 'list', '--repo', tempDir('cdl-not-a-repo-')]);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toMatch(/not in a git repository/);
    expect(existsSync(path.join(dir, '.git'))).toBe(true);
  });
});
