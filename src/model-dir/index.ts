/**
 * The model directory: the one format every step of the pipeline reads and writes. This module
 * owns it: the file names and schema versions (files.ts), the readers and writers of each part,
 * the constructors of metrics and lineage, the checksum rule (SHA256SUMS covers every file) and
 * the blessing rule (a compressed child carries its parent's blessing).
 *
 *   model.onnx       the model, for evaluation, compression and serving
 *   tfjs/            model.json + weights.bin (when trained by the built-in trainer)
 *   metrics.json     metrics with a schema version
 *   lineage.json     what was trained from what: commit, data, config, hyperparameters, hardware
 *   model-card.md    a human-readable summary
 *   reference.json   reference statistics for monitoring
 *   blessing.json, evaluation.json   the gate's decision and evaluation
 *   compression.json, compression.md what compress tried and chose
 *   SHA256SUMS       the SHA-256 of every other file
 *
 * A directory is written under a temporary name and renamed into place, so a killed run never
 * leaves half a model. Stages hand each other an opened directory (`openModelDir`: bytes, hash,
 * parsed parts) instead of reading and hashing it again.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ReferenceStats } from '../data/stats.js';
import { CdlError } from '../util/errors.js';
import { readJson, writeFileAtomic } from '../util/fs.js';
import { CDL_VERSION } from '../version.js';
import {
  CHECKSUMS_FILE,
  ChecksumError,
  filesToSum,
  parseChecksums,
  sha256Bytes,
  sha256File,
  writeChecksumsFile,
} from './checksums.js';
import { MODEL_FILES, SCHEMA_VERSIONS } from './files.js';
import type { Blessing, Evaluation } from './records.js';

export { MODEL_FILES, SCHEMA_VERSIONS } from './files.js';
export * from './records.js';
export const METRICS_SCHEMA_VERSION = SCHEMA_VERSIONS.metrics;
export const LINEAGE_SCHEMA_VERSION = SCHEMA_VERSIONS.lineage;

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
  /** Set when a release trained this model because its commit had no blessed model (release.on_missing_model: retrain). */
  release?: { retrained_at_release: true; commit: string; reason: string } | null;
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
  /** The SHA-256 of `onnx` when this process already took it from exactly these bytes (not hashed again). */
  onnxSha256?: string;
}

/**
 * Write a complete model directory atomically (temporary directory, then rename), with a
 * SHA256SUMS over every file hashed from the bytes in memory. Returns the directory as opened,
 * so the next stage need not read or hash it again.
 */
export async function writeModelDir(dir: string, files: ModelFiles): Promise<OpenedModelDir> {
  const target = path.resolve(dir);
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const sums = new Map<string, string>();
  const put = async (rel: string, content: Uint8Array | string, known?: string) => {
    const p = path.join(tmp, rel);
    await mkdir(path.dirname(p), { recursive: true });
    await writeFile(p, content);
    sums.set(rel, known ?? sha256Bytes(content, p));
  };
  try {
    await put(MODEL_FILES.onnx, files.onnx, files.onnxSha256);
    await put(MODEL_FILES.metrics, jsonText(files.metrics));
    await put(MODEL_FILES.lineage, jsonText(files.lineage));
    await put(MODEL_FILES.card, files.card);
    if (files.tfjs) {
      await put(`${MODEL_FILES.tfjs}/model.json`, JSON.stringify(files.tfjs.modelJson));
      await put(`${MODEL_FILES.tfjs}/weights.bin`, files.tfjs.weights);
    }
    for (const [rel, content] of Object.entries(files.extra ?? {})) {
      if (rel === CHECKSUMS_FILE) continue;
      checkRelative(rel, tmp);
      await put(rel, content);
    }
    await writeChecksumsFile(tmp, sums);
    await replaceDir(tmp, target);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    onnxPath: path.join(dir, MODEL_FILES.onnx),
    metrics: files.metrics,
    lineage: files.lineage,
    hasTfjs: files.tfjs !== undefined,
    onnx: files.onnx,
    sha256: sums.get(MODEL_FILES.onnx)!,
    sums,
  };
}

