/**
 * Tree-structured Parzen estimator (Bergstra et al., 2011), one parameter at a time.
 *
 * Observations are split into the best fraction ("below", γ(n) = min(⌈0.1 n⌉, 25)) and the rest.
 * For each parameter, a Parzen estimator (a mixture of truncated Gaussians around the observed
 * values plus a wide prior) is fitted to each group; candidates are drawn from the good density
 * l(x) and the one maximising l(x)/g(x) wins. The defaults follow Optuna's documented ones:
 * 10 startup trials, 24 candidates, prior weight 1, bandwidths from the distance to neighbouring
 * observations clipped to [range / min(100, n + 1), range], older observations down-weighted once
 * there are more than 25.
 */
import type { SearchParam } from '../config/schema/tune.js';
import { snapInt, type Assignment, type Observation, type ParamValue, type ResolvedParam, type SearchSpace } from './space.js';

export interface TpeOptions {
  candidates: number;
  priorWeight: number;
  /** One joint density over all parameters (kernels share their component) instead of one per parameter. */
  multivariate?: boolean;
}

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

function logSumExp(xs: number[]): number {
  let m = -Infinity;
  for (const x of xs) if (x > m) m = x;
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

/** A parameter's values on the internal scale the estimator works on (log for log scales). */
interface Axis {
  low: number;
  high: number;
  /** Half-width of a value's bin for discrete parameters (internal scale computed per value when log). */
  discrete?: { spec: Extract<SearchParam, { type: 'int' }> };
  log: boolean;
  toInternal(v: number): number;
  fromInternal(x: number): ParamValue;
}

function axisOf(spec: Exclude<SearchParam, { type: 'categorical' }>): Axis {
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

function pickComponent(weights: number[], rand: () => number): number {
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

function bestCandidate(scores: number[]): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i]! > scores[best]!) best = i;
  return best;
}

function suggestParam(
  p: ResolvedParam,
  below: Observation[],
  above: Observation[],
  rand: () => number,
  opts: TpeOptions,
): ParamValue {
  const spec = p.spec;
  const has = (o: Observation) => o.params[p.key] !== undefined;
  const b = below.filter(has);
  const a = above.filter(has);
  if (spec.type === 'categorical') {
    const index = (o: Observation) =>
      Math.max(
        0,
        spec.choices.findIndex((c) => c === o.params[p.key]),
      );
    const l = categoricalProbabilities(b.map(index), observationWeights(b.length), spec.choices.length, opts.priorWeight);
    const g = categoricalProbabilities(a.map(index), observationWeights(a.length), spec.choices.length, opts.priorWeight);
    const cands = Array.from({ length: opts.candidates }, () => pickComponent(l, rand));
    const best = cands[bestCandidate(cands.map((c) => Math.log(l[c]!) - Math.log(g[c]!)))]!;
    return spec.choices[best]!;
  }
  const axis = axisOf(spec);
  const internal = (o: Observation) => axis.toInternal(o.params[p.key] as number);
  const l = numericEstimator(b.map(internal), observationWeights(b.length), axis.low, axis.high, opts.priorWeight);
  const g = numericEstimator(a.map(internal), observationWeights(a.length), axis.low, axis.high, opts.priorWeight);
  const values: ParamValue[] = [];
  const scores: number[] = [];
  for (let i = 0; i < opts.candidates; i++) {
    const x = sampleNumeric(l, rand);
    const v = axis.fromInternal(x);
    let bin: [number, number] | undefined;
    let at = x;
    if (axis.discrete) {
      const s = axis.discrete.spec;
      const half = s.log ? 0.5 : s.step / 2;
      bin = [axis.toInternal((v as number) - half), axis.toInternal((v as number) + half)];
      at = axis.toInternal(v as number);
    }
    values.push(v);
    scores.push(logDensity(l, at, bin) - logDensity(g, at, bin));
  }
  return values[bestCandidate(scores)]!;
}

/** Joint Parzen estimator: component k is observation k in every dimension (the last is the prior). */
interface JointEstimator {
  weights: number[];
  dims: Array<
    | { kind: 'numeric'; p: ResolvedParam; axis: Axis; mus: number[]; sigmas: number[] }
    | { kind: 'categorical'; p: ResolvedParam; probs: number[][] }
  >;
}

