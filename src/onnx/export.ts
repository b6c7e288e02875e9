/**
 * TF.js LayersModel → ONNX. Walks the layers of a linear stack and emits an equivalent graph.
 *
 * Layout: TF.js works channels-last (NHWC); ONNX Conv and the pools work channels-first (NCHW).
 * The graph keeps TF.js's layout except around spatial operations: one Transpose to NCHW before the
 * first spatial op of a run, and one back to NHWC before any op that depends on the element order
 * (Flatten, Dense, the end of the graph). Flatten therefore orders elements exactly as TF.js does.
 */
import { CDL_VERSION } from '../version.js';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { FLOAT, onnx, type IValueInfoProto } from './proto.js';
import { floatAttr, intAttr, intsAttr } from './attributes.js';
import { GraphBuilder } from './graph-builder.js';

import {
  convKernelToOihw,
  fail,
  layerShape,
  need,
  OnnxExportError,
  pair,
  tfPads,
  weightsByRole,
  type Dim,
  type LayerLike,
} from './tf-layer.js';

export interface ExportOnnxOptions {
  /** ONNX default-domain opset, 13 to 21. Default 13. */
  opset?: number;
  /** Graph name; defaults to the model's name. */
  modelName?: string;
  /** Default 'input'. */
  inputName?: string;
  /** Default 'output'. */
  outputName?: string;
  docString?: string;
  /** Written as metadata_props. */
  metadata?: Record<string, string>;
}

export const MIN_OPSET = 13;
export const MAX_OPSET = 21;

/** Layer classes exportOnnx understands. */
export const SUPPORTED_LAYERS = [
  'Dense',
  'Conv2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'Flatten',
  'Dropout',
  'BatchNormalization',
  'Activation',
] as const;

/** Activations (of Dense, Conv2D and Activation layers) exportOnnx understands. */
export const SUPPORTED_ACTIVATIONS = [
  'linear',
  'relu',
  'relu6',
  'sigmoid',
  'tanh',
  'softmax',
  'logSoftmax',
  'elu',
  'selu',
  'softplus',
  'softsign',
  'hardSigmoid',
  'swish',
  'mish',
] as const;

// TF.js's selu constants (tfjs-core selu_util): scale * alpha and scale.
const SELU_SCALEALPHA = 1.7580993408473766;
const SELU_SCALE = 1.0507009873554805;

/** The value flowing between layers: its name, its TF.js shape, and whether it is held channels-first. */
interface Flow {
  name: string;
  shape: Dim[];
  channelsFirst: boolean;
}

/**
 * Writes `model` as an ONNX model: input `[N, ...input_shape]` float32 with a symbolic batch
 * dimension N, output as the model's output, weights as float32 initializers.
 */
