/**
 * int8 quantization of ONNX graphs.
 *
 * `quantizeDynamic`: weights of MatMul, Gemm and Conv become int8 (symmetric, one scale per output
 * channel); activations are quantized at run time with DynamicQuantizeLinear. MatMul/Gemm become
 * DynamicQuantizeLinear → MatMulInteger → Cast → Mul, the pattern onnxruntime fuses into its
 * DynamicQuantizeMatMul kernel on CPU; Conv becomes ConvInteger → Cast → Mul (→ Add bias).
 *
 * The static (QDQ) form with calibration lives in quantize-static.ts. Operators that are not
 * quantized are left exactly as they were.
 */
import type { INodeProto } from './proto.js';
import { DT, OnnxModelError, floatValues, makeTensor, tensorDims } from './tensor.js';
import { OnnxGraph, makeNode } from './graph.js';
import { attrFloat, attrInt, intAttr } from './attributes.js';

/** Operators whose weights cdl quantizes. */
export const QUANTIZABLE_OPS = ['Conv', 'MatMul', 'Gemm'] as const;

export interface WeightQuantization {
  /** int8 values in the weight's own layout. */
  q: Int8Array;
  /** One scale per channel along `axis`. */
  scales: Float32Array;
  axis: number;
}

/**
 * Symmetric per-channel int8: scale_c = max|w_c| / qmax, q = round(w / scale_c), zero point 0.
 * `reduceRange` uses 7 bits (qmax 63), which avoids overflow in u8s8 products on CPUs without VNNI.
 */
export function quantizeWeightsPerChannel(
  w: Float32Array,
  dims: number[],
  axis: number,
  reduceRange = false,
): WeightQuantization {
  const qmax = reduceRange ? 63 : 127;
  const channels = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const maxAbs = new Float32Array(channels);
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      let m = maxAbs[c]!;
      for (let i = 0; i < inner; i++) m = Math.max(m, Math.abs(w[base + i]!));
      maxAbs[c] = m;
    }
  const scales = Float32Array.from(maxAbs, (m) => (m > 0 ? m / qmax : 1));
  const q = new Int8Array(w.length);
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      const s = scales[c]!;
      for (let i = 0; i < inner; i++) q[base + i] = Math.max(-qmax, Math.min(qmax, Math.round(w[base + i]! / s)));
    }
  return { q, scales, axis };
}

export interface QuantTarget {
  node: INodeProto;
  /** The float weight initializer (input 1). */
  weight: string;
  dims: number[];
  /** The output-channel axis of the weight. */
  axis: number;
}

export interface TargetOptions {
  /** Operator types to quantize (default all of QUANTIZABLE_OPS). */
  ops?: readonly string[];
  /** Node names not to quantize. */
  exclude?: readonly string[];
  /** Conv nodes with fewer input channels per group than this stay float (default 1: none). */
  minConvInputChannels?: number;
}

/** Conv, MatMul and Gemm nodes whose weight is a float initializer of a form cdl quantizes. */
export function quantTargets(g: OnnxGraph, opts: TargetOptions = {}): QuantTarget[] {
  const ops = new Set(opts.ops ?? QUANTIZABLE_OPS);
  const exclude = new Set(opts.exclude ?? []);
  const out: QuantTarget[] = [];
  for (const node of g.nodes) {
    const op = node.opType ?? '';
    if (!ops.has(op) || (node.domain ?? '') !== '' || exclude.has(node.name ?? '')) continue;
    const weight = node.input?.[1] ?? '';
    const t = g.initializers.get(weight);
    if (!t || t.dataType !== DT.FLOAT) continue;
    // A weight shared with another node stays float (its other reader expects float).
    if (g.consumers(weight).length !== 1) continue;
    const dims = tensorDims(t);
    if (op === 'Conv' && dims.length >= 3) {
      if (dims[1]! >= (opts.minConvInputChannels ?? 1)) out.push({ node, weight, dims, axis: 0 });
    } else if (op === 'MatMul' && dims.length === 2) out.push({ node, weight, dims, axis: 1 });
    else if (op === 'Gemm' && dims.length === 2 && attrInt(node, 'transA', 0) === 0) {
      out.push({ node, weight, dims, axis: attrInt(node, 'transB', 0) ? 0 : 1 });
    }
  }
  return out;
}

function transpose2d(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c]!;
  return out;
}

export interface DynamicOptions extends TargetOptions {
  reduceRange?: boolean;
  /**
   * How Conv is quantized. 'weights' (default): int8 weights behind a DequantizeLinear, float
   * convolution; as small, and as fast as the float model. 'integer': ConvInteger on activations
   * quantized at run time; onnxruntime's CPU ConvInteger is an order of magnitude slower than its
   * float Conv.
   */
  conv?: 'weights' | 'integer';
}

export interface QuantizeResult {
  bytes: Uint8Array;
  /** Names of the nodes that were quantized. */
  quantized: string[];
}

