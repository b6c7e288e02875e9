/**
 * Shape inference for the operators cdl reads and writes: output types of one node from the
 * types of its inputs.
 */
import { attr, attrInt, attrInts } from './attributes.js';
import type { INodeProto, ITensorProto } from './proto.js';
import { DT, tensorValues } from './tensor.js';

export type Dim = number | string | null;
export interface ValueType {
  elemType: number;
  shape: Dim[] | null;
}

/** Where constant inputs (shapes, axes) are read from: the graph's initializers. */
interface Initializers {
  readonly initializers: ReadonlyMap<string, ITensorProto>;
}

const UNARY = new Set([
  'Relu',
  'Sigmoid',
  'Tanh',
  'Elu',
  'Selu',
  'Softplus',
  'Softsign',
  'HardSigmoid',
  'LeakyRelu',
  'Clip',
  'Identity',
  'Dropout',
  'Softmax',
  'LogSoftmax',
  'BatchNormalization',
  'Neg',
  'Abs',
  'Exp',
  'Log',
  'Sqrt',
  'Erf',
  'Gelu',
  'HardSwish',
]);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'PRelu']);

function broadcast(a: Dim[], b: Dim[]): Dim[] {
  const r = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    const ia = a.length - r + i;
    const ib = b.length - r + i;
    const x = ia >= 0 ? a[ia]! : 1;
    const y = ib >= 0 ? b[ib]! : 1;
    out.push(x === 1 ? y : y === 1 ? x : typeof x === 'number' ? x : y);
  }
  return out;
}

function spatialOut(inSize: Dim, k: number, s: number, d: number, p0: number, p1: number, ceil = false): Dim {
  if (typeof inSize !== 'number') return null;
  const eff = (k - 1) * d + 1;
  const v = (inSize + p0 + p1 - eff) / s;
  return (ceil ? Math.ceil(v) : Math.floor(v)) + 1;
}

function convLikeShape(n: INodeProto, x: Dim[], outChannels: Dim, kernel: number[] | undefined): Dim[] | null {
  const r = x.length - 2;
  if (r < 1) return null;
  const k = attrInts(n, 'kernel_shape') ?? kernel;
  if (!k) return null;
  const strides = attrInts(n, 'strides') ?? new Array<number>(r).fill(1);
  const dil = attrInts(n, 'dilations') ?? new Array<number>(r).fill(1);
  const pads = attrInts(n, 'pads') ?? new Array<number>(2 * r).fill(0);
  const autoPad = attr(n, 'auto_pad')?.s ? new TextDecoder().decode(attr(n, 'auto_pad')!.s!) : 'NOTSET';
  const ceil = attrInt(n, 'ceil_mode', 0) === 1;
  const out: Dim[] = [x[0] ?? null, outChannels];
  for (let i = 0; i < r; i++) {
    const size = x[i + 2] ?? null;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER')
      out.push(typeof size === 'number' ? Math.ceil(size / strides[i]!) : null);
    else if (autoPad === 'VALID') out.push(spatialOut(size, k[i]!, strides[i]!, dil[i]!, 0, 0, ceil));
    else out.push(spatialOut(size, k[i]!, strides[i]!, dil[i]!, pads[i]!, pads[i + r]!, ceil));
  }
  return out;
}

function constInts(g: Initializers, name: string | undefined): number[] | undefined {
  const t = name ? g.initializers.get(name) : undefined;
  return t ? Array.from(tensorValues(t)) : undefined;
}

/** Output types of one node from its input types; `undefined` where unknown. */
export function inferNode(n: INodeProto, ins: Array<ValueType | undefined>, g: Initializers): Array<ValueType | undefined> {
  const a = ins[0];
  const sa = a?.shape ?? null;
  const op = n.opType ?? '';
  const same = (shape: Dim[] | null, elemType = a?.elemType ?? 0): ValueType[] => [{ elemType, shape }];
  if (UNARY.has(op)) return same(sa);
  if (BINARY.has(op)) {
    const b = ins[1];
    return same(sa && b?.shape ? broadcast(sa, b.shape) : null);
  }
  switch (op) {
    case 'Cast':
      return same(sa, attrInt(n, 'to', 0));
    case 'Conv':
    case 'ConvInteger': {
      const w = ins[1]?.shape;
      const shape =
        sa && w
          ? convLikeShape(
              n,
              sa,
              w[0] ?? null,
              w.slice(2).map((d) => Number(d)),
            )
          : null;
      return same(shape, op === 'ConvInteger' ? DT.INT32 : a?.elemType);
    }
    case 'MaxPool':
    case 'AveragePool':
    case 'LpPool':
      return same(sa ? convLikeShape(n, sa, sa[1] ?? null, undefined) : null);
    case 'GlobalAveragePool':
    case 'GlobalMaxPool':
      return same(sa ? [...sa.slice(0, 2), ...sa.slice(2).map(() => 1)] : null);
    case 'Flatten': {
      if (!sa) return same(null);
      let axis = attrInt(n, 'axis', 1);
      if (axis < 0) axis += sa.length;
      const prod = (ds: Dim[]): Dim =>
        ds.reduce<Dim>((p, d) => (typeof p === 'number' && typeof d === 'number' ? p * d : null), 1);
      return same([prod(sa.slice(0, axis)), prod(sa.slice(axis))]);
    }
    case 'Transpose': {
      if (!sa) return same(null);
      const perm = attrInts(n, 'perm') ?? sa.map((_, i) => sa.length - 1 - i);
      return same(perm.map((p) => sa[p] ?? null));
    }
    case 'Reshape': {
      const target = constInts(g, n.input?.[1]);
      if (!target) return same(null);
      const shape: Dim[] = target.map((d, i) => (d === 0 ? (sa?.[i] ?? null) : d === -1 ? null : d));
      const known = sa?.every((d) => typeof d === 'number');
      if (known && target.includes(-1)) {
        const total = (sa as number[]).reduce((p, d) => p * d, 1);
        const rest = shape.reduce<number>((p, d) => (typeof d === 'number' ? p * d : p), 1);
        shape[target.indexOf(-1)] = total / rest;
      }
      return same(shape);
    }
    case 'MatMul':
    case 'MatMulInteger': {
      const sb = ins[1]?.shape;
      const elem = op === 'MatMulInteger' ? DT.INT32 : a?.elemType;
      if (!sa || !sb || sa.length < 1 || sb.length < 1) return same(null, elem);
      const batch = broadcast(sa.slice(0, -2), sb.slice(0, -2));
      const rows = sa.length >= 2 ? [sa[sa.length - 2] ?? null] : [];
      const cols = sb.length >= 2 ? [sb[sb.length - 1] ?? null] : [];
      return same([...batch, ...rows, ...cols], elem);
    }
    case 'Gemm': {
      const sb = ins[1]?.shape;
      if (!sa || !sb) return same(null);
      const m = attrInt(n, 'transA', 0) ? sa[1] : sa[0];
      const k = attrInt(n, 'transB', 0) ? sb[0] : sb[1];
      return same([m ?? null, k ?? null]);
    }
    case 'QuantizeLinear':
      return same(sa, ins[2]?.elemType ?? DT.UINT8);
    case 'DequantizeLinear':
      return same(sa, ins[1]?.elemType ?? DT.FLOAT);
    case 'DynamicQuantizeLinear':
      return [
        { elemType: DT.UINT8, shape: sa },
        { elemType: DT.FLOAT, shape: [] },
        { elemType: DT.UINT8, shape: [] },
      ];
    default:
      return [];
  }
}
