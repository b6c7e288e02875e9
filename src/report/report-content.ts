/**
 * What a report shows, computed once; the Markdown (pull-request comment, job summary) and the
 * HTML page render the same content.
 */
import { describeSignificance, fmtDelta, fmtValue } from '../evaluate/format.js';
import type { Blessing, Evaluation, MetricComparison } from '../model-dir/records.js';
import { mainMetric as mainMetricOf, METRIC_INFO } from '../evaluate/metrics.js';
import type { PredictionChanges } from '../evaluate/prediction-changes.js';

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
  /** What changed example by example against the baseline (evaluation.json's `changes`). */
  changes?: PredictionChanges;
  /** Thumbnails (data: URIs) of the listed changed examples, by test index; image data only. */
  thumbnails?: Record<number, string>;
  /** Per-epoch training history (metrics.json `history`) of each model. */
  curves?: { candidate?: Array<Record<string, number>>; baseline?: Array<Record<string, number>> };
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

export interface ChangedRow {
  index: number;
  label: string;
  candidate: string;
  baseline: string;
  thumbnail?: string;
}

export interface ExampleChanges {
  fixed: ChangedRow[];
  broken: ChangedRow[];
  fixedTotal: number;
  brokenTotal: number;
  /** Predictions that changed, including from one wrong class to another. */
  changedTotal: number;
  examples: number;
}

export interface ClassChangeRow {
  name: string;
  candidateRecall: number;
  baselineRecall: number;
  delta: number;
  f1Delta?: number;
  fixed: number;
  broken: number;
  pAdjusted: number;
  significant: boolean;
  support: number;
}

export interface CurvePoint {
  model: string;
  split: 'train' | 'validation';
  epoch: number;
  loss?: number;
  metric?: number;
}

export interface Curves {
  /** The per-epoch metric beside the loss: accuracy (classification) or mae (regression). */
  metric: string;
  points: CurvePoint[];
  /** The models that have a history, in legend order. */
  models: string[];
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
  /** What the baseline is called in the report: production, or baseline. */
  baselineName: string;
  changes?: ExampleChanges;
  /** Each class's change of recall against the baseline, worst first. */
  classChanges: ClassChangeRow[];
  classChangeConfidence?: number;
  curves?: Curves;
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

/** Examples that changed, with class names and thumbnails. */
function exampleChanges(input: ReportInput, classes: readonly string[]): ExampleChanges | undefined {
  const ch = input.changes;
  if (!ch) return undefined;
  const name = (k: number) => classes[k] ?? String(k);
  const row = (e: PredictionChanges['examples']['fixed'][number]): ChangedRow => ({
    index: e.index,
    label: name(e.label),
    candidate: name(e.candidate),
    baseline: name(e.baseline),
    thumbnail: input.thumbnails?.[e.index],
  });
  return {
    fixed: ch.examples.fixed.map(row),
    broken: ch.examples.broken.map(row),
    fixedTotal: ch.fixed,
    brokenTotal: ch.broken,
    changedTotal: ch.changed,
    examples: input.candidate.data.examples,
  };
}

/** Per-class recall change, worst first (then by F1 change, then by name). */
function classChanges(input: ReportInput): ClassChangeRow[] {
  const f1 = (e: Evaluation | undefined, name: string) => e?.per_class?.find((c) => c.class === name)?.f1;
  return (input.changes?.per_class ?? [])
    .map((c) => {
      const [cf, bf] = [f1(input.candidate, c.class), f1(input.baseline, c.class)];
      return {
        name: c.class,
        candidateRecall: c.candidate_recall,
        baselineRecall: c.baseline_recall,
        delta: c.delta,
        f1Delta: cf !== undefined && bf !== undefined ? cf - bf : undefined,
        fixed: c.fixed,
        broken: c.broken,
        pAdjusted: c.p_adjusted,
        significant: c.significant,
        support: c.examples,
      };
    })
    .sort((a, b) => a.delta - b.delta || (a.f1Delta ?? 0) - (b.f1Delta ?? 0) || a.name.localeCompare(b.name));
}

/** Both models' loss and per-epoch metric, training and validation, from metrics.json history. */
export function trainingCurves(
  histories: Array<[model: string, history: Array<Record<string, number>> | undefined]>,
  task: string,
): Curves | undefined {
  const metric = task === 'regression' ? 'mae' : 'accuracy';
  const points: CurvePoint[] = [];
  const models: string[] = [];
  for (const [model, history] of histories) {
    if (!Array.isArray(history) || !history.length) continue;
    models.push(model);
    history.forEach((h, i) => {
      const epoch = typeof h.epoch === 'number' && Number.isFinite(h.epoch) ? h.epoch : i + 1;
      const v = (k: string) => (typeof h[k] === 'number' && Number.isFinite(h[k]) ? h[k] : undefined);
      points.push({ model, split: 'train', epoch, loss: v('loss'), metric: v(metric) });
      if (v('val_loss') !== undefined || v(`val_${metric}`) !== undefined)
        points.push({ model, split: 'validation', epoch, loss: v('val_loss'), metric: v(`val_${metric}`) });
    });
  }
  return points.length ? { metric, points, models } : undefined;
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
  const mainMetric = input.mainMetric ?? mainMetricOf(candidate.task);
  const history = [...(input.history ?? [])];
  const mainValue = candidate.metrics[mainMetric];
  if (mainValue !== undefined) history.push({ label: 'candidate', value: mainValue });
  const baselineName = b?.ref === 'production' ? 'production' : 'baseline';
  const curves = trainingCurves(
    [
      ['candidate', input.curves?.candidate],
      [baselineName, input.curves?.baseline],
    ],
    candidate.task,
  );
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
    baselineName,
    changes: exampleChanges(input, candidate.classes ?? []),
    classChanges: classChanges(input),
    classChangeConfidence: input.changes?.confidence,
    curves,
    runUrl: input.runUrl,
    time: blessing.time,
  };
}
