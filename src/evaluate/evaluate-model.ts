/**
 * Evaluating one model directory on the test split with onnxruntime-node. The candidate and the
 * baseline go through this same function, on the same examples.
 */
import type { Dataset } from '../data/index.js';
import { openModelDir, type OpenedModelDir } from '../model-dir/index.js';
import { EVALUATION_SCHEMA_VERSION, type Evaluation, type Task } from '../model-dir/records.js';
import { loadOrt, type Ort } from '../runtime/onnxruntime.js';
import { summarizeOnnx } from '../onnx/read.js';
import { CdlError, messageOf } from '../util/errors.js';
import { formatDims, planLayout, toNchw, ShapeMismatchError, type Layout } from './layout.js';
import type { PerExample } from './records.js';
import { ClassificationAccumulator, looksLikeProbabilities, percentile, regressionScores, softmaxRows } from './metrics.js';

export interface EvaluatedModel {
  evaluation: Evaluation;
  perExample: PerExample;
  modelDir: OpenedModelDir;
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

/**
 * producer_name and producer_version of an ONNX model, read from the top-level protobuf fields
 * without decoding the graph.
 */
export function onnxProducer(bytes: Uint8Array): string {
  let pos = 0;
  const varint = () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = bytes[pos++];
      if (b === undefined) throw new Error('truncated');
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
  };
  const parts: string[] = [];
  try {
    while (pos < bytes.length) {
      const key = varint();
      const field = Math.floor(key / 8);
      const wire = key & 7;
      if (wire === 0) varint();
      else if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else if (wire === 2) {
        const len = varint();
        if (field === 2 || field === 3) parts[field - 2] = new TextDecoder().decode(bytes.subarray(pos, pos + len));
        pos += len;
      } else break;
    }
  } catch {
    // Not a well-formed model: onnxruntime says so when it loads it.
  }
  return parts.filter(Boolean).join(' ');
}

/**
 * Refuse inputs whose declared sizes cannot be (a negative or fractional dimension): onnxruntime
 * would treat them as free, and the model would be scored against data it does not describe.
 */
function checkDeclaredInputs(bytes: Uint8Array, model: string): void {
  let inputs: ReturnType<typeof summarizeOnnx>['inputs'];
  try {
    inputs = summarizeOnnx(bytes).inputs;
  } catch {
    return; // onnxruntime names what is wrong with bytes that are not a model
  }
  for (const input of inputs) {
    input.shape.forEach((d, axis) => {
      if (typeof d === 'number' && (d < 0 || !Number.isInteger(d))) {
        throw new ShapeMismatchError(
          `${model}: the model's input "${input.name}" declares size ${d} on axis ${axis} (shape ${formatDims(input.shape)}); expected sizes >= 0 or a symbolic name such as "batch"`,
        );
      }
    });
  }
}

