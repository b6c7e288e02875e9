/**
 * Drift between a model's reference statistics (its test split) and what the model server saw in
 * production: the population stability index for predictions and inputs, and a two-sample
 * Kolmogorov–Smirnov test on the binned input summaries (Bonferroni-corrected over the features)
 * that turns an input shift past psi.warn into drift when it is also significant.
 * Common practice: PSI below 0.1 is stable, 0.1–0.25 a shift worth a look, above 0.25 drift.
 */
import type { ReferenceStats } from '../data/stats.js';
import type { ProductionStats } from '../serve/input-stats.js';

export type Level = 'ok' | 'warn' | 'alert';
export type DriftStatus = Level | 'insufficient';

export interface DriftThresholds {
  psi: { warn: number; alert: number };
  ks_p_value: number;
  min_samples: number;
}

export const DEFAULT_THRESHOLDS: DriftThresholds = { psi: { warn: 0.1, alert: 0.25 }, ks_p_value: 0.01, min_samples: 200 };

/** Shares below this are floored so an empty bin does not make the PSI infinite. */
const FLOOR = 1e-4;

/** Population stability index: Σ (p − q) · ln(p / q) over the bins, p production and q reference shares. */
export function psi(reference: readonly number[], production: readonly number[]): number {
  const total = production.reduce((a, b) => a + b, 0);
  if (total <= 0) return NaN;
  let s = 0;
  for (let k = 0; k < reference.length; k++) {
    const q = Math.max(reference[k]!, FLOOR);
    const p = Math.max((production[k] ?? 0) / total, FLOOR);
    s += (p - q) * Math.log(p / q);
  }
  return s;
}

/** Largest distance between the two cumulative distributions at the bin edges. */
export function ksStatistic(reference: readonly number[], production: readonly number[]): number {
  const total = production.reduce((a, b) => a + b, 0);
  let fr = 0;
  let fp = 0;
  let d = 0;
  for (let k = 0; k < reference.length; k++) {
    fr += reference[k]!;
    fp += (production[k] ?? 0) / total;
    d = Math.max(d, Math.abs(fr - fp));
  }
  return d;
}

/** Asymptotic two-sample Kolmogorov–Smirnov p-value for statistic `d` and sample sizes n1, n2. */
export function ksPValue(d: number, n1: number, n2: number): number {
  if (!(d > 0)) return 1;
  const ne = Math.sqrt((n1 * n2) / (n1 + n2));
  const lambda = (ne + 0.12 + 0.11 / ne) * d;
  let sum = 0;
  for (let j = 1; j <= 100; j++) {
    const term = 2 * (j % 2 ? 1 : -1) * Math.exp(-2 * j * j * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12) break;
  }
  return Math.min(1, Math.max(0, sum));
}

function levelOf(value: number, t: { warn: number; alert: number }): Level {
  return value >= t.alert ? 'alert' : value >= t.warn ? 'warn' : 'ok';
}

const RANK: Record<Level, number> = { ok: 0, warn: 1, alert: 2 };
const worst = (levels: Level[]): Level => levels.reduce<Level>((a, b) => (RANK[b] > RANK[a] ? b : a), 'ok');

export interface FeatureDrift {
  name: string;
  psi: number;
  ks: number;
  p_value: number;
  level: Level;
}

export interface DriftReport {
  model: string;
  version: string;
  status: DriftStatus;
  examples: number;
  reference_examples: number;
  since: string;
  predictions: {
    psi: number;
    level: Level;
    /** Class names or bin labels, reference and production shares. */
    labels: string[];
    reference: number[];
    production: number[];
  } | null;
  inputs: {
    level: Level;
    features: number;
    /** Features whose PSI reaches psi.alert, or psi.warn with a KS p-value below ks_p_value / features. */
    drifted: FeatureDrift[];
    /** The features with the largest PSI, up to 10. */
    top: FeatureDrift[];
    max_psi: number;
    min_p_value: number;
  } | null;
  thresholds: DriftThresholds;
  notes: string[];
}

