/** The drift report as Markdown (issue body, job summary) and as terminal text. */
import type { DriftReport, DriftStatus, FeatureDrift } from './drift.js';

const ICON: Record<DriftStatus, string> = { ok: '✅', warn: '⚠️', alert: '🚨', insufficient: 'ℹ️' };
const WORD: Record<DriftStatus, string> = {
  ok: 'no drift',
  warn: 'shift (warning)',
  alert: 'drift (alert)',
  insufficient: 'not enough data',
};

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
const num = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '—');
const pval = (v: number) => (v < 1e-4 ? v.toExponential(1) : v.toFixed(4));

function featureRow(f: FeatureDrift): string {
  return `| ${f.name} | ${num(f.psi)} | ${num(f.ks)} | ${pval(f.p_value)} | ${ICON[f.level]} ${f.level} |`;
}

export function driftMarkdown(r: DriftReport, ctx: { source?: string; runUrl?: string } = {}): string {
  const t = r.thresholds;
  const out: string[] = [];
  out.push(`### ${ICON[r.status]} Monitoring ${r.model} ${r.version}: ${WORD[r.status]}`, '');
  out.push(
    `${r.examples} production examples since ${r.since}${ctx.source ? ` (${ctx.source})` : ''}, compared with ${r.reference_examples} test examples of the model's reference.`,
    '',
  );
  if (r.predictions) {
    const p = r.predictions;
    out.push(`**Predictions**: PSI ${num(p.psi)} — ${ICON[p.level]} ${p.level}`, '');
    out.push('| prediction | reference | production | change |', '|---|---:|---:|---:|');
    p.labels.forEach((l, i) => {
      const a = p.reference[i] ?? 0;
      const b = p.production[i] ?? 0;
      out.push(`| ${l.replace(/\|/g, '\\|')} | ${pct(a)} | ${pct(b)} | ${b >= a ? '+' : ''}${(100 * (b - a)).toFixed(1)} pt |`);
    });
    out.push('');
  }
  if (r.inputs) {
    const i = r.inputs;
    out.push(
      `**Inputs**: ${i.drifted.length} of ${i.features} summaries drifted; largest PSI ${num(i.max_psi)}, smallest KS p-value ${pval(i.min_p_value)} — ${ICON[i.level]} ${i.level}`,
      '',
    );
    out.push('| input summary | PSI | KS D | p-value | level |', '|---|---:|---:|---:|---|');
    for (const f of i.top) out.push(featureRow(f));
    out.push('');
  }
  out.push(
    `Thresholds (cdl.yaml monitor): PSI warn ${t.psi.warn}, alert ${t.psi.alert}; KS p-value ${t.ks_p_value} (Bonferroni over the input summaries); at least ${t.min_samples} examples.`,
  );
  for (const n of r.notes) out.push('', `> ${n}`);
  if (ctx.runUrl) out.push('', `[monitoring run](${ctx.runUrl})`);
  return out.join('\n') + '\n';
}

export function driftText(r: DriftReport): string {
  const lines = [
    `${r.model} ${r.version}: ${WORD[r.status]} (${r.examples} production examples, ${r.reference_examples} reference)`,
  ];
  if (r.predictions) lines.push(`  predictions: PSI ${num(r.predictions.psi)} ${r.predictions.level}`);
  if (r.inputs) {
    lines.push(
      `  inputs: ${r.inputs.drifted.length}/${r.inputs.features} drifted, max PSI ${num(r.inputs.max_psi)}, min KS p ${pval(r.inputs.min_p_value)} ${r.inputs.level}`,
    );
    for (const f of r.inputs.drifted.slice(0, 5)) lines.push(`    ${f.name}: PSI ${num(f.psi)}, KS p ${pval(f.p_value)}`);
  }
  for (const n of r.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}
