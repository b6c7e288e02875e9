/**
 * Questions asked of the run history: filter (model, branch, pull request, kind, dates, metric
 * bounds), sort, the best run, one run by reference, two runs compared (configuration diff, metric
 * deltas, curves), and CSV export. Pure functions over records; reading them is store.ts's job.
 */
import type { RunRecord } from '../model-dir/run-record.js';
import { UsageError } from '../util/errors.js';

/**
 * Gate records joined to the runs they judged: a run (not a release) whose model has the same
 * SHA-256 and that has no decision yet takes the latest gate decision recorded after it; gate
 * records that judged no recorded run stay as runs of their own.
 */
export function attachGates(records: RunRecord[]): RunRecord[] {
  const gates = records.filter((r) => r.kind === 'gate').sort((a, b) => a.created_at.localeCompare(b.created_at));
  if (gates.length === 0) return records;
  const out = records.filter((r) => r.kind !== 'gate').map((r) => ({ ...r }));
  const bySha = new Map<string, RunRecord[]>();
  for (const r of out) {
    const sha = r.output.model_sha256;
    if (sha && r.kind !== 'release') bySha.set(sha, [...(bySha.get(sha) ?? []), r]);
  }
  for (const g of gates) {
    const runs = (g.output.model_sha256 && bySha.get(g.output.model_sha256)) || [];
    const before = runs.filter((r) => r.created_at <= g.created_at);
    const target = before[before.length - 1] ?? runs[0];
    if (target) target.gate = g.gate;
    else out.push(g);
  }
  return out;
}

export interface MetricBound {
  metric: string;
  op: '>=' | '<=' | '>' | '<' | '=' | '!=';
  value: number;
}

/** `accuracy>=0.9`, `test.macro_f1>0.8`, `main<0.3`, `durations.total_seconds<60`. */
export function parseWhere(expr: string): MetricBound {
  const m = /^\s*([A-Za-z_][\w.-]*)\s*(>=|<=|==|!=|=|>|<)\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$/.exec(expr);
  if (!m)
    throw new UsageError(
      `--where "${expr}": expected METRIC OP NUMBER, e.g. accuracy>=0.9 or validation.accuracy>0.8 (OP one of >= <= > < = !=)`,
    );
  return { metric: m[1]!, op: (m[2] === '==' ? '=' : m[2]) as MetricBound['op'], value: Number(m[3]) };
}

/**
 * A metric of a run by name: `main` (the main metric), `split.metric`, a metric of the test split
 * (else validation, else train), `durations.X`, or a numeric hyperparameter.
 */
export function metricOf(r: RunRecord, name: string): number | undefined {
  if (name === 'main') return r.metrics.main_metric_value ?? undefined;
  const dot = name.indexOf('.');
  if (dot > 0) {
    const head = name.slice(0, dot);
    const tail = name.slice(dot + 1);
    if (head === 'durations') return r.durations[tail];
    if (head === 'hyperparameters' || head === 'hp') return numeric(r.hyperparameters[tail]);
    const split = r.metrics.splits[head];
    if (split) return split[tail];
  }
  for (const s of ['test', 'validation', 'train']) {
    const v = r.metrics.splits[s]?.[name];
    if (v !== undefined) return v;
  }
  if (name === r.metrics.main_metric) return r.metrics.main_metric_value ?? undefined;
  return numeric(r.hyperparameters[name]);
}

