/**
 * The model directory: the one format every step of the pipeline reads and writes.
 *
 *   model.onnx       the model, for evaluation, compression and serving
 *   tfjs/            model.json + weights.bin (when trained by the built-in trainer)
 *   metrics.json     metrics with a schema version
 *   lineage.json     what was trained from what: commit, data, config, hyperparameters, hardware
 *   model-card.md    a human-readable summary
 *
 * A directory is written under a temporary name and renamed into place, so a killed run never
 * leaves half a model.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CdlError } from '../util/errors.js';
import { CHECKSUMS_FILE } from './checksums.js';

export const METRICS_SCHEMA_VERSION = 1;
export const LINEAGE_SCHEMA_VERSION = 1;

export const MODEL_FILES = {
  onnx: 'model.onnx',
  tfjs: 'tfjs',
  metrics: 'metrics.json',
  lineage: 'lineage.json',
  card: 'model-card.md',
} as const;

export type SplitName = 'train' | 'validation' | 'test';

export interface Metrics {
  schema_version: number;
  model: string;
  task: 'classification' | 'regression';
  /** The metric a gate compares by default, and its value on the test split. */
  main_metric: string;
  main_metric_value: number | null;
  higher_is_better: boolean;
  /** Whether the ONNX output is softmax probabilities or raw logits (classification). */
  outputs?: 'probabilities' | 'logits' | 'values';
  classes?: string[];
  /** Metric values per split, e.g. test.accuracy. */
  splits: Partial<Record<SplitName, Record<string, number>>>;
  history?: Array<Record<string, number>>;
  training?: Record<string, unknown>;
  onnx?: Record<string, unknown>;
}

export interface Lineage {
  schema_version: number;
  cdl_version: string;
  created_at: string;
  model: { name: string; task: string };
  git: { commit: string; branch: string | null; dirty: boolean; remote?: string | null } | null;
  data: Record<string, unknown> | null;
  config: { file: string | null; hash: string; overrides: string[] };
  hyperparameters: Record<string, unknown>;
  trainer: Record<string, unknown>;
  hardware: Record<string, unknown>;
  durations: Record<string, number>;
  ci?: Record<string, unknown> | null;
  parent?: Record<string, unknown> | null;
}

export interface ModelFiles {
  onnx: Uint8Array;
  metrics: Metrics;
  lineage: Lineage;
  card: string;
  /** tfjs model.json and its weights; absent for models trained by a user command. */
  tfjs?: { modelJson: unknown; weights: Uint8Array };
  /** Other files to include, by relative path. */
  extra?: Record<string, Uint8Array | string>;
}

/** Write a complete model directory atomically (temporary directory, then rename). */
export async function writeModelDir(dir: string, files: ModelFiles): Promise<void> {
  const target = path.resolve(dir);
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    await writeFile(path.join(tmp, MODEL_FILES.onnx), files.onnx);
    await writeFile(path.join(tmp, MODEL_FILES.metrics), JSON.stringify(files.metrics, null, 2) + '\n');
    await writeFile(path.join(tmp, MODEL_FILES.lineage), JSON.stringify(files.lineage, null, 2) + '\n');
    await writeFile(path.join(tmp, MODEL_FILES.card), files.card);
    if (files.tfjs) {
      await mkdir(path.join(tmp, MODEL_FILES.tfjs));
      await writeFile(path.join(tmp, MODEL_FILES.tfjs, 'model.json'), JSON.stringify(files.tfjs.modelJson));
      await writeFile(path.join(tmp, MODEL_FILES.tfjs, 'weights.bin'), files.tfjs.weights);
    }
    for (const [rel, content] of Object.entries(files.extra ?? {})) {
      const p = path.join(tmp, rel);
      await mkdir(path.dirname(p), { recursive: true });
      await writeFile(p, content);
    }
    await replaceDir(tmp, target);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Move `from` to `to`, replacing what is there, never leaving `to` half-written. */
export async function replaceDir(from: string, to: string): Promise<void> {
  const old = `${to}.old-${process.pid}`;
  if (existsSync(to)) await rename(to, old);
  try {
    await rename(from, to);
  } catch (e) {
    if (existsSync(old)) await rename(old, to);
    throw e;
  }
  await rm(old, { recursive: true, force: true });
}

export class ModelDirError extends CdlError {}

/**
 * Whether `dir` is a model directory that cdl wrote: it holds model.onnx and either metrics.json
 * or SHA256SUMS. A plain export (model.onnx alone) is not one, so a command may refuse to
 * overwrite anything else.
 */
export function isModelDir(dir: string): boolean {
  return (
    existsSync(path.join(dir, MODEL_FILES.onnx)) &&
    (existsSync(path.join(dir, MODEL_FILES.metrics)) || existsSync(path.join(dir, CHECKSUMS_FILE)))
  );
}

export interface ModelDir {
  dir: string;
  onnxPath: string;
  metrics?: Metrics;
  lineage?: Lineage;
  hasTfjs: boolean;
}

/**
 * Read a model directory. Only `model.onnx` is required, so models exported by other tools
 * (PyTorch, for example) can be evaluated too.
 */
export async function readModelDir(dir: string): Promise<ModelDir> {
  const onnxPath = path.join(dir, MODEL_FILES.onnx);
  if (!existsSync(onnxPath)) {
    throw new ModelDirError(`${dir}: no ${MODEL_FILES.onnx}; expected a model directory holding at least model.onnx`);
  }
  const readJson = async <T>(name: string): Promise<T | undefined> => {
    const p = path.join(dir, name);
    if (!existsSync(p)) return undefined;
    try {
      return JSON.parse(await readFile(p, 'utf8')) as T;
    } catch (e) {
      throw new ModelDirError(`${p}: invalid JSON (${(e as Error).message}); expected the ${name} that cdl writes`);
    }
  };
  const metrics = await readJson<Metrics>(MODEL_FILES.metrics);
  if (metrics && metrics.schema_version !== METRICS_SCHEMA_VERSION) {
    throw new ModelDirError(
      `${path.join(dir, MODEL_FILES.metrics)}: schema_version ${String(metrics.schema_version)} is not supported; expected ${METRICS_SCHEMA_VERSION}`,
    );
  }
  return {
    dir,
    onnxPath,
    metrics,
    lineage: await readJson<Lineage>(MODEL_FILES.lineage),
    hasTfjs: existsSync(path.join(dir, MODEL_FILES.tfjs, 'model.json')),
  };
}
