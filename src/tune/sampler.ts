/**
 * Samplers propose the next configuration from what earlier trials observed. Each suggestion is a
 * pure function of (seed, trial number, observations), so a resumed study proposes the same
 * configurations an uninterrupted one would have.
 */
import type { TuneSection } from '../config/schema/tune.js';
import { mulberry32, shuffleInPlace } from '../data/prng.js';
import {
  cardinality,
  snapInt,
  type Assignment,
  type Observation,
  type ParamValue,
  type ResolvedParam,
  type SearchSpace,
} from './space.js';
import { suggestTpe } from './tpe.js';

export type { Observation } from './space.js';

export interface Sampler {
  readonly name: string;
  /** The configuration of trial `trial`, or undefined when the sampler has nothing left (a finished grid). */
  suggest(trial: number, observations: readonly Observation[]): Assignment | undefined;
  /** How many distinct configurations it can give (grid), else Infinity. */
  readonly size: number;
}

export type SamplerOptions = TuneSection['sampler'];

/** A generator for one trial of one study, independent of every other trial's. */
export function trialRandom(seed: number, trial: number, stream = 0): () => number {
  let h = (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(trial + 1, 0x85ebca6b) + Math.imul(stream, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return mulberry32((h ^ (h >>> 16)) >>> 0);
}

/** One value drawn uniformly (on the parameter's own scale) from its range or choices. */
export function sampleUniform(p: ResolvedParam, rand: () => number): ParamValue {
  const s = p.spec;
  const u = rand();
  switch (s.type) {
    case 'uniform':
      return s.low + u * (s.high - s.low);
    case 'loguniform':
      return Math.exp(Math.log(s.low) + u * (Math.log(s.high) - Math.log(s.low)));
    case 'int':
      if (s.log) {
        const lo = Math.log(s.low - 0.5);
        const hi = Math.log(s.high + 0.5);
        return snapInt(s, Math.exp(lo + u * (hi - lo)));
      }
      return s.low + Math.min(cardinality(s) - 1, Math.floor(u * cardinality(s))) * s.step;
    case 'categorical':
      return s.choices[Math.min(s.choices.length - 1, Math.floor(u * s.choices.length))]!;
  }
}

export function randomSampler(space: SearchSpace, seed: number): Sampler {
  return {
    name: 'random',
    size: Infinity,
    suggest(trial) {
      const rand = trialRandom(seed, trial);
      return Object.fromEntries(space.map((p) => [p.key, sampleUniform(p, rand)]));
    },
  };
}

/** The values a grid takes for one parameter: every choice, or `points` values spread over the range. */
export function gridValues(p: ResolvedParam, points: number): ParamValue[] {
  const s = p.spec;
  if (s.type === 'categorical') return [...s.choices];
  if (s.type === 'int') {
    const n = cardinality(s);
    if (n <= points) return Array.from({ length: n }, (_, i) => s.low + i * s.step);
    const values = new Set<number>();
    for (let i = 0; i < points; i++) {
      const f = points === 1 ? 0.5 : i / (points - 1);
      values.add(
        s.log
          ? snapInt(s, Math.exp(Math.log(s.low) + f * (Math.log(s.high) - Math.log(s.low))))
          : snapInt(s, s.low + f * (s.high - s.low)),
      );
    }
    return [...values].sort((a, b) => a - b);
  }
  if (s.low === s.high) return [s.low];
  return Array.from({ length: points }, (_, i) => {
    const f = points === 1 ? 0.5 : i / (points - 1);
    return s.type === 'loguniform'
      ? Math.exp(Math.log(s.low) + f * (Math.log(s.high) - Math.log(s.low)))
      : s.low + f * (s.high - s.low);
  });
}

/** Every combination once, in an order shuffled by the seed (so a cut-short grid still spreads out). */
export function gridSampler(space: SearchSpace, seed: number, points: number): Sampler {
  const axes = space.map((p) => gridValues(p, points));
  const size = axes.reduce((a, v) => a * v.length, 1);
  if (size > 1_000_000) {
    throw new RangeError(
      `the grid has ${size} combinations; expected at most 1,000,000 (lower tune.sampler.grid_points or use tpe)`,
    );
  }
  const order = shuffleInPlace(
    Int32Array.from({ length: size }, (_, i) => i),
    mulberry32(seed),
  );
  return {
    name: 'grid',
    size,
    suggest(trial) {
      if (trial >= size) return undefined;
      let k = order[trial]!;
      const a: Assignment = {};
      for (let d = space.length - 1; d >= 0; d--) {
        const axis = axes[d]!;
        a[space[d]!.key] = axis[k % axis.length]!;
        k = Math.floor(k / axis.length);
      }
      return Object.fromEntries(space.map((p) => [p.key, a[p.key]!]));
    },
  };
}

export function tpeSampler(space: SearchSpace, opts: SamplerOptions): Sampler {
  return {
    name: 'tpe',
    size: Infinity,
    suggest(trial, observations) {
      if (observations.length < opts.startup_trials) {
        const rand = trialRandom(opts.seed, trial);
        return Object.fromEntries(space.map((p) => [p.key, sampleUniform(p, rand)]));
      }
      return suggestTpe(space, observations, trialRandom(opts.seed, trial), {
        candidates: opts.candidates,
        priorWeight: opts.prior_weight,
        multivariate: opts.multivariate,
      });
    },
  };
}

export function createSampler(space: SearchSpace, opts: SamplerOptions): Sampler {
  switch (opts.type) {
    case 'random':
      return randomSampler(space, opts.seed);
    case 'grid':
      return gridSampler(space, opts.seed, opts.grid_points);
    case 'tpe':
      return tpeSampler(space, opts);
  }
}
