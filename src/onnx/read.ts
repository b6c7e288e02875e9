/** Reading ONNX models back, for inspection, tests and the model card. */
import { CdlError } from '../util/errors.js';
import { onnx, toNumber, type ModelProto, type IValueInfoProto } from './proto.js';

/** Decodes an ONNX model. Throws CdlError when the bytes are not an ONNX ModelProto. */
export function readOnnxModel(bytes: Uint8Array): ModelProto {
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new CdlError(`not an ONNX model: ${(e as Error).message}`, { cause: e });
  }
  if (!model.graph) throw new CdlError('not an ONNX model: no graph');
  return model;
}

export interface OnnxValueSummary {
  name: string;
  /** Element type name (onnx TensorProto.DataType), e.g. FLOAT. */
  type: string;
  /** Sizes, or the symbolic name of a dimension (e.g. 'N'). */
  shape: Array<number | string>;
}

export interface OnnxSummary {
  irVersion: number;
  /** Opset of the default domain. */
  opset: number;
  producer: string;
  inputs: OnnxValueSummary[];
  outputs: OnnxValueSummary[];
  /** Number of nodes of each operator type. */
  ops: Record<string, number>;
  nodes: number;
  /** Number of scalars held by the initializers. */
  parameters: number;
  metadata: Record<string, string>;
}

function valueSummary(v: IValueInfoProto): OnnxValueSummary {
  const t = v.type?.tensorType;
  const typeName = onnx.TensorProto.DataType[t?.elemType ?? 0] ?? String(t?.elemType);
  return {
    name: v.name ?? '',
    type: typeName,
    shape: (t?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : toNumber(d.dimValue))),
  };
}

export function summarizeOnnx(bytes: Uint8Array | ModelProto): OnnxSummary {
  const m = bytes instanceof Uint8Array ? readOnnxModel(bytes) : bytes;
  const g = m.graph!;
  const ops: Record<string, number> = {};
  for (const n of g.node ?? []) ops[n.opType ?? '?'] = (ops[n.opType ?? '?'] ?? 0) + 1;
  const initNames = new Set((g.initializer ?? []).map((t) => t.name));
  let parameters = 0;
  for (const t of g.initializer ?? []) parameters += (t.dims ?? []).reduce<number>((a, d) => a * toNumber(d), 1);
  const metadata: Record<string, string> = {};
  for (const p of m.metadataProps ?? []) metadata[p.key ?? ''] = p.value ?? '';
  const opsetEntry = (m.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return {
    irVersion: toNumber(m.irVersion),
    opset: toNumber(opsetEntry?.version),
    producer: [m.producerName, m.producerVersion].filter(Boolean).join(' '),
    inputs: (g.input ?? []).filter((v) => !initNames.has(v.name)).map(valueSummary),
    outputs: (g.output ?? []).map(valueSummary),
    ops,
    nodes: (g.node ?? []).length,
    parameters,
    metadata,
  };
}

/** A few lines for logs and the model card. */
export function formatOnnxSummary(s: OnnxSummary): string {
  const vals = (vs: OnnxValueSummary[]) => vs.map((v) => `${v.name} ${v.type}[${v.shape.join(', ')}]`).join('; ');
  const ops = Object.entries(s.ops)
    .map(([k, n]) => `${k}×${n}`)
    .join(', ');
  return [
    `ONNX opset ${s.opset} (IR ${s.irVersion}), ${s.nodes} nodes, ${s.parameters.toLocaleString('en-US')} parameters`,
    `inputs: ${vals(s.inputs)}`,
    `outputs: ${vals(s.outputs)}`,
    `ops: ${ops}`,
  ].join('\n');
}
