/**
 * One served version of a model: a pool of inference workers (each with its own onnxruntime
 * session) behind its own dynamic batcher. Loading checks the directory's SHA256SUMS, reads the
 * ONNX signature and runs one warm-up row in every worker, so a corrupt or tampered model fails
 * here, before it takes any traffic.
 */
import { HttpError } from './errors.js';
import { fillTensor, tensorSpec, type InferRequest, type OutputTensor, type Signature, type TensorData } from './tensors.js';
import { openModelDir, type Metrics } from '../model-dir/index.js';
import { summarizeOnnx } from '../onnx/read.js';
import { Batcher, settle, type Job } from './batcher.js';
import { poolShape, type ServeModelConfig } from './config.js';
import type { ServeMetrics } from './metrics.js';
import { InferencePool, type WireTensor } from './pool.js';
import { InputStatsRecorder, readReference, type ProductionStats } from './input-stats.js';

/** What a model version's requests are checked against: equal keys parse a body the same way. */
export const signatureKey = (mv: { signature: unknown; config: { max_batch_size: number } }) =>
  JSON.stringify([mv.signature, mv.config.max_batch_size]);

export interface LoadVersionOptions {
  name: string;
  version: number;
  dir: string;
  config: ServeModelConfig;
  metrics: ServeMetrics;
  /** Called once if an inference worker dies: the version can no longer answer. */
  onCrash?: (mv: ModelVersion, reason: string) => void;
}

export class ModelVersion {
  readonly batcher: Batcher<InferRequest, OutputTensor[]>;
  readonly labels: { model: string; version: string };
  /** Which output's argmax counts as the predicted class (null: not a classifier). */
  private readonly classOutput: string | null;
  private readonly classCounts: number[] = [];
  /** Batches run, by rows in the batch (the statistics extension's batch_stats). */
  private readonly batchCounts = new Map<number, { count: number; computeMs: number }>();
  /** Set once the version's inference workers are started. */
  pool!: InferencePool;
  /** Production statistics against the model's reference.json (absent for models without one). */
  private recorder?: InputStatsRecorder;

  private constructor(
    readonly name: string,
    readonly version: number,
    readonly dir: string,
    readonly signature: Signature,
    readonly config: ServeModelConfig,
    readonly modelMetrics: Metrics | undefined,
    readonly workers: number,
    readonly threads: number,
    private readonly metrics: ServeMetrics,
    /** SHA-256 of the model.onnx this version serves (reported in its metadata and the index). */
    readonly sha256: string,
  ) {
    this.labels = { model: name, version: String(version) };
    this.batcher = new Batcher<InferRequest, OutputTensor[]>(
      {
        maxBatchSize: config.max_batch_size,
        maxQueueDelayMs: config.max_queue_delay_ms,
        maxQueueSize: config.max_queue_size,
        timeoutMs: config.timeout_ms,
        dynamic: config.dynamic_batching && signature.batched,
        concurrency: workers,
      },
      (jobs) => this.run(jobs),
      (reason) => metrics.rejected.inc({ model: this.labels.model, reason, version: this.labels.version }),
      `model "${name}" version ${version}`,
    );
    const out = signature.outputs[0];
    const isClassifier = modelMetrics
      ? modelMetrics.task === 'classification'
      : out !== undefined && out.shape.length === 2 && out.shape[1]! > 1;
    this.classOutput = isClassifier && out && out.shape.length === 2 ? out.name : null;
  }

  static async load(o: LoadVersionOptions): Promise<ModelVersion> {
    // What a server loads came through a trust boundary: SHA256SUMS must be there, list every
    // file and match. model.onnx is read and hashed once, here.
    const md = await openModelDir(o.dir, { requireChecksums: true });
    const bytes = md.onnx;
    let summary: ReturnType<typeof summarizeOnnx>;
    try {
      summary = summarizeOnnx(bytes);
    } catch (e) {
      throw new Error(`${md.onnxPath}: ${(e as Error).message}`);
    }
    const inputs = summary.inputs.map(tensorSpec);
    const outputs = summary.outputs.map(tensorSpec);
    if (!inputs.length || !outputs.length) throw new Error(`${md.onnxPath}: the model has no inputs or no outputs`);
    const signature: Signature = { inputs, outputs, batched: inputs.every((i) => i.shape.length > 0 && i.shape[0] === -1) };
    const { workers, threads } = poolShape(o.config);
    const mv = new ModelVersion(
      o.name,
      o.version,
      o.dir,
      signature,
      o.config,
      md.metrics,
      workers,
      threads,
      o.metrics,
      md.sha256,
    );
    const reference = await readReference(o.dir);
    const monitored = reference && inputs.length === 1 ? reference : undefined;
    if (monitored) mv.recorder = new InputStatsRecorder(monitored, o.name, String(o.version));
    try {
      mv.pool = await InferencePool.start({
        model: bytes,
        workers,
        threads,
        inputs,
        outputs: outputs.map((t) => t.name),
        // Only batched inputs are binned (one example a row).
        reference: signature.batched ? monitored : undefined,
        describe: `model "${o.name}" version ${o.version}`,
        onCrash: (reason) => o.onCrash?.(mv, reason),
      });
    } catch (e) {
      throw new Error(`${md.onnxPath}: ${(e as Error).message}`);
    }
    return mv;
  }