function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

function checkRelative(rel: string, dir: string): void {
  if (path.isAbsolute(rel) || rel.split(/[\\/]/).includes('..'))
    throw new ModelDirError(`${rel}: outside ${dir}; expected a relative path inside the model directory`);
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
  const metrics = await readJsonFile<Metrics>(dir, MODEL_FILES.metrics);
  if (metrics && metrics.schema_version !== METRICS_SCHEMA_VERSION) {
    throw new ModelDirError(
      `${path.join(dir, MODEL_FILES.metrics)}: schema_version ${String(metrics.schema_version)} is not supported; expected ${METRICS_SCHEMA_VERSION}`,
    );
  }
  return {
    dir,
    onnxPath,
    metrics,
    lineage: await readJsonFile<Lineage>(dir, MODEL_FILES.lineage),
    hasTfjs: existsSync(path.join(dir, MODEL_FILES.tfjs, 'model.json')),
  };
}

/** A model directory opened once: its model bytes and hash, parsed parts, and verified checksums. */
export interface OpenedModelDir extends ModelDir {
  onnx: Uint8Array;
  /** SHA-256 of model.onnx, lowercase hex. */
  sha256: string;
  /** SHA-256 of every file by relative path, as verified against SHA256SUMS; undefined when it has none. */
  sums?: Map<string, string>;
}

export interface OpenOptions {
  /**
   * The directory came through a trust boundary (a release asset, a downloaded artifact, a served
   * model repository): without SHA256SUMS it is refused. A local candidate (a plain export holding
   * model.onnx alone) may have none.
   */
  requireChecksums?: boolean;
}

/**
 * Open a model directory: the one place its integrity is checked. When SHA256SUMS is present it
 * must list every file of the directory, and every file must match; `requireChecksums` refuses a
 * directory without it. model.onnx is read and hashed once here; callers use `onnx` and `sha256`.
 */
export async function openModelDir(dir: string, o: OpenOptions = {}): Promise<OpenedModelDir> {
  const md = await readModelDir(dir);
  const onnx = new Uint8Array(await readFile(md.onnxPath));
  const sha256 = sha256Bytes(onnx, md.onnxPath);
  const sumsPath = path.join(dir, CHECKSUMS_FILE);
  if (!existsSync(sumsPath)) {
    if (o.requireChecksums)
      throw new ChecksumError(
        `${sumsPath}: missing; a model directory from a release, an artifact or a model repository must carry a SHA256SUMS listing every file`,
      );
    return { ...md, onnx, sha256 };
  }
  const sums = parseChecksums(await readFile(sumsPath, 'utf8'), sumsPath);
  const problems: string[] = [];
  for (const rel of await filesToSum(dir)) {
    if (!sums.has(rel)) problems.push(`${path.join(dir, rel)}: not listed in ${CHECKSUMS_FILE}`);
  }
  for (const [rel, expected] of sums) {
    const p = path.join(dir, rel);
    const actual = rel === MODEL_FILES.onnx ? sha256 : existsSync(p) ? await sha256File(p) : null;
    if (actual === null) problems.push(`${p}: missing (listed in ${CHECKSUMS_FILE})`);
    else if (actual !== expected) problems.push(`${p}: SHA-256 ${actual} does not match ${expected} in ${CHECKSUMS_FILE}`);
  }
  if (problems.length) throw new ChecksumError(problems.join('; '));
  return { ...md, onnx, sha256, sums };
}

/**
 * Add (or replace) files in a model directory that cdl wrote or opened, keeping SHA256SUMS
 * covering every file: the opened directory's verified sums are reused, only the new files are
 * hashed. A directory without SHA256SUMS gets one over all its files.
 */
