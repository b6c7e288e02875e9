/**
 * Is a difference between candidate and baseline more than noise? Both are scored on the same
 * test examples, so the tests are paired: a bootstrap over examples gives a confidence interval
 * of the difference of any per-example metric; McNemar's exact test compares per-example
 * correctness (accuracy).
 */
import { mulberry32 } from '../data/prng.js';
import { macroF1, regressionScores } from './metrics.js';
import type { PerExample } from './records.js';

/** Metrics that can be recomputed on a subset of examples. */
export const RESAMPLABLE = ['accuracy', 'macro_f1', 'log_loss', 'top_3', 'top_5', 'mae', 'rmse', 'r2'] as const;

export function isResamplable(metric: string): boolean {
  return (RESAMPLABLE as readonly string[]).includes(metric);
}

/** The metric on the examples `idx` (indices into the test split, repeats allowed). */
export function metricOnSubset(metric: string, pe: PerExample, idx: Uint32Array): number {
  const n = idx.length;
  if (!n) return NaN;
  const mean = (f: (i: number) => number) => {
    let s = 0;
    for (let j = 0; j < n; j++) s += f(idx[j]!);
    return s / n;
  };
  switch (metric) {
    case 'accuracy':
      return mean((i) => pe.correct![i]!);
    case 'log_loss':
      return mean((i) => pe.logLoss![i]!);
    case 'top_3':
      return mean((i) => (pe.rank![i]! < 3 ? 1 : 0));
    case 'top_5':
      return mean((i) => (pe.rank![i]! < 5 ? 1 : 0));
    case 'macro_f1':
      return macroF1(pe.pred as Int32Array, pe.labels as Int32Array, pe.classes, idx);
    case 'mae':
    case 'rmse':
    case 'r2':
      return regressionScores(pe.pred as Float32Array, pe.labels as Float32Array, idx)[metric];
    default:
      throw new Error(`metric ${metric} cannot be recomputed per example`);
  }
}

export interface BootstrapResult {
  /** Confidence interval of candidate − baseline. */
  ci: [number, number];
  confidence: number;
  resamples: number;
}

/** Percentile confidence interval of metric(candidate) − metric(baseline) over paired resamples. */
export function pairedBootstrap(
  metric: string,
  candidate: PerExample,
  baseline: PerExample,
  opts: { resamples?: number; confidence?: number; seed?: number } = {},
): BootstrapResult {
  const resamples = opts.resamples ?? 1000;
  const confidence = opts.confidence ?? 0.95;
  const n = candidate.labels.length;
  if (baseline.labels.length !== n)
    throw new Error(`paired bootstrap needs the same examples (${n} vs ${baseline.labels.length})`);
  const rand = mulberry32(opts.seed ?? 0);
  const idx = new Uint32Array(n);
  const deltas = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    for (let j = 0; j < n; j++) idx[j] = Math.floor(rand() * n);
    deltas[r] = metricOnSubset(metric, candidate, idx) - metricOnSubset(metric, baseline, idx);
  }
  deltas.sort();
  const alpha = (1 - confidence) / 2;
  const at = (q: number) => deltas[Math.min(resamples - 1, Math.max(0, Math.round(q * (resamples - 1))))]!;
  return { ci: [at(alpha), at(1 - alpha)], confidence, resamples };
}

export interface McNemarResult {
  /** Examples only the candidate gets right. */
  candidate_only: number;
  /** Examples only the baseline gets right. */
  baseline_only: number;
  p_value: number;
}

/** McNemar's exact (binomial) test on paired correctness; two-sided. */
export function mcnemar(candidate: Uint8Array, baseline: Uint8Array): McNemarResult {
  let b = 0;
  let c = 0;
  for (let i = 0; i < candidate.length; i++) {
    if (candidate[i] && !baseline[i]) b++;
    else if (!candidate[i] && baseline[i]) c++;
  }
  return { candidate_only: b, baseline_only: c, p_value: binomialTwoSided(Math.min(b, c), b + c) };
}

/** P(X <= k or X >= n-k) for X ~ Binomial(n, 1/2), computed in log space. */
export function binomialTwoSided(k: number, n: number): number {
  if (n === 0) return 1;
  let logC = 0; // log C(n, 0)
  const logHalfN = n * Math.log(0.5);
  let tail = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log((n - i + 1) / i);
    tail += Math.exp(logC + logHalfN);
  }
  return Math.min(1, 2 * tail);
}
