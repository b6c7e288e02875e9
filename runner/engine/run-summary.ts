// The table `cdl run` prints at the end: one row per job with its result and duration, in the
// order the workflow defines its jobs.
import { table } from '../../src/util/table.js';
import type { Result } from './context.js';

export interface JobSummary {
  key: string;
  result: Result;
  durationMs: number;
  message?: string;
}

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

export function summaryTable(jobs: JobSummary[]): string {
  const rows = jobs.map((j) => [j.key, j.result, formatDuration(j.durationMs)]);
  return table([['job', 'result', 'duration'], ...rows], { rule: true });
}

/**
 * The summary's rows, kept in definition order whatever order the jobs finish in: each row has a
 * sort key (the job's index, then its matrix combination's, under the key of the job that calls it).
 */
export class JobSummaries {
  private readonly rows: { entry: JobSummary; order: number[] }[] = [];

  /** Adds a row; the caller may fill it in later (a matrix combination that has not finished). */
  add(entry: JobSummary, order: number[]): void {
    this.rows.push({ entry, order });
  }

  /** Copies of the rows, in definition order. */
  sorted(): JobSummary[] {
    const cmp = (a: number[], b: number[]) => {
      for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
      return a.length - b.length;
    };
    return [...this.rows].sort((a, b) => cmp(a.order, b.order)).map((r) => ({ ...r.entry }));
  }
}
