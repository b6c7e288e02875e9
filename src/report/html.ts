/**
 * The report as one self-contained HTML page for local runs: the same tables, the charts as
 * Vega-Lite rendered to inline SVG, and the changed test examples as inline PNG thumbnails
 * (no script, no network).
 */
import { renderChart, type ChartSpec } from './charts.js';
import {
  buildReport,
  type ChangedRow,
  type ClassChangeRow,
  type ClassRow,
  type Curves,
  type HistoryPoint,
  type ReportContent,
  type ReportInput,
} from './report-content.js';
import { f3, pValue, signed3 } from '../evaluate/format.js';

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Inline Markdown emphasis and code in the reason lines. */
function inline(s: string): string {
  return esc(s)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
}

/** Per-class F1 of the candidate, beside the baseline's when there is one (grouped bars). */
export function perClassSpec(classes: ClassRow[], baselineName = 'baseline'): ChartSpec {
  const values = classes.flatMap((c, i) => [
    { class: c.name, order: i, model: 'candidate', f1: c.f1 },
    ...(c.baselineF1 !== undefined ? [{ class: c.name, order: i, model: baselineName, f1: c.baselineF1 }] : []),
  ]);
  return {
    width: 640,
    height: 220,
    data: { values },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: { field: 'class', type: 'nominal', sort: { field: 'order' }, title: null, axis: { labelAngle: -35 } },
      xOffset: { field: 'model', type: 'nominal', sort: ['candidate', baselineName] },
      y: { field: 'f1', type: 'quantitative', title: 'F1', scale: { domain: [0, 1] } },
      color: { field: 'model', type: 'nominal', sort: ['candidate', baselineName], title: null, legend: { orient: 'top' } },
    },
  };
}

/** The main metric across releases, ending with the candidate. */
export function historySpec(metric: string, points: HistoryPoint[]): ChartSpec {
  return {
    width: 640,
    height: 200,
    data: { values: points.map((p, i) => ({ release: p.label, order: i, value: p.value, candidate: p.label === 'candidate' })) },
    layer: [
      { mark: { type: 'line', color: '#4c78a8' } },
      {
        mark: { type: 'point', filled: true, size: 70, tooltip: true },
        encoding: {
          color: {
            field: 'candidate',
            type: 'nominal',
            scale: { domain: [false, true], range: ['#4c78a8', '#e45756'] },
            legend: null,
          },
        },
      },
    ],
    encoding: {
      x: { field: 'release', type: 'ordinal', sort: { field: 'order' }, title: null, axis: { labelAngle: 0 } },
      y: { field: 'value', type: 'quantitative', title: metric, scale: { zero: false, padding: 12 } },
    },
  };
}

/** One per-epoch series (loss or the metric) of every model: colour by model, dashes for validation. */
export function curvesSpec(curves: Curves, field: 'loss' | 'metric'): ChartSpec {
  const title = field === 'loss' ? 'loss' : curves.metric;
  const values = curves.points
    .filter((p) => p[field] !== undefined)
    .map((p) => ({ model: p.model, split: p.split, epoch: p.epoch, value: p[field] }));
  return {
    width: 300,
    height: 200,
    data: { values },
    mark: { type: 'line', point: true, tooltip: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'value', type: 'quantitative', title, scale: { zero: false, padding: 8 } },
      color: { field: 'model', type: 'nominal', sort: curves.models, title: null, legend: { orient: 'top' } },
      // Solid training, dashed validation: said in the text above the charts, no second legend.
      strokeDash: { field: 'split', type: 'nominal', sort: ['train', 'validation'], legend: null },
      detail: [{ field: 'model' }, { field: 'split' }],
    },
  };
}

/** Each class's change of recall against the baseline, worst first; significant changes coloured. */
export function classChangeSpec(rows: ClassChangeRow[]): ChartSpec {
  return {
    width: 560,
    height: { step: 18 },
    data: {
      values: rows.map((r, i) => ({
        class: r.name,
        order: i,
        delta: r.delta,
        change: r.significant ? (r.delta < 0 ? 'significantly worse' : 'significantly better') : 'within noise',
      })),
    },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      y: { field: 'class', type: 'nominal', sort: { field: 'order' }, title: null },
      x: { field: 'delta', type: 'quantitative', title: 'change of recall' },
      color: {
        field: 'change',
        type: 'nominal',
        title: null,
        scale: {
          domain: ['significantly worse', 'within noise', 'significantly better'],
          range: ['#e45756', '#bab0ac', '#54a24b'],
        },
        legend: { orient: 'top', labelLimit: 200 },
      },
    },
  };
}

