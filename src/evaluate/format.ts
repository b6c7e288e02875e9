/**
 * How metric values, their changes and their significance are written: in the gate's reasons, the
 * reports (Markdown and HTML) and the CLI. One module, so a number reads the same everywhere.
 */
import type { Significance } from '../model-dir/records.js';

export function fmtValue(v: number | null | undefined, metric = ''): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (metric === 'size_bytes') return formatBytes(v);
  if (metric === 'throughput') return v.toFixed(0);
  if (metric.startsWith('latency')) return v.toFixed(3);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(4);
}

export function fmtDelta(v: number | null | undefined, metric = ''): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const s = fmtValue(Math.abs(v), metric);
  return v > 0 ? `+${s}` : v < 0 ? `−${s}` : s;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

/** "within noise (95% CI −0.0040…+0.0060)" or "significant (p = 0.003)". */
export function describeSignificance(s: Significance | undefined, metric = ''): string {
  if (!s) return '';
  const pct = `${Math.round(s.confidence * 100)}%`;
  const detail = s.ci
    ? `${pct} CI ${fmtDelta(s.ci[0], metric)}…${fmtDelta(s.ci[1], metric)}`
    : `McNemar p = ${pValue(s.p_value!)}`;
  return `${s.significant ? 'significant' : 'not significant, within noise'} (${detail})`;
}

/** Three decimals, or a dash for a missing value. */
export const f3 = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(3));

/** A change with its sign (+0.050, −0.250), or a dash. */
export const signed3 = (v: number | undefined): string =>
  v === undefined || !Number.isFinite(v) ? '—' : `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}`;

/** A p-value: three decimals, or scientific below 0.001. */
export const pValue = (p: number): string => (p < 0.001 ? p.toExponential(1) : p.toFixed(3));
