/**
 * What a study looks like to people: the trials table and the objective per trial as Markdown with
 * a Mermaid chart (job summaries, pull-request comments), and an HTML page with a parallel
 * coordinates plot of every trial's hyperparameters and objective.
 */
import type { SearchSpace } from './space.js';
import { bestTrial, totalEpochs, type Study, type TrialRecord } from './study.js';

function fmt(v: unknown): string {
  if (typeof v === 'number')
    return Number.isInteger(v) ? String(v) : Math.abs(v) < 1e-3 || Math.abs(v) >= 1e4 ? v.toExponential(3) : v.toPrecision(4);
  return String(v);
}

function lastValue(t: TrialRecord): number | undefined {
  return t.results[t.results.length - 1]?.value;
}

export function trialsTable(study: Study, space: SearchSpace): string {
  const keys = space.map((p) => p.key);
  const best = bestTrial(study);
  const head = `| trial | status | epochs | ${study.metric} | ${keys.map((k) => `\`${k}\``).join(' | ')} |`;
  const sep = `|---:|---|---:|---:|${keys.map(() => '---:').join('|')}|`;
  const rows = study.trials.map((t) => {
    const v = lastValue(t);
    const mark = t === best ? ' **best**' : '';
    return `| ${t.number}${mark} | ${t.status} | ${t.epochs} | ${v === undefined ? '—' : v.toFixed(4)} | ${keys.map((k) => fmt(t.params[k])).join(' | ')} |`;
  });
  return [head, sep, ...rows].join('\n');
}

/** Mermaid xychart: the objective each trial reached (0 where it has none). */
export function objectiveChart(study: Study): string {
  const withValue = study.trials.filter((t) => lastValue(t) !== undefined);
  if (withValue.length === 0) return '';
  const values = withValue.map((t) => lastValue(t)!);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 0.05;
  const bestSoFar: number[] = [];
  for (const v of values) {
    const prev = bestSoFar[bestSoFar.length - 1];
    bestSoFar.push(prev === undefined ? v : study.direction === 'maximize' ? Math.max(prev, v) : Math.min(prev, v));
  }
  return [
    '```mermaid',
    'xychart-beta',
    `  title "${study.metric} per trial (bars), best so far (line)"`,
    `  x-axis [${withValue.map((t) => t.number).join(', ')}]`,
    `  y-axis "${study.metric}" ${(lo - pad).toFixed(4)} --> ${(hi + pad).toFixed(4)}`,
    `  bar [${values.map((v) => v.toFixed(4)).join(', ')}]`,
    `  line [${bestSoFar.map((v) => v.toFixed(4)).join(', ')}]`,
    '```',
  ].join('\n');
}

export function summaryFacts(study: Study): string {
  const best = bestTrial(study);
  const counts = new Map<string, number>();
  for (const t of study.trials) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
  const full = study.trials.length * study.scheduler.maxEpochs;
  const used = totalEpochs(study);
  const lines = [
    best
      ? `Best: trial ${best.number}, **${study.metric} ${lastValue(best)!.toFixed(4)}** after ${best.epochs} epochs` +
        (best.results[best.results.length - 1]?.test?.accuracy !== undefined
          ? ` (test accuracy ${best.results[best.results.length - 1]!.test!.accuracy!.toFixed(4)})`
          : '')
      : 'No trial finished.',
    `${study.trials.length} trials (${[...counts].map(([k, v]) => `${v} ${k}`).join(', ')}), ` +
      `${used} epochs trained` +
      (full > 0
        ? ` (${((100 * used) / full).toFixed(0)}% of ${full} for every trial at ${study.scheduler.maxEpochs} epochs)`
        : ''),
    `Sampler ${study.sampler.type} (seed ${study.sampler.seed}), scheduler ${study.scheduler.type}` +
      (study.scheduler.type === 'none'
        ? ''
        : ` (rungs ${study.scheduler.budgets.join(', ')} epochs, η ${study.scheduler.reductionFactor}` +
          `${study.scheduler.grace ? `, grace ${study.scheduler.grace} results` : ''})`),
  ];
  return lines.join('  \n');
}

