/** `cdl runs list|show|compare|best|export|report`: thin handlers over src/runs. */
import path from 'node:path';
import type { RunRecord } from '../model-dir/run-record.js';
import {
  attachGates,
  bestRuns,
  compareRuns,
  curveNames,
  filterRuns,
  parseDate,
  parseWhere,
  resolveRun,
  sortRuns,
  toCsv,
  type Comparison,
} from '../runs/query.js';
import { readRecords, repoRootOf } from '../runs/store.js';
import { UsageError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { parse } from './args.js';
import { COMMANDS } from './commands.js';
import { table } from '../util/table.js';

const log = (line: string) => process.stderr.write(line + '\n');
const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : text + '\n');

type Values = ReturnType<typeof parse<(typeof COMMANDS)['runs']['options']>>['values'];

const f4 = (v: number | null | undefined) => (v === undefined || v === null ? '—' : v.toFixed(4));
const signed = (v: number | undefined) => (v === undefined ? '—' : `${v >= 0 ? '+' : ''}${v.toFixed(4)}`);

function positiveInt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`runs: ${flag} "${v}": expected a whole number`);
  return Number(v);
}

async function load(values: Values): Promise<RunRecord[]> {
  const dir = path.resolve((values.repo as string | undefined) ?? '.');
  const repo = await repoRootOf(dir);
  if (!repo)
    throw new UsageError(`runs: ${dir} is not in a git repository; run records live on its cdl-runs branch (--repo DIR)`);
  const stored = await readRecords(repo, { remote: values['no-fetch'] ? null : 'origin', log });
  const records = attachGates(stored.map((s) => s.record));
  return filterRuns(records, {
    model: values.model as string | undefined,
    branch: values.branch as string | undefined,
    pr: positiveInt('--pr', values.pr as string | undefined),
    kind: values.kind as string | undefined,
    since: values.since ? parseDate('--since', values.since as string) : undefined,
    until: values.until ? parseDate('--until', values.until as string) : undefined,
    where: (values.where as string[]).map(parseWhere),
  });
}

function listTable(records: RunRecord[]): string {
  if (records.length === 0) return 'no runs recorded (yet) on the cdl-runs branch that match';
  const rows = [['run', 'time', 'kind', 'model', 'branch', 'pr', 'commit', 'main metric', 'release']];
  for (const r of records)
    rows.push([
      r.id,
      r.created_at.slice(0, 16).replace('T', ' '),
      r.kind,
      r.model,
      r.lineage.branch ?? '—',
      r.lineage.pull_request === null ? '—' : `#${r.lineage.pull_request}`,
      r.lineage.commit?.slice(0, 7) ?? '—',
      r.metrics.main_metric ? `${r.metrics.main_metric} ${f4(r.metrics.main_metric_value)}` : '—',
      r.output.release_tag ?? '—',
    ]);
  return table(rows);
}

