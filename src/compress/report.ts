/** The compression report: one row per method tried, and Mermaid charts of size and accuracy. */
import { cell } from '../report/markdown.js';
import { objectiveReason } from './measure.js';
import type { CompressionRecord, MethodResult } from './run.js';

const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : `${(v * 100).toFixed(2)}%`);
const ms = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(3));
const ratio = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : `×${v.toFixed(3)}`);
const kib = (v: number | undefined) => (v === undefined ? '—' : `${(v / 1024).toFixed(1)} KiB`);
const num = (v: number) => (Number.isFinite(v) ? +v.toFixed(4) : 0);

function row(label: string, m: Record<string, number> | undefined, r: MethodResult | undefined, task: string): string {
  const main = task === 'classification' ? pct(m?.accuracy) : ms(m?.rmse);
  const change =
    r === undefined
      ? '—'
      : r.accuracy_drop_points !== undefined
        ? `${r.accuracy_drop_points >= 0 ? '−' : '+'}${Math.abs(r.accuracy_drop_points).toFixed(2)} pts`
        : r.rmse_increase_percent !== undefined
          ? `${r.rmse_increase_percent >= 0 ? '+' : '−'}${Math.abs(r.rmse_increase_percent).toFixed(2)}%`
          : '—';
  const verdict =
    r === undefined
      ? 'parent'
      : !r.ok
        ? `❌ ${r.error ?? 'failed'}`
        : r.accepted
          ? `✅ kept: ${r.objective ? objectiveReason(r.objective) : r.reason}`
          : r.guard_passed && r.objective
            ? `⛔ ${objectiveReason(r.objective)}`
            : `⛔ ${r.reason}`;
  return `| ${cell(label)} | ${main} | ${change} | ${kib(m?.size_bytes)} | ${r ? ratio(r.size_ratio) : '×1'} | ${r ? ratio(r.gzip_size_ratio) : '×1'} | ${ms(m?.latency_p50_ms)} | ${ms(m?.latency_p95_ms)} | ${m?.throughput ? m.throughput.toFixed(0) : '—'} | ${r ? ratio(r.throughput_ratio) : '×1'} | ${cell(verdict)} |`;
}

export function renderCompressionReport(rec: CompressionRecord, task: 'classification' | 'regression'): string {
  const metricName = task === 'classification' ? 'accuracy' : 'RMSE';
  const out: string[] = [];
  out.push(`## Compression — ${rec.chosen ? `${rec.chosen} kept` : 'parent kept'}`, '');
  out.push(rec.decision, '');
  out.push(
    `Parent \`${rec.parent.sha256.slice(0, 12)}\`; guard: ${task === 'classification' ? `accuracy may drop at most ${rec.max_accuracy_drop} points` : `RMSE may rise at most ${rec.max_accuracy_drop}%`}; objective: ${rec.objective ?? 'size'}, a variant is kept only when it beats the parent by at least ${+((rec.min_gain ?? 0) * 100).toFixed(2)}% (measured interleaved, parent and variant alternately).`,
    '',
  );
  out.push(
    `| model | ${metricName} | change | size | size ratio | gzip ratio | p50 ms (batch 1) | p95 ms | throughput /s (batch 64) | throughput ratio | verdict |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  );
  out.push(row('parent (fp32)', rec.parent.metrics, undefined, task));
  for (const r of rec.results) out.push(row(r.method, r.metrics, r, task));
  out.push('');
  const done = rec.results.filter((r) => r.metrics);
  if (done.length) {
    const labels = ['parent', ...done.map((r) => r.method)];
    const sizes = [1, ...done.map((r) => r.size_ratio ?? 0)];
    const main = [rec.parent.metrics, ...done.map((r) => r.metrics!)].map((m) =>
      task === 'classification' ? m.accuracy! * 100 : m.rmse!,
    );
    const tps = [1, ...done.map((r) => r.throughput_ratio ?? 0)];
    const lo = Math.min(...main);
    const hi = Math.max(...main);
    const pad = (hi - lo) * 0.25 || Math.abs(hi) * 0.02 || 1;
    const axis = `x-axis [${labels.map((l) => `"${l}"`).join(', ')}]`;
    out.push(
      '```mermaid',
      'xychart-beta',
      '  title "Size and batch-64 throughput relative to the parent"',
      `  ${axis}`,
      `  y-axis "ratio" 0 --> ${num(Math.max(1.1, ...sizes, ...tps) * 1.1)}`,
      `  bar [${sizes.map(num).join(', ')}]`,
      `  line [${tps.map(num).join(', ')}]`,
      '```',
      '',
      '```mermaid',
      'xychart-beta',
      `  title "${task === 'classification' ? 'Test accuracy (%)' : 'Test RMSE'}"`,
      `  ${axis}`,
      `  y-axis "${metricName}" ${num(lo - pad)} --> ${num(hi + pad)}`,
      `  bar [${main.map(num).join(', ')}]`,
      '```',
      '',
    );
  }
  return out.join('\n');
}
