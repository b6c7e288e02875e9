/**
 * The gate: compare the candidate with the baseline metric by metric, test whether each change is
 * more than noise, and decide. Pure functions over evaluations; reading models is elsewhere.
 */
import { gateSection, type GateSection, type MetricGate } from '../config/schema/gate.js';
import {
  BLESSING_SCHEMA_VERSION,
  type BaselineIdentity,
  type Blessing,
  type Evaluation,
  type MetricComparison,
  type Significance,
  type Verdict,
} from '../model-dir/records.js';
import { mainMetric, METRIC_INFO } from './metrics.js';
import type { EvaluatedModel } from './evaluate-model.js';
import { isResamplable, mcnemar, pairedBootstrap } from './significance.js';

// Defined by the model directory (src/model-dir/records.ts); re-exported for existing importers.
export { BLESSING_FILE, BLESSING_SCHEMA_VERSION } from '../model-dir/records.js';
export type { BaselineIdentity, Blessing, MetricComparison, Significance, Verdict } from '../model-dir/records.js';
import { describeSignificance, fmtDelta, fmtValue } from './format.js';

export const DEFAULT_GATE: GateSection = gateSection.parse({});

/**
 * The thresholds applied: gate.metrics, or, when none are configured, the default gate: the main
 * metric must not be significantly worse than the baseline (a regression beyond noise rejects).
 */
export function effectiveThresholds(
  candidate: EvaluatedModel,
  gate: GateSection,
): { metrics: GateSection['metrics']; defaulted: boolean } {
  if (Object.values(gate.metrics).some(Boolean)) return { metrics: gate.metrics, defaulted: false };
  return { metrics: { [mainMetric(candidate.evaluation.task)]: { max_regression: 0, relative: false } }, defaulted: true };
}

function higherIsBetter(metric: string, g?: MetricGate): boolean {
  if (g?.direction) return g.direction === 'higher';
  return METRIC_INFO[metric]?.higherIsBetter ?? true;
}

function significanceFor(
  metric: string,
  candidate: EvaluatedModel,
  baseline: EvaluatedModel,
  method: GateSection['significance']['method'],
  settings: GateSection['significance'],
): Significance | undefined {
  if (method === 'none' || !isResamplable(metric)) return undefined;
  if (candidate.perExample.labels.length !== baseline.perExample.labels.length) return undefined;
  if (method === 'mcnemar' && metric === 'accuracy' && candidate.perExample.correct && baseline.perExample.correct) {
    const r = mcnemar(candidate.perExample.correct, baseline.perExample.correct);
    return {
      method: 'mcnemar',
      confidence: settings.confidence,
      p_value: r.p_value,
      significant: r.p_value < 1 - settings.confidence,
    };
  }
  const r = pairedBootstrap(metric, candidate.perExample, baseline.perExample, settings);
  return { method: 'bootstrap', confidence: settings.confidence, ci: r.ci, significant: r.ci[0] > 0 || r.ci[1] < 0 };
}

/** Every metric of the candidate beside the baseline's, with the significance of the change. */
export function compareEvaluations(
  candidate: EvaluatedModel,
  baseline: EvaluatedModel | undefined,
  gate: GateSection = DEFAULT_GATE,
): MetricComparison[] {
  const names = Object.keys(candidate.evaluation.metrics);
  for (const m of Object.keys(gate.metrics)) if (!names.includes(m)) names.push(m);
  return names.map((metric) => {
    const c = candidate.evaluation.metrics[metric];
    const b = baseline?.evaluation.metrics[metric];
    const g = gate.metrics[metric as keyof GateSection['metrics']];
    const method = g?.significance ?? gate.significance.method;
    const row: MetricComparison = {
      metric,
      candidate: c ?? null,
      baseline: b ?? null,
      delta: c !== undefined && b !== undefined ? c - b : null,
      higher_is_better: higherIsBetter(metric, g),
    };
    if (baseline && c !== undefined && b !== undefined) {
      const s = significanceFor(metric, candidate, baseline, method, gate.significance);
      if (s) row.significance = s;
    }
    return row;
  });
}

function thresholdText(metric: string, g: MetricGate, hib: boolean): string {
  const parts: string[] = [];
  if (g.min !== undefined) parts.push(`≥ ${fmtValue(g.min, metric)}`);
  if (g.max !== undefined) parts.push(`≤ ${fmtValue(g.max, metric)}`);
  const amount = (v: number) => (g.relative ? `${+(v * 100).toFixed(4)}%` : fmtValue(v, metric));
  const worse = hib ? 'below' : 'above';
  const better = hib ? 'above' : 'below';
  if (g.max_regression !== undefined) {
    parts.push(g.max_regression === 0 ? `not ${worse} baseline` : `at most ${amount(g.max_regression)} ${worse} baseline`);
  }
  if (g.min_improvement !== undefined) parts.push(`at least ${amount(g.min_improvement)} ${better} baseline`);
  return parts.join('; ') || '—';
}