export function exportOnnx(model: LayersModel, opts: ExportOnnxOptions = {}): Uint8Array {
  const opset = opts.opset ?? 13;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new OnnxExportError(`opset ${opset} is not supported; use ${MIN_OPSET} to ${MAX_OPSET}`);
  }
  const inputName = opts.inputName ?? 'input';
  const outputName = opts.outputName ?? 'output';
  if (inputName === outputName) throw new OnnxExportError(`input and output names must differ ("${inputName}")`);
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new OnnxExportError(
      `only models with one input and one output can be exported (this one has ${model.inputs.length} and ${model.outputs.length})`,
    );
  }
  const inputShape = model.inputs[0]!.shape as Dim[];
  const g = new GraphBuilder([inputName, outputName]);
  let flow: Flow = { name: inputName, shape: inputShape, channelsFirst: false };

  const toChannelsFirst = (base: string): void => {
    const r = flow.shape.length;
    if (flow.channelsFirst || r < 3) return;
    const perm = [0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)];
    flow = { ...flow, name: g.node('Transpose', [flow.name], [intsAttr('perm', perm)], base), channelsFirst: true };
  };
  const toChannelsLast = (base: string): void => {
    const r = flow.shape.length;
    if (!flow.channelsFirst) return;
    const perm = [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1];
    flow = { ...flow, name: g.node('Transpose', [flow.name], [intsAttr('perm', perm)], base), channelsFirst: false };
  };

  const activation = (layer: LayerLike, act: unknown): void => {
    const name = typeof act === 'string' ? act : act === undefined || act === null ? 'linear' : String(act);
    const base = layer.name;
    const x = flow.name;
    const lastAxis = flow.channelsFirst ? 1 : -1;
    let y: string;
    switch (name) {
      case 'linear':
        return;
      case 'relu':
        y = g.node('Relu', [x], [], base);
        break;
      case 'relu6':
        y = g.node('Clip', [x, g.scalar(0), g.scalar(6)], [], base);
        break;
      case 'sigmoid':
        y = g.node('Sigmoid', [x], [], base);
        break;
      case 'tanh':
        y = g.node('Tanh', [x], [], base);
        break;
      case 'softmax':
        y = g.node('Softmax', [x], [intAttr('axis', lastAxis)], base);
        break;
      case 'logSoftmax':
        y = g.node('LogSoftmax', [x], [intAttr('axis', lastAxis)], base);
        break;
      case 'elu':
        y = g.node('Elu', [x], [floatAttr('alpha', 1)], base);
        break;
      case 'selu':
        y = g.node('Selu', [x], [floatAttr('alpha', SELU_SCALEALPHA / SELU_SCALE), floatAttr('gamma', SELU_SCALE)], base);
        break;
      case 'softplus':
        y = g.node('Softplus', [x], [], base);
        break;
      case 'softsign':
        y = g.node('Softsign', [x], [], base);
        break;
      case 'hardSigmoid':
        y = g.node('HardSigmoid', [x], [floatAttr('alpha', 0.2), floatAttr('beta', 0.5)], base);
        break;
      case 'swish':
        y = g.node('Mul', [x, g.node('Sigmoid', [x], [], base)], [], base);
        break;
      case 'mish':
        y = g.node('Mul', [x, g.node('Tanh', [g.node('Softplus', [x], [], base)], [], base)], [], base);
        break;
      default:
        fail(layer, `activation "${name}" is not supported; supported: ${SUPPORTED_ACTIVATIONS.join(', ')}`);
    }
    flow = { ...flow, name: y };
  };

  const requireChannelsLast = (layer: LayerLike, cfg: Record<string, unknown>): void => {
    if (cfg.dataFormat !== undefined && cfg.dataFormat !== 'channelsLast') {
      fail(layer, `dataFormat "${String(cfg.dataFormat)}" is not supported; use channelsLast`);
    }
  };
  const requireImage = (layer: LayerLike): [number, number] => {
    const [, h, w, c] = flow.shape;
    if (flow.shape.length !== 4 || typeof h !== 'number' || typeof w !== 'number' || typeof c !== 'number') {
      fail(
        layer,
        `needs a 4-D input [batch, height, width, channels] with known sizes, got [${flow.shape.map((d) => d ?? 'N').join(', ')}]`,
      );
    }
    return [h, w];
  };

  let prevOutput: unknown;
  for (const l of model.layers) {
    const layer = l as unknown as LayerLike;
    const cls = layer.getClassName();
    if (cls === 'InputLayer') {
      prevOutput = layer.output;
      continue;
    }
    let input: unknown;
    try {
      input = layer.input;
    } catch (e) {
      fail(layer, `only a linear stack of layers can be exported (${(e as Error).message})`);
    }
    if (prevOutput !== undefined && input !== prevOutput) {
      fail(layer, "only a linear stack of layers can be exported: this layer does not take the previous layer's output");
    }
    prevOutput = layer.output;
    const cfg = layer.getConfig();
    const base = layer.name;
    const outShape = layerShape(layer);

    switch (cls) {
      case 'Dropout':
        break;
      case 'Flatten': {
        toChannelsLast(base);
        if (flow.shape.length > 2) flow = { ...flow, name: g.node('Flatten', [flow.name], [intAttr('axis', 1)], base) };
        break;
      }
      case 'Dense': {
        toChannelsLast(base);
        const w = weightsByRole(layer);
        const kernel = need(w, 'kernel', layer);
        const units = Number(cfg.units);
        const inDim = kernel.length / units;
        let y = g.node('MatMul', [flow.name, g.tensor(`${base}/kernel`, [inDim, units], kernel)], [], base);
        if (cfg.useBias !== false) y = g.node('Add', [y, g.tensor(`${base}/bias`, [units], need(w, 'bias', layer))], [], base);
        flow = { ...flow, name: y };
        activation(layer, cfg.activation);
        break;
      }
      case 'Conv2D': {
        requireChannelsLast(layer, cfg);
        const [h, wd] = requireImage(layer);
        const cin = flow.shape[3] as number;
        const [kh, kw] = pair(cfg.kernelSize, layer, 'kernelSize');
        const [sh, sw] = pair(cfg.strides ?? 1, layer, 'strides');
        const [dh, dw] = pair(cfg.dilationRate ?? 1, layer, 'dilationRate');
        const padding = String(cfg.padding ?? 'valid');
        if (padding !== 'valid' && padding !== 'same') fail(layer, `padding "${padding}" is not supported`);
        const filters = Number(cfg.filters);
        const [pt, pb] = tfPads(padding, h, kh, sh, dh);
        const [pl, pr] = tfPads(padding, wd, kw, sw, dw);
        toChannelsFirst(base);
        const w = weightsByRole(layer);
        const kernel = convKernelToOihw(need(w, 'kernel', layer), kh, kw, cin, filters);
        const inputs = [flow.name, g.tensor(`${base}/kernel`, [filters, cin, kh, kw], kernel)];
        if (cfg.useBias !== false) inputs.push(g.tensor(`${base}/bias`, [filters], need(w, 'bias', layer)));
        const y = g.node(
          'Conv',
          inputs,
          [
            intsAttr('kernel_shape', [kh, kw]),
            intsAttr('strides', [sh, sw]),
            intsAttr('dilations', [dh, dw]),
            intsAttr('pads', [pt, pl, pb, pr]),
            intAttr('group', 1),
          ],
          base,
        );
        flow = { ...flow, name: y };
        activation(layer, cfg.activation);
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        requireChannelsLast(layer, cfg);
        const [h, wd] = requireImage(layer);
        const [kh, kw] = pair(cfg.poolSize ?? 2, layer, 'poolSize');
        const [sh, sw] = pair(cfg.strides ?? cfg.poolSize ?? 2, layer, 'strides');
        const padding = String(cfg.padding ?? 'valid');
        if (padding !== 'valid' && padding !== 'same') fail(layer, `padding "${padding}" is not supported`);
        const [pt, pb] = tfPads(padding, h, kh, sh);
        const [pl, pr] = tfPads(padding, wd, kw, sw);
        toChannelsFirst(base);
        const attrs = [intsAttr('kernel_shape', [kh, kw]), intsAttr('strides', [sh, sw]), intsAttr('pads', [pt, pl, pb, pr])];
        const isMax = cls === 'MaxPooling2D';
        // TF.js averages over the window's in-bounds elements only.
        if (!isMax) attrs.push(intAttr('count_include_pad', 0));
        flow = { ...flow, name: g.node(isMax ? 'MaxPool' : 'AveragePool', [flow.name], attrs, base) };
        break;
      }
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D': {
        requireChannelsLast(layer, cfg);
        requireImage(layer);
        toChannelsFirst(base);
        const pooled = g.node(cls === 'GlobalMaxPooling2D' ? 'GlobalMaxPool' : 'GlobalAveragePool', [flow.name], [], base);
        flow = { name: g.node('Flatten', [pooled], [intAttr('axis', 1)], base), shape: outShape, channelsFirst: false };
        break;
      }
      case 'BatchNormalization': {
        const r = flow.shape.length;
        const axis = Number(cfg.axis ?? -1);
        if (axis !== -1 && axis !== r - 1) fail(layer, `axis ${axis} is not supported; only the last axis (-1)`);
        const w = weightsByRole(layer);
        const mean = need(w, 'moving_mean', layer);
        const c = mean.length;
        const gamma = w.get('gamma') ?? new Float32Array(c).fill(1);
        const beta = w.get('beta') ?? new Float32Array(c);
        toChannelsFirst(base);
        const y = g.node(
          'BatchNormalization',
          [
            flow.name,
            g.tensor(`${base}/gamma`, [c], gamma),
            g.tensor(`${base}/beta`, [c], beta),
            g.tensor(`${base}/moving_mean`, [c], mean),
            g.tensor(`${base}/moving_variance`, [c], need(w, 'moving_variance', layer)),
          ],
          [floatAttr('epsilon', Number(cfg.epsilon ?? 1e-3))],
          base,
        );
        flow = { ...flow, name: y };
        break;
      }
      case 'Activation':
        activation(layer, cfg.activation);
        break;
      default:
        fail(layer, `layer class ${cls} is not supported; supported: ${SUPPORTED_LAYERS.join(', ')}`);
    }
    flow = { ...flow, shape: outShape };
  }
  toChannelsLast('output');

  // Name the graph's output.
  const last = g.nodes[g.nodes.length - 1];
  if (flow.name !== inputName && last && last.output?.[0] === flow.name) {
    last.output = [outputName];
  } else {
    g.nodes.push({ opType: 'Identity', name: 'output/Identity', input: [flow.name], output: [outputName], domain: '' });
  }

  const valueInfo = (name: string, shape: Dim[]): IValueInfoProto => ({
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: shape.map((d, i) => (typeof d === 'number' ? { dimValue: d } : { dimParam: i === 0 ? 'N' : `d${i}` })) },
      },
    },
  });

  const modelProto = onnx.ModelProto.create({
    irVersion: opset <= 18 ? 8 : opset <= 20 ? 9 : 10,
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'cdl',
    producerVersion: CDL_VERSION,
    docString: opts.docString ?? '',
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value: String(value) })),
    graph: {
      name: opts.modelName ?? model.name,
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(inputName, inputShape)],
      output: [valueInfo(outputName, flow.shape)],
    },
  });
  return onnx.ModelProto.encode(modelProto).finish();
}
