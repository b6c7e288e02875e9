/**
 * --resume: a run stopped after k epochs and resumed ends where an uninterrupted run ends.
 * The loop is deterministic on wasm (seeded init, seeded per-epoch shuffle, fixed kernel choices),
 * so the comparison is strict. test/train-repro.test.ts resumes in a new process, with dropout and
 * augmentation.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type LoadedConfig } from '../src/config/index.js';
import type { Metrics } from '../src/model-dir/index.js';
import type { TrainOutcome } from '../src/train/train-options.js';
import { train } from '../src/train/training.js';
import { TrainError } from '../src/util/errors.js';
import { captureLog, EXAMPLE_CONFIG, removeTempDirs, siblings, tempDir } from './helpers/example.js';

afterAll(removeTempDirs);

// 4 epochs with early stopping (its state and best weights are in the checkpoint too).
const OVERRIDES = [
  'train.backend=wasm',
  'train.epochs=4',
  'data.limit.train=1500',
  'data.limit.test=300',
  'train.early_stopping.patience=2',
];

function weights(dir: string): Float32Array {
  const b = readFileSync(path.join(dir, 'tfjs', 'weights.bin'));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** History without the timing fields. */
function history(m: Metrics): Array<Record<string, number>> {
  return m.history!.map(({ seconds, samples_per_second, ...rest }) => {
    void seconds;
    void samples_per_second;
    return rest;
  });
}

