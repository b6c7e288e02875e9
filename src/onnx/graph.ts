/**
 * A small editable view of an ONNX model: nodes, initializers, value infos, producers and
 * consumers, topological order, and the types and shapes of its values (src/onnx/shape-inference.ts).
 *
 * `OnnxGraph.fromBytes(b).toBytes()` gives back `b` unchanged: the graph keeps the decoded
 * protobuf objects and only replaces the lists it edits.
 */
import {
  onnx,
  toNumber,
  type IAttributeProto,
  type INodeProto,
  type ITensorProto,
  type IValueInfoProto,
  type ModelProto,
} from './proto.js';
import { inferNode, type ValueType } from './shape-inference.js';
import { OnnxModelError, tensorDims } from './tensor.js';

/** Default-domain opsets that the graph editors (quantize, fp16, prune) accept. */
export const GRAPH_MIN_OPSET = 13;
export const GRAPH_MAX_OPSET = 21;

/** A name for messages: the file, or "ONNX model". */
function where(source?: string): string {
  return source ? `${source}: ` : '';
}

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