export async function addToModelDir(
  md: OpenedModelDir | string,
  files: Record<string, Uint8Array | string>,
): Promise<Map<string, string>> {
  const dir = typeof md === 'string' ? md : md.dir;
  const known = typeof md === 'string' ? undefined : md.sums;
  let sums: Map<string, string>;
  if (known) sums = new Map(known);
  else if (existsSync(path.join(dir, CHECKSUMS_FILE)))
    sums = parseChecksums(await readFile(path.join(dir, CHECKSUMS_FILE), 'utf8'));
  else {
    sums = new Map();
    for (const rel of await filesToSum(dir)) sums.set(rel, await sha256File(path.join(dir, rel)));
  }
  for (const [rel, content] of Object.entries(files)) {
    checkRelative(rel, dir);
    const p = path.join(dir, rel);
    await writeFileAtomic(p, content);
    sums.set(rel, sha256Bytes(content, p));
  }
  await writeChecksumsFile(dir, sums);
  if (typeof md !== 'string') md.sums = sums;
  return sums;
}

/** JSON of a model directory's file, or undefined when absent; invalid JSON is an error naming the file. */
async function readJsonFile<T>(dir: string, name: string): Promise<T | undefined> {
  const p = path.join(dir, name);
  try {
    return await readJson<T>(p);
  } catch (e) {
    throw new ModelDirError(`${p}: invalid JSON (${(e as Error).message}); expected the ${name} that cdl writes`);
  }
}

export const readBlessing = (dir: string) => readJsonFile<Blessing>(dir, MODEL_FILES.blessing);
export const readEvaluation = (dir: string) =>
  readJsonFile<Evaluation & { baseline?: Evaluation | null }>(dir, MODEL_FILES.evaluation);
export const readCompression = <T = Record<string, unknown>>(dir: string) => readJsonFile<T>(dir, MODEL_FILES.compression);

/**
 * The reference statistics of a model directory, or undefined when it has none (models of a
 * train.command, older models). A present file that is not valid reference statistics is an error.
 */
export async function readReference(dir: string): Promise<ReferenceStats | undefined> {
  const r = await readJsonFile<ReferenceStats>(dir, MODEL_FILES.reference);
  if (r === undefined) return undefined;
  if (!r || typeof r !== 'object' || !r.inputs || !r.predictions)
    throw new ModelDirError(
      `${path.join(dir, MODEL_FILES.reference)}: expected reference statistics with "inputs" and "predictions" (the ${MODEL_FILES.reference} cdl train writes)`,
    );
  if (r.schema_version !== SCHEMA_VERSIONS.reference)
    throw new ModelDirError(
      `${path.join(dir, MODEL_FILES.reference)}: schema_version ${String(r.schema_version)} is not supported; expected ${SCHEMA_VERSIONS.reference}`,
    );
  return r;
}

/** Metrics with the current schema version. */
export function newMetrics(m: Omit<Metrics, 'schema_version'>): Metrics {
  return { schema_version: SCHEMA_VERSIONS.metrics, ...m };
}

/** Lineage with the current schema version, this cdl's version and the time of creation. */
export function newLineage(l: Omit<Lineage, 'schema_version' | 'cdl_version' | 'created_at'>): Lineage {
  return { schema_version: SCHEMA_VERSIONS.lineage, cdl_version: CDL_VERSION, created_at: new Date().toISOString(), ...l };
}

/**
 * A model directory whose every file was just verified against `sums` (a download checked at
 * the trust boundary, then laid out here): opened without hashing anything again.
 */
export async function adoptModelDir(dir: string, sums: Map<string, string>): Promise<OpenedModelDir> {
  const md = await readModelDir(dir);
  const sha256 = sums.get(MODEL_FILES.onnx);
  if (!sha256) throw new ChecksumError(`${path.join(dir, CHECKSUMS_FILE)}: does not list ${MODEL_FILES.onnx}`);
  return { ...md, onnx: new Uint8Array(await readFile(md.onnxPath)), sha256, sums };
}
