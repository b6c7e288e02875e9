/**
 * float16 conversion: every float32 initializer, value and Cast target becomes float16, so that
 * weights take half the space and compute runs in half precision where the runtime has float16
 * kernels (onnxruntime inserts casts around the CPU kernels that lack them). With `keepIo`, the
 * model keeps float32 inputs and outputs behind Cast nodes, so callers feed it as before.
 */
import { CdlError } from '../util/errors.js';
import { DT, floatValues, makeTensor, tensorDims } from './tensor.js';
import { OnnxGraph, makeNode } from './graph.js';
import { intAttr } from './attributes.js';
import type { IValueInfoProto } from './proto.js';

export interface Fp16Options {
  /** Keep float32 graph inputs and outputs (default true). */
  keepIo?: boolean;
  /** Operator types left in float32 (their inputs and outputs are cast). */
  keepOps?: readonly string[];
}

function setElem(v: IValueInfoProto, elemType: number): void {
  const tt = v.type?.tensorType;
  if (tt && tt.elemType === DT.FLOAT) tt.elemType = elemType;
}

export function convertFp16(bytes: Uint8Array, opts: Fp16Options = {}): { bytes: Uint8Array; converted: number } {
  const g = OnnxGraph.fromBytes(bytes);
  const keepIo = opts.keepIo ?? true;
  if (opts.keepOps?.length) throw new CdlError('fp16: keeping operators in float32 is not supported yet');
  let converted = 0;
  for (const [name, t] of g.initializers) {
    if (t.dataType !== DT.FLOAT) continue;
    g.initializers.set(name, makeTensor(name, DT.FLOAT16, tensorDims(t), floatValues(t)));
    converted++;
  }
  for (const n of g.nodes) {
    if (n.opType === 'Cast') for (const a of n.attribute ?? []) if (a.name === 'to' && Number(a.i) === DT.FLOAT) a.i = DT.FLOAT16;
    if (n.opType === 'Constant') {
      for (const a of n.attribute ?? []) {
        if (a.t && a.t.dataType === DT.FLOAT) a.t = makeTensor(a.t.name ?? '', DT.FLOAT16, tensorDims(a.t), floatValues(a.t));
      }
    }
  }
  for (const v of g.valueInfo.values()) setElem(v, DT.FLOAT16);
  const added = [];
  for (const v of g.realInputs()) {
    if (v.type?.tensorType?.elemType !== DT.FLOAT) continue;
    if (!keepIo) {
      setElem(v, DT.FLOAT16);
      continue;
    }
    const name = v.name ?? '';
    const half = g.uniqueName(`${name}_fp16`);
    g.rewire(name, half);
    added.push(makeNode(g, 'Cast', [name], [half], [intAttr('to', DT.FLOAT16)], `${name}/Cast_fp16`));
  }
  for (const v of g.outputs) {
    if (v.type?.tensorType?.elemType !== DT.FLOAT) continue;
    if (!keepIo) {
      setElem(v, DT.FLOAT16);
      continue;
    }
    const name = v.name ?? '';
    const half = g.uniqueName(`${name}_fp16`);
    for (const n of g.nodes) n.output = (n.output ?? []).map((o) => (o === name ? half : o));
    g.rewire(name, half);
    added.push(makeNode(g, 'Cast', [half], [name], [intAttr('to', DT.FLOAT)], `${name}/Cast_fp32`));
  }
  g.nodes.push(...added);
  g.sort();
  return { bytes: g.toBytes(), converted };
}
