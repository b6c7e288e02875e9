/**
 * Which served version of a model answers a request: the one named, else the canary split
 * (smooth weighted round robin), else the latest; a shadow version answers no client, and gets a
 * copy of every 1/fraction-th production request instead. Reads and updates one model's state.
 */
import type { ServeModelConfig } from './config.js';
import { ModelNotFoundError } from './errors.js';
import type { ServeMetrics } from './metrics.js';
import type { ModelVersion } from './model-version.js';
import { ShadowComparison } from './shadow.js';

interface Failure {
  fingerprint: string;
  reason: string;
}

/** One model of the repository: what is on disk, what is served, and how requests are split. */
export interface ModelState {
  name: string;
  config: ServeModelConfig | null;
  configKey: string;
  /** A model-level problem (config file invalid, directory gone). */
  error: string | null;
  served: Map<number, ModelVersion>;
  fingerprints: Map<number, string>;
  failures: Map<number, Failure>;
  loading: Set<number>;
  /** Versions the current reconciliation wants served. */
  pending: Set<number>;
  onDisk: number[];
  /** Unloaded through the API: the poller leaves it alone until it is loaded again. */
  unloaded: boolean;
  /** Serializes reconciliations of this model. */
  chain: Promise<unknown>;
  /** Smooth weighted round robin between the primary and the canary. */
  wrr: { primary: number; canary: number };
  routed: Map<number, number>;
  /** Shadow traffic: the share of production requests still owed a copy, and the comparison per shadow version. */
  shadowCredit: number;
  shadows: Map<number, ShadowComparison>;
}

export function newModelState(name: string): ModelState {
  return {
    name,
    config: null,
    configKey: '',
    error: null,
    served: new Map(),
    fingerprints: new Map(),
    failures: new Map(),
    loading: new Set(),
    pending: new Set(),
    onDisk: [],
    unloaded: false,
    chain: Promise.resolve(),
    wrr: { primary: 0, canary: 0 },
    shadowCredit: 0,
    shadows: new Map(),
    routed: new Map(),
  };
}

/** The shadow version when the config names one and it is served. */
export function shadowVersion(s: ModelState): number | undefined {
  const v = s.config?.shadow?.version;
  return v !== undefined && s.served.has(v) ? v : undefined;
}

/**
 * The shadow that gets a copy of this production answer, when the model has one served, `mv`
 * is not it, and the copy is due (every 1/fraction-th production request, exactly).
 */
export function takeShadow(
  s: ModelState,
  mv: ModelVersion,
  metrics: ServeMetrics,
): { mv: ModelVersion; comparison: ShadowComparison } | undefined {
  const cfg = s.config?.shadow;
  if (!cfg || mv.version === cfg.version) return undefined;
  const shadow = s.served.get(cfg.version);
  if (!shadow) return undefined;
  s.shadowCredit += cfg.fraction;
  if (s.shadowCredit < 1 - 1e-9) return undefined;
  s.shadowCredit -= 1;
  return { mv: shadow, comparison: comparisonOf(s, metrics)! };
}

/** The comparison of the configured, served shadow (made on first use; a new fraction starts afresh). */
export function comparisonOf(s: ModelState, metrics: ServeMetrics): ShadowComparison | undefined {
  const cfg = s.config?.shadow;
  if (!cfg || !s.served.has(cfg.version)) return undefined;
  let comparison = s.shadows.get(cfg.version);
  if (!comparison || comparison.fraction !== cfg.fraction) {
    comparison = new ShadowComparison(s.name, cfg.version, cfg.fraction, metrics);
    s.shadows.set(cfg.version, comparison);
  }
  return comparison;
}

/** The canary and its primary, when the config names one and both are served. */
export function canaryOf(s: ModelState): { version: number; weight: number; primary: number } | null {
  const c = s.config?.canary;
  if (!c || !s.served.has(c.version)) return null;
  const shadowV = shadowVersion(s);
  const primary = [...s.served.keys()].filter((v) => v !== c.version && v !== shadowV).sort((a, b) => b - a)[0];
  if (primary === undefined) return null;
  return { version: c.version, weight: c.weight, primary };
}

/** Why nothing serves: the model's error and each failed version's reason, as a suffix of a message. */
export function reasonSuffix(s: ModelState): string {
  const reasons = [s.error, ...[...s.failures].map(([v, f]) => `version ${v}: ${f.reason}`)].filter(Boolean);
  return reasons.length ? ` (${reasons.join('; ')})` : '';
}

/**
 * The version that answers a request to model `name` (state `s`, undefined when unknown): the one
 * named, else the canary split, else the latest. `known` lists the models, for the error.
 */
export function routeRequest(
  s: ModelState | undefined,
  name: string,
  version: string | undefined,
  known: () => string[],
): ModelVersion {
  if (!s || (!s.served.size && !s.onDisk.length && !s.failures.size && s.error === null)) {
    throw new ModelNotFoundError(`unknown model "${name}"; models: ${known().sort().join(', ') || '(none)'}`);
  }
  if (version !== undefined) {
    const mv = /^[0-9]+$/.test(version) ? s.served.get(Number(version)) : undefined;
    if (!mv) {
      throw new ModelNotFoundError(
        `model "${name}" has no version "${version}" being served; serving: ${[...s.served.keys()].join(', ') || 'none'}`,
      );
    }
    if (mv.version === shadowVersion(s))
      throw new ModelNotFoundError(
        `model "${name}" version ${version} is its shadow: it gets copies of production requests and answers none; omit the version`,
      );
    return mv;
  }
  if (!s.served.size) {
    throw new ModelNotFoundError(`model "${name}" has no version being served${reasonSuffix(s)}`);
  }
  // A shadow version never answers a request that does not name it.
  const shadowV = shadowVersion(s);
  const production = [...s.served.keys()].filter((k) => k !== shadowV);
  if (!production.length)
    throw new ModelNotFoundError(`model "${name}" serves only its shadow version ${shadowV}, which does not answer clients`);
  let v = production[0]!;
  const canary = canaryOf(s);
  if (canary) {
    // Smooth weighted round robin: exact proportions over any window of 100 requests.
    s.wrr.primary += 100 - canary.weight;
    s.wrr.canary += canary.weight;
    if (s.wrr.canary >= s.wrr.primary) {
      v = canary.version;
      s.wrr.canary -= 100;
    } else {
      v = canary.primary;
      s.wrr.primary -= 100;
    }
  }
  s.routed.set(v, (s.routed.get(v) ?? 0) + 1);
  return s.served.get(v)!;
}
