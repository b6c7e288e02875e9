/**
 * Models: built from the declarative `model.layers` of cdl.yaml, or by a user module.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LayerSpec } from '../config/schema/model.js';
import { ConfigError, TrainError } from '../util/errors.js';
import type { LayersModel, Tf } from './tf.js';

export interface ModelSpec {
  input_shape: number[];
  layers: LayerSpec[];
}

export interface BuildModelOptions {
  /** Seeds the weight initializers. */
  seed: number;
  /** Model name (e.g. model.name of cdl.yaml). */
  name?: string;
}

/** A seed for the initializer of one layer, derived from the run's seed and the layer index. */
export function layerSeed(seed: number, index: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (index + 1) ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) % 2147483647;
}

function pairOf(v: number | [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

function fmtShape(s: number[]): string {
  return `[${s.join(', ')}]`;
}

/** Output size of one spatial axis, as TF.js computes it. */
function outSize(padding: 'valid' | 'same', inSize: number, k: number, s: number): number {
  return padding === 'same' ? Math.ceil(inSize / s) : Math.ceil((inSize - k + 1) / s);
}

/**
 * Checks that the layers fit together and returns the shape (without the batch axis) each one
 * produces. Throws ConfigError naming `model.layers[i]`.
 */
export function inferShapes(spec: ModelSpec): number[][] {
  const inputShape = spec.input_shape;
  if (
    !Array.isArray(inputShape) ||
    inputShape.length < 1 ||
    inputShape.length > 3 ||
    !inputShape.every((d) => Number.isInteger(d) && d > 0)
  ) {
    throw new ConfigError(
      `model.input_shape: expected 1 to 3 positive integers such as [28, 28, 1] or [784], got ${JSON.stringify(inputShape)}`,
    );
  }
  if (!Array.isArray(spec.layers) || spec.layers.length === 0) {
    throw new ConfigError('model.layers: expected at least one layer');
  }
  const shapes: number[][] = [];
  let shape = [...inputShape];
  spec.layers.forEach((layer, i) => {
    const where = `model.layers[${i}]`;
    switch (layer.type) {
      case 'conv2d':
      case 'maxpool':
      case 'avgpool': {
        if (shape.length !== 3) {
          const hint =
            i > 0 && spec.layers.slice(0, i).some((l) => l.type === 'flatten')
              ? ' (it comes after a flatten layer; put spatial layers before flatten)'
              : shape.length === 2 && i === 0
                ? ` (add a channel axis: input_shape [${shape.join(', ')}, 1])`
                : '';
          throw new ConfigError(
            `${where}: ${layer.type} needs a 3-D input [height, width, channels], got ${fmtShape(shape)}${hint}`,
          );
        }
        const [h, w] = shape as [number, number, number];
        let k: [number, number];
        let s: [number, number];
        let c: number;
        if (layer.type === 'conv2d') {
          k = pairOf(layer.kernel_size);
          s = pairOf(layer.strides ?? 1);
          c = layer.filters;
        } else {
          k = pairOf(layer.pool_size ?? 2);
          s = pairOf(layer.strides ?? k);
          c = shape[2]!;
        }
        const padding = layer.padding ?? 'valid';
        if (padding === 'valid' && (k[0] > h || k[1] > w)) {
          const what = layer.type === 'conv2d' ? 'kernel_size' : 'pool_size';
          throw new ConfigError(
            `${where}: ${what} ${k[0]}x${k[1]} is larger than its input ${h}x${w} (padding 'valid'); ` +
              `use a smaller ${what} or padding: same`,
          );
        }
        shape = [outSize(padding, h, k[0], s[0]), outSize(padding, w, k[1], s[1]), c];
        break;
      }
      case 'flatten':
        shape = [shape.reduce((a, b) => a * b, 1)];
        break;
      case 'globalavgpool':
        if (shape.length !== 3) {
          throw new ConfigError(`${where}: globalavgpool needs a 3-D input [height, width, channels], got ${fmtShape(shape)}`);
        }
        shape = [shape[2]!];
        break;
      case 'dense':
        shape = [...shape.slice(0, -1), layer.units];
        break;
      case 'dropout':
      case 'batchnorm':
      case 'activation':
        break;
      default: {
        const t = (layer as { type?: unknown }).type;
        throw new ConfigError(
          `${where}: unknown layer type ${JSON.stringify(t)}; expected one of dense, conv2d, maxpool, avgpool, globalavgpool, flatten, dropout, batchnorm, activation`,
        );
      }
    }
    shapes.push(shape);
  });
  return shapes;
}

/**
 * A tf.sequential from the declarative spec. Kernels use glorotUniform seeded from `opts.seed` and
 * the layer index, so two builds with one seed have identical weights. Layers are named
 * `<type>_<index>` (e.g. `conv2d_0`, `dense_5`).
 */
export function buildModel(tf: Tf, spec: ModelSpec, opts: BuildModelOptions): LayersModel {
  inferShapes(spec);
  const model = tf.sequential(opts.name ? { name: opts.name } : undefined);
  spec.layers.forEach((l, i) => {
    const name = `${l.type}_${i}`;
    const first = i === 0 ? { inputShape: spec.input_shape } : {};
    const kernelInitializer = () => tf.initializers.glorotUniform({ seed: layerSeed(opts.seed, i) });
    try {
      switch (l.type) {
        case 'dense':
          model.add(
            tf.layers.dense({
              ...first,
              name,
              units: l.units,
              activation: l.activation ?? 'linear',
              useBias: l.use_bias ?? true,
              kernelInitializer: kernelInitializer(),
              biasInitializer: 'zeros',
            }),
          );
          break;
        case 'conv2d':
          model.add(
            tf.layers.conv2d({
              ...first,
              name,
              filters: l.filters,
              kernelSize: pairOf(l.kernel_size),
              strides: pairOf(l.strides ?? 1),
              padding: l.padding ?? 'valid',
              activation: l.activation ?? 'linear',
              useBias: l.use_bias ?? true,
              dataFormat: 'channelsLast',
              kernelInitializer: kernelInitializer(),
              biasInitializer: 'zeros',
            }),
          );
          break;
        case 'maxpool':
        case 'avgpool': {
          const args = {
            ...first,
            name,
            poolSize: pairOf(l.pool_size ?? 2),
            strides: l.strides === undefined ? undefined : pairOf(l.strides),
            padding: l.padding ?? 'valid',
            dataFormat: 'channelsLast' as const,
          };
          model.add(l.type === 'maxpool' ? tf.layers.maxPooling2d(args) : tf.layers.averagePooling2d(args));
          break;
        }
        case 'flatten':
          model.add(tf.layers.flatten({ ...first, name }));
          break;
        case 'globalavgpool':
          model.add(tf.layers.globalAveragePooling2d({ ...first, name, dataFormat: 'channelsLast' }));
          break;
        case 'dropout':
          model.add(tf.layers.dropout({ ...first, name, rate: l.rate }));
          break;
        case 'batchnorm':
          model.add(
            tf.layers.batchNormalization({ ...first, name, axis: -1, momentum: l.momentum ?? 0.99, epsilon: l.epsilon ?? 1e-3 }),
          );
          break;
        case 'activation':
          model.add(tf.layers.activation({ ...first, name, activation: l.activation }));
          break;
      }
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      throw new ConfigError(`model.layers[${i}]: ${l.type}: ${(e as Error).message}`, { cause: e });
    }
  });
  return model;
}

export interface LayerDescription {
  name: string;
  className: string;
  /** Output shape with 'N' for the batch axis, e.g. "[N, 26, 26, 32]". */
  outputShape: string;
  params: number;
  activation?: string;
}

export interface ModelDescription {
  name: string;
  params: number;
  trainableParams: number;
  layers: LayerDescription[];
  /** A short table for logs and the model card. */
  text: string;
}

function countOf(ws: ReadonlyArray<{ shape: ReadonlyArray<number | null> }>): number {
  return ws.reduce((a, w) => a + w.shape.reduce<number>((p, d) => p * (d ?? 1), 1), 0);
}

const fmtInt = (n: number) => n.toLocaleString('en-US');

/** A short text for logs and the model card: name, parameter counts, one line per layer. */
export function describeModel(model: LayersModel): string {
  return modelSummary(model).text;
}

/** Layer list and parameter counts of a model. */
export function modelSummary(model: LayersModel): ModelDescription {
  const layers: LayerDescription[] = [];
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'InputLayer') continue;
    const raw = layer.outputShape as unknown;
    const shape = (Array.isArray(raw) && Array.isArray(raw[0]) ? raw[0] : raw) as Array<number | null>;
    const cfg = layer.getConfig() as { activation?: unknown };
    const act = typeof cfg.activation === 'string' && cfg.activation !== 'linear' ? cfg.activation : undefined;
    layers.push({
      name: layer.name,
      className: cls,
      outputShape: `[${shape.map((d, i) => (d === null && i === 0 ? 'N' : String(d))).join(', ')}]`,
      params: countOf(layer.weights),
      ...(act ? { activation: act } : {}),
    });
  }
  const params = countOf(model.weights);
  const trainableParams = countOf(model.trainableWeights);
  const w0 = Math.max(5, ...layers.map((l) => l.name.length));
  const w1 = Math.max(5, ...layers.map((l) => l.className.length));
  const w2 = Math.max(6, ...layers.map((l) => l.outputShape.length));
  const w3 = Math.max(6, ...layers.map((l) => fmtInt(l.params).length));
  const row = (a: string, b: string, c: string, d: string, e = '') =>
    `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c.padEnd(w2)}  ${d.padStart(w3)}${e ? `  ${e}` : ''}`.trimEnd();
  const text = [
    `${model.name}: ${layers.length} layers, ${fmtInt(params)} parameters (${fmtInt(trainableParams)} trainable)`,
    row('layer', 'class', 'output', 'params', 'activation'),
    ...layers.map((l) => row(l.name, l.className, l.outputShape, fmtInt(l.params), l.activation ?? '')),
  ].join('\n');
  return { name: model.name, params, trainableParams, layers, text };
}

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
      `${where}: the model's input shape is [${got.map((d) => d ?? 'null').join(', ')}] but the data's is ${fmtShape(info.inputShape)}`,
    );
  }
  return model;
}