function gallery(rows: ChangedRow[], baselineName: string): string {
  if (rows.some((r) => r.thumbnail)) {
    return `<div class="gallery">${rows
      .map(
        (r) =>
          `<figure class="example">${r.thumbnail ? `<img src="${esc(r.thumbnail)}" alt="test example ${r.index}, a ${esc(r.label)}">` : ''}<figcaption>#${r.index} · <strong>${esc(r.label)}</strong><br>${esc(baselineName)}: ${esc(r.baseline)}<br>candidate: ${esc(r.candidate)}</figcaption></figure>`,
      )
      .join('')}</div>`;
  }
  return `<table class="examples"><tr><th>test example</th><th>true</th><th>${esc(baselineName)}</th><th>candidate</th></tr>${rows
    .map(
      (r) =>
        `<tr><td class="n">${r.index}</td><td>${esc(r.label)}</td><td>${esc(r.baseline)}</td><td>${esc(r.candidate)}</td></tr>`,
    )
    .join('')}</table>`;
}

function changesSection(c: ReportContent): string {
  const ch = c.changes;
  if (!ch) return '';
  const b = c.baselineName;
  const other = ch.changedTotal - ch.fixedTotal - ch.brokenTotal;
  const part = (what: 'broken' | 'fixed', rows: ChangedRow[], total: number) =>
    `<h3>${what === 'broken' ? `Broken: ${esc(b)} right, candidate wrong` : `Fixed: ${esc(b)} wrong, candidate right`} (${total})</h3>
${rows.length ? `<p>${rows.length < total ? `The ${rows.length} most confident of ${total}` : `All ${total}`}:</p>\n${gallery(rows, b)}` : '<p>None.</p>'}`;
  return `<section id="changed-examples"><h2>Examples that changed against ${esc(b)}</h2>
<p>${ch.changedTotal.toLocaleString('en-US')} of ${ch.examples.toLocaleString('en-US')} test predictions changed: <strong>${ch.fixedTotal} fixed</strong>, <strong>${ch.brokenTotal} broken</strong>${other > 0 ? `, ${other} from one wrong class to another` : ''}.</p>
${part('broken', ch.broken, ch.brokenTotal)}
${part('fixed', ch.fixed, ch.fixedTotal)}
</section>`;
}

async function classChangeSection(c: ReportContent): Promise<string> {
  if (!c.classChanges.length) return '';
  const b = esc(c.baselineName);
  const rows = c.classChanges
    .map(
      (r) =>
        `<tr${r.significant ? ` class="${r.delta < 0 ? 'fail' : 'better'}"` : ''}><td>${esc(r.name)}</td><td class="n">${f3(r.candidateRecall)}</td><td class="n">${f3(r.baselineRecall)}</td><td class="n">${signed3(r.delta)}</td><td class="n">${r.fixed}</td><td class="n">${r.broken}</td><td class="n">${pValue(r.pAdjusted)}${r.significant ? ' (significant)' : ''}</td><td class="n">${signed3(r.f1Delta)}</td></tr>`,
    )
    .join('\n');
  return `<h2>Per-class change against ${b}, worst first</h2>
<table><tr><th>class</th><th>candidate recall</th><th>${b} recall</th><th>Δ recall</th><th>fixed</th><th>broken</th><th>p (Holm)</th><th>ΔF1</th></tr>
${rows}</table>
<p><small>McNemar's exact test on each class's examples, Holm-adjusted across classes; significant below ${(1 - (c.classChangeConfidence ?? 0.95)).toFixed(2)}.</small></p>
${await renderChart(classChangeSpec(c.classChanges), `Per-class change of recall against ${c.baselineName}`)}`;
}

async function curvesSection(c: ReportContent): Promise<string> {
  if (!c.curves) return '';
  const models = c.curves.models.map(esc).join(' and ');
  return `<h2>Training curves</h2>
