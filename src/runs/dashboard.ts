/**
 * The runs dashboard: one self-contained HTML page (no script, no network; charts as inline SVG
 * through `renderChart`): the main metric over commits with releases marked, parallel coordinates
 * of hyperparameters against the metric, per-run training curves, and the runs table.
 */
import path from 'node:path';
import type { RunRecord } from '../model-dir/run-record.js';
import { renderChart, type ChartSpec } from '../report/charts.js';
import { esc } from '../report/html.js';
import { writeFileAtomic } from '../util/fs.js';
import { NOT_CURVES, sortRuns } from './query.js';

export interface DashboardOptions {
  title?: string;
  /** Runs whose training curves are drawn (the most recent with a history). Default 12. */
  curves?: number;
  /** Rows of the runs table (the most recent). Default 1000. */
  tableRows?: number;
  now?: Date;
}

const f4 = (v: number | null | undefined) => (v === undefined || v === null ? '—' : v.toFixed(4));
const short = (id: string) => id.replace(/^(\d{8}T\d{6}Z)-([0-9a-f]{7}|nocommit)-/, '$2 ').slice(0, 40);

/** The main metric of one model's runs in time order; releases as rules with their tags. */
async function metricOverCommits(model: string, runs: RunRecord[]): Promise<string> {
  const main = runs.find((r) => r.metrics.main_metric)?.metrics.main_metric ?? 'main metric';
  const points = runs
    .filter((r) => r.metrics.main_metric_value !== null && r.kind !== 'tune_trial')
    .map((r) => ({
      time: r.created_at,
      value: r.metrics.main_metric_value,
      kind: r.kind,
      commit: r.lineage.commit?.slice(0, 7) ?? '',
    }));
  const releases = runs
    .filter((r) => r.kind === 'release' || r.output.release_tag)
    .map((r) => ({ time: r.created_at, tag: r.output.release_tag ?? 'release' }));
  if (points.length === 0) return `<p>No ${esc(model)} run has a ${esc(main)} yet.</p>`;
  const spec: ChartSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 820,
    height: 260,
    layer: [
      ...(releases.length
        ? [
            {
              data: { values: releases },
              mark: { type: 'rule' as const, aria: false, color: '#54a24b', strokeDash: [4, 3] },
              encoding: { x: { field: 'time', type: 'temporal' as const } },
            },
            {
              data: { values: releases.slice(-20) },
              mark: {
                type: 'text' as const,
                angle: 270,
                align: 'left' as const,
                baseline: 'bottom' as const,
                dx: 4,
                dy: -2,
                color: '#2f6b2a',
                fontSize: 10,
              },
              encoding: {
                x: { field: 'time', type: 'temporal' as const },
                y: { value: 250 },
                text: { field: 'tag', type: 'nominal' as const },
              },
            },
          ]
        : []),
      {
        data: { values: points },
        mark: { type: 'point' as const, aria: false, filled: true, size: 36, opacity: 0.8 },
        encoding: {
          x: { field: 'time', type: 'temporal' as const, title: 'run time (one point per run; commits in order)' },
          y: { field: 'value', type: 'quantitative' as const, title: main, scale: { zero: false } },
          color: { field: 'kind', type: 'nominal' as const, title: 'run' },
        },
      },
    ],
  } as ChartSpec;
  return renderChart(spec, `${model}: ${main} over commits, ${points.length} runs, ${releases.length} releases marked`);
}

/** Numeric hyperparameters, each scaled to 0..1 (logarithmically when it spans decades), and the metric. */
async function parallelCoordinates(model: string, runs: RunRecord[]): Promise<string> {
  const scored = runs.filter((r) => r.metrics.main_metric_value !== null);
  const main = scored[0]?.metrics.main_metric ?? 'metric';
  const keys = [...new Set(scored.flatMap((r) => Object.keys(r.hyperparameters)))].filter((k) => {
    const vs = scored.map((r) => r.hyperparameters[k]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    return vs.length >= Math.max(2, scored.length / 2) && new Set(vs).size > 1;
  });
  if (scored.length < 2 || keys.length === 0)
    return `<p>Parallel coordinates need at least two ${esc(model)} runs whose numeric hyperparameters differ.</p>`;
  const axes = [...keys.slice(0, 10), main];
  const valueOf = (r: RunRecord, k: string) =>
    k === main && !(k in r.hyperparameters) ? r.metrics.main_metric_value : r.hyperparameters[k];
  const scale = new Map<string, (v: number) => number>();
  for (const k of axes) {
    const vs = scored.map((r) => valueOf(r, k)).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    const lo = Math.min(...vs);
    const hi = Math.max(...vs);
    const log = lo > 0 && hi / lo >= 100;
    const t = (v: number) => (log ? Math.log10(v) : v);
    scale.set(k, (v) => (hi === lo ? 0.5 : (t(v) - t(lo)) / (t(hi) - t(lo))));
  }
  const values: Array<Record<string, unknown>> = [];
  for (const r of scored) {
    for (const [i, k] of axes.entries()) {
      const v = valueOf(r, k);
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      values.push({ run: r.id, axis: k, order: i, position: scale.get(k)!(v), metric: r.metrics.main_metric_value });
    }
  }
  const spec: ChartSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 820,
    height: 280,
    data: { values },
    mark: { type: 'line', aria: false, strokeWidth: 1.2, opacity: 0.6 },
    encoding: {
      x: { field: 'axis', type: 'nominal', sort: axes, title: null, axis: { labelAngle: 0, orient: 'top' } },
      y: {
        field: 'position',
        type: 'quantitative',
        title: 'low → high (each axis scaled to its range)',
        axis: { labels: false },
      },
      detail: { field: 'run', type: 'nominal' },
      order: { field: 'order', type: 'quantitative' },
      color: { field: 'metric', type: 'quantitative', title: main, scale: { scheme: 'viridis' } },
    },
  };
  return renderChart(
    spec,
    `${model}: parallel coordinates of ${axes.length - 1} hyperparameters against ${main}, ${scored.length} runs`,
  );
}

