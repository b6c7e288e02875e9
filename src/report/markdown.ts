/**
 * The report as GitHub-flavoured Markdown: tables and Mermaid charts, which GitHub renders in
 * comments and job summaries without hosting any image.
 */
import {
  buildReport,
  type ClassChangeRow,
  type ClassRow,
  type Curves,
  type ExampleChanges,
  type HistoryPoint,
  type ReportContent,
  type ReportInput,
} from './report-content.js';
import { f3, pValue, signed3 } from '../evaluate/format.js';

/** Changed examples listed each way in the comment; the HTML report shows all that were recorded. */
export const COMMENT_EXAMPLES = 10;

/** Escapes text for a table cell. */
export function cell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A quoted Mermaid string (double quotes are not allowed inside). */
function mq(s: string): string {
  return `"${s.replace(/"/g, "'").replace(/[\r\n]+/g, ' ')}"`;
}

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

/** Each class's change of recall against the baseline, worst first, with McNemar's p (Holm-adjusted). */
export function classChangeTable(rows: ClassChangeRow[], baselineName: string): string {
  const out = [
    `| class | candidate recall | ${baselineName} recall | Δ recall | fixed | broken | p (Holm) | ΔF1 |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const delta = r.significant ? `**${signed3(r.delta)}**` : signed3(r.delta);
    out.push(
      `| ${cell(r.name)} | ${f3(r.candidateRecall)} | ${f3(r.baselineRecall)} | ${delta} | ${r.fixed} | ${r.broken} | ${pValue(r.pAdjusted)}${r.significant ? ' (significant)' : ''} | ${signed3(r.f1Delta)} |`,
    );
  }
  return out.join('\n');
}

/** The first `limit` changed examples one way, as a compact table. */
export function changedExamplesTable(rows: ExampleChanges['fixed'], baselineName: string, limit = COMMENT_EXAMPLES): string {
  const out = [`| test example | true | ${baselineName} | candidate |`, '|---:|---|---|---|'];
  for (const r of rows.slice(0, limit))
    out.push(`| ${r.index} | ${cell(r.label)} | ${cell(r.baseline)} | ${cell(r.candidate)} |`);
  return out.join('\n');
}

/**
 * xychart-beta: the per-epoch metric of each model (validation where recorded, else training).
 * Mermaid lines have no legend and share one x-axis, so a second model is drawn only when it
 * trained for as many epochs; the title says which line is which.
 */
export function curvesChart(curves: Curves): string | undefined {
  const series = curves.models.map((model) => {
    const pts = curves.points.filter((p) => p.model === model && p.metric !== undefined);
    const split = pts.some((p) => p.split === 'validation') ? 'validation' : 'train';
    return { model, split, pts: pts.filter((p) => p.split === split).sort((a, b) => a.epoch - b.epoch) };
  });
  const first = series[0];
  if (!first?.pts.length) return undefined;
  const drawn = [first, ...series.slice(1).filter((s) => s.pts.length === first.pts.length && s.split === first.split)];
  const values = drawn.flatMap((s) => s.pts.map((p) => p.metric!));
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = (hi - lo) * 0.1 || Math.abs(hi) * 0.05 || 0.05;
  const names = drawn.map((s, i) => `${s.model} (${i === 0 ? 'first' : 'second'} line)`);
  return [
    '```mermaid',
    'xychart-beta',
    `  title ${mq(`${first.split} ${curves.metric} per epoch: ${drawn.length > 1 ? names.join(' vs ') : first.model}`)}`,
    `  x-axis "epoch" [${first.pts.map((p) => mq(String(p.epoch))).join(', ')}]`,
    `  y-axis ${mq(curves.metric)} ${num(lo - pad)} --> ${num(hi + pad)}`,
    ...drawn.map((s) => `  line [${s.pts.map((p) => num(p.metric!)).join(', ')}]`),
    '```',
  ].join('\n');
}

/** Per-epoch loss and metric of every model, as a table. */
export function curvesTable(curves: Curves): string {
  const m = curves.metric;
  const out = [`| model | epoch | loss | ${m} | val loss | val ${m} |`, '|---|---:|---:|---:|---:|---:|'];
  const key = (p: { model: string; epoch: number }) => `${p.model}\u0000${p.epoch}`;
  const rows = new Map<
    string,
    { model: string; epoch: number; t?: (typeof curves.points)[number]; v?: (typeof curves.points)[number] }
  >();
  for (const p of curves.points) {
    const r = rows.get(key(p)) ?? { model: p.model, epoch: p.epoch };
    if (p.split === 'train') r.t = p;
    else r.v = p;
    rows.set(key(p), r);
  }
  const f4 = (v: number | undefined) => (v === undefined ? '—' : v.toFixed(4));
  for (const r of rows.values())
    out.push(`| ${cell(r.model)} | ${r.epoch} | ${f4(r.t?.loss)} | ${f4(r.t?.metric)} | ${f4(r.v?.loss)} | ${f4(r.v?.metric)} |`);
  return out.join('\n');
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
      const deltaCell = signed3(d);
      out.push(
        `| ${cell(k.name)} | ${f3(k.precision)} | ${f3(k.recall)} | ${f3(k.f1)} |${base ? ` ${f3(k.baselineF1)} | ${deltaCell} |` : ''} ${k.support} |`,
      );
    }
    out.push('');
    out.push(perClassChart(c.classes));
  }
  if (c.classChanges.length) {
    out.push('');
    out.push(`### Per-class change against ${c.baselineName}, worst first`);
    out.push('');
    out.push(classChangeTable(c.classChanges, c.baselineName));
    out.push('');
    out.push(
      `<sub>Recall of each class; McNemar's exact test on that class's examples, Holm-adjusted across classes; significant below ${(1 - (c.classChangeConfidence ?? 0.95)).toFixed(2)}.</sub>`,
    );
  }
  if (c.changes) {
    const ch = c.changes;
    out.push('');
    out.push(`### Examples that changed against ${c.baselineName}`);
    out.push('');
    out.push(
      `${ch.changedTotal.toLocaleString('en-US')} of ${ch.examples.toLocaleString('en-US')} test predictions changed: ` +
        `**${ch.fixedTotal} fixed** (${c.baselineName} wrong, candidate right), **${ch.brokenTotal} broken** (${c.baselineName} right, candidate wrong)` +
        (ch.changedTotal > ch.fixedTotal + ch.brokenTotal
          ? `, ${ch.changedTotal - ch.fixedTotal - ch.brokenTotal} from one wrong class to another`
          : '') +
        '.',
    );
    for (const [what, rows, total] of [
      ['Broken', ch.broken, ch.brokenTotal],
      ['Fixed', ch.fixed, ch.fixedTotal],
    ] as const) {
      if (!rows.length) continue;
      out.push('');
      out.push(`**${what}** (${Math.min(rows.length, COMMENT_EXAMPLES)} of ${total}, the most confident first):`);
      out.push('');
      out.push(changedExamplesTable(rows, c.baselineName));
    }
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
  if (c.curves) {
    out.push('');
    out.push('### Training curves');
    out.push('');
    const chart = curvesChart(c.curves);
    if (chart) {
      out.push(chart);
      out.push('');
    }
    out.push('<details><summary>Loss and metric per epoch</summary>\n');
    out.push(curvesTable(c.curves));
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
