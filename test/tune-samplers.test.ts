/**
 * Samplers: TPE against random search at equal budget on standard functions, counted over 20 seeds
 * (the claim is a rate over seeds, not one lucky run); grid and random on every kind of parameter.
 */
import { describe, expect, it } from 'vitest';
import type { SearchParam } from '../src/config/schema/tune.js';
import { mulberry32 } from '../src/data/prng.js';
import { createSampler, gridSampler, randomSampler, type Observation, type SamplerOptions } from '../src/tune/sampler.js';
import { inSpace, type Assignment, type SearchSpace } from '../src/tune/space.js';
import { erfc, gammaCount, normalMass, observationWeights } from '../src/tune/parzen-estimator.js';

const param = (key: string, spec: SearchParam) => ({ key, path: key, spec });
const u = (key: string, low: number, high: number) => param(key, { type: 'uniform', low, high });

interface TestFunction {
  space: SearchSpace;
  f: (p: Assignment) => number;
  noise?: number;
}

const branin: TestFunction = {
  space: [u('x1', -5, 10), u('x2', 0, 15)],
  f: (p) => {
    const [x1, x2] = [p.x1 as number, p.x2 as number];
    const b = 5.1 / (4 * Math.PI ** 2);
    const c = 5 / Math.PI;
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x1) + 10;
  },
};

const H6A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const H6P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
].map((r) => r.map((v) => v * 1e-4));
const H6ALPHA = [1, 1.2, 3, 3.2];
const hartmann6: TestFunction = {
  space: [0, 1, 2, 3, 4, 5].map((i) => u(`x${i}`, 0, 1)),
  f: (p) => {
    let s = 0;
    for (let i = 0; i < 4; i++) {
      let e = 0;
      for (let j = 0; j < 6; j++) e += H6A[i]![j]! * ((p[`x${j}`] as number) - H6P[i]![j]!) ** 2;
      s += H6ALPHA[i]! * Math.exp(-e);
    }
    return -s;
  },
};

const noisyQuadratic: TestFunction = {
  space: [0, 1, 2, 3].map((i) => u(`q${i}`, -2, 2)),
  f: (p) => [0, 1, 2, 3].reduce((a, i) => a + ((p[`q${i}`] as number) - 0.5) ** 2, 0),
  noise: 0.1,
};

const OPTS: SamplerOptions = {
  type: 'tpe',
  seed: 0,
  startup_trials: 10,
  candidates: 24,
  prior_weight: 1,
  multivariate: true,
  grid_points: 3,
};

/** Minimise with `budget` trials; returns the true value of the configuration that looked best. */
function minimise(fn: TestFunction, type: 'tpe' | 'random', seed: number, budget: number): number {
  const sampler = createSampler(fn.space, { ...OPTS, type, seed });
  const noise = mulberry32(seed * 7919 + 1);
  const obs: Observation[] = [];
  let bestSeen = Infinity;
  let bestTrue = Infinity;
  for (let t = 0; t < budget; t++) {
    const a = sampler.suggest(t, obs)!;
    const truth = fn.f(a);
    const seen = truth + (fn.noise ? fn.noise * Math.sqrt(-2 * Math.log(1 - noise())) * Math.cos(2 * Math.PI * noise()) : 0);
    obs.push({ trial: t, params: a, loss: seen, budget: 1 });
    if (seen < bestSeen) [bestSeen, bestTrue] = [seen, truth];
  }
  return bestTrue;
}

describe('TPE against random search', () => {
  const BUDGET = 100;
  for (const [name, fn] of Object.entries({ branin, hartmann6, noisyQuadratic })) {
    it(`${name}: TPE finds a better configuration than random search in at least 16 of 20 seeds (${BUDGET} trials each)`, () => {
      let wins = 0;
      for (let seed = 0; seed < 20; seed++) if (minimise(fn, 'tpe', seed, BUDGET) < minimise(fn, 'random', seed, BUDGET)) wins++;
      expect(wins).toBeGreaterThanOrEqual(16);
    });
  }
});

