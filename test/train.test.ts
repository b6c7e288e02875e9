/**
 * The built-in trainer end to end, in process: cdl.yaml → model directory, on the shipped subset.
 */
import { appendFileSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type LoadedConfig } from '../src/config/index.js';
import { loadDataset, type Dataset } from '../src/data/index.js';
import { readModelDir, type Lineage, type Metrics } from '../src/model-dir/index.js';
import type { TrainOutcome } from '../src/train/train-options.js';
import { train } from '../src/train/training.js';
import { bundledTf, type LayersModel, type Tensor } from '../src/train/tf.js';
import { DataError, TrainError } from '../src/util/errors.js';
import { CDL_VERSION } from '../src/version.js';
import { captureLog, EXAMPLE_CONFIG, exampleRepo, git, QUICK, removeTempDirs, siblings, tempDir } from './helpers/example.js';

afterAll(removeTempDirs);

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

/** The tfjs/ folder of a model directory, loaded back into a LayersModel. */
async function loadTfjs(dir: string): Promise<LayersModel> {
  const tf = bundledTf();
  const json = readJson<{ modelTopology: object; weightsManifest: Array<{ paths: string[]; weights: never[] }> }>(
    path.join(dir, 'tfjs', 'model.json'),
  );
  expect(json.weightsManifest[0]!.paths).toEqual(['weights.bin']);
  const bin = readFileSync(path.join(dir, 'tfjs', 'weights.bin'));
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  return tf.loadLayersModel({
    load: async () => ({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0]!.weights, weightData }),
  });
}

function argmaxRows(a: Float32Array, width: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < a.length / width; r++) {
    let best = 0;
    for (let c = 1; c < width; c++) if (a[r * width + c]! > a[r * width + best]!) best = c;
    out.push(best);
  }
  return out;
}

