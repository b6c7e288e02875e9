/**
 * One served version of a model: an onnxruntime session behind its own dynamic batcher.
 * Loading checks the directory's SHA256SUMS, reads the ONNX signature and runs one warm-up row,
 * so a corrupt or tampered model fails here, before it takes any traffic.
 */
import { readFile } from 'node:fs/promises';
import { readModelDir, type Metrics } from '../model-dir/index.js';
import { assertChecksums } from '../model-dir/checksums.js';
import { summarizeOnnx } from '../onnx/read.js';
import type { Ort } from '../runtime/onnxruntime.js';
import { Batcher, settle, type Job } from './batcher.js';
import { sessionThreads, type ServeModelConfig } from './config.js';
import type { ServeMetrics } from './metrics.js';
import { makeTensorData, tensorSpec, type InferRequest, type OutputTensor, type Signature, type TensorData } from './protocol.js';

type Session = Awaited<ReturnType<Ort['InferenceSession']['create']>>;

export interface LoadVersionOptions {
  ort: Ort;
  name: string;
  version: number;
  dir: string;
  config: ServeModelConfig;
  metrics: ServeMetrics;
}

export class ModelVersion {
  readonly batcher: Batcher<InferRequest, OutputTensor[]>;
  readonly labels: { model: string; version: string };
  /** Which output's argmax counts as the predicted class (null: not a classifier). */
  private readonly classOutput: string | null;
  private readonly classCounts: number[] = [];

  private constructor(
    readonly name: string,
    readonly version: number,
    readonly dir: string,
    readonly signature: Signature,
    readonly config: ServeModelConfig,
    readonly modelMetrics: Metrics | undefined,
    private readonly ort: Ort,
    private readonly session: Session,
    private readonly metrics: ServeMetrics,
  ) {
    this.labels = { model: name, version: String(version) };
    this.batcher = new Batcher<InferRequest, OutputTensor[]>(
      {
        maxBatchSize: config.max_batch_size,
        maxQueueDelayMs: config.max_queue_delay_ms,
        maxQueueSize: config.max_queue_size,
        timeoutMs: config.timeout_ms,
        dynamic: config.dynamic_batching && signature.batched,
      },
      (jobs) => this.run(jobs),
      (reason) => metrics.rejected.inc({ ...this.labels, reason }),
      `model "${name}" version ${version}`,
    );
    const out = signature.outputs[0];
    const isClassifier = modelMetrics
      ? modelMetrics.task === 'classification'
      : out !== undefined && out.shape.length === 2 && out.shape[1]! > 1;
    this.classOutput = isClassifier && out && out.shape.length === 2 ? out.name : null;
  }

  static async load(o: LoadVersionOptions): Promise<ModelVersion> {
    const md = await readModelDir(o.dir);
    await assertChecksums(o.dir);
    const bytes = await readFile(md.onnxPath);
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
    let session: Session;
    try {
      session = await o.ort.InferenceSession.create(bytes, {
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        intraOpNumThreads: sessionThreads(o.config),
        interOpNumThreads: 1,
      });
    } catch (e) {
      throw new Error(`${md.onnxPath}: onnxruntime cannot load it: ${(e as Error).message}`);
    }
    const mv = new ModelVersion(o.name, o.version, o.dir, signature, o.config, md.metrics, o.ort, session, o.metrics);
    try {
      await mv.warmUp();
    } catch (e) {
      await session.release();
      throw new Error(`${md.onnxPath}: the warm-up inference failed: ${(e as Error).message}`);
    }
    return mv;
  }

  /** One row of zeros through the session (open dimensions set to 1). */
  private async warmUp(): Promise<void> {
    const feeds: Record<string, InstanceType<Ort['Tensor']>> = {};
    for (const i of this.signature.inputs) {
      if (!i.ort) continue;
      const dims = i.shape.map((d) => (d < 0 ? 1 : d));
      feeds[i.name] = new this.ort.Tensor(
        i.ort,
        makeTensorData(
          i.ort,
          dims.reduce((a, b) => a * b, 1),
        ),
        dims,
      );
    }
    if (Object.keys(feeds).length !== this.signature.inputs.length) return;
    const out = await this.session.run(feeds);
    for (const t of Object.values(out)) t.dispose?.();
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
    const feeds: Record<string, InstanceType<Ort['Tensor']>> = {};
    for (const spec of this.signature.inputs) {
      const first = live[0]!.item.inputs.get(spec.name)!;
      let data: TensorData;
      if (live.length === 1) data = first.data;
      else {
        const total = live.reduce((a, j) => a + j.item.inputs.get(spec.name)!.data.length, 0);
        data = makeTensorData(spec.ort!, total);
        let off = 0;
        for (const j of live) {
          const d = j.item.inputs.get(spec.name)!.data;
          (data as Float32Array).set(d as Float32Array, off);
          off += d.length;
        }
      }
      feeds[spec.name] = new this.ort.Tensor(spec.ort!, data, [
        this.signature.batched ? rows : first.shape[0]!,
        ...first.shape.slice(1),
      ]);
    }
    const res = await this.session.run(feeds);
    const ran = performance.now();
    this.metrics.runTime.observe(this.labels, (ran - start) / 1000);
    this.metrics.batchSize.observe(this.labels, rows);
    const outs = new Map<
      string,
      { dims: number[]; data: ArrayLike<number | bigint> & { subarray(a: number, b: number): unknown } }
    >();
    for (const spec of this.signature.outputs) {
      const t = res[spec.name];
      if (!t) continue;
      outs.set(spec.name, { dims: [...t.dims], data: t.data as TensorData });
    }
    if (this.classOutput) this.countClasses(outs.get(this.classOutput));
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
      if (v) this.metrics.predicted.inc({ ...this.labels, class: names?.[k] ?? String(k) }, v);
      this.classCounts[k] = (this.classCounts[k] ?? 0) + v;
    });
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
    await this.session.release();
  }
}