describe('TPE pieces', () => {
  it('γ, weights and the normal tails follow the documented forms', () => {
    expect([1, 10, 11, 100, 1000].map(gammaCount)).toEqual([1, 1, 2, 10, 25]);
    expect(observationWeights(10)).toEqual(new Array(10).fill(1));
    const w = observationWeights(30);
    expect(w.length).toBe(30);
    expect(w[0]).toBeCloseTo(1 / 30);
    expect(w.slice(5)).toEqual(new Array(25).fill(1));
    expect(erfc(0)).toBeCloseTo(1, 6);
    expect(erfc(1)).toBeCloseTo(0.157299207, 6);
    expect(normalMass(-1.96, 1.96)).toBeCloseTo(0.95, 3);
    expect(normalMass(8, 9) / 6.2e-16).toBeGreaterThan(0.9); // far tail, not 0 from cancellation
  });

  it('is deterministic given seed, trial and observations; univariate and multivariate stay in the space', () => {
    const space: SearchSpace = [
      param('lr', { type: 'loguniform', low: 1e-5, high: 1e-1 }),
      param('units', { type: 'int', low: 16, high: 512, step: 16, log: false }),
      param('layers', { type: 'int', low: 1, high: 64, step: 1, log: true }),
      param('opt', { type: 'categorical', choices: ['adam', 'sgd', true, 3] }),
      param('drop', { type: 'uniform', low: 0, high: 0.5 }),
    ];
    for (const multivariate of [true, false]) {
      const s = createSampler(space, { ...OPTS, startup_trials: 3, multivariate });
      const obs: Observation[] = [];
      for (let t = 0; t < 40; t++) {
        const a = s.suggest(t, obs)!;
        expect(s.suggest(t, obs)).toEqual(a);
        for (const p of space) expect(inSpace(p.spec, a[p.key]!), `${p.key}=${String(a[p.key])}`).toBe(true);
        obs.push({ trial: t, params: a, loss: Math.abs(Math.log10(a.lr as number) + 3) + (a.opt === 'sgd' ? 0 : 1), budget: 1 });
      }
      // It learned: most of the last 20 suggestions use the good category and a learning rate near 1e-3.
      const late = obs.slice(20);
      expect(late.filter((o) => o.params.opt === 'sgd').length).toBeGreaterThan(10);
      expect(late.filter((o) => Math.abs(Math.log10(o.params.lr as number) + 3) < 1).length).toBeGreaterThan(10);
    }
  });
});

describe('random and grid', () => {
  it('random covers the range of every kind of parameter, log scales evenly in the exponent', () => {
    const space: SearchSpace = [
      param('lr', { type: 'loguniform', low: 1e-4, high: 1 }),
      param('k', { type: 'int', low: 2, high: 10, step: 2, log: false }),
      param('c', { type: 'categorical', choices: ['a', 'b', 'c'] }),
    ];
    const s = randomSampler(space, 3);
    const draws = Array.from({ length: 2000 }, (_, t) => s.suggest(t, [])!);
    const belowHundredth = draws.filter((d) => (d.lr as number) < 1e-2).length / draws.length;
    expect(belowHundredth).toBeGreaterThan(0.45);
    expect(belowHundredth).toBeLessThan(0.55);
    expect(new Set(draws.map((d) => d.k))).toEqual(new Set([2, 4, 6, 8, 10]));
    expect(new Set(draws.map((d) => d.c))).toEqual(new Set(['a', 'b', 'c']));
    expect(randomSampler(space, 3).suggest(7, [])).toEqual(draws[7]);
  });

  it('grid gives every combination once, then nothing', () => {
    const space: SearchSpace = [
      param('lr', { type: 'loguniform', low: 1e-3, high: 1e-1 }),
      param('k', { type: 'int', low: 1, high: 2, step: 1, log: false }),
      param('c', { type: 'categorical', choices: ['x', 'y'] }),
    ];
    const g = gridSampler(space, 0, 3);
    expect(g.size).toBe(12);
    const all = Array.from({ length: 12 }, (_, t) => g.suggest(t, [])!);
    expect(new Set(all.map((a) => JSON.stringify(a))).size).toBe(12);
    expect(new Set(all.map((a) => (a.lr as number).toPrecision(6)))).toEqual(new Set(['0.00100000', '0.0100000', '0.100000']));
    expect(g.suggest(12, [])).toBeUndefined();
  });
});
