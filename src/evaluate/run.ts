/**
 * Evaluating one model directory on the test split with onnxruntime-node. The candidate and the
 * baseline go through this same function, on the same examples.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Dataset } from '../data/index.js';
import { readModelDir, type ModelDir } from '../model-dir/index.js';
import { summarizeOnnx } from '../onnx/read.js';
import { loadOrt, type Ort } from '../runtime/onnxruntime.js';
import { CdlError } from '../util/errors.js';
import { formatDims, planLayout, toNchw, ShapeMismatchError, type Layout } from './layout.js';
import {
  classificationScores,
  looksLikeProbabilities,
  percentile,
  regressionScores,
  softmaxRows,
  type ClassMetrics,
} from './metrics.js';

export const EVALUATION_SCHEMA_VERSION = 1;
export const EVALUATION_FILE = 'evaluation.json';

export type Task = 'classification' | 'regression';

/** Per-example results kept for the significance tests (not written to JSON). */
export interface PerExample {
  labels: Int32Array | Float32Array;
  /** Predicted class (classification) or value (regression). */
  pred: Int32Array | Float32Array;
  /** 1 when the predicted class is the label. */
  correct?: Uint8Array;
  /** Negative log-likelihood of the label. */
  logLoss?: Float64Array;
  /** Number of classes scored above the label (0: top-1). */
  rank?: Int32Array;
  classes: number;
}

export interface Evaluation {
  schema_version: number;
  model: {
    dir: string;
    name: string | null;
    sha256: string;
    size_bytes: number;
    input: { name: string; shape: Array<number | string>; layout: Layout['kind']; fed: number[] };
    outputs: 'probabilities' | 'logits' | 'values';
    producer: string;
    commit: string | null;
  };
  task: Task;
  data: { split: 'test'; examples: number; version: string; source: string };
  /** Flat metric values: accuracy, macro_f1, log_loss, ece, top_3, top_5 or mae, rmse, r2; latency_*, throughput, size_bytes. */
  metrics: Record<string, number>;
  classes?: string[];
  per_class?: ClassMetrics[];
  confusion?: number[][];
  timing: { predict_seconds: number; examples_per_second: number; latency_runs: number; throughput_batches: number };
  created_at: string;
}

export interface EvaluatedModel {
  evaluation: Evaluation;
  perExample: PerExample;
  modelDir: ModelDir;
}

export interface EvaluateOptions {
  task: Task;
  /** Batch size for the predictions over the test split. */
  batchSize?: number;
  /** Batch-1 runs for the latency percentiles (0: skip). */
  latencyRuns?: number;
  /** Batch-64 runs for the throughput (0: skip). */
  throughputBatches?: number;
  log?: (line: string) => void;
}

export interface Predictor {
  layout: Layout;
  inputName: string;
  outputName: string;
  /** Runs `n` examples starting at `start`; returns the first output's values. */
  run(x: Float32Array, start: number, n: number): Promise<Float32Array>;
  release(): Promise<void>;
}

/** An onnxruntime session that takes dataset examples in whatever layout the model expects. */
export async function createPredictor(
  ort: Ort,
  bytes: Uint8Array,
  dataShape: readonly number[],
  ctx: { model: string; data: string },
): Promise<Predictor & { summary: ReturnType<typeof summarizeOnnx> }> {
  const summary = summarizeOnnx(bytes);
  const input = summary.inputs[0];
  const output = summary.outputs[0];
  if (!input || !output) throw new CdlError(`${ctx.model}: expected a model with at least one input and one output`);
  if (input.type !== 'FLOAT') {
    throw new ShapeMismatchError(`${ctx.model}: the model's input "${input.name}" is ${input.type}; expected FLOAT (float32) examples`);
  }
  const layout = planLayout(dataShape, input.shape, { model: ctx.model, input: input.name, data: ctx.data, producer: summary.producer });
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all' });
  const size = layout.shape.reduce((a, b) => a * b, 1);
  let scratch = new Float32Array(0);
  return {
    summary,
    layout,
    inputName: input.name,
    outputName: output.name,
    async run(x, start, n) {
      let data: Float32Array;
      if (layout.kind === 'nchw') {
        if (scratch.length < n * size) scratch = new Float32Array(n * size);
        data = toNchw(x, start, n, dataShape, scratch.subarray(0, n * size));
      } else data = x.subarray(start * size, (start + n) * size);
      const res = await session.run({ [input.name]: new ort.Tensor('float32', data, [n, ...layout.shape]) });
      const out = res[output.name]!;
      const values = out.data as Float32Array;
      out.dispose?.();
      return values;
    },
    release: () => session.release(),
  };
}

function perSecond(n: number, ms: number): number {
  return ms > 0 ? (n * 1000) / ms : 0;
}

