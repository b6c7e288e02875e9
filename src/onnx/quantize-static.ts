/**
 * Static int8 quantization in QDQ form: QuantizeLinear → DequantizeLinear pairs on activations
 * (uint8, asymmetric, ranges from calibration), int8 weights with one scale per output channel
 * behind a per-axis DequantizeLinear, int32 biases. onnxruntime turns each
 * DQ → Conv/Gemm/MatMul → Q group into one integer kernel (QLinearConv, QGemm, QLinearMatMul) and
 * runs MaxPool, Transpose, Flatten and Reshape between equal Q/DQ parameters on uint8 directly.
 *
 * Before inserting QDQ pairs, MatMul + Add (a constant bias, a 2-D input) becomes one Gemm, and a
 * Relu that follows a quantized node is folded into that node's output quantization (range
 * [0, max], zero point 0: the QuantizeLinear clamps exactly as Relu does).
 *
 * Placement, from onnxruntime 1.30's per-node profiles of the example CNN at batch 64 (2 cores):
 * - A Conv with fewer than 4 input channels stays float (`minConvInputChannels`; 1 quantizes all):
 *   with 1 input channel QLinearConv took 800 µs where the float NCHWc Conv took 140 µs (3-channel
 *   image inputs are kept float by the same threshold; not measured).
 * - The pool after such a float Conv stays float and the quantization starts after it. onnxruntime's
 *   QDQ propagation would otherwise copy that QuantizeLinear in front of the MaxPool, which then runs
 *   on uint8 in NCHW (12 ms); a Relu between MaxPool and QuantizeLinear (exact: zero point 0
 *   clamps the same) stops the propagation and is removed later by onnxruntime's Relu/Q fusion.
 * - A MaxPool after a quantized value shares its input's parameters, so that it runs as uint8
 *   NhwcMaxPool between QLinearConv and the following layers, and the Transposes around Flatten
 *   cancel on uint8 (a pool with its own parameters ran in float with a DQ, two layout reorders and
 *   a Q around it: 250 µs instead of 20).
 */
import type { Ort } from '../runtime/onnxruntime.js';
import type { INodeProto } from './proto.js';
import { calibrate, type CalibrateOptions, type CalibrationData, type Range } from './quantize-calibrate.js';
import { DT, floatValues, makeTensor, tensorDims } from './tensor.js';
import { OnnxGraph, makeNode } from './graph.js';
import { attrFloat, intAttr } from './attributes.js';
import { ensureOpset, quantTargets, quantizeWeightsPerChannel, type QuantizeResult, type TargetOptions } from './quantize.js';

/** Operators that only move or select values: they run on uint8 between equal Q/DQ parameters. */
export const PASS_THROUGH_OPS = new Set(['MaxPool', 'Transpose', 'Flatten', 'Reshape', 'Squeeze', 'Unsqueeze', 'Identity']);
/**
 * Those through which a quantized input is pulled back to the tensor before them. MaxPool only
 * when its input is quantized anyway: onnxruntime pools uint8 only fast in NHWC, after an integer
 * convolution; before that a float pool and a QuantizeLinear on its (4x smaller) output are faster.
 */
const LAYOUT_OPS = new Set(['Transpose', 'Flatten', 'Reshape', 'Squeeze', 'Unsqueeze', 'Identity']);

/** Conv nodes with fewer input channels stay float in static quantization (see the file comment). */
export const STATIC_MIN_CONV_INPUT_CHANNELS = 4;

export interface StaticOptions extends TargetOptions, CalibrateOptions {
  ort: Ort;
  calibration: CalibrationData;
  reduceRange?: boolean;
}

export interface StaticResult extends QuantizeResult {
  /** The calibrated range of every activation that got its own quantization parameters. */
  ranges: Record<string, Range>;
}

/** uint8 scale and zero point for a range (always containing 0). */
export function uint8Params(r: Range): { scale: number; zeroPoint: number } {
  const lo = Math.min(0, r.min);
  let hi = Math.max(0, r.max);
  if (!(hi > lo)) hi = lo + 1e-6;
  const scale = (hi - lo) / 255;
  return { scale, zeroPoint: Math.max(0, Math.min(255, Math.round(-lo / scale))) };
}