function showText(r: RunRecord): string {
  const lines = [
    `run ${r.id}`,
    `  kind ${r.kind}, model ${r.model}, ${r.created_at}`,
    `  commit ${r.lineage.commit ?? '—'} on ${r.lineage.branch ?? '—'}${r.lineage.pull_request !== null ? ` (pull request #${r.lineage.pull_request})` : ''}`,
    `  config ${r.config.file ?? '—'} ${r.config.hash ?? ''}${r.config.overrides.length ? `, overrides: ${r.config.overrides.join(' ')}` : ''}`,
    `  dataset ${r.lineage.dataset_version ?? '—'}`,
    `  model ${r.output.model_sha256 ?? '—'}; artifact ${r.output.artifact ?? '—'}; release ${r.output.release_tag ?? '—'}`,
  ];
  if (r.gate) lines.push(`  gate ${r.gate.decision}${r.gate.reason ? `: ${r.gate.reason}` : ''}`);
  if (r.tune)
    lines.push(`  tuning study ${r.tune.study ?? '—'}, trial ${r.tune.trial} (${r.tune.status}, ${r.tune.epochs} epochs)`);
  lines.push('', 'hyperparameters:');
  for (const [k, v] of Object.entries(r.hyperparameters)) lines.push(`  ${k}: ${JSON.stringify(v)}`);
  lines.push('', 'metrics:');
  const rows = [['split', 'metric', 'value']];
  for (const [s, ms] of Object.entries(r.metrics.splits)) for (const [m, v] of Object.entries(ms)) rows.push([s, m, f4(v)]);
  lines.push(table(rows).replace(/^/gm, '  '));
  if (r.history.length) {
    const keys = [...new Set(r.history.flatMap((h) => Object.keys(h)))].filter((k) => k !== 'epoch');
    lines.push('', 'history:');
    lines.push(
      table([['epoch', ...keys], ...r.history.map((h, i) => [String(h.epoch ?? i + 1), ...keys.map((k) => f4(h[k]))])]).replace(
        /^/gm,
        '  ',
      ),
    );
  }
  const d = Object.entries(r.durations);
  if (d.length) lines.push('', `durations: ${d.map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
  return lines.join('\n');
}

function compareText(c: Comparison): string {
  const lines = [
    `A ${c.a.id} (${c.a.kind}, ${c.a.lineage.branch ?? '—'})`,
    `B ${c.b.id} (${c.b.kind}, ${c.b.lineage.branch ?? '—'})`,
    '',
  ];
  lines.push('configuration differences:');
  if (c.config.length === 0) lines.push('  none');
  else lines.push(table([['key', 'A', 'B'], ...c.config.map((d) => [d.key, d.a ?? '—', d.b ?? '—'])]).replace(/^/gm, '  '));
  lines.push('', 'metrics (delta = B − A):');
  lines.push(
    table([
      ['split', 'metric', 'A', 'B', 'delta'],
      ...c.metrics.map((m) => [m.split, m.metric, f4(m.a), f4(m.b), signed(m.delta)]),
    ]).replace(/^/gm, '  '),
  );
  if (c.curves.length) {
    const keys = curveNames(c.curves.flatMap((p) => [p.a, p.b]));
    lines.push('', 'curves:');
    lines.push(
      table([
        ['epoch', ...keys.flatMap((k) => [`A ${k}`, `B ${k}`])],
        ...c.curves.map((p) => [String(p.epoch), ...keys.flatMap((k) => [f4(p.a?.[k]), f4(p.b?.[k])])]),
      ]).replace(/^/gm, '  '),
    );
  }
  return lines.join('\n');
}

export async function runsCommand(argv: string[]): Promise<number> {
  const [sub, ...after] = argv;
  const i = after.findIndex((a) => a.startsWith('-'));
  const words = i < 0 ? after : after.slice(0, i);
  const rest = i < 0 ? [] : after.slice(i);
  const { values } = parse(rest, COMMANDS.runs, `runs ${sub ?? ''}`.trim());
  switch (sub) {
    case 'list': {
      if (words.length) throw new UsageError(`runs list: unexpected "${words[0]}"; filters are flags (cdl runs --help)`);
      let records = sortRuns(await load(values), (values.sort as string | undefined) ?? 'time', !values.asc);
      const limit = positiveInt('--limit', values.limit as string | undefined);
      if (limit !== undefined) records = records.slice(0, limit);
      out(values.json ? JSON.stringify(records, null, 2) : listTable(records));
      return 0;
    }
    case 'show': {
      if (words.length !== 1)
        throw new UsageError('runs show: expected one RUN (an id, latest, release, a tag, pr:N, branch:NAME)');
      const r = resolveRun(await load(values), words[0]!);
      out(values.json ? JSON.stringify(r, null, 2) : showText(r));
      return 0;
    }
    case 'compare': {
      if (words.length !== 2) throw new UsageError('runs compare: expected two runs, e.g. cdl runs compare release pr:12');
      const records = await load(values);
      const c = compareRuns(resolveRun(records, words[0]!), resolveRun(records, words[1]!));
      out(
        values.json
          ? JSON.stringify({ a: c.a.id, b: c.b.id, config: c.config, metrics: c.metrics, curves: c.curves }, null, 2)
          : compareText(c),
      );
      return 0;
    }
    case 'best': {
      const best = sortRuns(bestRuns(await load(values), values['per-branch'] as boolean), 'main');
      out(values.json ? JSON.stringify(best, null, 2) : listTable(best));
      return 0;
    }
    case 'export': {
      const format = (values.format as string | undefined) ?? 'csv';
      if (format !== 'csv' && format !== 'json') throw new UsageError(`runs export: --format "${format}": expected csv or json`);
      const records = sortRuns(await load(values), (values.sort as string | undefined) ?? 'time', !values.asc);
      const text = format === 'csv' ? toCsv(records) : JSON.stringify(records, null, 2) + '\n';
      if (values.out) {
        await writeFileAtomic(values.out as string, text);
        log(`${records.length} runs written to ${values.out as string}`);
      } else out(text);
      return 0;
    }
    case 'report': {
      if (!values.out) throw new UsageError('runs report: --out DIR is required (index.html is written there)');
      const { writeDashboard } = await import('../runs/dashboard.js');
      const records = await load(values);
      const file = await writeDashboard(records, values.out as string, { title: values.title as string | undefined });
      log(`dashboard of ${records.length} runs written to ${file}`);
      return 0;
    }
    default:
      throw new UsageError(`runs: expected list, show, compare, best, export or report, got "${sub ?? ''}" (cdl runs --help)`);
  }
}