/** Evaluate the model in `dir` on the dataset's test split. */
export async function evaluateModel(dir: string, dataset: Dataset, opts: EvaluateOptions): Promise<EvaluatedModel> {
  const log = opts.log ?? (() => {});
  const modelDir = await readModelDir(dir);
  const bytes = new Uint8Array(await readFile(modelDir.onnxPath));
  const test = dataset.test;
  if (test.n === 0) throw new CdlError(`${dataset.source}: the test split is empty; expected test examples to evaluate on`);
  const { ort } = await loadOrt({ log });
  const predictor = await createPredictor(ort, bytes, dataset.shape, { model: modelDir.onnxPath, data: dataset.source });
  const { summary, layout } = predictor;
  const task = opts.task;
  const k = dataset.classes.length;
  const outShape = summary.outputs[0]!.shape;
  const batchSize = opts.batchSize ?? 256;
  try {
    // Predictions over the whole test split.
    const width = task === 'classification' ? k : 1;
    const outputs = new Float32Array(test.n * width);
    const t0 = performance.now();
    for (let start = 0; start < test.n; start += batchSize) {
      const n = Math.min(batchSize, test.n - start);
      const values = await predictor.run(test.x, start, n);
      if (values.length !== n * width) {
        const got = values.length / n;
        throw new ShapeMismatchError(
          task === 'classification'
            ? `${modelDir.onnxPath}: the model's output "${predictor.outputName}" has ${got} values per example (shape ${formatDims(outShape)}), ` +
                `but the data has ${k} classes; expected one score per class`
            : `${modelDir.onnxPath}: the model's output "${predictor.outputName}" has ${got} values per example; expected 1 for task regression`,
        );
      }
      outputs.set(values, start * width);
    }
    const predictMs = performance.now() - t0;

    const metrics: Record<string, number> = {};
    let perExample: PerExample;
    let outputsKind: Evaluation['model']['outputs'] = 'values';
    let extra: Pick<Evaluation, 'classes' | 'per_class' | 'confusion'> = {};
    if (task === 'classification') {
      const labels = test.y as Int32Array;
      const declared = modelDir.metrics?.outputs;
      const probs = declared ? declared === 'probabilities' : looksLikeProbabilities(outputs, k);
      outputsKind = probs ? 'probabilities' : 'logits';
      if (!probs) softmaxRows(outputs, k);
      const s = classificationScores(outputs, labels, dataset.classes);
      Object.assign(metrics, { accuracy: s.accuracy, macro_f1: s.macro_f1, log_loss: s.log_loss, ece: s.ece });
      for (const [t, v] of Object.entries(s.top_k)) if (t !== '1') metrics[`top_${t}`] = v;
      const rank = new Int32Array(test.n);
      const logLoss = new Float64Array(test.n);
      for (let i = 0; i < test.n; i++) {
        const o = i * k;
        const p = outputs[o + labels[i]!]!;
        let r = 0;
        for (let c = 0; c < k; c++) if (outputs[o + c]! > p) r++;
        rank[i] = r;
        logLoss[i] = -Math.log(Math.max(p, 1e-7));
      }
      perExample = { labels, pred: s.pred, correct: s.correct, logLoss, rank, classes: k };
      extra = { classes: [...dataset.classes], per_class: s.per_class, confusion: s.confusion };
    } else {
      const y = test.y instanceof Float32Array ? test.y : Float32Array.from(test.y);
      const r = regressionScores(outputs, y);
      Object.assign(metrics, r);
      perExample = { labels: y, pred: outputs, classes: 0 };
    }

    // Latency at batch 1 and throughput at batch 64.
    const latencyRuns = Math.min(opts.latencyRuns ?? 200, test.n);
    const lat: number[] = [];
    if (latencyRuns > 0) {
      for (let i = 0; i < Math.min(5, latencyRuns); i++) await predictor.run(test.x, i, 1);
      for (let i = 0; i < latencyRuns; i++) {
        const t = performance.now();
        await predictor.run(test.x, i % test.n, 1);
        lat.push(performance.now() - t);
      }
      lat.sort((a, b) => a - b);
      metrics.latency_p50_ms = percentile(lat, 50);
      metrics.latency_p95_ms = percentile(lat, 95);
      metrics.latency_p99_ms = percentile(lat, 99);
    }
    const tpBatches = opts.throughputBatches ?? 20;
    const tb = Math.min(64, test.n);
    if (tpBatches > 0) {
      await predictor.run(test.x, 0, tb);
      const t = performance.now();
      for (let i = 0; i < tpBatches; i++) {
        const start = ((i * tb) % Math.max(1, test.n - tb + 1)) | 0;
        await predictor.run(test.x, start, tb);
      }
      metrics.throughput = perSecond(tpBatches * tb, performance.now() - t);
    }
    metrics.size_bytes = bytes.length;

    const evaluation: Evaluation = {
      schema_version: EVALUATION_SCHEMA_VERSION,
      model: {
        dir: modelDir.dir,
        name: modelDir.metrics?.model ?? modelDir.lineage?.model.name ?? null,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        size_bytes: bytes.length,
        input: { name: predictor.inputName, shape: summary.inputs[0]!.shape, layout: layout.kind, fed: layout.shape },
        outputs: outputsKind,
        producer: summary.producer,
        commit: modelDir.lineage?.git?.commit ?? null,
      },
      task,
      data: { split: 'test', examples: test.n, version: dataset.version, source: dataset.source },
      metrics,
      ...extra,
      timing: {
        predict_seconds: predictMs / 1000,
        examples_per_second: perSecond(test.n, predictMs),
        latency_runs: lat.length,
        throughput_batches: tpBatches,
      },
      created_at: new Date().toISOString(),
    };
    log(
      `evaluated ${modelDir.dir} on ${test.n} test examples (${layout.kind === 'nchw' ? 'NCHW' : 'as stored'}, ` +
        `${evaluation.timing.examples_per_second.toFixed(0)} examples/s)`,
    );
    return { evaluation, perExample, modelDir };
  } finally {
    await predictor.release();
  }
}
