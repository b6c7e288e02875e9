/**
 * Inference request bodies to checked tensors: parsed on the main thread when small, and in a
 * parser worker thread when large, so that a large body (a second or more of parsing) never
 * stops the server answering health checks and other requests. The body's buffer is transferred
 * to the worker and the tensors transferred back (no copies).
 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { JsonSyntaxError, parseJsonBytes } from './json.js';
import { startWorker } from './pool.js';
import { HttpError } from './errors.js';
import { fillTensor, type InferRequest, type Signature } from './tensors.js';
import { parseInferRequest } from './protocol.js';

export interface ParseJob {
  /** The body: JSON, or a JSON header of `headerLength` bytes and binary tensor data. */
  bytes: Uint8Array;
  headerLength?: number;
  signature: Signature;
  maxRows?: number;
}

export type ParseReply = { id: number; request: InferRequest } | { id: number; status: number; message: string };

/** Parse and check one inference request body (on whichever thread calls it). */
export function parseInferBody(job: ParseJob): InferRequest {
  const end = job.headerLength ?? job.bytes.length;
  let json: unknown;
  try {
    json = parseJsonBytes(job.bytes, 0, end);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new HttpError(400, `malformed JSON in the request body: ${e.message}`);
    throw e;
  }
  return parseInferRequest(json, job.signature, {
    maxRows: job.maxRows,
    binary: job.headerLength === undefined ? undefined : job.bytes.subarray(job.headerLength),
  });
}

/**
 * JSON values as binary tensor data, in the input's type: done on the parser thread, so that the
 * main thread receives typed buffers (moved, not copied) instead of arrays of millions of numbers
 * to deserialize and convert.
 */
export function packValues(r: InferRequest, signature: Signature): InferRequest {
  for (const spec of signature.inputs) {
    const input = r.inputs.get(spec.name);
    if (!input?.values || !spec.ort) continue;
    const t = fillTensor(spec.ort, [input]);
    input.bytes = new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
    delete input.values;
  }
  return r;
}

/** The buffers a parsed request holds (to transfer rather than copy). */
export function requestBuffers(r: InferRequest): ArrayBuffer[] {
  const set = new Set<ArrayBuffer>();
  for (const i of r.inputs.values()) if (i.bytes) set.add(i.bytes.buffer as ArrayBuffer);
  return [...set];
}

interface Slot {
  worker: Worker;
  busy: number;
}

interface Pending {
  slot: Slot;
  resolve: (r: InferRequest) => void;
  reject: (e: Error) => void;
}

/** A few parser worker threads, started on first use. */
export class RequestParsers {
  private workers: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(private readonly size = Math.max(1, Math.min(2, Math.floor(os.availableParallelism() / 4)))) {}

  /**
   * Parse on a parser thread. The body's buffer moves there: with `ownsBuffer` (a buffer from
   * BodyReader.read, which holds nothing else) as it is, without a copy; otherwise a view into a
   * larger, possibly shared buffer is copied first.
   */
  parse(job: ParseJob, o: { ownsBuffer?: boolean } = {}): Promise<InferRequest> {
    let bytes = job.bytes;
    if (!o.ownsBuffer && (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength)) bytes = new Uint8Array(bytes);
    const slot = this.pick();
    const id = this.nextId++;
    slot.busy++;
    return new Promise<InferRequest>((resolve, reject) => {
      this.pending.set(id, {
        slot,
        resolve: (r) => {
          slot.busy--;
          resolve(r);
        },
        reject: (e) => {
          slot.busy--;
          reject(e);
        },
      });
      slot.worker.postMessage({ id, job: { ...job, bytes } }, [bytes.buffer as ArrayBuffer]);
    });
  }

  private pick(): Slot {
    const idle = this.workers.find((w) => w.busy === 0);
    if (idle) return idle;
    if (this.workers.length < this.size) return this.spawn();
    return this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
  }

  private spawn(): Slot {
    const worker = startWorker('parse-worker', {});
    worker.unref();
    const slot: Slot = { worker, busy: 0 };
    const failAll = (why: string) => {
      this.workers = this.workers.filter((w) => w !== slot);
      // The worker's jobs are lost with it; the requests get a 500 naming why.
      for (const [id, p] of [...this.pending]) {
        if (p.slot !== slot) continue;
        this.pending.delete(id);
        p.reject(new Error(`the request parser thread stopped: ${why}`));
      }
    };
    worker.on('message', (m: ParseReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if ('request' in m) p.resolve(m.request);
      else p.reject(new HttpError(m.status, m.message));
    });
    worker.on('error', (e) => failAll(e.message));
    worker.on('exit', (code) => failAll(`exit code ${code}`));
    this.workers.push(slot);
    return slot;
  }

  async close(): Promise<void> {
    const ws = this.workers.splice(0);
    await Promise.all(ws.map((w) => w.worker.terminate()));
  }
}
