/** The ONNX nodes and float32 initializers of an exported graph, with unique names. */
import { FLOAT, type IAttributeProto, type INodeProto, type ITensorProto } from './proto.js';

function floatBytes(data: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return out;
}

export class GraphBuilder {
  readonly nodes: INodeProto[] = [];
  readonly initializers: ITensorProto[] = [];
  private readonly used = new Set<string>();
  private readonly constants = new Map<string, string>();

  constructor(reserved: string[]) {
    for (const r of reserved) this.used.add(r);
  }

  unique(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  tensor(base: string, dims: number[], data: ArrayLike<number>): string {
    const name = this.unique(base);
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: floatBytes(data) });
    return name;
  }

  /** A float scalar shared by every node that needs the same value. */
  scalar(value: number): string {
    const key = String(value);
    let name = this.constants.get(key);
    if (name === undefined) {
      name = this.tensor(`const_${key.replace(/[^0-9a-z]/gi, '_')}`, [], [value]);
      this.constants.set(key, name);
    }
    return name;
  }

  node(op: string, inputs: string[], attribute: IAttributeProto[], base: string): string {
    const output = this.unique(`${base}/${op}`);
    this.nodes.push({ opType: op, name: output, input: inputs, output: [output], attribute, domain: '' });
    return output;
  }
}