/** An onnxruntime session that takes dataset examples in whatever layout the model expects. */
export async function createPredictor(
  ort: Ort,
  bytes: Uint8Array,
  dataShape: readonly number[],
  ctx: { model: string; data: string },
): Promise<Predictor & { inputShape: Array<number | string>; outputShape: Array<number | string>; producer: string }> {
  const producer = onnxProducer(bytes);
  checkDeclaredInputs(bytes, ctx.model);
  let session: Awaited<ReturnType<Ort['InferenceSession']['create']>>;
  try {
    session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all' });
  } catch (e) {
    // A model onnxruntime refuses may still say what input it wants: name both shapes if they differ.
    let declared: ReturnType<typeof summarizeOnnx> | undefined;
    try {
      declared = summarizeOnnx(bytes);
    } catch {
      declared = undefined;
    }
    const input = declared?.inputs[0];
    if (input) planLayout(dataShape, input.shape, { model: ctx.model, input: input.name, data: ctx.data, producer });
    throw new CdlError(`${ctx.model}: onnxruntime cannot load the model: ${messageOf(e)}`, { cause: e });
  }
  let layout: Layout;
  let inputName: string;
  let outputName: string;
  let inputShape: Array<number | string>;
  let outputShape: Array<number | string>;
  try {
    const input = session.inputMetadata[0];
    const output = session.outputMetadata[0];
    if (!input || !output) throw new CdlError(`${ctx.model}: expected a model with at least one input and one output`);
    if (!input.isTensor || input.type !== 'float32') {
      throw new ShapeMismatchError(
        `${ctx.model}: the model's input "${input.name}" is ${input.isTensor ? input.type : 'not a tensor'}; expected float32 examples`,
      );
    }
    inputName = input.name;
    outputName = output.name;
    inputShape = [...input.shape];
    outputShape = output.isTensor ? [...output.shape] : [];
    layout = planLayout(dataShape, inputShape, { model: ctx.model, input: inputName, data: ctx.data, producer });
  } catch (e) {
    await session.release();
    throw e;
  }
  const size = layout.shape.reduce((a, b) => a * b, 1);
  // Two buffers: one batch is being transposed while the previous one may still be running.
  const scratch = [new Float32Array(0), new Float32Array(0)];
  let turn = 0;
  return {
    layout,
    inputName,
    outputName,
    inputShape,
    outputShape,
    producer,
    async run(x, start, n) {
      let data: Float32Array;
      if (layout.kind === 'nchw') {
        turn ^= 1;
        if (scratch[turn]!.length < n * size) scratch[turn] = new Float32Array(n * size);
        data = toNchw(x, start, n, dataShape, scratch[turn]!.subarray(0, n * size));
      } else data = x.subarray(start * size, (start + n) * size);
      const res = await session.run({ [inputName]: new ort.Tensor('float32', data, [n, ...layout.shape]) });
      const out = res[outputName]!;
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

/**
 * Evaluate a model directory on the dataset's test split: an opened one (its bytes and hash are
 * used as they are), or a path, opened (and its SHA256SUMS checked) here.
 */
export async function evaluateModel(
  dir: string | OpenedModelDir,
  dataset: Dataset,
  opts: EvaluateOptions,
): Promise<EvaluatedModel> {
  const log = opts.log ?? (() => {});
  const modelDir = typeof dir === 'string' ? await openModelDir(dir) : dir;
  const bytes = modelDir.onnx;
  const sha256 = modelDir.sha256;
  const test = dataset.test;
  if (test.n === 0) throw new CdlError(`${dataset.source}: the test split is empty; expected test examples to evaluate on`);
  const { ort } = await loadOrt({ log });
  const predictor = await createPredictor(ort, bytes, dataset.shape, { model: modelDir.onnxPath, data: dataset.source });
  const { layout } = predictor;
  const task = opts.task;
  const k = dataset.classes.length;
  const outShape = predictor.outputShape;
  const batchSize = opts.batchSize ?? 256;
  try {
    // Predictions over the whole test split. The next batch runs in onnxruntime (off the main
    // thread) while this one is scored.
    const width = task === 'classification' ? k : 1;
    const labels = test.y as Int32Array;
    const acc = task === 'classification' ? new ClassificationAccumulator(labels, dataset.classes) : undefined;
    const outputs = acc ? undefined : new Float32Array(test.n);
    let probs: boolean | undefined;
    const t0 = performance.now();
    const launch = (start: number) => {
      const p = predictor.run(test.x, start, Math.min(batchSize, test.n - start));
      p.catch(() => {}); // awaited below; a failure is reported there
      return p;
    };
    let pending = launch(0);
    for (let start = 0; start < test.n; start += batchSize) {
      const n = Math.min(batchSize, test.n - start);
      const values = await pending;
      if (start + batchSize < test.n) pending = launch(start + batchSize);
      if (values.length !== n * width) {
        await pending.catch(() => undefined); // let the batch in flight finish before the session is released
        const got = values.length / n;
        throw new ShapeMismatchError(
          task === 'classification'
            ? `${modelDir.onnxPath}: the model's output "${predictor.outputName}" has ${got} values per example (shape ${formatDims(outShape)}), ` +
                `but the data has ${k} classes; expected one score per class`
            : `${modelDir.onnxPath}: the model's output "${predictor.outputName}" has ${got} values per example; expected 1 for task regression`,
        );
      }
      if (acc) {
        const declared = modelDir.metrics?.outputs;
        probs ??= declared ? declared === 'probabilities' : looksLikeProbabilities(values, k);
        acc.add(probs ? values : softmaxRows(values, k), start);
      } else outputs!.set(values, start);
    }
    const predictMs = performance.now() - t0;

    const metrics: Record<string, number> = {};
    let perExample: PerExample;
    let outputsKind: Evaluation['model']['outputs'] = 'values';
    let extra: Pick<Evaluation, 'classes' | 'per_class' | 'confusion'> = {};
    if (acc) {
      outputsKind = probs ? 'probabilities' : 'logits';
      const s = acc.finish();
      Object.assign(metrics, { accuracy: s.accuracy, macro_f1: s.macro_f1, log_loss: s.log_loss, ece: s.ece });
      for (const [t, v] of Object.entries(s.top_k)) if (t !== '1') metrics[`top_${t}`] = v;
      perExample = { labels, pred: s.pred, correct: s.correct, logLoss: s.logLoss, rank: s.rank, classes: k };
      extra = { classes: [...dataset.classes], per_class: s.per_class, confusion: s.confusion };
    } else {
      const y = test.y instanceof Float32Array ? test.y : Float32Array.from(test.y);
      Object.assign(metrics, regressionScores(outputs!, y));
      perExample = { labels: y, pred: outputs!, classes: 0 };
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
        sha256,
        size_bytes: bytes.length,
        input: { name: predictor.inputName, shape: predictor.inputShape, layout: layout.kind, fed: layout.shape },
        outputs: outputsKind,
        producer: predictor.producer,
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
