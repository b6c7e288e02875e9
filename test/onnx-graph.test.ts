import { describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import { z } from 'zod';
import { layerSpec } from '../src/config/schema/model.js';
import { exportOnnx } from '../src/onnx/export.js';
import { DT, OnnxModelError, fromHalfBits, makeTensor, tensorValues, toHalfBits } from '../src/onnx/tensor.js';
import { OnnxGraph, valueInfo } from '../src/onnx/graph.js';
import { onnx } from '../src/onnx/proto.js';
import { buildModel } from '../src/train/model-layers.js';
import { bundledTf } from '../src/train/tf.js';

const tf = bundledTf();

function cnnBytes(opset = 13): Uint8Array {
  const layers = z
    .array(layerSpec)
    .parse([
      { type: 'conv2d', filters: 4, kernel_size: 3, activation: 'relu' },
      { type: 'maxpool', pool_size: 2 },
      { type: 'flatten' },
      { type: 'dense', units: 8, activation: 'relu' },
      { type: 'dense', units: 3, activation: 'softmax' },
    ]);
  const model = buildModel(tf, { input_shape: [10, 10, 1], layers }, { seed: 1 });
  const bytes = exportOnnx(model, { opset, metadata: { k: 'v' } });
  model.dispose();
  return bytes;
}

describe('OnnxGraph', () => {
  it('round-trips a model byte for byte, also after a topological sort of a sorted graph', async () => {
    await tf.setBackend('cpu');
    const bytes = cnnBytes();
    const g = OnnxGraph.fromBytes(bytes);
    expect(Buffer.from(g.toBytes()).equals(Buffer.from(bytes))).toBe(true);
    g.sort();
    expect(Buffer.from(g.toBytes()).equals(Buffer.from(bytes))).toBe(true);
    expect(Buffer.from(g.clone().toBytes()).equals(Buffer.from(bytes))).toBe(true);
    // value_info and metadata survive too.
    g.valueInfo.set('x', valueInfo('x', { elemType: DT.FLOAT, shape: ['N', 3] }));
    const withInfo = g.toBytes();
    expect(Buffer.from(OnnxGraph.fromBytes(withInfo).toBytes()).equals(Buffer.from(withInfo))).toBe(true);
    expect(OnnxGraph.fromBytes(withInfo).model.metadataProps?.[0]?.key).toBe('k');
  });

  it('orders shuffled nodes, names values uniquely and finds producers and consumers', () => {
    const g = OnnxGraph.fromBytes(cnnBytes());
    const names = g.nodes.map((n) => n.name);
    g.nodes.reverse();
    g.sort();
    expect(g.nodes.map((n) => n.name)).toEqual(names);
    const conv = g.nodes.find((n) => n.opType === 'Conv')!;
    expect(g.producer(conv.output![0]!)).toBe(conv);
    expect(g.consumers(conv.output![0]!).map((n) => n.opType)).toEqual(['Relu']);
    expect(g.uniqueName('input')).toBe('input_1');
    g.nodes[0]!.input = ['nowhere'];
    expect(() => g.topologicalOrder()).toThrow(/reads "nowhere", which no node produces/);
  });

  it('infers shapes through the operators of an exported CNN', () => {
    const g = OnnxGraph.fromBytes(cnnBytes());
    const shapes = g.inferShapes();
    const byOp = (op: string) => shapes.get(g.nodes.find((n) => n.opType === op)!.output![0]!)!.shape;
    expect(byOp('Transpose')).toEqual(['N', 1, 10, 10]);
    expect(byOp('Conv')).toEqual(['N', 4, 8, 8]);
    expect(byOp('MaxPool')).toEqual(['N', 4, 4, 4]);
    expect(byOp('Flatten')).toEqual([null, 64]);
    expect(byOp('MatMul')).toEqual([null, 8]);
    expect(shapes.get('output')!.shape).toEqual([null, 3]);
  });

  it('reads and writes tensors of each type; float16 rounds to nearest even', () => {
    for (const [type, values] of [
      [DT.FLOAT, [1.5, -2, 3e-8]],
      [DT.INT8, [-128, 0, 127]],
      [DT.UINT8, [0, 200, 255]],
      [DT.INT32, [-5, 1 << 30, 7]],
      [DT.INT64, [-1, 2 ** 40, 3]],
    ] as const) {
      expect(Array.from(tensorValues(makeTensor('t', type, [3], [...values])))).toEqual(
        Array.from(type === DT.FLOAT ? Float32Array.from(values) : values),
      );
    }
    for (const v of [0, 1, -2.5, 65504, 6.1e-5, 5.96e-8, 0.1, 1 / 3]) {
      expect(Math.abs(fromHalfBits(toHalfBits(v)) - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -25);
    }
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00); // a tie rounds to even
    expect(fromHalfBits(toHalfBits(1e6))).toBe(Infinity);
    expect(Number.isNaN(fromHalfBits(toHalfBits(NaN)))).toBe(true);
  });

  it('gives clear errors for empty, corrupted and truncated files and unsupported opsets', () => {
    const bytes = cnnBytes();
    expect(() => OnnxGraph.fromBytes(new Uint8Array(0), { source: 'm.onnx' })).toThrow(/m\.onnx: the file is empty/);
    expect(() => OnnxGraph.fromBytes(bytes.subarray(0, bytes.length - 100), { source: 'm.onnx' })).toThrow(OnnxModelError);
    expect(() => OnnxGraph.fromBytes(bytes.subarray(0, bytes.length - 100))).toThrow(/corrupted or truncated/);
    const garbage = Uint8Array.from(bytes, (b, i) => (i > 20 && i % 7 === 0 ? b ^ 0x5a : b));
    expect(() => OnnxGraph.fromBytes(garbage)).toThrow(/not a valid ONNX model|corrupted/);
    expect(() => OnnxGraph.fromBytes(new TextEncoder().encode('hello, this is not onnx'))).toThrow(OnnxModelError);
    const old = onnx.ModelProto.decode(bytes);
    old.opsetImport = [{ domain: '', version: 9 }];
    expect(() => OnnxGraph.fromBytes(onnx.ModelProto.encode(old).finish())).toThrow(
      /opset 9 of the default ONNX domain is not supported; expected 13 to 21/,
    );
    expect(OnnxGraph.fromBytes(onnx.ModelProto.encode(old).finish(), { checkOpset: false }).opset()).toBe(9);
  });
});
