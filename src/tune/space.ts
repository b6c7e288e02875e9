/**
 * The search space of `tune.space`: each key names a training hyperparameter (a short name, a key
 * of train.hyperparameters, or a configuration path as `--set` takes it). Resolving the space
 * checks every key against the configuration, so a typo is an error naming the key before any
 * trial runs.
 */
import { applyOverride, validateConfig } from '../config/index.js';
import type { CdlConfig } from '../config/schema/cdl-config.js';
import type { SearchParam } from '../config/schema/tune.js';
import { ConfigError } from '../util/errors.js';

export type ParamValue = number | string | boolean;
/** One configuration of the search space: key → value. */
export type Assignment = Record<string, ParamValue>;

/** Short names for the training hyperparameters people tune most. */
export const HYPERPARAMETER_ALIASES: Readonly<Record<string, string>> = {
  learning_rate: 'train.optimizer.learning_rate',
  batch_size: 'train.batch_size',
  optimizer: 'train.optimizer.name',
  momentum: 'train.optimizer.momentum',
  weight_decay: 'train.optimizer.weight_decay',
  beta1: 'train.optimizer.beta1',
  beta2: 'train.optimizer.beta2',
  epsilon: 'train.optimizer.epsilon',
  schedule: 'train.schedule.type',
  warmup_epochs: 'train.schedule.warmup_epochs',
  min_learning_rate: 'train.schedule.min_learning_rate',
  seed: 'train.seed',
  label_smoothing: 'train.label_smoothing',
  augment_shift: 'train.augment.shift',
  augment_flip: 'train.augment.flip',
  augment_rotate: 'train.augment.rotate',
  augment_erase: 'train.augment.erase',
};

export interface ResolvedParam {
  /** The key as written in tune.space. */
  key: string;
  /** The configuration path it sets, e.g. train.optimizer.learning_rate. */
  path: string;
  spec: SearchParam;
}

export type SearchSpace = ResolvedParam[];

function isPath(key: string): boolean {
  return key.includes('.') || key.includes('[');
}

/** The configuration path a space key sets, or undefined when the key names nothing known. */
export function keyPath(key: string, config: CdlConfig): string | undefined {
  if (isPath(key)) return key;
  if (key in HYPERPARAMETER_ALIASES) return HYPERPARAMETER_ALIASES[key];
  if (key in config.train.hyperparameters) return `train.hyperparameters.${key}`;
  return undefined;
}

/** A `--set` override that gives `path` the value (JSON is YAML, so types survive). */
export function overrideFor(path: string, value: ParamValue): string {
  return `${path}=${JSON.stringify(value)}`;
}

/** The `--set` overrides that apply an assignment to a configuration. */
export function assignmentOverrides(space: SearchSpace, a: Assignment): string[] {
  return space.filter((p) => p.key in a).map((p) => overrideFor(p.path, a[p.key]!));
}

/** Values worth checking against the configuration's own schema: the ends of a range, every choice. */
function probeValues(spec: SearchParam): Array<{ label: string; value: ParamValue }> {
  if (spec.type === 'categorical') return spec.choices.map((c) => ({ label: `choice ${JSON.stringify(c)}`, value: c }));
  const high = spec.type === 'int' ? spec.low + Math.floor((spec.high - spec.low) / spec.step) * spec.step : spec.high;
  return [
    { label: `low ${spec.low}`, value: spec.low },
    { label: `high ${high}`, value: high },
  ];
}

/**
 * Check every key of tune.space against the configuration and return the space in key order.
 * Throws ConfigError listing every bad key: unknown hyperparameters, paths the configuration does
 * not have, and ranges whose ends the configuration would refuse (momentum 1.5).
 */
export function resolveSpace(config: CdlConfig, file = 'cdl.yaml'): SearchSpace {
  const space = config.tune?.space;
  if (!space) throw new ConfigError(`${file}: tune.space: expected a search space (tune.space) to tune`);
  const problems: string[] = [];
  const out: SearchSpace = [];
  const known = [...Object.keys(HYPERPARAMETER_ALIASES), ...Object.keys(config.train.hyperparameters)];
  for (const [key, spec] of Object.entries(space)) {
    const where = `${file}: tune.space.${key}`;
    const path = keyPath(key, config);
    if (path === undefined) {
      problems.push(
        `${where}: unknown hyperparameter "${key}"; expected one of ${known.join(', ')}, ` +
          `or a configuration path such as model.layers[1].units or train.optimizer.learning_rate`,
      );
      continue;
    }
    if (path === 'train.epochs' && config.tune?.scheduler.type !== 'none') {
      problems.push(
        `${where}: train.epochs is the budget the ${config.tune?.scheduler.type} scheduler sets; tune scheduler.max_epochs instead`,
      );
      continue;
    }
    let bad = false;
    for (const probe of probeValues(spec)) {
      let raw: unknown;
      try {
        raw = applyOverride(config, overrideFor(path, probe.value));
      } catch (e) {
        problems.push(`${where}: cannot set "${path}": ${(e as Error).message}`);
        bad = true;
        break;
      }
      const { errors } = validateConfig(raw);
      if (errors.length === 0) continue;
      const unknown = errors.find((e) => e.message.startsWith('unknown key'));
      if (unknown) {
        problems.push(`${where}: unknown hyperparameter "${path}" (${unknown.path}: ${unknown.message})`);
      } else {
        const e = errors[0]!;
        problems.push(`${where}: ${probe.label} is not a valid ${path} (${e.path}: ${e.message})`);
      }
      bad = true;
      break;
    }
    if (!bad) out.push({ key, path, spec });
  }
  if (problems.length) throw new ConfigError(problems.join('\n'));
  return out;
}

/** Number of distinct values of a discrete parameter (Infinity for continuous ones). */
export function cardinality(spec: SearchParam): number {
  if (spec.type === 'categorical') return spec.choices.length;
  if (spec.type === 'int') return Math.floor((spec.high - spec.low) / spec.step) + 1;
  return spec.low === spec.high ? 1 : Infinity;
}

/** Round an int parameter's value onto its grid and into its range. */
export function snapInt(spec: Extract<SearchParam, { type: 'int' }>, v: number): number {
  const k = Math.round((v - spec.low) / spec.step);
  const max = Math.floor((spec.high - spec.low) / spec.step);
  return spec.low + Math.min(max, Math.max(0, k)) * spec.step;
}

/** Whether `value` is a value the parameter can take (used when reading a saved study). */
export function inSpace(spec: SearchParam, value: ParamValue): boolean {
  if (spec.type === 'categorical') return spec.choices.some((c) => c === value);
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (value < spec.low || value > spec.high) return false;
  return spec.type !== 'int' || snapInt(spec, value) === value;
}

/** What a sampler learns from one trial. `loss` is the objective turned so that lower is better. */
export interface Observation {
  trial: number;
  params: Assignment;
  loss: number;
  /** Epochs the trial reached: with a scheduler, trials that went further rank first. */
  budget: number;
}
