/**
 * Evaluation: metrics and significance tests on known numbers, then real models trained by cdl,
 * evaluated with onnxruntime-node on the shipped test split, in either input layout.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type LoadedConfig } from '../src/config/index.js';
import type { Dataset } from '../src/data/index.js';
import {
  binomialTwoSided,
  classificationScores,
  evaluateModel,
  loadTestData,
  mcnemar,
  pairedBootstrap,
  planLayout,
  regressionScores,
  ShapeMismatchError,
  toNchw,
  type EvaluatedModel,
} from '../src/evaluate/index.js';
import type { PerExample } from '../src/evaluate/records.js';
import { onnx } from '../src/onnx/index.js';
import { DataError } from '../src/util/errors.js';
import { channelsFirstExport, copyModel, trainExample } from './evaluate-models.js';
import { EXAMPLE_CONFIG, removeTempDirs, runCli, tempDir } from './helpers/example.js';

afterAll(removeTempDirs);

describe('metrics', () => {
  it('classification: accuracy, macro-F1, per class, confusion, log loss, ECE and top-k on a worked example', () => {
    // 4 examples, 3 classes. Predictions: 0, 1, 1, 2; labels: 0, 1, 2, 2.
    const p = Float32Array.from([0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.2, 0.5, 0.3, 0.1, 0.1, 0.8]);
    const s = classificationScores(p, Int32Array.from([0, 1, 2, 2]), ['a', 'b', 'c']);
    expect(s.accuracy).toBe(0.75);
    expect(s.confusion).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 1, 1],
    ]);
    expect(s.per_class.map((c) => [c.precision, c.recall, c.support])).toEqual([
      [1, 1, 1],
      [0.5, 1, 1],
      [1, 0.5, 2],
    ]);
    expect(s.macro_f1).toBeCloseTo((1 + 2 / 3 + 2 / 3) / 3, 10);
    expect(s.log_loss).toBeCloseTo(-(Math.log(0.7) + Math.log(0.8) + Math.log(0.3) + Math.log(0.8)) / 4, 6);
    expect(s.top_k).toEqual({ 1: 0.75, 3: 1 });
    // Confidences 0.7, 0.8, 0.5, 0.8 in bins 10, 12, 7, 12 of 15: |1-0.7| + |1-0.5| + 2|1-0.8| over 4.
    expect(s.ece).toBeCloseTo((0.3 + 0.5 + 0.4) / 4, 6);
  });

  it('regression: MAE, RMSE and R²', () => {
    const r = regressionScores(Float32Array.from([1, 2, 3, 5]), Float32Array.from([1, 2, 3, 4]));
    expect(r.mae).toBeCloseTo(0.25);
    expect(r.rmse).toBeCloseTo(0.5);
    expect(r.r2).toBeCloseTo(1 - 1 / 5);
  });
});

describe('significance', () => {
  const pe = (correct: number[]): PerExample => ({
    labels: new Int32Array(correct.length),
    pred: Int32Array.from(correct.map((c) => (c ? 0 : 1))),
    correct: Uint8Array.from(correct),
    classes: 2,
  });

  it("McNemar's exact test counts the discordant pairs", () => {
    expect(binomialTwoSided(0, 10)).toBeCloseTo(2 / 1024, 10);
    expect(binomialTwoSided(5, 10)).toBe(1);
    const r = mcnemar(Uint8Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]), Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    expect(r).toMatchObject({ candidate_only: 10, baseline_only: 0 });
    expect(r.p_value).toBeLessThan(0.01);
    expect(mcnemar(Uint8Array.from([1, 0, 1, 0]), Uint8Array.from([0, 1, 0, 1])).p_value).toBe(1);
  });

  it('the paired bootstrap interval is zero-width for identical models and covers a real difference', () => {
    const a = pe(Array.from({ length: 400 }, (_, i) => (i % 4 === 0 ? 0 : 1)));
    expect(pairedBootstrap('accuracy', a, a).ci).toEqual([0, 0]);
    const b = pe(Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? 0 : 1)));
    const r = pairedBootstrap('accuracy', a, b, { resamples: 500, seed: 3 });
    expect(r.ci[0]).toBeGreaterThan(0.15);
    expect(r.ci[1]).toBeLessThan(0.35);
    expect(r.ci[0]).toBeLessThan(0.25);
    expect(r.ci[1]).toBeGreaterThan(0.25);
  });
});

describe('input layout', () => {
  const ctx = { model: 'm/model.onnx', input: 'x', data: 'data/' };
  it('feeds HWC as stored, transposes for NCHW, flattens for vectors', () => {
    expect(planLayout([28, 28, 1], ['N', 28, 28, 1], ctx)).toEqual({ kind: 'as-is', shape: [28, 28, 1] });
    expect(planLayout([28, 28, 1], ['N', 1, 28, 28], ctx)).toEqual({ kind: 'nchw', shape: [1, 28, 28] });
    expect(planLayout([32, 32, 3], [-1, 3, 32, 32], ctx)).toEqual({ kind: 'nchw', shape: [3, 32, 32] });
    expect(planLayout([28, 28, 1], ['N', 784], ctx)).toEqual({ kind: 'reshape', shape: [784] });
    expect(planLayout([28, 28, 1], ['N', 28, 28], ctx)).toEqual({ kind: 'reshape', shape: [28, 28] });
    expect(planLayout([8, 8, 3], ['batch', 'c', 'h', 'w'], { ...ctx, producer: 'pytorch 2.1' })).toEqual({
      kind: 'nchw',
      shape: [3, 8, 8],
    });
  });

  it('names both shapes when they really differ', () => {
    expect(() => planLayout([28, 28, 1], ['N', 3, 32, 32], ctx)).toThrow(ShapeMismatchError);
    expect(() => planLayout([28, 28, 1], ['N', 3, 32, 32], ctx)).toThrow(
      `m/model.onnx: the model's input "x" has shape [N, 3, 32, 32], but the test examples (data/) have shape [28, 28, 1] (HWC; in NCHW [1, 28, 28]); expected the same sizes, channels last or first`,
    );
  });

  it('transposes HWC to CHW', () => {
    // One 2x2 image with 3 channels: pixel p has channel values 10p, 10p+1, 10p+2.
    const src = Float32Array.from([0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32]);
    expect([...toNchw(src, 0, 1, [2, 2, 3], new Float32Array(12))]).toEqual([0, 10, 20, 30, 1, 11, 21, 31, 2, 12, 22, 32]);
  });
});

describe('evaluateModel on models trained by cdl', () => {
  let loaded: LoadedConfig;
  let dataset: Dataset;
  let dir: string;
  let trained: string;
  let ev: EvaluatedModel;
  const opts = { task: 'classification' as const, latencyRuns: 30, throughputBatches: 5 };

  beforeAll(async () => {
    dir = tempDir('cdl-eval-');
    trained = await trainExample(path.join(dir, 'trained'), ['train.epochs=1', 'data.limit.train=2000']);
    loaded = await loadConfig(EXAMPLE_CONFIG);
    dataset = await loadTestData(loaded);
    ev = await evaluateModel(trained, dataset, opts);
  });

  it('scores the whole test split and agrees with the accuracy the trainer measured', () => {
    const e = ev.evaluation;
    expect(e.data.examples).toBe(2000);
    const trainerAccuracy = JSON.parse(readFileSync(path.join(trained, 'metrics.json'), 'utf8')).splits.test.accuracy as number;
    expect(e.metrics.accuracy).toBeCloseTo(trainerAccuracy, 3);
    expect(e.metrics.accuracy).toBeGreaterThan(0.5);
    for (const k of [
      'macro_f1',
      'log_loss',
      'ece',
      'top_3',
      'top_5',
      'latency_p50_ms',
      'latency_p95_ms',
      'latency_p99_ms',
      'throughput',
      'size_bytes',
    ]) {
      expect(Number.isFinite(e.metrics[k]), k).toBe(true);
    }
    expect(e.metrics.latency_p50_ms).toBeLessThanOrEqual(e.metrics.latency_p95_ms!);
    expect(e.metrics.latency_p95_ms).toBeLessThanOrEqual(e.metrics.latency_p99_ms!);
    expect(e.metrics.top_5).toBeGreaterThanOrEqual(e.metrics.top_3!);
    expect(e.metrics.size_bytes).toBe(readFileSync(path.join(trained, 'model.onnx')).length);
    expect(e.per_class).toHaveLength(10);
    expect(e.confusion!.flat().reduce((a, b) => a + b, 0)).toBe(2000);
    expect(e.model).toMatchObject({ outputs: 'probabilities', input: { layout: 'as-is', shape: ['N', 28, 28, 1] } });
    expect(ev.perExample.correct!.reduce((a, b) => a + b, 0)).toBe(Math.round(e.metrics.accuracy! * 2000));
  });

  it('evaluates a PyTorch-style export (only model.onnx, NCHW input, logits) to the same predictions', async () => {
    const torch = channelsFirstExport(trained, path.join(dir, 'torch'), { dropSoftmax: true });
    const t = await evaluateModel(torch, dataset, opts);
    expect(t.evaluation.model).toMatchObject({
      outputs: 'logits',
      producer: 'pytorch 2.1.0',
      input: { layout: 'nchw', fed: [1, 28, 28] },
    });
    expect([...t.perExample.pred]).toEqual([...ev.perExample.pred]);
    expect(t.evaluation.metrics.accuracy).toBe(ev.evaluation.metrics.accuracy);
    expect(t.evaluation.metrics.log_loss).toBeCloseTo(ev.evaluation.metrics.log_loss!, 4);
  });

  it('a model whose input shape does not match the data names both shapes', async () => {
    const wrong = channelsFirstExport(trained, path.join(dir, 'wrong'), { dims: [3, 32, 32] });
    await expect(evaluateModel(wrong, dataset, opts)).rejects.toThrow(
      /wrong\/model\.onnx: the model's input "x_nchw" has shape \[batch, 3, 32, 32\], but the test examples \(.*data\) have shape \[28, 28, 1\]/,
    );
  });

  it('a missing test split names the path', async () => {
    const cfg = path.join(dir, 'missing-test.yaml');
    writeFileSync(
      cfg,
      readFileSync(EXAMPLE_CONFIG, 'utf8')
        .replace('path: ./data', `path: ${path.join(path.dirname(EXAMPLE_CONFIG), 'data')}`)
        .replace('t10k-images-idx3-ubyte.gz', 'no-such-test-images.gz'),
    );
    const l = await loadConfig(cfg);
    const err = await loadTestData(l).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(
      /examples\/fashion-mnist\/data\/no-such-test-images\.gz: no such file \(data\.test\.images\)/,
    );
  });

  it('cdl evaluate prints the metrics, compares with a baseline and writes evaluation.json', async () => {
    const cand = copyModel(trained, path.join(dir, 'cli-candidate'));
    const r = await runCli([
      'evaluate',
      '--model',
      cand,
      '--baseline',
      trained,
      '--config',
      EXAMPLE_CONFIG,
      '--set',
      'gate.benchmark.latency_runs=10',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^metric\s+candidate\s+baseline\s+delta\s+significance/);
    // The same model on both sides: no change, and not significant.
    expect(r.stdout).toMatch(/accuracy\s+0\.\d{4}\s+0\.\d{4}\s+0\s+not significant, within noise \(95% CI 0…0\)/);
    const written = JSON.parse(readFileSync(path.join(cand, 'evaluation.json'), 'utf8'));
    expect(written.metrics.accuracy).toBe(ev.evaluation.metrics.accuracy);
    expect(written.baseline.model.sha256).toBe(written.model.sha256);
    // Against a baseline it records what changed example by example: nothing, for the same model.
    expect(written.changes).toMatchObject({ fixed: 0, broken: 0, changed: 0, examples: { fixed: [], broken: [] } });
    const missing = await runCli(['evaluate', '--config', EXAMPLE_CONFIG]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--model DIR is required');
  });
});

describe('evaluateModel on a regression model', () => {
  it('scores MAE, RMSE and R² from a CSV test split', async () => {
    const dir = tempDir('cdl-eval-reg-');
    // y = x1 + 2·x2 on the training rows; the model predicts x1 + 2·x2 + 0.5.
    const rows = (n: number, off: number) =>
      ['x1,x2,y', ...Array.from({ length: n }, (_, i) => `${i + off},${(i * 7) % 5},${i + off + 2 * ((i * 7) % 5)}`)].join('\n') +
      '\n';
    writeFileSync(path.join(dir, 'train.csv'), rows(20, 0));
    writeFileSync(path.join(dir, 'test.csv'), rows(10, 100));
    writeFileSync(
      path.join(dir, 'cdl.yaml'),
      'model: { name: lin, task: regression, layers: [{ type: dense, units: 1 }] }\ndata: { format: csv, path: ., label_column: y }\n',
    );
    const floats = (a: number[]) => new Uint8Array(Float32Array.from(a).buffer);
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      producerName: 'hand',
      graph: {
        name: 'lin',
        input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: 2 }] } } } }],
        output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: 1 }] } } } }],
        initializer: [
          { name: 'w', dims: [2, 1], dataType: 1, rawData: floats([1, 2]) },
          { name: 'b', dims: [1], dataType: 1, rawData: floats([0.5]) },
        ],
        node: [
          { opType: 'MatMul', input: ['x', 'w'], output: ['xw'] },
          { opType: 'Add', input: ['xw', 'b'], output: ['y'] },
        ],
      },
    });
    const mdir = path.join(dir, 'model');
    mkdirSync(mdir);
    writeFileSync(path.join(mdir, 'model.onnx'), onnx.ModelProto.encode(model).finish());
    const l = await loadConfig(path.join(dir, 'cdl.yaml'));
    const r = await evaluateModel(mdir, await loadTestData(l), { task: 'regression', latencyRuns: 5, throughputBatches: 1 });
    expect(r.evaluation.metrics.mae).toBeCloseTo(0.5, 5);
    expect(r.evaluation.metrics.rmse).toBeCloseTo(0.5, 5);
    expect(r.evaluation.metrics.r2).toBeGreaterThan(0.9);
    expect(r.evaluation.model).toMatchObject({ outputs: 'values', producer: 'hand', input: { layout: 'as-is', fed: [2] } });
    expect(r.perExample.pred).toHaveLength(10);
  });
});