/** Compare production statistics with the reference. Pure. */
export function compareDrift(
  reference: ReferenceStats,
  production: ProductionStats,
  thresholds: DriftThresholds = DEFAULT_THRESHOLDS,
): DriftReport {
  const notes: string[] = [];
  const base = {
    model: production.model || reference.model,
    version: production.version,
    examples: production.examples,
    reference_examples: reference.examples,
    since: production.since,
    thresholds,
  };
  if (production.examples < thresholds.min_samples) {
    notes.push(
      `${production.examples} examples since ${production.since}; at least ${thresholds.min_samples} (monitor.min_samples) are needed for a verdict`,
    );
    return { ...base, status: 'insufficient', predictions: null, inputs: null, notes };
  }

  let predictions: DriftReport['predictions'] = null;
  const rp = reference.predictions;
  const pp = production.predictions;
  if (rp.kind === 'classes' && pp.kind === 'classes' && pp.counts.length === rp.counts.length) {
    const value = psi(rp.fractions, pp.counts);
    const total = pp.counts.reduce((a, b) => a + b, 0);
    predictions = {
      psi: value,
      level: levelOf(value, thresholds.psi),
      labels: rp.classes,
      reference: rp.fractions,
      production: pp.counts.map((c) => c / total),
    };
  } else if (rp.kind === 'values' && pp.kind === 'values' && pp.counts.length === rp.summary.fractions.length) {
    const value = psi(rp.summary.fractions, pp.counts);
    const total = pp.counts.reduce((a, b) => a + b, 0);
    const e = rp.summary.edges;
    const labels = rp.summary.fractions.map((_, k) =>
      k === 0 ? `≤ ${e[0]}` : k === e.length ? `> ${e[k - 1]}` : `${e[k - 1]} – ${e[k]}`,
    );
    predictions = {
      psi: value,
      level: levelOf(value, thresholds.psi),
      labels,
      reference: rp.summary.fractions,
      production: pp.counts.map((c) => c / total),
    };
  } else notes.push('the production prediction counts do not match the reference (another model or class list?)');

  let inputs: DriftReport['inputs'] = null;
  const ref = reference.inputs.features;
  const prod = production.inputs;
  if (prod && prod.features.length === ref.length && prod.features.every((f, i) => f === ref[i]!.name)) {
    const alpha = thresholds.ks_p_value / ref.length;
    const all: FeatureDrift[] = ref.map((f, i) => {
      const counts = prod.counts[i]!;
      const n = counts.reduce((a, b) => a + b, 0);
      const value = psi(f.fractions, counts);
      const d = ksStatistic(f.fractions, counts);
      const p = ksPValue(d, reference.examples, n);
      // Drift needs a material shift (PSI) that is also significant: with much traffic the KS test
      // alone rejects for shifts too small to matter, with little traffic the PSI alone is noisy.
      const level: Level =
        value >= thresholds.psi.alert ? 'alert' : value >= thresholds.psi.warn ? (p < alpha ? 'alert' : 'warn') : 'ok';
      return { name: f.name, psi: value, ks: d, p_value: p, level };
    });
    const drifted = all.filter((f) => f.level === 'alert');
    inputs = {
      level: worst(all.map((f) => f.level)),
      features: all.length,
      drifted,
      top: [...all].sort((a, b) => b.psi - a.psi).slice(0, 10),
      max_psi: Math.max(...all.map((f) => f.psi)),
      min_p_value: Math.min(...all.map((f) => f.p_value)),
    };
  } else if (prod) notes.push('the production input summaries do not match the reference features (another model version?)');
  else notes.push('the server recorded no input summaries (it needs the model directory’s reference.json)');

  const levels = [predictions?.level, inputs?.level].filter((l): l is Level => l !== undefined);
  return { ...base, status: levels.length ? worst(levels) : 'insufficient', predictions, inputs, notes };
}