/** MatMul(x, B) + Add(C) with constant B, C and a 2-D x becomes Gemm(x, B, C). */
function fuseMatMulAdd(g: OnnxGraph): void {
  const types = g.inferShapes();
  const removed = new Set<INodeProto>();
  for (const mm of g.nodes) {
    if (mm.opType !== 'MatMul' || (mm.domain ?? '') !== '') continue;
    const [x, b] = mm.input ?? [];
    const bt = g.initializers.get(b ?? '');
    if (!bt || tensorDims(bt).length !== 2 || types.get(x ?? '')?.shape?.length !== 2) continue;
    const y = mm.output![0]!;
    const users = g.consumers(y);
    const add = users[0];
    if (users.length !== 1 || add?.opType !== 'Add' || g.isGraphOutput(y)) continue;
    const c = add.input![0] === y ? add.input![1] : add.input![0];
    const ct = g.initializers.get(c ?? '');
    if (!ct || ct.dataType !== DT.FLOAT || tensorDims(ct).join(',') !== String(tensorDims(bt)[1])) continue;
    mm.opType = 'Gemm';
    mm.input = [x!, b!, c!];
    mm.output = [add.output![0]!];
    removed.add(add);
  }
  g.nodes = g.nodes.filter((n) => !removed.has(n));
}

