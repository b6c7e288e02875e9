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
import {
  axisOf,
  categoricalProbabilities,
  logDensity,
  logSumExp,
  numericEstimator,
  observationWeights,
  pickComponent,
  sampleNumeric,
  splitObservations,
  type Axis,
  type NumericEstimator,
} from './parzen-estimator.js';
import type { Assignment, Observation, ParamValue, ResolvedParam, SearchSpace } from './space.js';

export interface TpeOptions {
  candidates: number;
  priorWeight: number;
  /** One joint density over all parameters (kernels share their component) instead of one per parameter. */
  multivariate?: boolean;
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
