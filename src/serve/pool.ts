/**
 * The inference workers of one served version: a few worker threads (worker.ts), each with its
 * own onnxruntime session, so batches run while the main thread keeps accepting, parsing and
 * answering requests. A batch's input buffers are transferred to the worker and the outputs'
 * buffers transferred back (no copies). A worker that dies (an uncaught error, an exit) fails the
 * batch it was running and marks the whole pool dead; the owner is told once (onCrash).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { ReferenceStats } from '../data/stats.js';
import type { TensorSpec, TensorData } from './tensors.js';

/** A tensor as it crosses between threads. */
export interface WireTensor {
  name: string;
  type: string;
  dims: number[];
  data: TensorData;
}

export interface WorkerInit {
  /** The model's bytes (a copy for each worker). */
  model: ArrayBuffer;
  threads: number;
  inputs: TensorSpec[];
  /** The outputs sent back, in the model's order. */
  outputs: string[];
  /** The model's reference statistics: the worker bins each batch's inputs with them (monitoring). */
  reference?: ReferenceStats;
}

export type WorkerRequest = { type: 'run'; id: number; feeds: WireTensor[] } | { type: 'release' };

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; outputs: WireTensor[]; inputCounts: number[][] | null }
  | { type: 'error'; id: number; message: string }
  | { type: 'released' };

export interface PoolOptions {
  model: Uint8Array;
  workers: number;
  threads: number;
  inputs: TensorSpec[];
  outputs: string[];
  reference?: ReferenceStats;
  /** Names the version in errors, e.g. `model "fm" version 2`. */
  describe: string;
  /** Called once when a worker dies unexpectedly, with the reason. */
  onCrash?: (reason: string) => void;
}

/** A batch's outputs, and its inputs binned with the reference statistics (null without them). */
export interface RunResult {
  outputs: WireTensor[];
  inputCounts: number[][] | null;
}

interface Slot {
  worker: Worker;
  job: { id: number; resolve: (o: RunResult) => void; reject: (e: Error) => void } | undefined;
}

/**
 * Where a worker starts: worker.js next to this file once compiled; from the TypeScript sources
 * (tsx, tests), a one-line bootstrap that registers tsx in the new thread first.
 */
function spawn(init: WorkerInit, transfer: ArrayBuffer[]): Worker {
  return startWorker('worker', { workerData: init, transferList: transfer });
}

/** Start the worker thread of `<name>.js` (or `.ts`) beside this file. */
export function startWorker(name: string, options: WorkerOptions): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, here), options);
  const tsxDir = path.dirname(createRequire(here).resolve('tsx/package.json'));
  const api = pathToFileURL(path.join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
  const entry = new URL(`./${name}.ts`, here).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { ...options, eval: true });
}

export class InferencePool {
  private slots: Slot[] = [];
  private waiting: Array<() => void> = [];
  private nextId = 0;
  private closing = false;
  /** Why the pool is dead, once a worker died. */
  dead: string | null = null;

  private constructor(private readonly o: PoolOptions) {}

  get size(): number {
    return this.slots.length;
  }

  /** Start every worker; resolves once each has loaded its session and run its warm-up row. */
  static async start(o: PoolOptions): Promise<InferencePool> {
    const pool = new InferencePool(o);
    const starts = Array.from({ length: Math.max(1, o.workers) }, () => pool.startOne());
    const settled = await Promise.allSettled(starts);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await pool.close();
      throw failed.reason as Error;
    }
    return pool;
  }

  private startOne(): Promise<void> {
    // A copy of its own for each worker (a Buffer's slice() would share, and transferring would detach it).
    const model = new Uint8Array(this.o.model).buffer;
    const init: WorkerInit = {
      model,
      threads: this.o.threads,
      inputs: this.o.inputs,
      outputs: this.o.outputs,
      reference: this.o.reference,
    };
    const worker = spawn(init, [model]);
    worker.unref();
    const slot: Slot = { worker, job: undefined };
    this.slots.push(slot);
    return new Promise<void>((resolve, reject) => {
      let started = false;
      worker.on('message', (m: WorkerReply) => {
        if (m.type === 'ready') {
          started = true;
          resolve();
        } else if (m.type === 'failed') {
          started = true;
          reject(new Error(m.message));
        } else if (m.type === 'result' || m.type === 'error') {
          const job = slot.job;
          if (!job || job.id !== m.id) return;
          slot.job = undefined;
          if (m.type === 'result') job.resolve({ outputs: m.outputs, inputCounts: m.inputCounts });
          else job.reject(new Error(m.message));
          for (const w of this.waiting.splice(0)) w();
        }
      });
      const died = (why: string) => {
        if (!started) {
          started = true;
          reject(new Error(`the inference worker ${why}`));
        }
        if (this.closing) return;
        this.crash(`the inference worker for ${this.o.describe} ${why}`);
      };
      worker.on('error', (e) => died(`failed: ${e.message}`));
      worker.on('exit', (code) => died(`exited unexpectedly (exit code ${code})`));
    });
  }

  private crash(reason: string): void {
    if (this.dead) return;
    this.dead = reason;
    const err = new Error(`${reason}; the version is marked unavailable`);
    for (const s of this.slots) {
      const job = s.job;
      s.job = undefined;
      job?.reject(err);
      void s.worker.terminate();
    }
    for (const w of this.waiting.splice(0)) w();
    this.o.onCrash?.(reason);
  }

  /** Run one batch on an idle worker (waiting for one when all are busy). The feeds' buffers are transferred. */
  async run(feeds: WireTensor[]): Promise<RunResult> {
    for (;;) {
      if (this.dead) throw new Error(`${this.dead}; the version is marked unavailable`);
      if (this.closing) throw new Error(`${this.o.describe} is being unloaded`);
      const slot = this.slots.find((s) => !s.job);
      if (slot) {
        const id = this.nextId++;
        return new Promise<RunResult>((resolve, reject) => {
          slot.job = { id, resolve, reject };
          const transfer = [...new Set(feeds.map((f) => f.data.buffer as ArrayBuffer))];
          slot.worker.postMessage({ type: 'run', id, feeds } satisfies WorkerRequest, transfer);
        });
      }
      await new Promise<void>((r) => this.waiting.push(r));
    }
  }

  /** Free every session and stop the workers (after the batches running finish). */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.slots.map(async (s) => {
        if (!this.dead) {
          while (s.job) await new Promise<void>((r) => this.waiting.push(r));
          const released = new Promise<void>((r) => {
            s.worker.on('message', (m: WorkerReply) => m.type === 'released' && r());
            s.worker.once('exit', () => r());
          });
          s.worker.postMessage({ type: 'release' } satisfies WorkerRequest);
          await Promise.race([released, new Promise((r) => setTimeout(r, 5000).unref())]);
        }
        await s.worker.terminate();
      }),
    );
    for (const w of this.waiting.splice(0)) w();
  }
}
