/** Reading and writing the attributes of ONNX nodes. */
import { onnx, toNumber, type IAttributeProto, type INodeProto } from './proto.js';

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
