/**
 * A small editable view of an ONNX model: nodes, initializers, value infos, producers and
 * consumers, topological order and shape inference for the operators cdl reads and writes.
 *
 * `OnnxGraph.fromBytes(b).toBytes()` gives back `b` unchanged: the graph keeps the decoded
 * protobuf objects and only replaces the lists it edits.
 */
import { CdlError } from '../util/errors.js';
import {
  onnx,
  toNumber,
  type IAttributeProto,
  type INodeProto,
  type ITensorProto,
  type IValueInfoProto,
  type ModelProto,
} from './proto.js';

/** The bytes are not a usable ONNX model (corrupted, truncated, unsupported opset). Exit code 1. */
export class OnnxModelError extends CdlError {}

export const DT = onnx.TensorProto.DataType;

/** Default-domain opsets that the graph editors (quantize, fp16, prune) accept. */
export const GRAPH_MIN_OPSET = 13;
export const GRAPH_MAX_OPSET = 21;

export type Dim = number | string | null;
export interface ValueType {
  elemType: number;
  shape: Dim[] | null;
}

export type TensorValues = Float32Array | Int32Array | Uint8Array | Int8Array | Float64Array | Uint16Array;

/** A name for messages: the file, or "ONNX model". */
function where(source?: string): string {
  return source ? `${source}: ` : '';
}

export function dataTypeName(t: number | null | undefined): string {
  return onnx.TensorProto.DataType[t ?? 0] ?? String(t);
}

// ---------------------------------------------------------------------------------------------
// float16 bits
// ---------------------------------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half-precision bits of `v`, rounded to nearest even; overflow gives ±Infinity. */
export function toHalfBits(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

// ---------------------------------------------------------------------------------------------
// tensors
// ---------------------------------------------------------------------------------------------

export function tensorDims(t: ITensorProto): number[] {
  return (t.dims ?? []).map(toNumber);
}

export function tensorSize(t: ITensorProto): number {
  return tensorDims(t).reduce((a, b) => a * b, 1);
}

function aligned(raw: Uint8Array): ArrayBuffer {
  return raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;
}

/** The values of an initializer. INT64 values come back as float64 numbers. */
export function tensorValues(t: ITensorProto): TensorValues {
  const type = t.dataType ?? 0;
  const raw = t.rawData && t.rawData.length ? t.rawData : undefined;
  const n = tensorSize(t);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new OnnxModelError(
      `initializer "${t.name}" keeps its data in an external file; expected the weights inside model.onnx`,
    );
  }
  const check = <T extends TensorValues>(v: T): T => {
    if (v.length !== n) {
      throw new OnnxModelError(
        `initializer "${t.name}" holds ${v.length} values but its dims [${tensorDims(t).join(', ')}] need ${n}; the file is corrupted`,
      );
    }
    return v;
  };
  switch (type) {
    case DT.FLOAT:
      return check(raw ? new Float32Array(aligned(raw)) : Float32Array.from(t.floatData ?? []));
    case DT.DOUBLE:
      return check(raw ? new Float64Array(aligned(raw)) : Float64Array.from(t.doubleData ?? []));
    case DT.FLOAT16:
      return check(raw ? new Uint16Array(aligned(raw)) : Uint16Array.from(t.int32Data ?? []));
    case DT.INT8:
      return check(raw ? new Int8Array(aligned(raw)) : Int8Array.from(t.int32Data ?? []));
    case DT.UINT8:
    case DT.BOOL:
      return check(raw ? new Uint8Array(aligned(raw)) : Uint8Array.from(t.int32Data ?? []));
    case DT.INT32:
      return check(raw ? new Int32Array(aligned(raw)) : Int32Array.from(t.int32Data ?? []));
    case DT.INT64: {
      if (raw) {
        const view = new DataView(aligned(raw));
        const out = new Float64Array(raw.length / 8);
        for (let i = 0; i < out.length; i++) out[i] = Number(view.getBigInt64(i * 8, true));
        return check(out);
      }
      return check(Float64Array.from((t.int64Data ?? []).map(toNumber)));
    }
    default:
      throw new OnnxModelError(`initializer "${t.name}" has element type ${dataTypeName(type)}, which cdl does not read`);
  }
}