/** Judge one metric against its thresholds. */
export function judgeMetric(row: MetricComparison, g: MetricGate, hasBaseline: boolean): Verdict {
  const { metric } = row;
  const hib = row.higher_is_better;
  const reasons: string[] = [];
  let fail = false;
  const c = row.candidate;
  const label = metric;
  if (c === null) {
    return {
      ...row,
      threshold: thresholdText(metric, g, hib),
      verdict: 'fail',
      reasons: [`${label}: not measured for this model`],
    };
  }
  if (g.min !== undefined && c < g.min) {
    fail = true;
    reasons.push(`${label} ${fmtValue(c, metric)} is below the minimum ${fmtValue(g.min, metric)}`);
  }
  if (g.max !== undefined && c > g.max) {
    fail = true;
    reasons.push(`${label} ${fmtValue(c, metric)} is above the maximum ${fmtValue(g.max, metric)}`);
  }
  const changeRule = g.max_regression !== undefined || g.min_improvement !== undefined;
  if (changeRule && (!hasBaseline || row.baseline === null || row.delta === null)) {
    reasons.push(`no baseline: the change thresholds were not applied`);
  } else if (changeRule) {
    const base = row.baseline!;
    const sign = hib ? 1 : -1;
    const improvement = sign * row.delta!;
    const scale = g.relative ? Math.abs(base) : 1;
    const s = row.significance;
    // The interval of the improvement (oriented so that positive is better), when there is one.
    const interval = s?.ci ? ([sign * (hib ? s.ci[0] : s.ci[1]), sign * (hib ? s.ci[1] : s.ci[0])] as const) : undefined;
    const noise = describeSignificance(s, metric);
    if (g.max_regression !== undefined) {
      const tol = g.max_regression * scale;
      if (improvement < -tol) {
        // Worse than allowed: reject only when the shortfall is more than noise.
        const sure = !s ? true : interval ? interval[1] < -tol : s.significant;
        if (sure) {
          fail = true;
          reasons.push(
            `${label} ${fmtDelta(row.delta, metric)} against the baseline, more than the allowed ${fmtValue(tol, metric)}${noise ? `; ${noise}` : ''}`,
          );
        } else {
          reasons.push(`${label} ${fmtDelta(row.delta, metric)} against the baseline is ${noise}: not counted as a regression`);
        }
      }
    }
    if (g.min_improvement !== undefined) {
      const need = g.min_improvement * scale;
      // Better than required: bless only when the gain is more than noise.
      const sure = !s ? improvement >= need : interval ? interval[0] >= need : improvement >= need && s.significant;
      if (!sure) {
        fail = true;
        reasons.push(
          improvement < need
            ? `${label} ${fmtDelta(row.delta, metric)} against the baseline; required an improvement of ${fmtValue(need, metric)}`
            : `${label} ${fmtDelta(row.delta, metric)} against the baseline is ${noise}: not counted as the required improvement`,
        );
      }
    }
  }
  if (!fail && !reasons.length) reasons.push('met');
  return { ...row, threshold: thresholdText(metric, g, hib), verdict: fail ? 'fail' : 'pass', reasons };
}

export interface DecideOptions {
  gate?: GateSection;
  model: string;
  baseline?: { evaluated?: EvaluatedModel; identity?: BaselineIdentity; note?: string };
  /** Override a rejection; the reason is recorded. */
  forceBless?: { reason: string; by?: string | null };
  now?: Date;
}

/** The decision for a candidate evaluated beside an optional baseline. */
export function decide(candidate: EvaluatedModel, opts: DecideOptions): Blessing {
  const configured = opts.gate ?? DEFAULT_GATE;
  const { metrics: thresholds, defaulted } = effectiveThresholds(candidate, configured);
  const gate: GateSection = { ...configured, metrics: thresholds };
  const base = opts.baseline?.evaluated;
  const comparison = compareEvaluations(candidate, base, gate);
  const verdicts: Verdict[] = [];
  for (const [metric, g] of Object.entries(gate.metrics)) {
    if (!g) continue;
    const row = comparison.find((r) => r.metric === metric)!;
    verdicts.push(judgeMetric(row, g, base !== undefined));
  }
  const failed = verdicts.filter((v) => v.verdict === 'fail');
  let decision: Blessing['decision'];
  let reason: string;
  if (failed.length) {
    decision = 'rejected';
    reason = `failed: ${failed.map((v) => v.reasons.filter((r) => r !== 'met').join('; ')).join('; ')}`;
  } else {
    decision = 'blessed';
    reason = `all ${verdicts.length} threshold${verdicts.length > 1 ? 's' : ''} met`;
  }
  if (defaulted) {
    const metric = Object.keys(thresholds)[0]!;
    reason = `default gate (no thresholds in gate.metrics): ${metric} not significantly worse than the baseline; ${
      failed.length ? reason : base ? 'met' : 'no baseline, so nothing to compare with'
    }`;
  } else if (!base) reason += '; no baseline, so only absolute bounds (min, max) were applied';
  const ev: Evaluation = candidate.evaluation;
  const blessing: Blessing = {
    schema_version: BLESSING_SCHEMA_VERSION,
    decision,
    reason,
    model: opts.model,
    candidate: { dir: ev.model.dir, sha256: ev.model.sha256, commit: ev.model.commit },
    baseline: base ? (opts.baseline?.identity ?? { kind: 'path', ref: base.evaluation.model.dir }) : null,
    thresholds: gate.metrics,
    significance: gate.significance,
    verdicts,
    comparison,
    time: (opts.now ?? new Date()).toISOString(),
  };
  if (blessing.baseline && base) {
    blessing.baseline.sha256 ??= base.evaluation.model.sha256;
    blessing.baseline.commit ??= base.evaluation.model.commit;
  }
  if (!base) blessing.baseline_note = opts.baseline?.note ?? 'no baseline given';
  if (decision === 'rejected' && opts.forceBless) {
    blessing.decision = 'blessed';
    blessing.forced = { reason: opts.forceBless.reason, by: opts.forceBless.by ?? null, decision_without_override: 'rejected' };
    blessing.reason = `force-blessed (${opts.forceBless.reason}); without the override: ${reason}`;
  }
  return blessing;
}
