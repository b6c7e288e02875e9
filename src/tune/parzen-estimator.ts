/**
 * The Parzen estimators TPE (tpe.ts) fits to each group of observations: a mixture of truncated
 * Gaussians around the observed values plus a wide prior for numeric parameters, smoothed one-hot
 * counts for categorical ones, and the split of observations into good and the rest.
 */
import type { SearchParam } from '../config/schema/tune.js';
import { snapInt, type Observation, type ParamValue } from './space.js';

/** Number of observations counted as good. */
export function gammaCount(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

/** Weights of observations in trial order: the 25 newest count fully, older ones less and less. */
export function observationWeights(n: number): number[] {
  if (n < 25) return new Array<number>(n).fill(1);
  const ramp = n - 25;
  const out: number[] = [];
  for (let i = 0; i < ramp; i++) out.push(ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (ramp - 1));
  for (let i = 0; i < 25; i++) out.push(1);
  return out;
}

/** Complementary error function (Chebyshev fit, relative error below 1.2e-7 everywhere). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** P(a < Z < b) for a standard normal Z, accurate in both tails. */
export function normalMass(a: number, b: number): number {
  if (b <= a) return 0;
  const s = Math.SQRT1_2;
  if (a >= 0) return 0.5 * (erfc(a * s) - erfc(b * s));
  if (b <= 0) return 0.5 * (erfc(-b * s) - erfc(-a * s));
  return 1 - 0.5 * erfc(-a * s) - 0.5 * erfc(b * s);
}

export function logSumExp(xs: number[]): number {
  let m = -Infinity;
  for (const x of xs) if (x > m) m = x;
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

/** A parameter's values on the internal scale the estimator works on (log for log scales). */
export interface Axis {
  low: number;
  high: number;
  /** Half-width of a value's bin for discrete parameters (internal scale computed per value when log). */
  discrete?: { spec: Extract<SearchParam, { type: 'int' }> };
  log: boolean;
  toInternal(v: number): number;
  fromInternal(x: number): ParamValue;
}

export function axisOf(spec: Exclude<SearchParam, { type: 'categorical' }>): Axis {
  const log = spec.type === 'loguniform' || (spec.type === 'int' && spec.log);
  const f = log ? Math.log : (v: number) => v;
  if (spec.type === 'int') {
    const lowEdge = spec.log ? spec.low - 0.5 : spec.low - spec.step / 2;
    const highEdge = spec.log ? spec.high + 0.5 : spec.high + spec.step / 2;
    return {
      low: f(lowEdge),
      high: f(highEdge),
      discrete: { spec },
      log,
      toInternal: f,
      fromInternal: (x) => snapInt(spec, log ? Math.exp(x) : x),
    };
  }
  return {
    low: f(spec.low),
    high: f(spec.high),
    log,
    toInternal: f,
    fromInternal: (x) => Math.min(spec.high, Math.max(spec.low, log ? Math.exp(x) : x)),
  };
}

/** Mixture of Gaussians truncated to [low, high]: the observations' kernels plus the prior. */
export interface NumericEstimator {
  mus: number[];
  sigmas: number[];
  weights: number[];
  low: number;
  high: number;
}

export function numericEstimator(
  mus: number[],
  obsWeights: number[],
  low: number,
  high: number,
  priorWeight: number,
): NumericEstimator {
  const range = high - low;
  const n = mus.length;
  const order = mus.map((_, i) => i).sort((a, b) => mus[a]! - mus[b]!);
  const sorted = [low, ...order.map((i) => mus[i]!), high];
  const sortedSigmas: number[] = [];
  for (let k = 1; k <= n; k++) sortedSigmas.push(Math.max(sorted[k]! - sorted[k - 1]!, sorted[k + 1]! - sorted[k]!));
  // The range's ends are not observations: the outermost kernels look only inward.
  if (n >= 2) {
    sortedSigmas[0] = sorted[2]! - sorted[1]!;
    sortedSigmas[n - 1] = sorted[n]! - sorted[n - 1]!;
  }
  const minSigma = range / Math.min(100, n + 1);
  const sigmas = new Array<number>(n);
  order.forEach((i, k) => {
    sigmas[i] = Math.min(range, Math.max(minSigma, sortedSigmas[k]!));
  });
  const weights = [...obsWeights, priorWeight];
  const total = weights.reduce((a, b) => a + b, 0);
  return {
    mus: [...mus, (low + high) / 2],
    sigmas: [...sigmas, range],
    weights: weights.map((w) => w / total),
    low,
    high,
  };
}

export function pickComponent(weights: number[], rand: () => number): number {
  let u = rand();
  for (let k = 0; k < weights.length - 1; k++) {
    u -= weights[k]!;
    if (u < 0) return k;
  }
  return weights.length - 1;
}

function gaussian(rand: () => number): number {
  const u = 1 - rand();
  const v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export function sampleNumeric(est: NumericEstimator, rand: () => number): number {
  const k = pickComponent(est.weights, rand);
  const mu = est.mus[k]!;
  const sigma = est.sigmas[k]!;
  if (est.high === est.low) return est.low;
  // Every kernel has its centre inside the range and a width at most the range: acceptance >= ~1/3.
  for (let tries = 0; tries < 200; tries++) {
    const x = mu + sigma * gaussian(rand);
    if (x >= est.low && x <= est.high) return x;
  }
  return Math.min(est.high, Math.max(est.low, mu));
}

/** log density (continuous) or log mass of the bin [lo, hi] (discrete) under the mixture. */
export function logDensity(est: NumericEstimator, x: number, bin?: [number, number]): number {
  const terms: number[] = [];
  for (let k = 0; k < est.mus.length; k++) {
    const mu = est.mus[k]!;
    const s = est.sigmas[k]!;
    const z = normalMass((est.low - mu) / s, (est.high - mu) / s);
    if (!(z > 0)) continue;
    let p: number;
    if (bin) p = Math.log(Math.max(normalMass((bin[0] - mu) / s, (bin[1] - mu) / s), 1e-300));
    else p = -0.5 * ((x - mu) / s) ** 2 - Math.log(s) - 0.5 * Math.log(2 * Math.PI);
    terms.push(Math.log(est.weights[k]!) + p - Math.log(z));
  }
  return logSumExp(terms);
}

/** Category probabilities: each observation a one-hot smoothed by the prior, plus the uniform prior. */
export function categoricalProbabilities(
  observed: number[],
  obsWeights: number[],
  choices: number,
  priorWeight: number,
): number[] {
  const probs = new Array<number>(choices).fill(0);
  const total = obsWeights.reduce((a, b) => a + b, 0) + priorWeight;
  for (let i = 0; i < observed.length; i++) {
    const w = obsWeights[i]! / total;
    const kernelTotal = 1 + priorWeight;
    for (let c = 0; c < choices; c++) probs[c]! += (w * (priorWeight / choices + (c === observed[i] ? 1 : 0))) / kernelTotal;
  }
  for (let c = 0; c < choices; c++) probs[c]! += priorWeight / total / choices;
  return probs;
}

/** Split observations: the good ones first by (budget reached, loss), at most γ(n) of them. */
export function splitObservations(observations: readonly Observation[]): { below: Observation[]; above: Observation[] } {
  const ranked = [...observations].sort((a, b) => b.budget - a.budget || a.loss - b.loss || a.trial - b.trial);
  const nBelow = gammaCount(observations.length);
  const byTrial = (a: Observation, b: Observation) => a.trial - b.trial;
  return { below: ranked.slice(0, nBelow).sort(byTrial), above: ranked.slice(nBelow).sort(byTrial) };
}
