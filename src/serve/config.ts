/**
 * Per-model serving configuration: `<repository>/<model>/config.yaml` (or config.json; which file: repository-layout.ts).
 *
 *   max_batch_size: 64          rows the dynamic batcher puts in one run
 *   max_queue_delay_ms: 0       how long the oldest request may wait for a fuller batch (0: a free worker takes what is queued)
 *   max_queue_size: 1024        queued requests before new ones get 503
 *   timeout_ms: 30000           per request, queue and run together (504 past it)
 *   dynamic_batching: true      false: every request runs on its own
 *   workers: 0                  inference worker threads, each with its own session (0: automatic)
 *   threads: 0                  onnxruntime intra-op threads per session (0: cores / workers)
 *   version_policy: { latest: 1 } | { specific: [1, 3] } | { all: true }
 *   canary: { version: 3, weight: 10 }   percent of unversioned requests sent to that version
 *   shadow: { version: 4, fraction: 0.1 }  a copy of that fraction of production requests goes to the
 *                               version; its answers are compared with production's, never returned
 *
 * Validation is a pure function returning every problem, each naming the file and field.
 */
import os from 'node:os';
import { ConfigError } from '../util/errors.js';
import { readConfigFile } from './repository-layout.js';

export type VersionPolicy = { latest: number } | { specific: number[] } | { all: true };

export interface ServeModelConfig {
  max_batch_size: number;
  max_queue_delay_ms: number;
  max_queue_size: number;
  timeout_ms: number;
  dynamic_batching: boolean;
  workers: number;
  threads: number;
  version_policy: VersionPolicy;
  canary?: { version: number; weight: number };
  /** A version that gets a copy of `fraction` of production requests, answered only to the comparison. */
  shadow?: { version: number; fraction: number };
}

export function defaultModelConfig(): ServeModelConfig {
  return {
    max_batch_size: 64,
    max_queue_delay_ms: 0,
    max_queue_size: 1024,
    timeout_ms: 30_000,
    dynamic_batching: true,
    workers: 0,
    threads: 0,
    version_policy: { latest: 1 },
  };
}

/**
 * How many inference workers a version runs and how many onnxruntime intra-op threads each
 * session uses. Every batch runs in a worker thread, off the thread that accepts and parses
 * requests (onnxruntime-node's asynchronous run is a synchronous call deferred with setImmediate,
 * so on the main thread it would stop the server for the length of every batch). Automatic: one
 * worker per 4 cores (at least one, at most 4), and the cores shared out between them, so that
 * workers × threads ≈ cores.
 */
export function poolShape(
  cfg: Pick<ServeModelConfig, 'workers' | 'threads'>,
  cores = os.availableParallelism(),
): {
  workers: number;
  threads: number;
} {
  const workers = cfg.workers > 0 ? cfg.workers : Math.max(1, Math.min(4, Math.floor(cores / 4)));
  const threads = cfg.threads > 0 ? cfg.threads : Math.max(1, Math.floor(cores / workers));
  return { workers, threads };
}

/** Intra-op threads for one session (see poolShape). */
export function sessionThreads(cfg: ServeModelConfig): number {
  return poolShape(cfg).threads;
}

const KEYS = new Set([
  'max_batch_size',
  'max_queue_delay_ms',
  'max_queue_size',
  'timeout_ms',
  'dynamic_batching',
  'workers',
  'threads',
  'version_policy',
  'canary',
  'shadow',
]);

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/**
 * The range of every numeric option: past these a config is refused, not served (a queue of a
 * billion requests or forty sessions of one model is a mistake, not a setting). Workers and
 * threads are bounded by this machine's cores too.
 */
export function configRanges(
  cores = os.availableParallelism(),
): Record<
  'max_batch_size' | 'max_queue_size' | 'timeout_ms' | 'max_queue_delay_ms' | 'workers' | 'threads' | 'versions',
  [number, number]
> {
  return {
    max_batch_size: [1, 4096],
    max_queue_size: [1, 100_000],
    timeout_ms: [1, 3_600_000],
    max_queue_delay_ms: [0, 10_000],
    workers: [0, Math.max(1, Math.min(16, cores))],
    threads: [0, Math.max(1, Math.min(64, cores))],
    versions: [1, 100],
  };
}