export function markdownReport(study: Study, space: SearchSpace): string {
  const best = bestTrial(study);
  const bestParams = best
    ? ['| hyperparameter | value |', '|---|---:|', ...space.map((p) => `| \`${p.key}\` | ${fmt(best.params[p.key])} |`)].join(
        '\n',
      )
    : '';
  return [
    `## cdl tune: ${study.model}`,
    '',
    summaryFacts(study),
    '',
    bestParams,
    '',
    objectiveChart(study),
    '',
    '<details><summary>All trials</summary>',
    '',
    trialsTable(study, space),
    '',
    '</details>',
    '',
  ].join('\n');
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Position of a value on a parameter's axis, in [0, 1]. */
function axisPosition(space: SearchSpace[number], v: unknown): number {
  const s = space.spec;
  if (s.type === 'categorical') {
    const i = s.choices.findIndex((c) => c === v);
    return s.choices.length === 1 ? 0.5 : Math.max(0, i) / (s.choices.length - 1);
  }
  const x = v as number;
  if (s.high === s.low) return 0.5;
  const log = s.type === 'loguniform' || (s.type === 'int' && s.log);
  return log ? (Math.log(x) - Math.log(s.low)) / (Math.log(s.high) - Math.log(s.low)) : (x - s.low) / (s.high - s.low);
}

/** Parallel coordinates: one axis per hyperparameter plus the objective, one line per trial. */
export function parallelCoordinatesSvg(study: Study, space: SearchSpace): string {
  const trials = study.trials.filter((t) => lastValue(t) !== undefined);
  const axes = space.length + 1;
  const W = Math.max(480, 140 * axes);
  const H = 320;
  const top = 30;
  const bottom = H - 40;
  const x = (i: number) => 60 + (i * (W - 120)) / Math.max(1, axes - 1);
  const y = (f: number) => bottom - f * (bottom - top);
  const values = trials.map((t) => lastValue(t)!);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const norm = (v: number) => (hi === lo ? 0.5 : (v - lo) / (hi - lo));
  const goodness = (v: number) => (study.direction === 'maximize' ? norm(v) : 1 - norm(v));
  const best = bestTrial(study);
  const lines = trials
    .map((t) => ({ t, g: goodness(lastValue(t)!) }))
    .sort((a, b) => a.g - b.g)
    .map(({ t, g }) => {
      const pts = space.map((p, i) => `${x(i).toFixed(1)},${y(axisPosition(p, t.params[p.key])).toFixed(1)}`);
      pts.push(`${x(axes - 1).toFixed(1)},${y(norm(lastValue(t)!)).toFixed(1)}`);
      const hue = Math.round(240 * (1 - g));
      const isBest = t === best;
      return `<polyline points="${pts.join(' ')}" fill="none" stroke="${isBest ? '#000' : `hsl(${hue},70%,45%)`}" stroke-width="${isBest ? 3 : 1.5}" stroke-opacity="${isBest ? 1 : 0.6}"><title>trial ${t.number}: ${esc(study.metric)} ${lastValue(t)!.toFixed(4)} (${t.status}, ${t.epochs} epochs)</title></polyline>`;
    });
  const axisMarks = [...space.map((p) => p.key), study.metric].map((name, i) => {
    const p = space[i];
    const ends =
      p === undefined
        ? [fmt(lo), fmt(hi)]
        : p.spec.type === 'categorical'
          ? [fmt(p.spec.choices[0]), fmt(p.spec.choices[p.spec.choices.length - 1])]
          : [fmt(p.spec.low), fmt(p.spec.high)];
    return (
      `<line x1="${x(i)}" y1="${top}" x2="${x(i)}" y2="${bottom}" stroke="#888"/>` +
      `<text x="${x(i)}" y="${bottom + 28}" text-anchor="middle" font-size="12">${esc(name)}</text>` +
      `<text x="${x(i) + 4}" y="${bottom + 12}" font-size="10" fill="#555">${esc(ends[0]!)}</text>` +
      `<text x="${x(i) + 4}" y="${top - 4}" font-size="10" fill="#555">${esc(ends[1]!)}</text>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="parallel coordinates of the trials">${axisMarks.join('')}${lines.join('')}</svg>`;
}

export function htmlReport(study: Study, space: SearchSpace): string {
  const best = bestTrial(study);
  const rows = study.trials
    .map((t) => {
      const v = lastValue(t);
      return `<tr${t === best ? ' class="best"' : ''}><td>${t.number}</td><td>${t.status}</td><td>${t.epochs}</td><td>${v === undefined ? '—' : v.toFixed(4)}</td>${space
        .map((p) => `<td>${esc(fmt(t.params[p.key]))}</td>`)
        .join('')}</tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cdl tune: ${esc(study.model)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}tr.best{font-weight:bold;background:#eef}</style>
</head><body>
<h1>cdl tune: ${esc(study.model)}</h1>
<p>${esc(summaryFacts(study).replace(/\*\*/g, '')).replace(/ {2}\n/g, '<br>')}</p>
<h2>Parallel coordinates</h2>
<p>One line per trial; colour from worst (blue) to best (red); the best trial in black.</p>
${parallelCoordinatesSvg(study, space)}
<h2>Trials</h2>
<table><thead><tr><th>trial</th><th>status</th><th>epochs</th><th>${esc(study.metric)}</th>${space.map((p) => `<th>${esc(p.key)}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}
