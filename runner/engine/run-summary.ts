// The table `cdl run` prints at the end: one row per job with its result and duration.
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
  const head = ['job', 'result', 'duration'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(width[i] as number))
      .join('  ')
      .trimEnd();
  return [line(head), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
