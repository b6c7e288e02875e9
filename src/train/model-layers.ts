/**
 * The model of cdl.yaml's declarative `model.layers`: its shapes checked layer by layer, and a
 * seeded tf.sequential built from it.
 */
import type { LayerSpec } from '../config/schema/model.js';
import { ConfigError } from '../util/errors.js';
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