describe('train() with the built-in trainer', () => {
  let repo: { dir: string; config: string };
  let loaded: LoadedConfig;
  let outDir: string;
  let outcome: TrainOutcome;
  let lines: string[];
  let dataset: Dataset;

  beforeAll(async () => {
    repo = exampleRepo('trunk');
    loaded = await loadConfig(repo.config, QUICK);
    outDir = path.join(tempDir('cdl-out-'), 'models', 'fashion-mnist');
    const cap = captureLog();
    lines = cap.lines;
    outcome = await train({ loaded, overrides: QUICK, outDir, log: cap.log });
    dataset = await loadDataset(loaded.config.data, { baseDir: loaded.dir, task: 'classification' });
  });

  it('writes a complete model directory and nothing beside it', () => {
    expect(readdirSync(outDir).sort()).toEqual([
      'SHA256SUMS',
      'lineage.json',
      'metrics.json',
      'model-card.md',
      'model.onnx',
      'reference.json',
      'tfjs',
    ]);
    expect(readdirSync(path.join(outDir, 'tfjs')).sort()).toEqual(['model.json', 'weights.bin']);
    // No partial directory, no old copy, and the checkpoint is removed after success.
    expect(siblings(outDir)).toEqual(['fashion-mnist']);
    expect(lines.some((l) => l.startsWith('test accuracy ') && l.includes(outDir))).toBe(true);
  });

  it('writes metrics.json (schema 1) that agrees with the returned outcome and the data', async () => {
    const m = readJson<Metrics>(path.join(outDir, 'metrics.json'));
    expect(m).toEqual(JSON.parse(JSON.stringify(outcome.metrics)));
    expect(m.schema_version).toBe(1);
    expect(m).toMatchObject({
      model: 'fashion-mnist',
      task: 'classification',
      main_metric: 'accuracy',
      higher_is_better: true,
      outputs: 'probabilities',
    });
    expect(m.main_metric_value).toBe(m.splits.test!.accuracy);
    expect(m.main_metric_value).toBeGreaterThanOrEqual(0);
    expect(m.main_metric_value).toBeLessThanOrEqual(1);
    // Two epochs on 1,350 images already do far better than chance (0.1).
    expect(m.main_metric_value).toBeGreaterThan(0.5);
    expect(m.splits.test!.examples).toBe(300);
    expect(m.splits.validation!.examples).toBe(dataset.validation.n);
    expect(m.classes).toEqual(loaded.config.data.classes);
    expect(m.history).toHaveLength(2);
    expect(m.history!.map((h) => h.epoch)).toEqual([1, 2]);
    expect(m.training).toMatchObject({ epochs_run: 2, epochs: 2, resumed_from_epoch: null });
    const parity = m.onnx as { opset: number; parity: { examples: number; max_abs_diff: number } };
    expect(parity.opset).toBe(13);
    expect(parity.parity.examples).toBe(100);
    expect(parity.parity.max_abs_diff).toBeLessThanOrEqual(1e-3);
    // And the directory reads back through the reader other steps use.
    const read = await readModelDir(outDir);
    expect(read.hasTfjs).toBe(true);
    expect(read.metrics!.main_metric_value).toBe(m.main_metric_value);
  });

  it('records the commit, branch and cleanliness of the repository the config lives in', () => {
    const l = readJson<Lineage>(path.join(outDir, 'lineage.json'));
    expect(l.git).toEqual({ commit: git(repo.dir, 'rev-parse', 'HEAD'), branch: 'trunk', dirty: false, remote: null });
    expect(l.git!.commit).toMatch(/^[0-9a-f]{40}$/);
  });

  it('records dataset version, config hash, overrides, hyperparameters, backend, kernels and hardware', () => {
    const l = readJson<Lineage>(path.join(outDir, 'lineage.json'));
    expect(l.schema_version).toBe(1);
    expect(l.cdl_version).toBe(CDL_VERSION);
    expect(Date.now() - Date.parse(l.created_at)).toBeLessThan(10 * 60_000);
    expect(l.data).toMatchObject({
      version: dataset.version,
      format: 'idx',
      files: 4,
      shape: [28, 28, 1],
      examples: { train: dataset.train.n, validation: dataset.validation.n, test: 300 },
    });
    expect(String(l.data!.version)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(l.config.hash).toBe(loaded.hash);
    expect(l.config.overrides).toEqual(QUICK);
    expect(l.hyperparameters).toEqual({
      epochs: 2,
      batch_size: 128,
      optimizer: 'adam',
      learning_rate: 0.001,
      schedule: 'constant',
      early_stopping: 'val_accuracy, patience 3',
      seed: 42,
      deterministic: true,
    });
    const t = l.trainer as {
      kind: string;
      backend: { kind: string; name: string; version: string };
      kernels: { name: string; kernels: string[] };
      tfjs_version: string;
    };
    expect(t.kind).toBe('tfjs');
    expect(t.backend).toMatchObject({ kind: 'wasm', name: 'wasm', version: '4.22.0' });
    expect(t.kernels.name).toMatch(/^(cdl-fast-ort|cdl-fast-wasm|wasm-reference)$/);
    expect(t.kernels.kernels).toContain('Conv2DBackpropFilter');
    expect(t.kernels).toMatchObject({ policy: 'fixed' });
    expect(t.tfjs_version).toBe('4.22.0');
    expect(l.hardware).toMatchObject({
      platform: `${os.platform()}-${os.arch()}`,
      cores: os.cpus().length,
      node: process.version,
    });
    expect(Array.isArray(l.hardware.gpus)).toBe(true);
    expect(l.durations.train_seconds).toBeGreaterThan(0);
    expect(l.durations.total_seconds).toBeGreaterThanOrEqual(l.durations.train_seconds!);
    const card = readFileSync(path.join(outDir, 'model-card.md'), 'utf8');
    expect(card).toContain('# Model card: fashion-mnist');
    expect(card).toContain(l.git!.commit);
    expect(card).toContain(String(l.data!.version));
  });

  it('model.onnx in onnxruntime agrees with the tfjs/ model loaded back, and gives the reported accuracy', async () => {
    const n = dataset.test.n;
    const session = await ort.InferenceSession.create(path.join(outDir, 'model.onnx'));
    const res = await session.run({
      [session.inputNames[0]!]: new ort.Tensor('float32', dataset.test.x.slice(), [n, 28, 28, 1]),
    });
    const onnxOut = res[session.outputNames[0]!]!.data as Float32Array;
    await session.release();
    const tf = bundledTf();
    const model = await loadTfjs(outDir);
    const xs = tf.tensor(dataset.test.x, [n, 28, 28, 1]);
    const pred = model.predict(xs) as Tensor;
    const tfjsOut = pred.dataSync() as Float32Array;
    xs.dispose();
    pred.dispose();
    model.dispose();
    expect(onnxOut.length).toBe(n * 10);
    expect(tfjsOut.length).toBe(n * 10);
    let maxDiff = 0;
    for (let i = 0; i < onnxOut.length; i++) maxDiff = Math.max(maxDiff, Math.abs(onnxOut[i]! - tfjsOut[i]!));
    expect(maxDiff).toBeLessThan(1e-4);
    // Softmax outputs: each row sums to 1.
    for (let r = 0; r < n; r++) expect(onnxOut.subarray(r * 10, r * 10 + 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    const onnxPred = argmaxRows(onnxOut, 10);
    const correct = onnxPred.filter((p, i) => p === dataset.test.y[i]).length;
    expect(Math.abs(correct / n - outcome.metrics.main_metric_value!)).toBeLessThanOrEqual(1 / n);
  });

  it('marks a run from a modified checkout dirty; a comment-only change keeps the config hash', async () => {
    appendFileSync(repo.config, '# a comment\n');
    const again = await loadConfig(
      repo.config,
      QUICK.map((o) => (o === 'train.epochs=2' ? 'train.epochs=1' : o)),
    );
    const sameConfig = await loadConfig(repo.config, QUICK);
    expect(sameConfig.hash).toBe(loaded.hash);
    const out = path.join(tempDir('cdl-out-'), 'm');
    const r = await train({ loaded: again, outDir: out, log: () => {} });
    expect(r.lineage.git).toMatchObject({ commit: git(repo.dir, 'rev-parse', 'HEAD'), branch: 'trunk', dirty: true });
    expect(r.lineage.config.hash).not.toBe(loaded.hash);
    expect(r.lineage.config.overrides).toEqual([]);
  });

  it('keeps the previous model directory intact and leaves nothing behind when a run fails', async () => {
    const before = Object.fromEntries(
      ['model.onnx', 'metrics.json', 'lineage.json', 'tfjs/weights.bin'].map((f) => [f, readFileSync(path.join(outDir, f))]),
    );
    // Diverges within the first epoch: raw logits and an absurd SGD step.
    const diverging = await loadConfig(repo.config, [
      ...QUICK,
      'model.layers[3].activation=linear',
      'train.optimizer.name=sgd',
      'train.optimizer.learning_rate=1e9',
    ]);
    const err = await train({ loaded: diverging, outDir, log: () => {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainError);
    expect((err as Error).message).toMatch(
      /^training diverged at epoch 1, step \d+: loss is (NaN|-?Infinity); expected a finite loss \(try a lower train\.optimizer\.learning_rate, now 1000000000\)$/,
    );
    // A data error: nothing can be read.
    const noData = await loadConfig(repo.config, [...QUICK, 'data.path=./missing']);
    const err2 = await train({ loaded: noData, outDir, log: () => {} }).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(DataError);
    expect((err2 as Error).message).toContain('missing');
    for (const [f, bytes] of Object.entries(before)) expect(readFileSync(path.join(outDir, f)).equals(bytes), f).toBe(true);
    expect(siblings(outDir)).toEqual(['fashion-mnist']);
  });

  it('a failure with no previous model leaves no output directory at all', async () => {
    const parent = tempDir('cdl-out-');
    const out = path.join(parent, 'never');
    const bad = await loadConfig(repo.config, [...QUICK, 'model.layers[3].units=7']);
    const err = await train({ loaded: bad, outDir: out, log: () => {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainError);
    expect((err as Error).message).toBe(
      "the model's last layer has 7 outputs but the data has 10 classes; expected the last dense layer to have units: 10",
    );
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(parent)).toEqual([]);
  });
});

describe('the example', () => {
  it('reaches >= 0.84 test accuracy on the shipped subset with the example config, unchanged', async () => {
    const loaded = await loadConfig(EXAMPLE_CONFIG);
    const out = path.join(tempDir('cdl-out-'), 'fashion-mnist');
    const r = await train({ loaded, outDir: out, log: () => {} });
    expect(r.metrics.splits.test!.examples).toBe(2000);
    expect(r.lineage.data!.examples).toEqual({ train: 10800, validation: 1200, test: 2000 });
    expect(r.metrics.main_metric_value).toBeGreaterThanOrEqual(0.84);
  });
});