function numeric(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export interface RunFilter {
  model?: string;
  branch?: string;
  pr?: number;
  kind?: string;
  since?: Date;
  until?: Date;
  where?: MetricBound[];
}

/** A date flag: YYYY-MM-DD, a full ISO time, or a relative `30d`/`12h`. */
export function parseDate(flag: string, v: string, now = new Date()): Date {
  const rel = /^(\d+)([dhw])$/.exec(v);
  if (rel) {
    const unit = { h: 3_600_000, d: 86_400_000, w: 604_800_000 }[rel[2] as 'h' | 'd' | 'w'];
    return new Date(now.getTime() - Number(rel[1]) * unit);
  }
  const d = new Date(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(d.getTime()))
    throw new UsageError(`${flag} "${v}": expected a date (2026-01-31, 2026-01-31T12:00:00Z) or an age (30d, 12h, 2w)`);
  return d;
}

function holds(v: number | undefined, b: MetricBound): boolean {
  if (v === undefined) return false;
  switch (b.op) {
    case '>=':
      return v >= b.value;
    case '<=':
      return v <= b.value;
    case '>':
      return v > b.value;
    case '<':
      return v < b.value;
    case '=':
      return v === b.value;
    case '!=':
      return v !== b.value;
  }
}

export function filterRuns(records: RunRecord[], f: RunFilter): RunRecord[] {
  return records.filter((r) => {
    if (f.model && r.model !== f.model) return false;
    if (f.branch && r.lineage.branch !== f.branch) return false;
    if (f.pr !== undefined && r.lineage.pull_request !== f.pr) return false;
    if (f.kind && r.kind !== f.kind) return false;
    const t = new Date(r.created_at).getTime();
    if (f.since && !(t >= f.since.getTime())) return false;
    if (f.until && !(t <= f.until.getTime())) return false;
    return (f.where ?? []).every((b) => holds(metricOf(r, b.metric), b));
  });
}

/** Sort by time (`time`, the default) or a metric; runs without the metric go last. */
export function sortRuns(records: RunRecord[], key = 'time', descending = true): RunRecord[] {
  const value = (r: RunRecord) => (key === 'time' ? new Date(r.created_at).getTime() : metricOf(r, key));
  return [...records].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    if (va === undefined || vb === undefined) return va === undefined ? (vb === undefined ? 0 : 1) : -1;
    return descending ? vb - va : va - vb;
  });
}

/** The best run by the main metric (its direction from the record), optionally per branch. */
export function bestRuns(records: RunRecord[], perBranch = false): RunRecord[] {
  const groups = new Map<string, RunRecord>();
  for (const r of records) {
    const v = r.metrics.main_metric_value;
    if (v === null) continue;
    const key = `${r.model}\0${perBranch ? (r.lineage.branch ?? '') : ''}`;
    const cur = groups.get(key);
    const better = (a: number, b: number) => (r.metrics.higher_is_better ? a > b : a < b);
    if (!cur || better(v, cur.metrics.main_metric_value!)) groups.set(key, r);
  }
  return [...groups.values()];
}

/**
 * One run by reference: its id (or a unique prefix), `latest`, `release` (the latest release),
 * a release tag, `pr:N` or `branch:NAME` (the latest run there), `commit:SHA` (the latest of that commit).
 */
export function resolveRun(records: RunRecord[], ref: string): RunRecord {
  const latest = (xs: RunRecord[]) => sortRuns(xs)[0];
  let found: RunRecord | undefined;
  let what = ref;
  if (ref === 'latest') found = latest(records);
  else if (ref === 'release' || ref === 'production') {
    found = latest(records.filter((r) => r.kind === 'release'));
    what = 'the latest release';
  } else if (ref.startsWith('pr:')) found = latest(records.filter((r) => String(r.lineage.pull_request) === ref.slice(3)));
  else if (ref.startsWith('branch:')) found = latest(records.filter((r) => r.lineage.branch === ref.slice(7)));
  else if (ref.startsWith('commit:'))
    found = latest(records.filter((r) => ref.length > 11 && r.lineage.commit?.startsWith(ref.slice(7))));
  else {
    const tagged = records.filter((r) => r.output.release_tag === ref);
    if (tagged.length) found = latest(tagged);
    else {
      const exact = records.find((r) => r.id === ref);
      const prefixed = records.filter((r) => r.id.startsWith(ref));
      if (!exact && prefixed.length > 1)
        throw new UsageError(
          `run "${ref}" is ambiguous: ${prefixed.length} runs start with it (${prefixed
            .slice(0, 3)
            .map((r) => r.id)
            .join(', ')}, ...)`,
        );
      found = exact ?? prefixed[0];
    }
  }
  if (!found)
    throw new UsageError(
      `no run matches "${what}"; expected a run id (or a unique prefix), latest, release, a release tag, pr:N, branch:NAME or commit:SHA (cdl runs list)`,
    );
  return found;
}