/** An initializer's values as float32 (FLOAT, DOUBLE and FLOAT16 tensors). */
export function floatValues(t: ITensorProto): Float32Array {
  const v = tensorValues(t);
  if (t.dataType === DT.FLOAT) return v as Float32Array;
  if (t.dataType === DT.FLOAT16) return Float32Array.from(v as Uint16Array, fromHalfBits);
  if (t.dataType === DT.DOUBLE) return Float32Array.from(v);
  throw new OnnxModelError(`initializer "${t.name}" is ${dataTypeName(t.dataType)}; expected a floating-point tensor`);
}

function bytesOf(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
}

/** A tensor with raw little-endian data (the platforms Node runs on are little-endian). */
export function makeTensor(name: string, dataType: number, dims: number[], values: TensorValues | number[]): ITensorProto {
  let raw: Uint8Array;
  switch (dataType) {
    case DT.FLOAT:
      raw = bytesOf(Float32Array.from(values));
      break;
    case DT.FLOAT16:
      raw = bytesOf(values instanceof Uint16Array ? values : Uint16Array.from(values, toHalfBits));
      break;
    case DT.INT8:
      raw = bytesOf(Int8Array.from(values));
      break;
    case DT.UINT8:
      raw = bytesOf(Uint8Array.from(values));
      break;
    case DT.INT32:
      raw = bytesOf(Int32Array.from(values));
      break;
    case DT.INT64:
      raw = bytesOf(BigInt64Array.from(Array.from(values, (x) => BigInt(Math.round(x)))));
      break;
    default:
      throw new OnnxModelError(`cannot write tensors of type ${dataTypeName(dataType)}`);
  }
  return { name, dataType, dims, rawData: raw };
}

// ---------------------------------------------------------------------------------------------
// attributes
// ---------------------------------------------------------------------------------------------

const AT = onnx.AttributeProto.AttributeType;

export function attr(node: INodeProto, name: string): IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}
export function attrInt(node: INodeProto, name: string, dflt: number): number {
  const a = attr(node, name);
  return a ? toNumber(a.i) : dflt;
}
export function attrInts(node: INodeProto, name: string): number[] | undefined {
  const a = attr(node, name);
  return a ? (a.ints ?? []).map(toNumber) : undefined;
}
export function attrFloat(node: INodeProto, name: string, dflt: number): number {
  const a = attr(node, name);
  return a ? (a.f ?? dflt) : dflt;
}
export function intAttr(name: string, i: number): IAttributeProto {
  return { name, type: AT.INT, i };
}
export function intsAttr(name: string, ints: number[]): IAttributeProto {
  return { name, type: AT.INTS, ints };
}
export function floatAttr(name: string, f: number): IAttributeProto {
  return { name, type: AT.FLOAT, f };
}

// ---------------------------------------------------------------------------------------------
// the graph
// ---------------------------------------------------------------------------------------------

export interface FromBytesOptions {
  /** The file, for messages. */
  source?: string;
  /** Check the default-domain opset against GRAPH_MIN_OPSET..GRAPH_MAX_OPSET (default true). */
  checkOpset?: boolean;
}

export class OnnxGraph {
  readonly model: ModelProto;
  nodes: INodeProto[];
  /** Initializers by name, in file order. */
  readonly initializers: Map<string, ITensorProto>;
  inputs: IValueInfoProto[];
  outputs: IValueInfoProto[];
  /** value_info entries (intermediate types and shapes), by name, in file order. */
  readonly valueInfo: Map<string, IValueInfoProto>;
  private readonly names = new Set<string>();

  constructor(model: ModelProto) {
    const g = model.graph;
    if (!g) throw new OnnxModelError('not an ONNX model: no graph');
    this.model = model;
    this.nodes = [...(g.node ?? [])];
    this.initializers = new Map((g.initializer ?? []).map((t) => [t.name ?? '', t]));
    this.inputs = [...(g.input ?? [])];
    this.outputs = [...(g.output ?? [])];
    this.valueInfo = new Map((g.valueInfo ?? []).map((v) => [v.name ?? '', v]));
    for (const n of this.nodes) {
      for (const s of [...(n.input ?? []), ...(n.output ?? [])]) this.names.add(s);
      if (n.name) this.names.add(n.name);
    }
    for (const k of this.initializers.keys()) this.names.add(k);
    for (const v of [...this.inputs, ...this.outputs]) this.names.add(v.name ?? '');
  }

