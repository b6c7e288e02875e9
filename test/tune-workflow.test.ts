/**
 * Tuning fanned out over runners, end to end: workflows-templates/cdl-tune.yml calling tune.yml,
 * as a user copies them, under `cdl run` on a temporary git repository holding the example (a small
 * model on part of the subset, 6 trials, 2 rungs of 1 and 3 epochs). The plan job's matrix (an
 * include-only matrix, from a job output through fromJSON) starts one job per trial; select promotes
 * the best third, whose jobs continue from the checkpoints of rung 0; the best configuration is the
 * artifact tune-best and the study goes to the cache, so a second run (7 trials) continues it. The
 * same study run in one job (`cdl tune`) proposes the same trials.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Study } from '../src/tune/study.js';
import { EXAMPLE_DIR, exampleRepo, git, REPO, removeTempDirs, runCli, type CliResult } from './helpers/example.js';

afterAll(() => removeTempDirs());

/** The example's tuning configuration, shrunk: 400 training images, 2 rungs (1 and 3 epochs). */
function smallTuneConfig(): string {
  const text = readFileSync(path.join(EXAMPLE_DIR, 'cdl.tune.yaml'), 'utf8')
    .replace('  validation:', '  limit: { train: 400, test: 100 }\n  validation:')
    .replace('train:\n  epochs: 9', 'train:\n  backend: wasm\n  epochs: 3')
    .replace('max_epochs: 9', 'max_epochs: 3')
    .replace('{ type: int, low: 32, high: 512, step: 32 }', '{ type: int, low: 8, high: 64, step: 8 }');
  expect(text).toContain('max_epochs: 3');
  expect(text).toContain('backend: wasm');
  return text;
}

interface RunResult {
  jobs: { key: string; result: string }[];
}

let dir: string;
const runTimeout = 15 * 60_000;

function tuneRun(trials: number): Promise<CliResult> {
  return runCli(
    ['run', '.github/workflows/cdl-tune.yml', '--event', 'workflow_dispatch', '--input', `trials=${trials}`, '--runs-on-any'],
    { cwd: dir, timeoutMs: runTimeout },
  );
}

const runDir = (id: number) => path.join(dir, '.cdl', 'runs', String(id));
const resultOf = (id: number) => JSON.parse(readFileSync(path.join(runDir(id), 'result.json'), 'utf8')) as RunResult;
const fromArtifact = (id: number, artifact: string, file: string) =>
  execFileSync('unzip', ['-p', path.join(runDir(id), 'artifacts', `${artifact}.zip`), file], { encoding: 'utf8' });
const jobLog = (id: number, key: string) =>
  readFileSync(path.join(runDir(id), 'logs', `${key.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 100)}.log`), 'utf8');
/** Epochs a job trained: its "epoch N/M" lines. */
const epochLines = (log: string) => [...log.matchAll(/\| epoch (\d+)\/3 /g)].map((m) => Number(m[1]));

