/**
 * The model of cdl.yaml: built from `model.layers`, or by a user module (`model.module`) loaded
 * and checked here.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LoadedConfig } from '../config/index.js';
import type { Dataset } from '../data/index.js';
import { ConfigError, DataError, TrainError } from '../util/errors.js';
import { buildModel } from './model-layers.js';
import type { LayersModel, Tf } from './tf.js';

export interface ModelModuleInfo {
  /** One example's shape, without the batch axis. */
  inputShape: number[];
  /** Number of classes (classification) or outputs (regression). */
  numClasses: number;
}

export type ModelBuilder = (
  hyperparameters: Record<string, unknown>,
  tf: Tf,
  info: ModelModuleInfo,
) => LayersModel | Promise<LayersModel>;

function isLayersModel(v: unknown): v is LayersModel {
  if (v === null || typeof v !== 'object') return false;
  const m = v as Record<string, unknown>;
  return (
    typeof m.predict === 'function' &&
    typeof m.compile === 'function' &&
    typeof m.getClassName === 'function' &&
    Array.isArray(m.layers) &&
    Array.isArray(m.inputs) &&
    Array.isArray(m.outputs)
  );
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'object') {
    const ctor = (v as { constructor?: { name?: string } }).constructor?.name;
    return ctor && ctor !== 'Object' ? `a ${ctor}` : 'an object';
  }
  return `a ${typeof v}`;
}

/**
 * Loads a user model module (model.module of cdl.yaml; `file` resolved by the caller, relative
 * paths against the working directory) and builds its model. The default export is called as
 * `(hyperparameters, tf, { inputShape, numClasses })` and returns a LayersModel or a promise of one.
 * Errors: ConfigError when the file is missing, cannot be imported, has no default export function,
 * returns something else than a LayersModel, or its input shape differs from `info.inputShape`;
 * TrainError when the builder itself throws.
 */
export async function loadModelModule(
  file: string,
  hyperparameters: Record<string, unknown>,
  tf: Tf,
  info: ModelModuleInfo,
): Promise<LayersModel> {
  const abs = path.resolve(file);
  const where = `model.module (${file})`;
  if (!existsSync(abs) || !statSync(abs).isFile()) {
    throw new ConfigError(`${where}: file not found: ${abs}`);
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (e) {
    const hint = /\.(c|m)?tsx?$/.test(abs) ? ' (TypeScript modules must be compiled to JavaScript first)' : '';
    throw new ConfigError(`${where}: cannot be loaded: ${(e as Error).message}${hint}`, { cause: e });
  }
  let builder = mod.default;
  // A CommonJS module compiled from ESM exposes its default export as `exports.default`.
  if (builder !== null && typeof builder === 'object' && typeof (builder as { default?: unknown }).default === 'function') {
    builder = (builder as { default: unknown }).default;
  }
  if (builder === undefined) {
    const names = Object.keys(mod).filter((k) => k !== 'default');
    throw new ConfigError(
      `${where}: has no default export; expected \`export default (hyperparameters, tf, { inputShape, numClasses }) => model\`` +
        (names.length ? ` (it exports ${names.join(', ')})` : ''),
    );
  }
  if (typeof builder !== 'function') {
    throw new ConfigError(
      `${where}: the default export is ${describeValue(builder)}, expected a function that builds a tf.LayersModel`,
    );
  }
  let model: unknown;
  try {
    model = await (builder as ModelBuilder)(hyperparameters, tf, {
      inputShape: [...info.inputShape],
      numClasses: info.numClasses,
    });
  } catch (e) {
    throw new TrainError(`${where}: building the model failed: ${(e as Error).message}`, { cause: e });
  }
  if (!isLayersModel(model)) {
    throw new ConfigError(
      `${where}: the default export returned ${describeValue(model)}, expected a tf.LayersModel (tf.sequential() or tf.model())`,
    );
  }
  if (model.inputs.length !== 1) {
    throw new ConfigError(`${where}: the model has ${model.inputs.length} inputs, expected 1`);
  }
  const got = model.inputs[0]!.shape.slice(1);
  if (got.length !== info.inputShape.length || got.some((d, i) => d !== null && d !== info.inputShape[i])) {
    throw new ConfigError(
      `${where}: the model's input shape is [${got.map((d) => d ?? 'null').join(', ')}] but the data's is [${info.inputShape.join(', ')}]`,
    );
  }
  return model;
}

/** The model of cdl.yaml (layers or a module), its input shape checked against the data. */
export async function buildFromConfig(tf: Tf, loaded: LoadedConfig, ds: Dataset): Promise<LayersModel> {
  const cfg = loaded.config;
  const inputShape = cfg.model.input_shape ?? ds.shape;
  if (cfg.model.input_shape && cfg.model.input_shape.join(',') !== ds.shape.join(',')) {
    const sameSize = cfg.model.input_shape.reduce((a, b) => a * b, 1) === ds.shape.reduce((a, b) => a * b, 1);
    throw new DataError(
      `${loaded.file}: model.input_shape is [${cfg.model.input_shape.join(', ')}] but the data (${ds.source}) has examples of shape [${ds.shape.join(', ')}]; ` +
        `expected them to match${sameSize ? ' (same size: put a flatten layer first and set input_shape to the data shape)' : ''}`,
    );
  }
  if (cfg.model.module) {
    return loadModelModule(path.resolve(loaded.dir, cfg.model.module), cfg.train.hyperparameters, tf, {
      inputShape,
      numClasses: ds.classes.length,
    });
  }
  if (!cfg.model.layers) throw new ConfigError(`${loaded.file}: model: expected either "layers" or "module"`);
  return buildModel(tf, { input_shape: inputShape, layers: cfg.model.layers }, { seed: cfg.train.seed, name: cfg.model.name });
}