  /** Decode and check an ONNX model; every failure is an OnnxModelError that says what is wrong. */
  static fromBytes(bytes: Uint8Array, opts: FromBytesOptions = {}): OnnxGraph {
    const at = where(opts.source);
    if (bytes.length === 0) throw new OnnxModelError(`${at}the file is empty; expected an ONNX model`);
    let model: ModelProto;
    try {
      model = onnx.ModelProto.decode(bytes);
    } catch (e) {
      throw new OnnxModelError(
        `${at}not a valid ONNX model (${(e as Error).message}); the file is corrupted or truncated (${bytes.length} bytes)`,
        { cause: e },
      );
    }
    if (!model.graph || !(model.opsetImport ?? []).length) {
      throw new OnnxModelError(
        `${at}not a valid ONNX model: ${model.graph ? 'no opset_import' : 'no graph'}; the file is corrupted, truncated or not ONNX`,
      );
    }
    for (const n of model.graph.node ?? []) {
      if (!n.opType) throw new OnnxModelError(`${at}not a valid ONNX model: a node has no op_type; the file is corrupted`);
    }
    const graph = new OnnxGraph(model);
    if (opts.checkOpset !== false) {
      const v = graph.opset();
      if (!(v >= GRAPH_MIN_OPSET && v <= GRAPH_MAX_OPSET)) {
        throw new OnnxModelError(
          `${at}opset ${v || 'none'} of the default ONNX domain is not supported; expected ${GRAPH_MIN_OPSET} to ${GRAPH_MAX_OPSET} ` +
            `(convert the model, e.g. with onnx.version_converter)`,
        );
      }
    }
    return graph;
  }

  /** The default domain's opset version (0 when none is imported). */
  opset(domain = ''): number {
    const e = (this.model.opsetImport ?? []).find(
      (o) => (o.domain ?? '') === domain || (domain === '' && o.domain === 'ai.onnx'),
    );
    return e ? toNumber(e.version) : 0;
  }

  /** Writes the edited lists back into the model and encodes it. */
  toBytes(): Uint8Array {
    const g = this.model.graph!;
    g.node = this.nodes;
    g.initializer = [...this.initializers.values()];
    g.input = this.inputs;
    g.output = this.outputs;
    g.valueInfo = [...this.valueInfo.values()];
    return onnx.ModelProto.encode(this.model).finish();
  }

  /** A deep copy (decoded again from bytes). */
  clone(): OnnxGraph {
    return new OnnxGraph(onnx.ModelProto.decode(this.toBytes()));
  }