/** The dynamic int8 form of `bytes` (see the file comment). */
export function quantizeDynamic(bytes: Uint8Array, opts: DynamicOptions = {}): QuantizeResult {
  const g = OnnxGraph.fromBytes(bytes);
  const targets = quantTargets(g, opts);
  const quantized: string[] = [];
  // One DynamicQuantizeLinear per activation, shared by every node that reads it.
  const dq = new Map<string, { q: string; scale: string; zp: string }>();
  const replaced = new Map<INodeProto, INodeProto[]>();
  const zeroI8 = g.addInitializer(makeTensor(g.uniqueName('zero_i8'), DT.INT8, [], [0]));

  for (const t of targets) {
    const { node } = t;
    const x = node.input![0]!;
    const base = node.name || node.output![0]!;
    const y = node.output![0]!;
    let w = floatValues(g.initializers.get(t.weight)!);
    let dims = t.dims;
    let axis = t.axis;
    let alpha = 1;
    if (node.opType === 'Gemm') {
      alpha = attrFloat(node, 'alpha', 1);
      if (attrInt(node, 'transB', 0)) {
        w = transpose2d(w, dims[0]!, dims[1]!);
        dims = [dims[1]!, dims[0]!];
        axis = 1;
      }
    }
    const wq = quantizeWeightsPerChannel(w, dims, axis, opts.reduceRange);
    const wName = g.addInitializer(makeTensor(g.uniqueName(`${t.weight}_quantized`), DT.INT8, dims, wq.q));
    const isConv = node.opType === 'Conv';
    if (isConv && (opts.conv ?? 'weights') === 'weights') {
      const c = dims[0]!;
      const wScale = g.addInitializer(makeTensor(g.uniqueName(`${t.weight}_scale`), DT.FLOAT, [c], wq.scales));
      const wZp = g.addInitializer(makeTensor(g.uniqueName(`${t.weight}_zero_point`), DT.INT8, [c], new Int8Array(c)));
      const wDq = g.uniqueName(`${t.weight}_dequantized`);
      const deq = makeNode(
        g,
        'DequantizeLinear',
        [wName, wScale, wZp],
        [wDq],
        [intAttr('axis', 0)],
        `${t.weight}/DequantizeLinear`,
      );
      node.input![1] = wDq;
      replaced.set(node, [deq, node]);
      quantized.push(node.name ?? base);
      continue;
    }
    const scaleDims = isConv ? [dims[0]!, ...dims.slice(2).map(() => 1)] : [dims[1]!];
    const scales = alpha === 1 ? wq.scales : wq.scales.map((s) => s * alpha);
    const wScale = g.addInitializer(makeTensor(g.uniqueName(`${t.weight}_scale`), DT.FLOAT, scaleDims, scales));
    let a = dq.get(x);
    const newNodes: INodeProto[] = [];
    if (!a) {
      a = { q: g.uniqueName(`${x}_quantized`), scale: g.uniqueName(`${x}_scale`), zp: g.uniqueName(`${x}_zero_point`) };
      newNodes.push(makeNode(g, 'DynamicQuantizeLinear', [x], [a.q, a.scale, a.zp], [], `${x}/DynamicQuantizeLinear`));
      dq.set(x, a);
    }
    const acc = g.uniqueName(`${base}/int32`);
    const accF = g.uniqueName(`${base}/int32_float`);
    const scale = g.uniqueName(`${base}/scale`);
    if (isConv) {
      newNodes.push(makeNode(g, 'ConvInteger', [a.q, wName, a.zp, zeroI8], [acc], node.attribute ?? [], `${base}/ConvInteger`));
    } else {
      newNodes.push(makeNode(g, 'MatMulInteger', [a.q, wName, a.zp, zeroI8], [acc], [], `${base}/MatMulInteger`));
    }
    newNodes.push(makeNode(g, 'Cast', [acc], [accF], [intAttr('to', DT.FLOAT)], `${base}/Cast`));
    newNodes.push(makeNode(g, 'Mul', [a.scale, wScale], [scale], [], `${base}/scale/Mul`));
    const bias = node.input?.[2];
    const hasBias = Boolean(bias);
    const scaled = hasBias ? g.uniqueName(`${base}/scaled`) : y;
    newNodes.push(makeNode(g, 'Mul', [accF, scale], [scaled], [], `${base}/Mul`));
    if (hasBias) {
      let b = bias!;
      if (isConv || attrFloat(node, 'beta', 1) !== 1) {
        const bt = g.initializers.get(b);
        if (!bt)
          throw new OnnxModelError(`node "${base}": the bias "${b}" is not an initializer; cdl quantizes only constant biases`);
        const values = floatValues(bt);
        const beta = isConv ? 1 : attrFloat(node, 'beta', 1);
        const bDims = isConv ? [values.length, ...dims.slice(2).map(() => 1)] : tensorDims(bt);
        b = g.addInitializer(
          makeTensor(
            g.uniqueName(`${b}_reshaped`),
            DT.FLOAT,
            bDims,
            values.map((v) => v * beta),
          ),
        );
      }
      newNodes.push(makeNode(g, 'Add', [scaled, b], [y], [], `${base}/Add`));
    }
    replaced.set(node, newNodes);
    quantized.push(node.name ?? base);
  }
  if (!quantized.length) g.initializers.delete(zeroI8);
  g.nodes = g.nodes.flatMap((n) => replaced.get(n) ?? [n]);
  g.pruneUnusedInitializers();
  g.sort();
  ensureOpset(g, 13);
  return { bytes: g.toBytes(), quantized };
}

/** Raise the default-domain opset to at least `min` (the ops cdl emits need it). */
export function ensureOpset(g: OnnxGraph, min: number): void {
  const entry = (g.model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  if (entry && g.opset() < min) entry.version = min;
}
