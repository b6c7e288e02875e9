/**
 * Tuning with real training on a slice of the example data: a study stopped part-way resumes
 * without repeating finished trials and ends where an uninterrupted one ends; the CLI runs trials
 * in parallel worker processes, survives being killed, and writes the best configuration and reports.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { plan, runTrial, select } from '../src/tune/distributed.js';
import { tune } from '../src/tune/tuning.js';
import type { Study } from '../src/tune/study.js';
import { TrainError } from '../src/util/errors.js';
import { captureLog, CDL_BIN, EXAMPLE_DIR, removeTempDirs, REPO, runCli, tempDir } from './helpers/example.js';

afterAll(removeTempDirs);

function project(tuneSection: string): string {
  const dir = tempDir('cdl-tune-');
  const file = path.join(dir, 'cdl.yaml');
  writeFileSync(
    file,
    `version: 1
model:
  name: tuned
  layers: [{ type: flatten }, { type: dense, units: 32, activation: relu }, { type: dense, units: 10, activation: softmax }]
data:
  format: idx
  path: ${JSON.stringify(path.join(EXAMPLE_DIR, 'data'))}
  train: { images: train-images-idx3-ubyte.gz, labels: train-labels-idx1-ubyte.gz }
  test: { images: t10k-images-idx3-ubyte.gz, labels: t10k-labels-idx1-ubyte.gz }
  limit: { train: 1200, test: 300 }
train: { backend: wasm, epochs: 3, batch_size: 64, seed: 1 }
tune:
${tuneSection}`,
  );
  return file;
}

const SEARCH = `  trials: 5
  space:
    learning_rate: { type: loguniform, low: 0.0003, high: 0.03 }
    model.layers[1].units: { type: int, low: 16, high: 64, step: 16 }
  sampler: { type: tpe, seed: 3, startup_trials: 3 }
  scheduler: { type: asha, reduction_factor: 3, min_epochs: 1, max_epochs: 3 }
`;

function results(study: Study) {
  return study.trials.map((t) => ({
    n: t.number,
    params: t.params,
    status: t.status,
    values: t.results.map((r) => [r.rung, r.epochs, r.value]),
  }));
}

describe('a study in one process', () => {
  it('stopped after 3 segments, resumes without repeating a finished trial and ends as an uninterrupted study', async () => {
    const file = project(SEARCH);
    const loaded = await loadConfig(file);
    const trained: number[] = [];
    const whole = await tune({
      loaded,
      outDir: path.join(path.dirname(file), 'whole'),
      worker: 'inline',
      verbose: true,
      log: (l) => {
        const m = /^ {2}\[trial (\d+)\] epoch +(\d+)\//.exec(l);
        if (m) trained.push(Number(m[1]));
      },
    });
    expect(whole.study.trials.length).toBe(5);
    // ASHA with the default grace (η² = 9 results) and 5 trials: rung 0 promotes once all 5 finished it, its
    // best ⌊5/3⌋ = 1 continues from its checkpoint to 3 epochs: 2 more, as the trainer's epoch lines show.
    expect(whole.study.scheduler.grace).toBe(9);
    const completed = whole.study.trials.filter((t) => t.status === 'completed');
    expect(completed.length).toBe(1);
    const best = completed[0]!;
    expect(Math.min(...whole.study.trials.map((t) => -t.results[0]!.value))).toBe(-best.results[0]!.value);
    expect(trained.length).toBe(5 + 2);
    expect(trained.filter((n) => n === best.number).length).toBe(3);
    expect(whole.epochsUsed).toBe(trained.length);

    const outDir = path.join(path.dirname(file), 'stopped');
    await expect(tune({ loaded, outDir, worker: 'inline', log: () => {}, stopAfterSegments: 3 })).rejects.toThrow(TrainError);
    const saved = JSON.parse(readFileSync(path.join(outDir, 'study.json'), 'utf8')) as Study;
    expect(saved.trials.filter((t) => t.results.length > 0).length).toBe(3);

    const { log, lines } = captureLog();
    const resumed = await tune({ loaded, outDir, worker: 'inline', log });
    expect(lines.some((l) => /resuming the study: 3 trial\(s\) with results/.test(l))).toBe(true);
    // Only trials 3 and 4 started in the second run, then the promotion.
    expect(lines.filter((l) => /^trial \d+: .*→ 1 epochs$/.test(l)).map((l) => l.split(':')[0])).toEqual(['trial 3', 'trial 4']);
    expect(results(resumed.study)).toEqual(results(whole.study));
    expect(resumed.best).toEqual(whole.best);
  });
});

describe('cdl tune', () => {
  it('runs 2 trials at a time in worker processes, is killed, resumes, and writes best.json, best.yaml and the reports', async () => {
    const file = project(SEARCH.replace('trials: 5', 'trials: 6').replace('type: asha', 'type: none'));
    const outDir = path.join(path.dirname(file), 'study');
    const studyFile = path.join(outDir, 'study.json');
    const args = [CDL_BIN, 'tune', '--config', file, '--out', outDir, '--parallel', '2'];
    // First run: killed as soon as two trials have finished.
    const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const finished = () =>
      existsSync(studyFile)
        ? (JSON.parse(readFileSync(studyFile, 'utf8')) as Study).trials.filter((t) => t.status === 'completed')
        : [];
    // No wall-clock bound of its own: on a busy machine two trials take longer; the test's timeout bounds it.
    while (finished().length < 2 && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    const before = finished();
    expect(before.length, stderr).toBeGreaterThanOrEqual(2);
    expect(before.length).toBeLessThan(6);
    // Two trials ran side by side: the second started before the first finished. (The killed
    // process may not have flushed its last lines to the pipe, so a missing line is no evidence.)
    const secondStarted = stderr.indexOf('trial 1: learning_rate');
    const firstFinished = stderr.indexOf('trial 0: val_accuracy');
    expect(secondStarted, stderr).toBeGreaterThanOrEqual(0);
    if (firstFinished >= 0) expect(secondStarted).toBeLessThan(firstFinished);

    const r = await runCli(['tune', '--config', file, '--out', outDir, '--parallel', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming the study/);
    const study = JSON.parse(readFileSync(studyFile, 'utf8')) as Study;
    expect(study.trials.length).toBe(6);
    expect(study.trials.every((t) => t.status === 'completed')).toBe(true);
    for (const t of before) expect(study.trials[t.number]!.results).toEqual(t.results);
    for (const t of before) expect(r.stderr).not.toMatch(new RegExp(`^trial ${t.number}: learning_rate`, 'm'));
    const best = JSON.parse(r.stdout) as { trial: number; value: number; overrides: string[] };
    expect(best.value).toBe(Math.max(...study.trials.map((t) => t.results[0]!.value)));
    expect(JSON.parse(readFileSync(path.join(outDir, 'best.json'), 'utf8'))).toEqual(best);
    expect(readFileSync(path.join(outDir, 'best.yaml'), 'utf8')).toMatch(/learning_rate: /);
    expect(readFileSync(path.join(outDir, 'report.md'), 'utf8')).toMatch(/```mermaid\nxychart-beta/);
    expect(readFileSync(path.join(outDir, 'report.html'), 'utf8')).toMatch(/<svg[^>]*aria-label="parallel coordinates/);
    expect(readFileSync(path.join(outDir, 'trials.csv'), 'utf8').trim().split('\n').length).toBe(7);
    expect(existsSync(path.join(outDir, 'trials'))).toBe(false);
  });

  it('a bad search space exits 2 naming the key', async () => {
    const file = project(`  space:\n    learning_rte: { type: loguniform, low: 0.001, high: 0.1 }\n`);
    const r = await runCli(['tune', '--config', file, '--out', path.join(path.dirname(file), 'x')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tune\.space\.learning_rte: unknown hyperparameter "learning_rte"/);
  });
});

describe('over runners: plan, trial matrix, select', () => {
  it('plans rung 0, promotes the best third with their checkpoints, and picks the best after the last rung', async () => {
    const file = project(SEARCH.replace('trials: 5', 'trials: 4'));
    const loaded = await loadConfig(file);
    const dir = path.dirname(file);
    const o = { loaded, outDir: path.join(dir, 'study') };
    const planned = await plan(o);
    expect(planned.matrix.include).toEqual([0, 1, 2, 3].map((trial) => ({ trial, rung: 0, checkpoint: '' })));
    // Each matrix job has its own checkpoint directory; the workflow carries it as an artifact.
    for (const e of planned.matrix.include) {
      await runTrial({
        ...o,
        trial: e.trial,
        rung: 0,
        checkpointDir: path.join(dir, `ck-${e.trial}`),
        resultsDir: path.join(dir, 'r0'),
      });
    }
    const s0 = await select({ ...o, rung: 0, resultsDir: path.join(dir, 'r0') });
    expect(s0.done).toBe(false);
    expect(s0.matrix.include.length).toBe(1);
    const [next] = s0.matrix.include;
    const rung0 = s0.study.trials.map((t) => t.results[0]!.value);
    expect(rung0[next!.trial]).toBe(Math.max(...rung0));
    expect(next).toEqual({ trial: next!.trial, rung: 1, checkpoint: `tune-checkpoint-r0-t${next!.trial}` });
    const r1 = await runTrial({
      ...o,
      trial: next!.trial,
      rung: 1,
      checkpointDir: path.join(dir, `ck-${next!.trial}`),
      resultsDir: path.join(dir, 'r1'),
    });
    // Continued from the rung-0 checkpoint: the history holds the first epoch and two more.
    expect(r1.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    expect(r1.history[0]!.val_accuracy).toBe(rung0[next!.trial]);
    const s1 = await select({ ...o, rung: 1, resultsDir: path.join(dir, 'r1') });
    expect(s1.done).toBe(true);
    expect(s1.outputs!.best!.trial).toBe(next!.trial);
    expect(s1.study.trials.map((t) => t.status).sort()).toEqual(['completed', 'stopped', 'stopped', 'stopped']);
    expect(s1.outputs!.epochsUsed).toBe(4 + 2);

    // The next workflow run continues the study with 3 more trials: they compete at rung 0 with the
    // first 4, and only those among the best third of all 7 go on.
    const o7 = { ...o, loaded: await loadConfig(file, ['tune.trials=7']) };
    const again = await plan(o7);
    expect(again.matrix.include).toEqual([4, 5, 6].map((trial) => ({ trial, rung: 0, checkpoint: '' })));
    for (const e of again.matrix.include) {
      const ck = path.join(dir, `ck-${e.trial}`);
      await runTrial({ ...o7, trial: e.trial, rung: 0, checkpointDir: ck, resultsDir: path.join(dir, 'r0-again') });
    }
    const s2 = await select({ ...o7, rung: 0, resultsDir: path.join(dir, 'r0-again') });
    const byValue = [...s2.study.trials].sort((a, b) => b.results[0]!.value - a.results[0]!.value || a.number - b.number);
    const wanted = byValue.slice(0, 2).filter((t) => t.number >= 4);
    expect(s2.matrix.include.map((e) => e.trial)).toEqual(wanted.map((t) => t.number));
    expect(s2.done).toBe(wanted.length === 0);
  });
});
