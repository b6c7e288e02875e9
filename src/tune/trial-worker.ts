/**
 * Trial workers: tfjs backends are process-global, so each trial segment runs in a worker process
 * (the parent side, TrialWorker, and the child side, workerMain) that reports its log lines and
 * its result over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CdlError, ConfigError, TrainError } from '../util/errors.js';
import { runSegment, type SegmentJob, type SegmentResult } from './trial.js';

/** How to start a worker process: a module run with node and its arguments. */
export interface WorkerEntry {
  modulePath: string;
  args: string[];
  env?: Record<string, string>;
}

export function defaultWorker(): WorkerEntry {
  const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'cdl.js');
  return { modulePath: bin, args: ['tune', '--worker'] };
}

type WorkerMessage =
  | { type: 'result'; result: SegmentResult }
  | { type: 'error'; message: string; exitCode: number }
  | { type: 'log'; line: string };

/** One worker process running one segment at a time. */
export class TrialWorker {
  private child: ChildProcess | undefined;
  private tail: string[] = [];
  private pending: { resolve: (r: SegmentResult) => void; reject: (e: Error) => void; log: (s: string) => void } | undefined;

  constructor(private readonly entry: WorkerEntry) {}

  private start(): ChildProcess {
    const child = fork(this.entry.modulePath, this.entry.args, {
      env: { ...process.env, ...this.entry.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const keep = (buf: Buffer) => {
      for (const line of buf.toString().split('\n')) if (line.trim()) this.tail = [...this.tail.slice(-19), line];
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('message', (m: WorkerMessage) => {
      const p = this.pending;
      if (!p) return;
      if (m.type === 'log') return p.log(m.line);
      this.pending = undefined;
      if (m.type === 'result') p.resolve(m.result);
      else p.reject(m.exitCode === 2 ? new ConfigError(m.message) : new TrainError(m.message));
    });
    child.on('exit', (code, signal) => {
      this.child = undefined;
      const p = this.pending;
      this.pending = undefined;
      p?.reject(
        new TrainError(
          `the trial worker exited (${signal ?? `code ${code}`})${this.tail.length ? `:\n${this.tail.join('\n')}` : ''}`,
        ),
      );
    });
    return child;
  }

  run(job: SegmentJob, log: (s: string) => void): Promise<SegmentResult> {
    this.child ??= this.start();
    const child = this.child;
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject, log };
      child.send({ type: 'job', job });
    });
  }

  close(): void {
    if (this.child?.connected) this.child.send({ type: 'exit' });
    this.child = undefined;
  }
}

/** The worker side: run segments as the parent sends them. */
export function workerMain(): Promise<void> {
  return new Promise((resolve) => {
    process.on('message', (m: { type: 'job'; job: SegmentJob } | { type: 'exit' }) => {
      if (m.type === 'exit') {
        process.disconnect?.();
        resolve();
        return;
      }
      runSegment(m.job, (line) => process.send?.({ type: 'log', line }))
        .then((result) => process.send?.({ type: 'result', result }))
        .catch((e: unknown) =>
          process.send?.({
            type: 'error',
            message: (e as Error).message ?? String(e),
            exitCode: e instanceof CdlError ? e.exitCode : 1,
          }),
        );
    });
    process.on('disconnect', () => resolve());
  });
}
