/**
 * actions/runs-report as GitHub runs it: the committed bundle, inputs in INPUT_* variables, a
 * checkout of the runs branch. It writes the dashboard with every recorded run; a folder that is
 * not a git checkout fails the step, naming the input.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appendRecord } from '../src/runs/store.js';
import { REPO, removeTempDirs, tempDir } from './helpers/example.js';
import { syntheticRecord } from './helpers/run-records.js';

afterAll(() => removeTempDirs());

function action(cwd: string, inputs: Record<string, string>) {
  const output = path.join(cwd, 'github-output');
  writeFileSync(output, '');
  const env: Record<string, string | undefined> = { ...process.env, GITHUB_OUTPUT: output };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  const r = spawnSync(process.execPath, [path.join(REPO, 'actions', 'runs-report', 'dist', 'index.js')], {
    cwd,
    env,
    encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout + r.stderr, outputs: readFileSync(output, 'utf8') };
}

describe('actions/runs-report', () => {
  it('writes the dashboard of every run on the branch', async () => {
    const dir = tempDir('cdl-runs-report-');
    const repo = path.join(dir, 'cdl-runs');
    execFileSync('git', ['init', '-q', '-b', 'main', repo]);
    const runs = [
      syntheticRecord({ kind: 'push', accuracy: 0.81, createdAt: new Date('2026-02-01T10:00:00Z') }, 1),
      syntheticRecord({ kind: 'pull_request', accuracy: 0.86, pullRequest: 7, createdAt: new Date('2026-02-02T10:00:00Z') }, 2),
      syntheticRecord(
        { kind: 'release', accuracy: 0.86, releaseTag: 'fashion-mnist@v1.0.0', createdAt: new Date('2026-02-03T10:00:00Z') },
        3,
      ),
    ];
    for (const r of runs) await appendRecord(repo, r);
    execFileSync('git', ['checkout', '-q', 'cdl-runs'], { cwd: repo });

    const r = action(dir, { repo: 'cdl-runs', out: 'site', title: 'Our runs' });
    expect(r.code, r.out).toBe(0);
    expect(r.outputs).toMatch(/^runs<<.*\n3\n/m);
    const html = readFileSync(path.join(dir, 'site', 'index.html'), 'utf8');
    expect(html).toContain('Our runs');
    for (const run of runs) expect(html).toContain(run.id);
    expect(html).toContain('fashion-mnist@v1.0.0');
    expect(html).not.toMatch(/<script/);
  });

  it('a folder that is not a git checkout fails the step, naming the input', () => {
    const dir = tempDir('cdl-runs-report-bad-');
    const r = action(dir, { repo: '.', out: 'site' });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/input repo: .* is not a git checkout; expected a checkout of the cdl-runs branch/);
  });
});
