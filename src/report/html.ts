/**
 * The report as one self-contained HTML page for local runs: the same tables, and the charts as
 * inline SVG (no script, no network).
 */
import { buildReport, type ClassRow, type HistoryPoint, type ReportContent, type ReportInput } from './model.js';

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Inline Markdown emphasis and code in the reason lines. */
function inline(s: string): string {
  return esc(s)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
}

const f3 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(3));

export function perClassSvg(classes: ClassRow[]): string {
  const w = 640;
  const h = 260;
  const left = 40;
  const bottom = 70;
  const plotH = h - bottom - 20;
  const slot = (w - left - 10) / Math.max(1, classes.length);
  const hasBase = classes.some((c) => c.baselineF1 !== undefined);
  const bw = hasBase ? slot * 0.38 : slot * 0.6;
  const y = (v: number) => 20 + plotH * (1 - Math.max(0, Math.min(1, v)));
  const parts: string[] = [];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      `<line x1="${left}" x2="${w - 10}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${left - 4}" y="${y(t) + 4}" text-anchor="end" font-size="10">${t}</text>`,
    );
  }
  classes.forEach((c, i) => {
    const x0 = left + i * slot + (slot - (hasBase ? 2 * bw : bw)) / 2;
    parts.push(
      `<rect x="${x0.toFixed(1)}" y="${y(c.f1).toFixed(1)}" width="${bw.toFixed(1)}" height="${(y(0) - y(c.f1)).toFixed(1)}" fill="#4c78a8"><title>${esc(c.name)} candidate F1 ${c.f1.toFixed(3)}</title></rect>`,
    );
    if (hasBase && c.baselineF1 !== undefined) {
      parts.push(
        `<rect x="${(x0 + bw).toFixed(1)}" y="${y(c.baselineF1).toFixed(1)}" width="${bw.toFixed(1)}" height="${(y(0) - y(c.baselineF1)).toFixed(1)}" fill="#bab0ac"><title>${esc(c.name)} baseline F1 ${c.baselineF1.toFixed(3)}</title></rect>`,
      );
    }
    const cx = left + i * slot + slot / 2;
    parts.push(
      `<text x="${cx.toFixed(1)}" y="${h - bottom + 14}" font-size="10" text-anchor="end" transform="rotate(-35 ${cx.toFixed(1)} ${h - bottom + 14})">${esc(c.name)}</text>`,
    );
  });
  const legend = hasBase
    ? `<rect x="${w - 190}" y="2" width="10" height="10" fill="#4c78a8"/><text x="${w - 176}" y="11" font-size="11">candidate</text><rect x="${w - 110}" y="2" width="10" height="10" fill="#bab0ac"/><text x="${w - 96}" y="11" font-size="11">baseline</text>`
    : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="Per-class F1">${legend}${parts.join('')}</svg>`;
}

export function historySvg(metric: string, points: HistoryPoint[]): string {
  const w = 640;
  const h = 220;
  const left = 56;
  const values = points.map((p) => p.value);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = (hi - lo) * 0.2 || Math.abs(hi) * 0.05 || 0.05;
  const [a, b] = [lo - pad, hi + pad];
  const y = (v: number) => 20 + (h - 60) * (1 - (v - a) / (b - a));
  const x = (i: number) => left + (points.length > 1 ? (i * (w - left - 30)) / (points.length - 1) : (w - left) / 2);
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
  const dots = points
    .map(
      (p, i) =>
        `<circle cx="${x(i).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="4" fill="${p.label === 'candidate' ? '#e45756' : '#4c78a8'}"><title>${esc(p.label)}: ${p.value.toFixed(4)}</title></circle><text x="${x(i).toFixed(1)}" y="${h - 20}" font-size="10" text-anchor="middle">${esc(p.label)}</text>`,
    )
    .join('');
  const ticks = [a, (a + b) / 2, b]
    .map((v) => `<text x="${left - 6}" y="${y(v) + 4}" font-size="10" text-anchor="end">${v.toFixed(3)}</text>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${esc(metric)} across releases">${ticks}<path d="${path}" fill="none" stroke="#4c78a8" stroke-width="2"/>${dots}</svg>`;
}

export function renderHtml(c: ReportContent): string {
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
.decision{font-size:1.2em}.warn{background:#fff8c5;border-left:4px solid #d4a72c;padding:.5em 1em}.cm td{min-width:2.5em}.diag{font-weight:bold;background:#e6f2e6}
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
${perClassSvg(c.classes)}`
    : ''
}
${confusion}
<h2>${esc(c.mainMetric)} across releases</h2>
${c.history.length > 1 ? historySvg(c.mainMetric, c.history) : '<p>No earlier release to compare with yet.</p>'}
<p><small>cdl evaluate-gate · ${esc(c.time)}</small></p>
</body></html>
`;
}

export function htmlReport(input: ReportInput): string {
  return renderHtml(buildReport(input));
}