describe('resume', () => {
  let loaded: LoadedConfig;
  let root: string;
  let full: TrainOutcome;
  let fullDir: string;

  beforeAll(async () => {
    loaded = await loadConfig(EXAMPLE_CONFIG, OVERRIDES);
    root = tempDir('cdl-resume-');
    fullDir = path.join(root, 'full');
    full = await train({ loaded, outDir: fullDir, log: () => {} });
    expect(full.metrics.training!.epochs_run).toBe(4);
  });

  it('an uninterrupted run repeats itself exactly (precondition of the comparison below)', async () => {
    const again = await train({ loaded, outDir: path.join(root, 'again'), log: () => {} });
    expect(maxAbsDiff(weights(path.join(root, 'again')), weights(fullDir))).toBe(0);
    expect(again.metrics.splits.test).toEqual(full.metrics.splits.test);
  });

  it('stop after 2 epochs, then resume: same history, test metrics and weights as the uninterrupted run', async () => {
    const out = path.join(root, 'resumed');
    const ckpt = `${out}.checkpoint`;
    const stopped = await train({ loaded, outDir: out, log: () => {}, stopAfterEpochs: 2 }).catch((e: unknown) => e);
    expect(stopped).toBeInstanceOf(TrainError);
    expect((stopped as Error).message).toBe('stopped after 2 epoch(s) as asked');
    // The killed run wrote no model directory, only its checkpoint.
    expect(existsSync(out)).toBe(false);
    expect(siblings(out)).toEqual(['resumed.checkpoint']);
    const state = JSON.parse(readFileSync(path.join(ckpt, 'state.json'), 'utf8')) as {
      epoch: number;
      configHash: string;
      history: unknown[];
    };
    expect(state).toMatchObject({ epoch: 2, configHash: loaded.hash });
    expect(state.history).toHaveLength(2);
    expect(readdirSync(ckpt).sort()).toEqual([
      'best.bin',
      'best.json',
      'optimizer.bin',
      'optimizer.json',
      'state.json',
      'weights.bin',
      'weights.json',
    ]);

    const cap = captureLog();
    const resumed = await train({ loaded, outDir: out, resume: true, log: cap.log });
    expect(cap.lines).toContain(`resuming after epoch 2/4 from ${ckpt}`);
    expect(cap.lines.filter((l) => /^epoch /.test(l)).map((l) => l.slice(0, 9))).toEqual(['epoch 3/4', 'epoch 4/4']);
    expect(resumed.metrics.training).toMatchObject({ epochs_run: 4, resumed_from_epoch: 2 });
    expect(history(resumed.metrics)).toEqual(history(full.metrics));
    expect(resumed.metrics.splits.test).toEqual(full.metrics.splits.test);
    expect(resumed.metrics.splits.validation).toEqual(full.metrics.splits.validation);
    expect(maxAbsDiff(weights(out), weights(fullDir))).toBe(0);
    // The checkpoint is gone once the model directory is written.
    expect(siblings(out)).toEqual(['resumed']);
  });

  it.each([
    ['momentum', 'step'],
    ['adamw', 'cosine'],
  ])('resumes %s with a %s schedule bit for bit', async (optimizer, schedule) => {
    const cfg = await loadConfig(EXAMPLE_CONFIG, [
      ...OVERRIDES,
      'train.epochs=3',
      `train.optimizer.name=${optimizer}`,
      'train.optimizer.learning_rate=0.01',
      `train.schedule.type=${schedule}`,
      'train.schedule.step_epochs=1',
      'train.schedule.gamma=0.5',
    ]);
    const a = path.join(root, `${optimizer}-full`);
    const b = path.join(root, `${optimizer}-resumed`);
    const ra = await train({ loaded: cfg, outDir: a, log: () => {} });
    await expect(train({ loaded: cfg, outDir: b, log: () => {}, stopAfterEpochs: 1 })).rejects.toThrow(TrainError);
    const rb = await train({ loaded: cfg, outDir: b, resume: true, log: () => {} });
    expect(rb.metrics.training).toMatchObject({ resumed_from_epoch: 1 });
    expect(history(rb.metrics).map((h) => h.learning_rate)).toEqual(history(ra.metrics).map((h) => h.learning_rate));
    expect(new Set(history(ra.metrics).map((h) => h.learning_rate)).size).toBe(3);
    expect(history(rb.metrics)).toEqual(history(ra.metrics));
    expect(maxAbsDiff(weights(b), weights(a))).toBe(0);
  });

  it('refuses to resume a checkpoint made with another configuration', async () => {
    const out = path.join(root, 'changed');
    await expect(train({ loaded, outDir: out, log: () => {}, stopAfterEpochs: 1 })).rejects.toThrow(
      'stopped after 1 epoch(s) as asked',
    );
    const changed = await loadConfig(EXAMPLE_CONFIG, [...OVERRIDES, 'train.optimizer.learning_rate=0.002']);
    const err = await train({ loaded: changed, outDir: out, resume: true, log: () => {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainError);
    expect((err as Error).message).toBe(
      `${out}.checkpoint: the checkpoint was made with another configuration; run without --resume to start over, or restore the configuration it was made with`,
    );
    expect(existsSync(out)).toBe(false);
    // The checkpoint is left for the configuration it belongs to.
    expect(JSON.parse(readFileSync(path.join(`${out}.checkpoint`, 'state.json'), 'utf8'))).toMatchObject({
      epoch: 1,
      configHash: loaded.hash,
    });
    // Without --resume the changed configuration starts over (and replaces the checkpoint).
    const fresh = await train({ loaded: changed, outDir: out, log: () => {} });
    expect(fresh.metrics.training).toMatchObject({ resumed_from_epoch: null });
    expect(fresh.metrics.history![0]!.epoch).toBe(1);
  });

  it('resume without a checkpoint starts from the first epoch and ends like an uninterrupted run', async () => {
    const out = path.join(root, 'nockpt');
    const cap = captureLog();
    const r = await train({ loaded, outDir: out, resume: true, log: cap.log });
    expect(cap.lines).toContain(`no checkpoint in ${out}.checkpoint; starting from the first epoch`);
    expect(r.metrics.training).toMatchObject({ resumed_from_epoch: null, epochs_run: 4 });
    expect(maxAbsDiff(weights(out), weights(fullDir))).toBe(0);
  });
});
