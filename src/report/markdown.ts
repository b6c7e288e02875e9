/**
 * The report as GitHub-flavoured Markdown: tables and Mermaid charts, which GitHub renders in
 * comments and job summaries without hosting any image.
 */
import { buildReport, type ClassRow, type HistoryPoint, type ReportContent, type ReportInput } from './model.js';

/** Escapes text for a table cell. */
export function cell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A quoted Mermaid string (double quotes are not allowed inside). */
function mq(s: string): string {
  return `"${s.replace(/"/g, "'").replace(/[\r\n]+/g, ' ')}"`;
}

const f3 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(3));
const num = (v: number) => (Number.isFinite(v) ? +v.toFixed(4) : 0);

/** xychart-beta: per-class F1, candidate as bars and baseline as a line. */
export function perClassChart(classes: ClassRow[]): string {
  const hasBase = classes.some((c) => c.baselineF1 !== undefined);
  return [
    '```mermaid',
    'xychart-beta',
    `  title ${mq(hasBase ? 'Per-class F1: candidate (bars) vs baseline (line)' : 'Per-class F1 of the candidate')}`,
    `  x-axis [${classes.map((c) => mq(c.name)).join(', ')}]`,
    '  y-axis "F1" 0 --> 1',
    `  bar [${classes.map((c) => num(c.f1)).join(', ')}]`,
    ...(hasBase ? [`  line [${classes.map((c) => num(c.baselineF1 ?? 0)).join(', ')}]`] : []),
    '```',
  ].join('\n');
}

/** xychart-beta: the main metric across releases, ending with the candidate. */
export function historyChart(metric: string, points: HistoryPoint[]): string {
  const values = points.map((p) => p.value);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = (hi - lo) * 0.2 || Math.abs(hi) * 0.05 || 0.05;
  return [
    '```mermaid',
    'xychart-beta',
    `  title ${mq(`${metric} across releases`)}`,
    `  x-axis [${points.map((p) => mq(p.label)).join(', ')}]`,
    `  y-axis ${mq(metric)} ${num(lo - pad)} --> ${num(hi + pad)}`,
    `  line [${values.map(num).join(', ')}]`,
    '```',
  ].join('\n');
}

export function confusionTable(classes: string[], m: number[][]): string {
  const head = `| true ↓ / predicted → | ${classes.map(cell).join(' | ')} |\n|---|${classes.map(() => '---:').join('|')}|`;
  const rows = m.map(
    (row, t) => `| **${cell(classes[t]!)}** | ${row.map((n, p) => (p === t ? `**${n}**` : n ? String(n) : '·')).join(' | ')} |`,
  );
  return [head, ...rows].join('\n');
}

export function renderMarkdown(c: ReportContent): string {
  const out: string[] = [];
  out.push(`## ${c.icon} ${c.title} — ${c.decision}`);
  out.push('');
  out.push(`**Decision: ${c.decision}.** ${c.reason}`);
  if (c.forced) {
    out.push('');
    out.push(
      `> [!WARNING]\n> Force-blessed${c.forced.by ? ` by ${c.forced.by}` : ''}: ${c.forced.reason}. Without the override the candidate was rejected.`,
    );
  }
  out.push('');
  out.push(`- **Baseline:** ${c.baselineLine}`);
  out.push(`- **Evaluated on:** ${c.dataLine}`);
  if (c.runUrl) out.push(`- **Run:** ${c.runUrl}`);
  out.push('');
  out.push('| metric | candidate | baseline | delta | threshold | verdict |');
  out.push('|---|---:|---:|---:|---|:---:|');
  for (const r of c.rows) {
    const delta = r.noise ? `${r.delta} (${r.noise})` : r.delta;
    out.push(
      `| ${cell(r.label)} | ${r.candidate} | ${r.baseline} | ${cell(delta)} | ${cell(r.threshold || '—')} | ${r.verdict || '—'} |`,
    );
  }
  const failing = c.rows.filter((r) => r.verdict === '❌');
  const notes = c.rows.filter((r) => r.verdict && r.reasons.length);
  if (notes.length) {
    out.push('');
    for (const r of notes) out.push(`- ${r.verdict} **${cell(r.label)}**: ${r.reasons.join('; ')}`);
  }
  const noisy = c.rows.filter((r) => r.noiseDetail);
  if (noisy.length) {
    out.push('');
    out.push('<details><summary>Significance of the changes</summary>\n');
    for (const r of noisy) out.push(`- ${r.label}: ${r.delta}, ${r.noiseDetail}`);
    out.push('\n</details>');
  }
  if (c.classes.length) {
    out.push('');
    out.push('### Per class');
    out.push('');
    const base = c.classes.some((k) => k.baselineF1 !== undefined);
    out.push(`| class | precision | recall | F1 |${base ? ' baseline F1 | ΔF1 |' : ''} support |`);
    out.push(`|---|---:|---:|---:|${base ? '---:|---:|' : ''}---:|`);
    for (const k of c.classes) {
      const d = k.baselineF1 !== undefined ? k.f1 - k.baselineF1 : undefined;
      const deltaCell = d === undefined ? '—' : `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(3)}`;
      out.push(
        `| ${cell(k.name)} | ${f3(k.precision)} | ${f3(k.recall)} | ${f3(k.f1)} |${base ? ` ${f3(k.baselineF1)} | ${deltaCell} |` : ''} ${k.support} |`,
      );
    }
    out.push('');
    out.push(perClassChart(c.classes));
  }
  if (c.confusion) {
    out.push('');
    out.push('### Confusion matrix');
    out.push('');
    if (c.confusion.largest.length) {
      out.push(
        `Largest confusions: ${c.confusion.largest
          .map((x) => `**${cell(x.true)} → ${cell(x.predicted)}** (${x.count}, ${(x.rate * 100).toFixed(1)}% of ${cell(x.true)})`)
          .join(', ')}.`,
      );
      out.push('');
    }
    out.push('<details><summary>Full matrix</summary>\n');
    out.push(confusionTable(c.confusion.classes, c.confusion.matrix));
    out.push('\n</details>');
  }
  out.push('');
  out.push(`### ${c.mainMetric} across releases`);
  out.push('');
  if (c.history.length > 1) out.push(historyChart(c.mainMetric, c.history));
  else out.push('No earlier release to compare with yet.');
  out.push('');
  out.push(
    `<sub>cdl evaluate-gate · ${c.time}${failing.length ? ` · failing: ${failing.map((r) => r.metric).join(', ')}` : ''}</sub>`,
  );
  return out.join('\n') + '\n';
}

export function markdownReport(input: ReportInput): string {
  return renderMarkdown(buildReport(input));
}