beforeAll(() => {
  ({ dir } = exampleRepo());
  writeFileSync(path.join(dir, 'cdl.yaml'), smallTuneConfig());
  const workflows = path.join(dir, '.github', 'workflows');
  for (const f of ['cdl-tune.yml']) cpSync(path.join(REPO, 'workflows-templates', f), path.join(workflows, f));
  writeFileSync(path.join(dir, '.gitignore'), '.cdl/\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'tuning workflows');
});

describe('cdl-tune.yml under cdl run', () => {
  let first: Study;

  it(
    'plans 6 trials, runs one job per trial, promotes from checkpoints and uploads the best as tune-best',
    async () => {
      const r = await tuneRun(6);
      const out = r.stdout + r.stderr;
      expect(r.code, out.slice(-4000)).toBe(0);
      const jobs = Object.fromEntries(resultOf(1).jobs.map((j) => [j.key, j.result]));

      first = JSON.parse(fromArtifact(1, 'tune-best', 'study.json')) as Study;
      expect(first.trials).toHaveLength(6);
      expect(first.scheduler.budgets).toEqual([1, 3]);
      // Every trial ran as its own job of the rung-0 matrix and reported 1 epoch.
      for (const t of first.trials) {
        expect(jobs[`tune / rung-0 (${t.number}, 0, )`], `trial ${t.number}`).toBe('success');
        expect(t.results[0]).toMatchObject({ rung: 0, epochs: 1 });
        expect(epochLines(jobLog(1, `tune / rung-0 (${t.number}, 0, )`))).toEqual([1]);
      }
      // The best third went on to rung 1, each continuing its own checkpoint: epochs 2 and 3 only.
      const promoted = first.trials.filter((t) => t.results.some((x) => x.rung === 1));
      expect(promoted).toHaveLength(2);
      const rung0 = [...first.trials].sort((a, b) => b.results[0]!.value - a.results[0]!.value);
      expect(promoted.map((t) => t.number).sort()).toEqual(
        rung0
          .slice(0, 2)
          .map((t) => t.number)
          .sort(),
      );
      let trained = 6;
      for (const t of promoted) {
        const key = `tune / rung-1 (${t.number}, 1, tune-checkpoint-r0-t${t.number})`;
        expect(jobs[key], key).toBe('success');
        const log = jobLog(1, key);
        expect(log).toMatch(/resuming after epoch 1\/3/);
        expect(epochLines(log)).toEqual([2, 3]);
        trained += epochLines(log).length;
        expect(t.results[1]).toMatchObject({ rung: 1, epochs: 3 });
      }
      // Restarting the promoted trials would have trained 6 + 2 × 3 epochs.
      expect(trained).toBe(10);
      expect(trained).toBeLessThan(6 + 2 * 3);
      expect(Object.keys(jobs).filter((k) => k.includes('rung-1'))).toHaveLength(2);
      expect(jobs['tune / rung-2']).toBe('skipped');
      expect(jobs['tune / select-2']).toBe('skipped');

      // tune-best holds the best trial of the study: the best value among the trials of the top rung.
      const best = JSON.parse(fromArtifact(1, 'tune-best', 'best.json')) as { trial: number; value: number; params: unknown };
      const top = [...promoted].sort((a, b) => b.results[1]!.value - a.results[1]!.value)[0]!;
      expect(best).toMatchObject({ trial: top.number, value: top.results[1]!.value, params: top.params });
      expect(fromArtifact(1, 'tune-best', 'best.yaml')).toContain(`(trial ${top.number}, val_accuracy`);
      expect(out).toMatch(new RegExp(`best: trial ${top.number}, val_accuracy ${top.results[1]!.value.toFixed(4)} \\(`));
      expect(out).toContain('Cache saved with key: cdl-tune-main-1');
    },
    runTimeout + 60_000,
  );

  let second: Study;

  it(
    'a second run continues the study from the cache: only the new trial is trained',
    async () => {
      expect(first, 'the first run passed').toBeDefined();
      const r = await tuneRun(7);
      const out = r.stdout + r.stderr;
      expect(r.code, out.slice(-4000)).toBe(0);
      expect(out).toContain('Cache restored from key: cdl-tune-main-1');
      second = JSON.parse(fromArtifact(2, 'tune-best', 'study.json')) as Study;
      expect(second.key).toBe(first.key);
      expect(second.created_at).toBe(first.created_at);
      expect(second.trials).toHaveLength(7);
      // The first six are the first run's, results and all; only trial 6 ran.
      for (let i = 0; i < 6; i++) expect(second.trials[i]).toEqual(first.trials[i]);
      const rung0 = resultOf(2)
        .jobs.filter((j) => j.key.startsWith('tune / rung-0 '))
        .map((j) => [j.key, j.result]);
      expect(rung0).toEqual([['tune / rung-0 (6, 0, )', 'success']]);
      for (const t of second.trials.slice(6)) expect(t.results[0]).toMatchObject({ rung: 0, epochs: 1 });
      expect(readdirSync(path.join(runDir(2), 'artifacts'))).toContain('tune-best.zip');
    },
    runTimeout + 60_000,
  );

  it(
    'proposes the same trials as the same study run in one job (cdl tune)',
    async () => {
      expect(second, 'the second run passed').toBeDefined();
      const one = path.join(dir, 'one-job');
      const r = await runCli(['tune', '--config', 'cdl.yaml', '--trials', '7', '--out', one], {
        cwd: dir,
        timeoutMs: runTimeout,
      });
      expect(r.code, (r.stdout + r.stderr).slice(-3000)).toBe(0);
      const single = JSON.parse(readFileSync(path.join(one, 'study.json'), 'utf8')) as Study;
      expect(single.key).toBe(second.key);
      expect(single.sampler).toEqual(second.sampler);
      expect(single.sampler).toMatchObject({ type: 'tpe', seed: 0 });
      expect(single.trials.map((t) => t.params)).toEqual(second.trials.map((t) => t.params));
    },
    runTimeout + 60_000,
  );
});