  infer(req: InferRequest): Promise<OutputTensor[]> {
    return this.batcher.submit(req, req.rows, req.key);
  }

  private async run(jobs: Array<Job<InferRequest, OutputTensor[]>>): Promise<void> {
    const start = performance.now();
    const live = jobs.filter((j) => !j.settled);
    if (!live.length) return;
    const rows = live.reduce((a, j) => a + j.rows, 0);
    for (const j of live) this.metrics.queueTime.observe(this.labels, (start - j.enqueuedAt) / 1000);
    const feeds: WireTensor[] = this.signature.inputs.map((spec) => {
      const first = live[0]!.item.inputs.get(spec.name)!;
      return {
        name: spec.name,
        type: spec.ort!,
        dims: [this.signature.batched ? rows : first.shape[0]!, ...first.shape.slice(1)],
        data: fillTensor(
          spec.ort!,
          live.map((j) => j.item.inputs.get(spec.name)!),
        ),
      };
    });
    let res: WireTensor[];
    let inputCounts: number[][] | null;
    try {
      ({ outputs: res, inputCounts } = await this.pool.run(feeds));
    } catch (e) {
      // A dead worker: 500 naming it, for every request of the batch (HttpError keeps the message as is).
      throw this.pool.dead ? new HttpError(500, (e as Error).message) : e;
    }
    const ran = performance.now();
    this.metrics.runTime.observe(this.labels, (ran - start) / 1000);
    this.metrics.batchSize.observe(this.labels, rows);
    const b = this.batchCounts.get(rows) ?? { count: 0, computeMs: 0 };
    b.count++;
    b.computeMs += ran - start;
    this.batchCounts.set(rows, b);
    const outs = new Map<string, { dims: number[]; data: TensorData }>();
    for (const t of res) outs.set(t.name, { dims: t.dims, data: t.data });
    if (this.classOutput) this.countClasses(outs.get(this.classOutput));
    if (this.recorder && inputCounts) {
      this.recorder.addInputCounts(inputCounts, rows);
      const first = outs.get(this.signature.outputs[0]!.name);
      if (first) this.recorder.recordOutputs(first.data as ArrayLike<number>, rows);
    }
    let offset = 0;
    for (const j of live) {
      const tensors: OutputTensor[] = [];
      for (const name of j.item.outputs) {
        const o = outs.get(name);
        const spec = this.signature.outputs.find((s) => s.name === name)!;
        if (!o) continue;
        if (this.signature.batched && o.dims[0] === rows && rows > 0) {
          const per = o.data.length / rows;
          tensors.push({
            name,
            datatype: spec.datatype,
            shape: [j.rows, ...o.dims.slice(1)],
            data: o.data.subarray(offset * per, (offset + j.rows) * per) as ArrayLike<number>,
          });
        } else tensors.push({ name, datatype: spec.datatype, shape: o.dims, data: o.data });
      }
      offset += j.rows;
      settle(j, tensors);
    }
  }

  private countClasses(o: { dims: number[]; data: ArrayLike<number | bigint> } | undefined): void {
    if (!o || o.dims.length !== 2) return;
    const [n, c] = o.dims as [number, number];
    const counts = new Array<number>(c).fill(0);
    for (let r = 0; r < n; r++) {
      let best = 0;
      for (let k = 1; k < c; k++) if ((o.data[r * c + k] as number) > (o.data[r * c + best] as number)) best = k;
      counts[best]!++;
    }
    const names = this.modelMetrics?.classes;
    counts.forEach((v, k) => {
      if (v) this.metrics.predicted.inc({ class: names?.[k] ?? String(k), ...this.labels }, v);
      this.classCounts[k] = (this.classCounts[k] ?? 0) + v;
    });
  }

  /** Production statistics for monitoring, or undefined when the model has no reference.json. */
  monitorStats(): ProductionStats | undefined {
    return this.recorder?.snapshot();
  }

  /** Batches run so far by size, with their mean compute time (for the statistics endpoint). */
  batchStats(): Array<{ batch_size: number; count: number; compute_ms: number }> {
    return [...this.batchCounts]
      .sort((a, b) => a[0] - b[0])
      .map(([size, b]) => ({ batch_size: size, count: b.count, compute_ms: +(b.computeMs / b.count).toFixed(3) }));
  }

  /** Predicted classes so far, by class name (for the statistics endpoint). */
  predictedClasses(): Record<string, number> {
    const names = this.modelMetrics?.classes;
    const out: Record<string, number> = {};
    this.classCounts.forEach((v, k) => (out[names?.[k] ?? String(k)] = v));
    return out;
  }

  /** Stop taking requests, let queued and running ones finish, then free the session. */
  async drainAndRelease(): Promise<void> {
    this.batcher.close();
    await this.batcher.idle();
    await this.pool.close();
  }
}