/** Validate a parsed config object. Returns the config with defaults filled in, and every error. */
export function validateModelConfig(raw: unknown, source: string): { value: ServeModelConfig; errors: string[] } {
  const value = defaultModelConfig();
  const errors: string[] = [];
  const err = (field: string, msg: string, got: unknown) =>
    errors.push(`${source}: ${field}: ${msg}, got ${JSON.stringify(got)}`);
  if (raw === undefined || raw === null) return { value, errors };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    errors.push(`${source}: expected a mapping of serving options, got ${JSON.stringify(raw)}`);
    return { value, errors };
  }
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!KEYS.has(k)) errors.push(`${source}: ${k}: unknown field; expected one of ${[...KEYS].join(', ')}`);
  }
  const ranges = configRanges();
  const cores = os.availableParallelism();
  const int = (key: 'max_batch_size' | 'max_queue_size' | 'timeout_ms' | 'workers' | 'threads', note = '') => {
    if (r[key] === undefined) return;
    const [min, max] = ranges[key];
    if (!isInt(r[key]) || (r[key] as number) < min || (r[key] as number) > max)
      err(key, `expected an integer from ${min} to ${max}${note}`, r[key]);
    else value[key] = r[key] as number;
  };
  int('max_batch_size');
  int('max_queue_size');
  int('timeout_ms', ' (milliseconds)');
  int('workers', ` (0: automatic; at most 16 and this machine's ${cores} cores)`);
  int('threads', ` (0: cores / workers; at most this machine's ${cores} cores)`);
  if (r.max_queue_delay_ms !== undefined) {
    const v = r.max_queue_delay_ms;
    const [min, max] = ranges.max_queue_delay_ms;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
      err('max_queue_delay_ms', `expected a number of milliseconds from ${min} to ${max}`, v);
    else value.max_queue_delay_ms = v;
  }
  if (r.dynamic_batching !== undefined) {
    if (typeof r.dynamic_batching !== 'boolean') err('dynamic_batching', 'expected true or false', r.dynamic_batching);
    else value.dynamic_batching = r.dynamic_batching;
  }
  if (r.version_policy !== undefined) {
    const p = r.version_policy as Record<string, unknown> | null;
    const keys = p && typeof p === 'object' && !Array.isArray(p) ? Object.keys(p) : [];
    if (keys.length !== 1) {
      err('version_policy', 'expected exactly one of {latest: N}, {specific: [versions]}, {all: true}', p);
    } else if (keys[0] === 'latest') {
      if (!isInt(p!.latest) || p!.latest < 1 || p!.latest > ranges.versions[1])
        err('version_policy.latest', `expected an integer from 1 to ${ranges.versions[1]}`, p!.latest);
      else value.version_policy = { latest: p!.latest };
    } else if (keys[0] === 'specific') {
      const s = p!.specific;
      if (
        !Array.isArray(s) ||
        s.length === 0 ||
        s.length > ranges.versions[1] ||
        !s.every((v) => isInt(v) && v >= 1 && v <= Number.MAX_SAFE_INTEGER)
      ) {
        err('version_policy.specific', `expected a list of 1 to ${ranges.versions[1]} version numbers >= 1`, s);
      } else value.version_policy = { specific: [...new Set(s as number[])].sort((a, b) => a - b) };
    } else if (keys[0] === 'all') {
      if (p!.all !== true) err('version_policy.all', 'expected true', p!.all);
      else value.version_policy = { all: true };
    } else err('version_policy', `unknown policy "${keys[0]}"; expected latest, specific or all`, p);
  }
  if (r.canary !== undefined && r.canary !== null) {
    const c = r.canary as Record<string, unknown>;
    if (typeof c !== 'object' || Array.isArray(c)) err('canary', 'expected {version: N, weight: percent}', c);
    else {
      let ok = true;
      if (!isInt(c.version) || c.version < 1 || c.version > Number.MAX_SAFE_INTEGER) {
        ok = false;
        err('canary.version', 'expected a version number >= 1', c.version);
      }
      if (typeof c.weight !== 'number' || !(c.weight >= 0 && c.weight <= 100)) {
        ok = false;
        err('canary.weight', 'expected a percentage from 0 to 100', c.weight);
      }
      for (const k of Object.keys(c)) {
        if (k === 'version' || k === 'weight') continue;
        ok = false;
        errors.push(`${source}: canary.${k}: unknown field; expected version, weight`);
      }
      if (ok) value.canary = { version: c.version as number, weight: c.weight as number };
    }
  }
  if (r.shadow !== undefined && r.shadow !== null) {
    const c = r.shadow as Record<string, unknown>;
    if (typeof c !== 'object' || Array.isArray(c)) err('shadow', 'expected {version: N, fraction: 0..1}', c);
    else {
      let ok = true;
      if (!isInt(c.version) || c.version < 1 || c.version > Number.MAX_SAFE_INTEGER) {
        ok = false;
        err('shadow.version', 'expected a version number >= 1', c.version);
      }
      const fraction = c.fraction ?? 1;
      if (typeof fraction !== 'number' || !(fraction > 0 && fraction <= 1)) {
        ok = false;
        err('shadow.fraction', 'expected the share of production requests copied, above 0 and at most 1', c.fraction);
      }
      for (const k of Object.keys(c)) {
        if (k === 'version' || k === 'fraction') continue;
        ok = false;
        errors.push(`${source}: shadow.${k}: unknown field; expected version, fraction`);
      }
      if (ok) value.shadow = { version: c.version as number, fraction: fraction as number };
    }
  }
  if (value.shadow && value.canary && value.shadow.version === value.canary.version) {
    errors.push(
      `${source}: shadow.version: version ${value.shadow.version} is also the canary; a shadow version never answers clients`,
    );
  }
  if (value.shadow && 'specific' in value.version_policy && !value.version_policy.specific.includes(value.shadow.version)) {
    errors.push(
      `${source}: shadow.version: version ${value.shadow.version} is not in version_policy.specific [${value.version_policy.specific.join(', ')}]; the shadow must be served`,
    );
  }
  if (value.canary && 'specific' in value.version_policy && !value.version_policy.specific.includes(value.canary.version)) {
    errors.push(
      `${source}: canary.version: version ${value.canary.version} is not in version_policy.specific [${value.version_policy.specific.join(', ')}]; the canary must be served`,
    );
  }
  return { value, errors };
}

/** Read and validate a model's config file; defaults when there is none. Throws ConfigError listing every problem. */
export async function readModelConfig(modelDir: string): Promise<{ config: ServeModelConfig; file: string | null }> {
  const { file, raw } = await readConfigFile(modelDir);
  if (file === null) return { config: defaultModelConfig(), file: null };
  const { value, errors } = validateModelConfig(raw, file);
  if (errors.length) throw new ConfigError(errors.join('\n'));
  return { config: value, file };
}
