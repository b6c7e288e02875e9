/**
 * The dynamic batcher: requests queue up and run together, concatenated along axis 0, once the
 * queued rows reach max_batch_size or the oldest request has waited max_queue_delay_ms (Triton's
 * dynamic batching). Up to `concurrency` batches run at once (one per inference worker); the
 * next batch forms when one of them is free. The queue is bounded: past max_queue_size a request is refused at once (503)
 * instead of growing memory without end. Every request has a deadline (504 past it).
 */
import { HttpError } from './errors.js';

export interface BatcherOptions {
  maxBatchSize: number;
  maxQueueDelayMs: number;
  maxQueueSize: number;
  timeoutMs: number;
  /** false: every request runs on its own, in arrival order. */
  dynamic: boolean;
  /** Batches running at once (1 when left out). */
  concurrency?: number;
}

export interface Job<T, R> {
  item: T;
  rows: number;
  /** Jobs with different keys never share a batch (different shapes beyond axis 0). */
  key: string;
  enqueuedAt: number;
  settled: boolean;
  resolve: (r: R) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

export type RejectReason = 'queue_full' | 'timeout' | 'shutting_down';

export class Batcher<T, R> {
  private queue: Array<Job<T, R>> = [];
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private flushing = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly opts: BatcherOptions,
    /** Runs one batch; must settle every job it is given (settle() ignores settled ones). */
    private readonly runBatch: (jobs: Array<Job<T, R>>) => Promise<void>,
    private readonly onReject: (reason: RejectReason) => void = () => {},
    private readonly describe = 'model',
  ) {}

  get depth(): number {
    return this.queue.length;
  }

  get busy(): boolean {
    return this.running > 0 || this.queue.length > 0;
  }

  submit(item: T, rows: number, key: string): Promise<R> {
    if (this.closed) {
      this.onReject('shutting_down');
      return Promise.reject(new HttpError(503, `${this.describe} is being unloaded; retry`));
    }
    if (this.queue.length >= this.opts.maxQueueSize) {
      this.onReject('queue_full');
      return Promise.reject(
        new HttpError(
          503,
          `${this.describe}: the queue is full (${this.opts.maxQueueSize} requests waiting, max_queue_size); retry later`,
          'queue_full',
        ),
      );
    }
    return new Promise<R>((resolve, reject) => {
      const job: Job<T, R> = { item, rows, key, enqueuedAt: performance.now(), settled: false, resolve, reject };
      job.timer = setTimeout(() => {
        if (job.settled) return;
        const i = this.queue.indexOf(job);
        if (i >= 0) this.queue.splice(i, 1);
        this.onReject('timeout');
        settle(
          job,
          new HttpError(
            504,
            `${this.describe}: no answer within timeout_ms ${this.opts.timeoutMs} (${i >= 0 ? 'still queued' : 'running'})`,
          ),
        );
      }, this.opts.timeoutMs);
      job.timer.unref?.();
      this.queue.push(job);
      this.pump();
    });
  }

  /** Stop taking requests; what is queued runs at once (no more waiting for fuller batches). */
  close(): void {
    this.closed = true;
    this.pump();
  }

  /** Run what is queued without waiting for fuller batches, from now on (shutdown). */
  flush(): void {
    this.flushing = true;
    this.pump();
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private pump(): void {
    const concurrency = Math.max(1, this.opts.concurrency ?? 1);
    while (this.running < concurrency && this.queue.length > 0) {
      const oldest = this.queue[0]!;
      if (this.opts.dynamic && !this.closed && !this.flushing) {
        let rows = 0;
        for (const j of this.queue) if (j.key === oldest.key) rows += j.rows;
        const waited = performance.now() - oldest.enqueuedAt;
        if (rows < this.opts.maxBatchSize && waited < this.opts.maxQueueDelayMs) {
          if (!this.timer) {
            this.timer = setTimeout(() => {
              this.timer = undefined;
              this.pump();
            }, this.opts.maxQueueDelayMs - waited);
          }
          return;
        }
      }
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      const batch: Array<Job<T, R>> = [];
      if (!this.opts.dynamic) batch.push(this.queue.shift()!);
      else {
        let rows = 0;
        for (let i = 0; i < this.queue.length;) {
          const j = this.queue[i]!;
          if (j.key === oldest.key && (batch.length === 0 || rows + j.rows <= this.opts.maxBatchSize)) {
            batch.push(j);
            rows += j.rows;
            this.queue.splice(i, 1);
            if (rows >= this.opts.maxBatchSize) break;
          } else i++;
        }
      }
      this.running++;
      this.runBatch(batch)
        .catch((e: Error) => {
          for (const j of batch) settle(j, e);
        })
        .finally(() => {
          this.running--;
          // Let the requests that arrived during the run reach the queue before the next batch forms.
          setImmediate(() => this.pump());
        });
    }
    if (!this.busy) for (const w of this.idleWaiters.splice(0)) w();
  }
}

/** Resolve or reject a job once; later calls do nothing. */
export function settle<T, R>(job: Job<T, R>, result: R | Error): void {
  if (job.settled) return;
  job.settled = true;
  if (job.timer) clearTimeout(job.timer);
  if (result instanceof Error) job.reject(result);
  else job.resolve(result);
}