/** Quantize `bytes` statically; the float model is run on the calibration data to find ranges. */
export async function quantizeStatic(bytes: Uint8Array, opts: StaticOptions): Promise<StaticResult> {
  const g = OnnxGraph.fromBytes(bytes);
  fuseMatMulAdd(g);
  const targets = quantTargets(g, { ...opts, minConvInputChannels: opts.minConvInputChannels ?? STATIC_MIN_CONV_INPUT_CHANNELS });
  const targetNodes = new Set(targets.map((t) => t.node));

  // Fold a Relu into the quantization of the node before it.
  const reluFolded = new Set<string>();
  const drop = new Set<INodeProto>();
  for (const t of targets) {
    const y = t.node.output![0]!;
    const users = g.consumers(y);
    if (users.length === 1 && users[0]!.opType === 'Relu' && !g.isGraphOutput(y)) {
      t.node.output = [users[0]!.output![0]!];
      drop.add(users[0]!);
      reluFolded.add(t.node.output[0]!);
    }
  }
  g.nodes = g.nodes.filter((n) => !drop.has(n));

  // Which activations get QDQ pairs: `source` maps an inheriting tensor to the one whose
  // parameters it shares; `calibrated` are those measured.
  const calibrated = new Set<string>();
  const source = new Map<string, string>();
  const isActivation = (t: string) => Boolean(t) && !g.initializers.has(t);
  const isQuantized = (t: string) => calibrated.has(t) || source.has(t);
  /** A MaxPool (one output) on a value that gets a QDQ pair anyway. */
  const isQuantizedPool = (p: INodeProto): boolean =>
    p.opType === 'MaxPool' && (p.domain ?? '') === '' && (p.output?.length ?? 0) === 1 && isQuantized(p.input?.[0] ?? '');
  const want = (t: string): void => {
    if (!isActivation(t) || isQuantized(t)) return;
    const p = g.producer(t);
    const pIn = p?.input?.[0];
    if (p && ((LAYOUT_OPS.has(p.opType ?? '') && (p.domain ?? '') === '') || isQuantizedPool(p)) && pIn && isActivation(pIn)) {
      want(pIn);
      source.set(t, pIn);
    } else calibrated.add(t);
  };
  const feedsQuantized = (t: string): boolean =>
    !g.isGraphOutput(t) &&
    g
      .consumers(t)
      .every((c) => targetNodes.has(c) || (PASS_THROUGH_OPS.has(c.opType ?? '') && feedsQuantized(c.output?.[0] ?? '')));
  // Outputs first: a pool on a quantized output then shares its parameters.
  for (const t of targets) {
    const y = t.node.output![0]!;
    if (t.node.opType === 'Conv' || reluFolded.has(y) || feedsQuantized(y)) calibrated.add(y);
  }
  for (const t of g.topologicalOrder()) if (targetNodes.has(t)) want(t.input![0]!);
  // Values that only pass through after a quantized tensor keep its parameters.
  for (const n of g.topologicalOrder()) {
    const i = n.input?.[0] ?? '';
    const o = n.output?.[0] ?? '';
    if (
      PASS_THROUGH_OPS.has(n.opType ?? '') &&
      (calibrated.has(i) || source.has(i)) &&
      !g.isGraphOutput(o) &&
      !calibrated.has(o)
    ) {
      source.set(o, i);
    }
  }

  const ranges = await calibrate(opts.ort, bytes, [...calibrated], opts.calibration, opts);
  for (const t of reluFolded) {
    const r = ranges.get(t);
    if (r) r.min = 0;
  }

  // Quantization parameter initializers, shared along `source` chains.
  const params = new Map<string, { scale: string; zp: string; value: { scale: number; zeroPoint: number } }>();
  const paramsOf = (t: string): { scale: string; zp: string; value: { scale: number; zeroPoint: number } } => {
    const known = params.get(t);
    if (known) return known;
    const src = source.get(t);
    if (src) {
      const p = paramsOf(src);
      params.set(t, p);
      return p;
    }
    const value = uint8Params(ranges.get(t)!);
    const p = {
      scale: g.addInitializer(makeTensor(g.uniqueName(`${t}_scale`), DT.FLOAT, [], [value.scale])),
      zp: g.addInitializer(makeTensor(g.uniqueName(`${t}_zero_point`), DT.UINT8, [], [value.zeroPoint])),
      value,
    };
    params.set(t, p);
    return p;
  };

  // Pools on a float value whose output is quantized (decided before the rewiring below).
  const floatPooled = new Set(
    [...calibrated].filter((t) => {
      const p = g.producer(t);
      return p?.opType === 'MaxPool' && (p.domain ?? '') === '' && !isQuantized(p.input?.[0] ?? '');
    }),
  );
  const xOf = new Map(targets.map((t) => [t.node, t.node.input![0]!]));
  const added: INodeProto[] = [];
  for (const t of [...calibrated, ...source.keys()]) {
    const p = paramsOf(t);
    const users = g.consumers(t);
    const q = g.uniqueName(`${t}_quantized`);
    const dq = g.uniqueName(`${t}_dequantized`);
    // A float MaxPool before the quantization: a Relu keeps onnxruntime from pooling on uint8.
    let qIn = t;
    if (floatPooled.has(t) && p.value.zeroPoint === 0) {
      qIn = g.uniqueName(`${t}_clamped`);
      added.push(makeNode(g, 'Relu', [t], [qIn], [], `${t}/Relu`));
    }
    added.push(makeNode(g, 'QuantizeLinear', [qIn, p.scale, p.zp], [q], [], `${t}/QuantizeLinear`));
    added.push(makeNode(g, 'DequantizeLinear', [q, p.scale, p.zp], [dq], [], `${t}/DequantizeLinear`));
    g.rewire(t, dq, users);
  }

  // Weights and biases.
  const quantized: string[] = [];
  for (const t of targets) {
    const { node } = t;
    const base = node.name || node.output![0]!;
    const w = floatValues(g.initializers.get(t.weight)!);
    const wq = quantizeWeightsPerChannel(w, t.dims, t.axis, opts.reduceRange);
    const c = t.dims[t.axis]!;
    const wName = g.addInitializer(makeTensor(g.uniqueName(`${t.weight}_quantized`), DT.INT8, t.dims, wq.q));
    const wScale = g.addInitializer(makeTensor(g.uniqueName(`${t.weight}_scale`), DT.FLOAT, [c], wq.scales));
    const wZp = g.addInitializer(makeTensor(g.uniqueName(`${t.weight}_zero_point`), DT.INT8, [c], new Int8Array(c)));
    const wDq = g.uniqueName(`${t.weight}_dequantized`);
    added.push(
      makeNode(g, 'DequantizeLinear', [wName, wScale, wZp], [wDq], [intAttr('axis', t.axis)], `${t.weight}/DequantizeLinear`),
    );
    node.input![1] = wDq;

    const bias = node.input?.[2];
    const bt = bias ? g.initializers.get(bias) : undefined;
    const xParams = params.get(xOf.get(node)!);
    const plainGemm = node.opType !== 'Gemm' || (attrFloat(node, 'alpha', 1) === 1 && attrFloat(node, 'beta', 1) === 1);
    if (bias && bt && bt.dataType === DT.FLOAT && tensorDims(bt).join(',') === String(c) && xParams && plainGemm) {
      const b = floatValues(bt);
      const bScales = Float32Array.from(wq.scales, (s) => s * xParams.value.scale);
      const bq = Int32Array.from(b, (v, i) => Math.round(v / bScales[i]!));
      const bName = g.addInitializer(makeTensor(g.uniqueName(`${bias}_quantized`), DT.INT32, [c], bq));
      const bScale = g.addInitializer(makeTensor(g.uniqueName(`${bias}_scale`), DT.FLOAT, [c], bScales));
      const bZp = g.addInitializer(makeTensor(g.uniqueName(`${bias}_zero_point`), DT.INT32, [c], new Int32Array(c)));
      const bDq = g.uniqueName(`${bias}_dequantized`);
      added.push(makeNode(g, 'DequantizeLinear', [bName, bScale, bZp], [bDq], [intAttr('axis', 0)], `${bias}/DequantizeLinear`));
      node.input![2] = bDq;
    }
    quantized.push(base);
  }
  g.nodes.push(...added);
  g.pruneUnusedInitializers();
  g.sort();
  ensureOpset(g, 13);
  return {
    bytes: g.toBytes(),
    quantized,
    ranges: Object.fromEntries([...calibrated].map((t) => [t, ranges.get(t)!])),
  };
}