function jointEstimator(space: SearchSpace, obs: Observation[], priorWeight: number): JointEstimator {
  const n = obs.length;
  const w = [...observationWeights(n), priorWeight];
  const total = w.reduce((a, b) => a + b, 0);
  const dims: JointEstimator['dims'] = space.map((p) => {
    const spec = p.spec;
    if (spec.type === 'categorical') {
      const c = spec.choices.length;
      const probs = obs.map((o) => {
        const idx = spec.choices.findIndex((v) => v === o.params[p.key]);
        return Array.from({ length: c }, (_, j) => (priorWeight / c + (j === idx ? 1 : 0)) / (1 + priorWeight));
      });
      probs.push(new Array<number>(c).fill(1 / c));
      return { kind: 'categorical' as const, p, probs };
    }
    const axis = axisOf(spec);
    const range = axis.high - axis.low;
    const sigma = Math.min(
      range,
      Math.max(range / Math.min(100, n + 1), 0.2 * Math.max(n, 1) ** (-1 / (space.length + 4)) * range),
    );
    const mus = obs.map((o) => axis.toInternal(o.params[p.key] as number));
    return {
      kind: 'numeric' as const,
      p,
      axis,
      mus: [...mus, (axis.low + axis.high) / 2],
      sigmas: [...mus.map(() => sigma), range],
    };
  });
  return { weights: w.map((x) => x / total), dims };
}

function jointSample(est: JointEstimator, rand: () => number): { values: Assignment; internal: number[] } {
  const k = pickComponent(est.weights, rand);
  const values: Assignment = {};
  const internal: number[] = [];
  for (const d of est.dims) {
    if (d.kind === 'categorical') {
      const c = pickComponent(d.probs[k]!, rand);
      values[d.p.key] = (d.p.spec as Extract<SearchParam, { type: 'categorical' }>).choices[c]!;
      internal.push(c);
    } else {
      const x = sampleNumeric(
        { mus: [d.mus[k]!], sigmas: [d.sigmas[k]!], weights: [1], low: d.axis.low, high: d.axis.high },
        rand,
      );
      const v = d.axis.fromInternal(x);
      values[d.p.key] = v;
      internal.push(d.axis.discrete ? d.axis.toInternal(v as number) : x);
    }
  }
  return { values, internal };
}

function jointLogDensity(est: JointEstimator, internal: number[]): number {
  const terms = est.weights.map((w, k) => {
    let lp = Math.log(w);
    est.dims.forEach((d, i) => {
      const x = internal[i]!;
      if (d.kind === 'categorical') {
        lp += Math.log(d.probs[k]![x]!);
        return;
      }
      const one: NumericEstimator = {
        mus: [d.mus[k]!],
        sigmas: [d.sigmas[k]!],
        weights: [1],
        low: d.axis.low,
        high: d.axis.high,
      };
      let bin: [number, number] | undefined;
      if (d.axis.discrete) {
        const s = d.axis.discrete.spec;
        const v = d.axis.fromInternal(x) as number;
        const half = s.log ? 0.5 : s.step / 2;
        bin = [d.axis.toInternal(v - half), d.axis.toInternal(v + half)];
      }
      lp += logDensity(one, x, bin);
    });
    return lp;
  });
  return logSumExp(terms);
}

function suggestJoint(
  space: SearchSpace,
  below: Observation[],
  above: Observation[],
  rand: () => number,
  opts: TpeOptions,
): Assignment {
  const complete = (o: Observation) => space.every((p) => o.params[p.key] !== undefined);
  const l = jointEstimator(space, below.filter(complete), opts.priorWeight);
  const g = jointEstimator(space, above.filter(complete), opts.priorWeight);
  let best: Assignment | undefined;
  let bestScore = -Infinity;
  for (let i = 0; i < opts.candidates; i++) {
    const c = jointSample(l, rand);
    const score = jointLogDensity(l, c.internal) - jointLogDensity(g, c.internal);
    if (best === undefined || score > bestScore) {
      best = c.values;
      bestScore = score;
    }
  }
  return best!;
}

/** The next configuration from the observations so far (needs at least one). */
export function suggestTpe(
  space: SearchSpace,
  observations: readonly Observation[],
  rand: () => number,
  opts: TpeOptions,
): Assignment {
  const { below, above } = splitObservations(observations);
  if (opts.multivariate) return suggestJoint(space, below, above, rand, opts);
  const out: Assignment = {};
  for (const p of space) out[p.key] = suggestParam(p, below, above, rand, opts);
  return out;
}