<p>Per epoch, from each model's metrics.json: ${models}; solid lines training, dashed validation.</p>
<div class="charts">${await renderChart(curvesSpec(c.curves, 'loss'), 'Loss per epoch')}${await renderChart(curvesSpec(c.curves, 'metric'), `${c.curves.metric} per epoch`)}</div>`;
}

export async function renderHtml(c: ReportContent): Promise<string> {
  const rows = c.rows
    .map((r) => {
      const cls = r.verdict === '❌' ? ' class="fail"' : r.verdict === '✅' ? ' class="pass"' : '';
      return `<tr${cls}><td>${esc(r.label)}</td><td class="n">${esc(r.candidate)}</td><td class="n">${esc(r.baseline)}</td><td class="n">${esc(r.delta)}${r.noise ? `<br><small title="${esc(r.noiseDetail)}">${esc(r.noise)}</small>` : ''}</td><td>${esc(r.threshold || '—')}</td><td class="c">${r.verdict || '—'}</td></tr>`;
    })
    .join('\n');
  const reasons = c.rows
    .filter((r) => r.verdict && r.reasons.length)
    .map((r) => `<li>${r.verdict} <strong>${esc(r.label)}</strong>: ${esc(r.reasons.join('; '))}</li>`)
    .join('');
  const base = c.classes.some((k) => k.baselineF1 !== undefined);
  const classRows = c.classes
    .map(
      (k) =>
        `<tr><td>${esc(k.name)}</td><td class="n">${f3(k.precision)}</td><td class="n">${f3(k.recall)}</td><td class="n">${f3(k.f1)}</td>${base ? `<td class="n">${f3(k.baselineF1)}</td>` : ''}<td class="n">${k.support}</td></tr>`,
    )
    .join('\n');
  let confusion = '';
  if (c.confusion) {
    const { classes, matrix, largest } = c.confusion;
    const max = Math.max(1, ...matrix.flatMap((r, t) => r.filter((_, p) => p !== t)));
    const body = matrix
      .map(
        (r, t) =>
          `<tr><th>${esc(classes[t]!)}</th>${r.map((n, p) => (p === t ? `<td class="n diag">${n}</td>` : `<td class="n" style="background:rgba(228,87,86,${((n / max) * 0.8).toFixed(2)})">${n || ''}</td>`)).join('')}</tr>`,
      )
      .join('\n');
    confusion = `<h2>Confusion matrix</h2>
<p>Largest confusions: ${largest.map((x) => `<strong>${esc(x.true)} → ${esc(x.predicted)}</strong> (${x.count}, ${(x.rate * 100).toFixed(1)}%)`).join(', ') || 'none'}.</p>
<table class="cm"><tr><th>true ↓ / predicted →</th>${classes.map((k) => `<th>${esc(k)}</th>`).join('')}</tr>
${body}</table>`;
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(c.title)} — ${c.decision}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;padding:4px 8px}th{background:#f6f6f6;text-align:left}
.n{text-align:right;font-variant-numeric:tabular-nums}.c{text-align:center}tr.fail{background:#fdecea}tr.pass td:last-child{color:#1a7f37}
.decision{font-size:1.2em}tr.better{background:#e6f4ea}.charts{display:flex;flex-wrap:wrap;gap:1em}
.gallery{display:flex;flex-wrap:wrap;gap:8px}.example{margin:0;width:112px;font-size:12px;line-height:1.3}
.example img{width:84px;height:84px;image-rendering:pixelated;border:1px solid #ddd;display:block}.warn{background:#fff8c5;border-left:4px solid #d4a72c;padding:.5em 1em}.cm td{min-width:2.5em}.diag{font-weight:bold;background:#e6f2e6}
</style></head><body>
<h1>${c.icon} ${esc(c.title)} — ${c.decision}</h1>
<p class="decision"><strong>Decision: ${c.decision}.</strong> ${inline(c.reason)}</p>
${c.forced ? `<p class="warn">Force-blessed${c.forced.by ? ` by ${esc(c.forced.by)}` : ''}: ${esc(c.forced.reason)}. Without the override the candidate was rejected.</p>` : ''}
<ul><li><strong>Baseline:</strong> ${inline(c.baselineLine)}</li><li><strong>Evaluated on:</strong> ${inline(c.dataLine)}</li>${c.runUrl ? `<li><strong>Run:</strong> ${esc(c.runUrl)}</li>` : ''}</ul>
<table><tr><th>metric</th><th>candidate</th><th>baseline</th><th>delta</th><th>threshold</th><th>verdict</th></tr>
${rows}</table>
${reasons ? `<ul>${reasons}</ul>` : ''}
${
  c.classes.length
    ? `<h2>Per class</h2>
<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th>${base ? '<th>baseline F1</th>' : ''}<th>support</th></tr>
${classRows}</table>
${await renderChart(perClassSpec(c.classes, c.baselineName), 'Per-class F1')}`
    : ''
}
${await classChangeSection(c)}
${changesSection(c)}
${confusion}
${await curvesSection(c)}
<h2>${esc(c.mainMetric)} across releases</h2>
${c.history.length > 1 ? await renderChart(historySpec(c.mainMetric, c.history), `${c.mainMetric} across releases`) : '<p>No earlier release to compare with yet.</p>'}
<p><small>cdl evaluate-gate · ${esc(c.time)}</small></p>
</body></html>
`;
}

export function htmlReport(input: ReportInput): Promise<string> {
  return renderHtml(buildReport(input));
}