/** Nested values as `a.b.c` → JSON text, for diffs and tables. */
export function flatten(o: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (o && typeof o === 'object' && !Array.isArray(o)) {
    const entries = Object.entries(o);
    if (entries.length === 0 && prefix) out[prefix] = '{}';
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out[prefix] = JSON.stringify(o);
  return out;
}

/** History entries that are not training curves (bookkeeping per epoch). */
export const NOT_CURVES: ReadonlySet<string> = new Set(['epoch', 'lr', 'learning_rate', 'seconds', 'samples_per_second']);

/** The curve names of some runs' histories (loss, accuracy, val_loss, ...). */
export function curveNames(histories: Array<Record<string, number> | undefined>): string[] {
  return [...new Set(histories.flatMap((h) => Object.keys(h ?? {})))].filter((k) => !NOT_CURVES.has(k));
}

export interface Comparison {
  a: RunRecord;
  b: RunRecord;
  /** Configuration values (resolved configuration and hyperparameters) that differ. */
  config: Array<{ key: string; a: string | undefined; b: string | undefined }>;
  /** Every metric of either run, per split; delta = b - a. */
  metrics: Array<{ split: string; metric: string; a: number | undefined; b: number | undefined; delta: number | undefined }>;
  /** Per-epoch history side by side. */
  curves: Array<{ epoch: number; a: Record<string, number> | undefined; b: Record<string, number> | undefined }>;
}

export function compareRuns(a: RunRecord, b: RunRecord): Comparison {
  const side = (r: RunRecord): Record<string, string> => ({
    ...flatten(r.config.resolved ?? {}, 'config'),
    ...flatten(r.hyperparameters, 'hyperparameters'),
    overrides: JSON.stringify(r.config.overrides),
    'lineage.dataset_version': JSON.stringify(r.lineage.dataset_version),
  });
  const fa = side(a);
  const fb = side(b);
  const keys = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort();
  const config = keys.filter((k) => fa[k] !== fb[k]).map((k) => ({ key: k, a: fa[k], b: fb[k] }));
  const metrics: Comparison['metrics'] = [];
  const splits = [...new Set([...Object.keys(a.metrics.splits), ...Object.keys(b.metrics.splits)])];
  const order = ['test', 'validation', 'train'];
  splits.sort((x, y) => (order.indexOf(x) + 1 || 9) - (order.indexOf(y) + 1 || 9));
  for (const s of splits) {
    const names = [...new Set([...Object.keys(a.metrics.splits[s] ?? {}), ...Object.keys(b.metrics.splits[s] ?? {})])].sort();
    for (const m of names) {
      const va = a.metrics.splits[s]?.[m];
      const vb = b.metrics.splits[s]?.[m];
      metrics.push({ split: s, metric: m, a: va, b: vb, delta: va !== undefined && vb !== undefined ? vb - va : undefined });
    }
  }
  const n = Math.max(a.history.length, b.history.length);
  const curves = Array.from({ length: n }, (_, i) => ({ epoch: i + 1, a: a.history[i], b: b.history[i] }));
  return { a, b, config, metrics, curves };
}

const CSV_BASE = [
  'id',
  'kind',
  'model',
  'created_at',
  'commit',
  'branch',
  'pull_request',
  'main_metric',
  'main_metric_value',
  'release_tag',
];

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  // A leading = + - @ would be a formula in a spreadsheet: quote it as text.
  const safe = /^[=+\-@\t\r]/.test(s) && !/^-?[\d.]+(e[-+]?\d+)?$/i.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One row per run: identity, lineage, every metric as split.metric and every hyperparameter as hp.name. */
export function toCsv(records: RunRecord[]): string {
  const metricCols = new Set<string>();
  const hpCols = new Set<string>();
  for (const r of records) {
    for (const [s, ms] of Object.entries(r.metrics.splits)) for (const m of Object.keys(ms)) metricCols.add(`${s}.${m}`);
    for (const k of Object.keys(r.hyperparameters)) hpCols.add(k);
  }
  const mc = [...metricCols].sort();
  const hc = [...hpCols].sort();
  const rows = [[...CSV_BASE, ...mc, ...hc.map((h) => `hp.${h}`)].join(',')];
  for (const r of records) {
    const base = [
      r.id,
      r.kind,
      r.model,
      r.created_at,
      r.lineage.commit,
      r.lineage.branch,
      r.lineage.pull_request,
      r.metrics.main_metric,
      r.metrics.main_metric_value,
      r.output.release_tag,
    ];
    const ms = mc.map((c) => {
      const [s, ...m] = c.split('.');
      return r.metrics.splits[s!]?.[m.join('.')];
    });
    rows.push([...base, ...ms, ...hc.map((h) => r.hyperparameters[h])].map(csvCell).join(','));
  }
  return rows.join('\n') + '\n';
}