  /** A name not used anywhere in the graph yet, reserved from now on. */
  uniqueName(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  producer(value: string): INodeProto | undefined {
    return this.nodes.find((n) => (n.output ?? []).includes(value));
  }

  consumers(value: string): INodeProto[] {
    return this.nodes.filter((n) => (n.input ?? []).includes(value));
  }

  isGraphOutput(value: string): boolean {
    return this.outputs.some((o) => o.name === value);
  }

  /** Inputs that are not initializers (the values a caller feeds). */
  realInputs(): IValueInfoProto[] {
    return this.inputs.filter((v) => !this.initializers.has(v.name ?? ''));
  }

  addInitializer(t: ITensorProto): string {
    const name = t.name ?? '';
    this.names.add(name);
    this.initializers.set(name, t);
    return name;
  }

  /** Remove initializers no node reads and that are not graph inputs or outputs. */
  pruneUnusedInitializers(): number {
    const used = new Set<string>();
    for (const n of this.nodes) for (const i of n.input ?? []) used.add(i);
    for (const o of this.outputs) used.add(o.name ?? '');
    let removed = 0;
    for (const k of [...this.initializers.keys()]) {
      if (!used.has(k)) {
        this.initializers.delete(k);
        this.inputs = this.inputs.filter((v) => v.name !== k);
        removed++;
      }
    }
    return removed;
  }

  /** Replace every read of `from` by `to` in the nodes listed (default all nodes). */
  rewire(from: string, to: string, nodes: INodeProto[] = this.nodes): void {
    for (const n of nodes) n.input = (n.input ?? []).map((i) => (i === from ? to : i));
  }

  /**
   * The nodes in an order where every node comes after the producers of its inputs (stable:
   * a sorted graph keeps its order). Throws when the graph has a cycle or reads an unknown value.
   */
  topologicalOrder(): INodeProto[] {
    const available = new Set<string>(['', ...this.initializers.keys(), ...this.inputs.map((v) => v.name ?? '')]);
    const pending = [...this.nodes];
    const out: INodeProto[] = [];
    while (pending.length) {
      const before = pending.length;
      for (let i = 0; i < pending.length;) {
        const n = pending[i]!;
        if ((n.input ?? []).every((x) => available.has(x))) {
          out.push(n);
          for (const o of n.output ?? []) available.add(o);
          pending.splice(i, 1);
        } else i++;
      }
      if (pending.length === before) {
        const n = pending[0]!;
        const missing = (n.input ?? []).filter((x) => !available.has(x));
        throw new OnnxModelError(
          `graph cannot be ordered: node "${n.name || n.opType}" reads ${missing.map((m) => `"${m}"`).join(', ')}, which no node produces (or a cycle)`,
        );
      }
    }
    return out;
  }

  sort(): void {
    this.nodes = this.topologicalOrder();
  }

  /** The declared type of a value (graph input/output, value_info or initializer), if any. */
  declaredType(value: string): ValueType | undefined {
    const t = this.initializers.get(value);
    if (t) return { elemType: t.dataType ?? 0, shape: tensorDims(t) };
    const v =
      this.inputs.find((x) => x.name === value) ?? this.outputs.find((x) => x.name === value) ?? this.valueInfo.get(value);
    const tt = v?.type?.tensorType;
    if (!tt) return undefined;
    return {
      elemType: tt.elemType ?? 0,
      shape: tt.shape
        ? (tt.shape.dim ?? []).map((d) =>
            d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null ? toNumber(d.dimValue) : null,
          )
        : null,
    };
  }

  /** Types and shapes of every value, propagated through the operators cdl handles. */
  inferShapes(): Map<string, ValueType> {
    const types = new Map<string, ValueType>();
    for (const v of [...this.inputs, ...this.valueInfo.values()]) {
      const t = this.declaredType(v.name ?? '');
      if (t) types.set(v.name ?? '', t);
    }
    for (const [k, t] of this.initializers) types.set(k, { elemType: t.dataType ?? 0, shape: tensorDims(t) });
    for (const n of this.topologicalOrder()) {
      const ins = (n.input ?? []).map((i) => (i ? types.get(i) : undefined));
      const outs = inferNode(n, ins, this);
      (n.output ?? []).forEach((o, i) => {
        const t = outs[i];
        if (o && t && !types.has(o)) types.set(o, t);
      });
    }
    for (const o of this.outputs) {
      const t = this.declaredType(o.name ?? '');
      if (t && !types.has(o.name ?? '')) types.set(o.name ?? '', t);
    }
    return types;
  }
}

export function valueInfo(name: string, t: ValueType): IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: t.elemType,
        ...(t.shape
          ? { shape: { dim: t.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : d ? { dimParam: d } : {})) } }
          : {}),
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// shape inference
// ---------------------------------------------------------------------------------------------

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

function constInts(g: OnnxGraph, name: string | undefined): number[] | undefined {
  const t = name ? g.initializers.get(name) : undefined;
  return t ? Array.from(tensorValues(t)) : undefined;
}

/** Output types of one node from its input types; `undefined` where unknown. */
export function inferNode(n: INodeProto, ins: Array<ValueType | undefined>, g: OnnxGraph): Array<ValueType | undefined> {
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

/** A node with a unique name in `g`. */
export function makeNode(
  g: OnnxGraph,
  opType: string,
  input: string[],
  output: string[],
  attribute: IAttributeProto[] = [],
  base?: string,
  domain = '',
): INodeProto {
  return { opType, input, output, attribute, name: g.uniqueName(base ?? `${output[0] ?? opType}/${opType}`), domain };
}