/** Loss and accuracy by epoch of one run. */
async function trainingCurves(r: RunRecord): Promise<string> {
  const values = r.history.flatMap((h, i) =>
    Object.entries(h)
      .filter(([k]) => !NOT_CURVES.has(k))
      .map(([series, value]) => ({ epoch: h.epoch ?? i + 1, series, value })),
  );
  const spec: ChartSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 300,
    height: 150,
    data: { values },
    mark: { type: 'line', aria: false, point: { aria: false } },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
      y: { field: 'value', type: 'quantitative', title: null },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
  return renderChart(spec, `training curves of run ${r.id}`);
}

function runsTable(runs: RunRecord[]): string {
  const rows = runs.map(
    (r) =>
      `<tr><td><code>${esc(short(r.id))}</code></td><td>${esc(r.created_at.slice(0, 16).replace('T', ' '))}</td><td>${esc(r.kind)}</td><td>${esc(r.model)}</td>` +
      `<td>${esc(r.lineage.branch ?? '—')}</td><td>${r.lineage.pull_request === null ? '—' : `#${r.lineage.pull_request}`}</td>` +
      `<td class="n">${f4(r.metrics.main_metric_value)}</td><td>${esc(r.gate?.decision ?? '—')}</td><td>${esc(r.output.release_tag ?? '—')}</td></tr>`,
  );
  return `<table><thead><tr><th>run</th><th>time (UTC)</th><th>kind</th><th>model</th><th>branch</th><th>PR</th><th>main metric</th><th>gate</th><th>release</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>`;
}

export async function dashboardHtml(records: RunRecord[], o: DashboardOptions = {}): Promise<string> {
  const title = o.title ?? 'cdl runs';
  const chronological = sortRuns(records, 'time', false);
  const newest = [...chronological].reverse();
  const models = [...new Set(chronological.map((r) => r.model))].sort();
  const sections: string[] = [];
  for (const model of models.slice(0, 8)) {
    const runs = chronological.filter((r) => r.model === model);
    sections.push(`<h2>${esc(model)}</h2>
<h3>Main metric over commits</h3>
${await metricOverCommits(model, runs)}
<h3>Hyperparameters against the metric</h3>
${await parallelCoordinates(model, runs)}`);
  }
  const withHistory = newest.filter((r) => r.history.length > 0).slice(0, o.curves ?? 12);
  const curves = await Promise.all(
    withHistory.map(
      async (r) =>
        `<figure><figcaption><code>${esc(short(r.id))}</code> ${esc(r.kind)} · ${esc(r.model)}</figcaption>${await trainingCurves(r)}</figure>`,
    ),
  );
  const rows = newest.slice(0, o.tableRows ?? 1000);
  const span = chronological.length
    ? `${chronological[0]!.created_at.slice(0, 10)} to ${chronological[chronological.length - 1]!.created_at.slice(0, 10)}`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ddd;padding:3px 6px}th{background:#f6f6f6;text-align:left}
.n{text-align:right;font-variant-numeric:tabular-nums}.curves{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}figcaption{font-size:12px;color:#555}
svg{max-width:100%;height:auto}
</style></head><body>
<h1>${esc(title)}</h1>
<p>${records.length} runs of ${models.length} model${models.length === 1 ? '' : 's'}${span ? `, ${esc(span)}` : ''}. Recorded on the <code>cdl-runs</code> branch; generated ${esc((o.now ?? new Date()).toISOString())}.</p>
${records.length === 0 ? '<p>No runs recorded yet.</p>' : sections.join('\n')}
${curves.length ? `<h2>Training curves</h2>\n<p>The ${curves.length} most recent runs with a per-epoch history.</p>\n<div class="curves">${curves.join('\n')}</div>` : ''}
<h2>Runs</h2>
${rows.length < newest.length ? `<p>The ${rows.length} most recent of ${newest.length} runs (all of them: <code>cdl runs export</code>).</p>` : ''}
${runsTable(rows)}
</body></html>
`;
}

/** Write DIR/index.html (temporary file, then rename); returns its path. */
export async function writeDashboard(records: RunRecord[], dir: string, o: DashboardOptions = {}): Promise<string> {
  const file = path.join(dir, 'index.html');
  await writeFileAtomic(file, await dashboardHtml(records, o));
  return file;
}
