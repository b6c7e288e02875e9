/**
 * What a study looks like to people: the trials table and the objective per trial as Markdown with
 * a Mermaid chart (job summaries, pull-request comments), and an HTML page with a parallel
 * coordinates plot of every trial's hyperparameters and objective (Vega-Lite, through renderChart).
 */
import { renderChart, type ChartSpec } from '../report/charts.js';
import { esc } from '../report/html.js';
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

function trialsTable(study: Study, space: SearchSpace): string {
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
function objectiveChart(study: Study): string {
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

function summaryFacts(study: Study): string {
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

/**
 * Parallel coordinates: one axis per hyperparameter plus the objective, one line per trial
 * coloured by its objective, the best trial in black; each axis is labelled with its range.
 */
function parallelCoordinates(study: Study, space: SearchSpace): Promise<string> {
  const trials = study.trials.filter((t) => lastValue(t) !== undefined);
  const names = [...space.map((p) => p.key), study.metric];
  const values = trials.map((t) => lastValue(t)!);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const norm = (v: number) => (hi === lo ? 0.5 : (v - lo) / (hi - lo));
  const goodness = (v: number) => (study.direction === 'maximize' ? norm(v) : 1 - norm(v));
  // Worst first, so the better lines are drawn over the others.
  trials.sort((a, b) => goodness(lastValue(a)!) - goodness(lastValue(b)!));
  const best = bestTrial(study);
  const points = trials.flatMap((t) => [
    ...space.map((p, i) => ({ trial: t.number, axis: p.key, order: i, position: axisPosition(p, t.params[p.key]) })),
    { trial: t.number, axis: study.metric, order: space.length, position: norm(lastValue(t)!) },
  ]);
  const lines = points.map((pt) => ({
    ...pt,
    objective: lastValue(study.trials[pt.trial]!)!,
    best: study.trials[pt.trial] === best,
  }));
  const ends = names.flatMap((name, i) => {
    const p = space[i];
    const [low, high] =
      p === undefined
        ? [fmt(lo), fmt(hi)]
        : p.spec.type === 'categorical'
          ? [fmt(p.spec.choices[0]), fmt(p.spec.choices[p.spec.choices.length - 1])]
          : [fmt(p.spec.low), fmt(p.spec.high)];
    return [
      { axis: name, position: 0, text: low },
      { axis: name, position: 1, text: high },
    ];
  });
  const x = {
    field: 'axis',
    type: 'nominal' as const,
    sort: names,
    title: null,
    axis: { labelAngle: 0, orient: 'bottom' as const },
  };
  const y = { field: 'position', type: 'quantitative' as const, scale: { domain: [0, 1] }, axis: null };
  const spec: ChartSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: Math.max(360, 140 * names.length),
    height: 260,
    layer: [
      {
        data: { values: names.map((axis) => ({ axis, position: 0, top: 1 })) },
        mark: { type: 'rule', aria: false, color: '#888' },
        encoding: { x, y, y2: { field: 'top' } },
      },
      {
        data: { values: lines.filter((l) => !l.best) },
        mark: { type: 'line', aria: false, strokeWidth: 1.5, opacity: 0.6 },
        encoding: {
          x,
          y,
          detail: { field: 'trial', type: 'nominal' },
          order: { field: 'order', type: 'quantitative' },
          color: {
            field: 'objective',
            type: 'quantitative',
            title: study.metric,
            scale: { scheme: { name: 'turbo', extent: study.direction === 'maximize' ? [0.15, 0.95] : [0.95, 0.15] } },
          },
        },
      },
      {
        data: { values: lines.filter((l) => l.best) },
        mark: { type: 'line', aria: false, strokeWidth: 3, color: '#000' },
        encoding: { x, y, order: { field: 'order', type: 'quantitative' } },
      },
      {
        data: { values: ends },
        mark: { type: 'text', aria: false, align: 'left', dx: 4, fontSize: 10, color: '#555' },
        encoding: { x, y, text: { field: 'text' } },
      },
    ],
  };
  return renderChart(
    spec,
    `parallel coordinates of the trials: ${space.length} hyperparameters against ${study.metric}, ${trials.length} trials`,
  );
}

export async function htmlReport(study: Study, space: SearchSpace): Promise<string> {
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
<p>One line per trial; colour from worst (blue) to best (red); the best trial in black; each axis spans its search range.</p>
${await parallelCoordinates(study, space)}
<h2>Trials</h2>
<table><thead><tr><th>trial</th><th>status</th><th>epochs</th><th>${esc(study.metric)}</th>${space.map((p) => `<th>${esc(p.key)}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}
