/**
 * What a report shows, computed once; the Markdown (pull-request comment, job summary) and the
 * HTML page render the same content.
 */
import { describeSignificance, fmtDelta, fmtValue } from '../evaluate/format.js';
import type { Blessing, MetricComparison } from '../evaluate/gate.js';
import { METRIC_INFO } from '../evaluate/metrics.js';
import type { Evaluation } from '../evaluate/run.js';

export interface HistoryPoint {
  label: string;
  value: number;
}

export interface ReportInput {
  blessing: Blessing;
  candidate: Evaluation;
  baseline?: Evaluation;
  /** The main metric of earlier releases, oldest first (the candidate is appended). */
  history?: HistoryPoint[];
  mainMetric?: string;
  /** A link to the run, shown under the heading. */
  runUrl?: string;
}

export interface MetricRow {
  metric: string;
  label: string;
  candidate: string;
  baseline: string;
  delta: string;
  /** "significant" / "within noise" / "" */
  noise: string;
  noiseDetail: string;
  threshold: string;
  /** '✅', '❌' or '' (no threshold). */
  verdict: string;
  reasons: string[];
}

export interface ClassRow {
  name: string;
  precision: number;
  recall: number;
  f1: number;
  baselineF1?: number;
  support: number;
}

export interface Confusion {
  true: string;
  predicted: string;
  count: number;
  /** Share of that class's examples. */
  rate: number;
}

export interface ReportContent {
  title: string;
  model: string;
  decision: Blessing['decision'];
  icon: string;
  reason: string;
  forced?: Blessing['forced'];
  baselineLine: string;
  dataLine: string;
  rows: MetricRow[];
  classes: ClassRow[];
  confusion?: { classes: string[]; matrix: number[][]; largest: Confusion[] };
  history: HistoryPoint[];
  mainMetric: string;
  runUrl?: string;
  time: string;
}

export const DECISION_ICON = { blessed: '✅', rejected: '❌' } as const;

function rowFor(c: MetricComparison, blessing: Blessing): MetricRow {
  const v = blessing.verdicts.find((x) => x.metric === c.metric);
  const s = c.significance;
  return {
    metric: c.metric,
    label: METRIC_INFO[c.metric]?.label ?? c.metric,
    candidate: fmtValue(c.candidate, c.metric),
    baseline: fmtValue(c.baseline, c.metric),
    delta: fmtDelta(c.delta, c.metric),
    noise: s ? (s.significant ? 'significant' : 'within noise') : '',
    noiseDetail: describeSignificance(s, c.metric),
    threshold: v?.threshold ?? '',
    verdict: v ? (v.verdict === 'pass' ? '✅' : '❌') : '',
    reasons: v ? v.reasons.filter((r) => r !== 'met') : [],
  };
}

/** The largest off-diagonal cells of a confusion matrix. */
export function largestConfusions(classes: readonly string[], m: number[][], count = 3): Confusion[] {
  const out: Confusion[] = [];
  m.forEach((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((n, p) => {
      if (p !== t && n > 0)
        out.push({ true: classes[t] ?? String(t), predicted: classes[p] ?? String(p), count: n, rate: total ? n / total : 0 });
    });
  });
  return out.sort((a, b) => b.count - a.count).slice(0, count);
}

export function buildReport(input: ReportInput): ReportContent {
  const { blessing, candidate, baseline } = input;
  const b = blessing.baseline;
  const baselineLine = b
    ? `${b.kind === 'release' ? 'production: release' : b.kind === 'tag' ? 'release' : b.kind} \`${b.tag ?? b.ref}\`` +
      (b.production === 'deployed' ? ', deployed to production' : '') +
      (b.production === 'latest-release' ? ', the latest release (nothing deployed to production yet)' : '') +
      (b.commit ? ` (commit ${b.commit.slice(0, 7)})` : '') +
      (b.sha256 ? `, model.onnx sha256 ${b.sha256.slice(0, 12)}` : '')
    : `none — ${blessing.baseline_note ?? 'no baseline'}; only absolute bounds apply`;
  const d = candidate.data;
  const dataLine =
    `${d.split} split, ${d.examples.toLocaleString('en-US')} examples, data ${d.version.slice(0, 19)}…` +
    (candidate.model.input.layout === 'nchw' ? ' (fed channels first, as the model expects)' : '');
  const classes: ClassRow[] = (candidate.per_class ?? []).map((c, i) => ({
    name: c.class,
    precision: c.precision,
    recall: c.recall,
    f1: c.f1,
    baselineF1: baseline?.per_class?.[i]?.f1,
    support: c.support,
  }));
  const mainMetric = input.mainMetric ?? (candidate.task === 'classification' ? 'accuracy' : 'rmse');
  const history = [...(input.history ?? [])];
  const mainValue = candidate.metrics[mainMetric];
  if (mainValue !== undefined) history.push({ label: 'candidate', value: mainValue });
  return {
    title: `cdl evaluate-gate: ${blessing.model}`,
    model: blessing.model,
    decision: blessing.decision,
    icon: DECISION_ICON[blessing.decision],
    reason: blessing.reason,
    forced: blessing.forced,
    baselineLine,
    dataLine,
    rows: blessing.comparison.map((c) => rowFor(c, blessing)),
    classes,
    confusion:
      candidate.confusion && candidate.classes
        ? {
            classes: candidate.classes,
            matrix: candidate.confusion,
            largest: largestConfusions(candidate.classes, candidate.confusion),
          }
        : undefined,
    history,
    mainMetric,
    runUrl: input.runUrl,
    time: blessing.time,
  };
}
