import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import * as ort from 'onnxruntime-node';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { layerSpec, type LayerSpec } from '../src/config/schema/model.js';
import { bundledTf, type LayersModel, type Tensor } from '../src/train/tf.js';
import { buildModel } from '../src/train/model-layers.js';
import {
  exportOnnx,
  OnnxExportError,
  readOnnxModel,
  summarizeOnnx,
  formatOnnxSummary,
  tfPads,
  toNumber,
  type ExportOnnxOptions,
} from '../src/onnx/index.js';

const tf = bundledTf();
const FMNIST = '/usr/share/datasets/fashion-mnist';
const N = 100;
const diffs: Record<string, number> = {};

/** The first n images (scaled to [0, 1]) and labels of the Fashion-MNIST test set. */
function fashionMnist(n: number): { x: Float32Array; y: Uint8Array } {
  const img = gunzipSync(readFileSync(`${FMNIST}/t10k-images-idx3-ubyte.gz`));
  const lab = gunzipSync(readFileSync(`${FMNIST}/t10k-labels-idx1-ubyte.gz`));
  expect(img.readUInt32BE(0)).toBe(2051);
  expect(lab.readUInt32BE(0)).toBe(2049);
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = img[16 + i]! / 255;
  return { x, y: Uint8Array.from(lab.subarray(8, 8 + n)) };
}

/** Deterministic values in [lo, hi). */
function rand(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}

function exampleLayers(file: string): { input_shape: number[]; layers: LayerSpec[] } {
  const doc = parseYaml(readFileSync(new URL(`../examples/fashion-mnist/${file}`, import.meta.url), 'utf8')) as {
    model: { input_shape: number[]; layers: unknown };
  };
  return { input_shape: doc.model.input_shape, layers: z.array(layerSpec).parse(doc.model.layers) };
}

function spec(input_shape: number[], layers: unknown[]): { input_shape: number[]; layers: LayerSpec[] } {
  return { input_shape, layers: z.array(layerSpec).parse(layers) };
}

/** A few optimizer steps on (x, one-hot y), so that weights and batchnorm statistics are real. */
async function train(
  model: LayersModel,
  x: Float32Array,
  labels: Uint8Array,
  shape: number[],
  steps: number,
  batch: number,
  loss: string,
) {
  const n = labels.length;
  const outDim = model.outputs[0]!.shape[1] as number;
  model.compile({ optimizer: tf.train.adam(3e-3), loss });
  const row = shape.reduce((a, b) => a * b, 1);
  for (let s = 0; s < steps; s++) {
    const start = (s * batch) % (n - batch + 1);
    const xs = tf.tensor(x.subarray(start * row, (start + batch) * row), [batch, ...shape]);
    const ys = tf.oneHot(tf.tensor1d(Array.from(labels.subarray(start, start + batch)), 'int32'), outDim);
    await model.trainOnBatch(xs, ys);
    xs.dispose();
    ys.dispose();
  }
}

/** Runs the model in TF.js and its ONNX export in onnxruntime; returns the max abs difference. */
async function parity(label: string, model: LayersModel, x: Float32Array, shape: number[], opts?: ExportOnnxOptions) {
  const n = x.length / shape.reduce((a, b) => a * b, 1);
  const xt = tf.tensor(x, [n, ...shape]);
  const yt = model.predict(xt) as Tensor;
  const expected = yt.dataSync().slice() as Float32Array;
  const outShape = yt.shape;
  xt.dispose();
  yt.dispose();
  const bytes = exportOnnx(model, opts);
  const session = await ort.InferenceSession.create(bytes);
  try {
    const res = await session.run({ [opts?.inputName ?? 'input']: new ort.Tensor('float32', x, [n, ...shape]) });
    const out = res[opts?.outputName ?? 'output']!;
    expect(out.dims).toEqual(outShape);
    const got = out.data as Float32Array;
    expect(got.length).toBe(expected.length);
    let maxDiff = 0;
    for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - expected[i]!));
    diffs[label] = maxDiff;
    expect(Number.isFinite(maxDiff)).toBe(true);
    return { maxDiff, bytes, expected, got };
  } finally {
    await session.release();
  }
}

function argmaxAgreement(a: Float32Array, b: Float32Array, k: number): number {
  let same = 0;
  for (let i = 0; i < a.length / k; i++) {
    let ia = 0;
    let ib = 0;
    for (let j = 1; j < k; j++) {
      if (a[i * k + j]! > a[i * k + ia]!) ia = j;
      if (b[i * k + j]! > b[i * k + ib]!) ib = j;
    }
    if (ia === ib) same++;
  }
  return same / (a.length / k);
}

let data: { x: Float32Array; y: Uint8Array };

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  data = fashionMnist(N);
});

afterAll(() => {
  console.log('max abs differences TF.js (cpu) vs onnxruntime-node:', JSON.stringify(diffs, null, 1));
});

describe('exportOnnx on the Fashion-MNIST examples (100 real test images)', () => {
  it('example MLP (cdl.yaml), trained a few dozen steps', async () => {
    const s = exampleLayers('cdl.yaml');
    const model = buildModel(tf, s, { seed: 42, name: 'fashion-mnist' });
    await train(model, data.x, data.y, s.input_shape, 32, 25, 'categoricalCrossentropy');
    const { maxDiff, bytes, expected, got } = await parity('mlp', model, data.x, s.input_shape, {
      metadata: { config_hash: 'abc', cdl_version: '0.1.0' },
      docString: 'the example MLP',
    });
    expect(maxDiff).toBeLessThan(1e-4);
    expect(argmaxAgreement(expected, got, 10)).toBe(1);

    const sum = summarizeOnnx(bytes);
    expect(sum.irVersion).toBe(8);
    expect(sum.opset).toBe(13);
    expect(sum.producer).toBe('cdl 0.1.0');
    expect(sum.inputs).toEqual([{ name: 'input', type: 'FLOAT', shape: ['N', 28, 28, 1] }]);
    expect(sum.outputs).toEqual([{ name: 'output', type: 'FLOAT', shape: ['N', 10] }]);
    expect(sum.ops).toEqual({ Flatten: 1, MatMul: 3, Add: 3, Relu: 2, Softmax: 1 });
    expect(sum.parameters).toBe(235146);
    expect(sum.metadata).toEqual({ config_hash: 'abc', cdl_version: '0.1.0' });
    expect(formatOnnxSummary(sum)).toContain('235,146 parameters');

    const m = readOnnxModel(bytes);
    expect(m.graph!.name).toBe('fashion-mnist');
    expect(m.docString).toBe('the example MLP');
    for (const t of m.graph!.initializer!) {
      const count = (t.dims ?? []).reduce<number>((a, d) => a * toNumber(d), 1);
      expect(t.dataType).toBe(1);
      expect(t.rawData!.length).toBe(count * 4);
    }
    // raw_data is little-endian float32 equal to the TF.js weights
    const kernel = m.graph!.initializer!.find((t) => t.name === 'dense_1/kernel')!;
    const raw = kernel.rawData!;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const w = model.getWeights()[0]!.dataSync();
    for (const i of [0, 1, 777, w.length - 1]) expect(view.getFloat32(i * 4, true)).toBe(w[i]);
    model.dispose();
  });

  it('example CNN (cdl.cnn.yaml): Transpose before the first conv and before Flatten', async () => {
    const s = exampleLayers('cdl.cnn.yaml');
    const model = buildModel(tf, s, { seed: 42, name: 'fashion-mnist-cnn' });
    // Convolutions are slow on the cpu backend: the dense layers are trained for a few steps with
    // the convolutions frozen (seeded kernels, random biases), then everything for one small
    // step; enough to move every weight away from its initial value.
    const convs = model.layers.filter((l) => l.getClassName() === 'Conv2D');
    convs.forEach((l, i) => {
      const [k, b] = l.getWeights();
      l.setWeights([k!, tf.tensor(rand(b!.size, 17 + i, -0.1, 0.1), b!.shape)]);
      l.trainable = false;
    });
    await train(model, data.x, data.y, s.input_shape, 6, 25, 'categoricalCrossentropy');
    convs.forEach((l) => (l.trainable = true));
    await train(model, data.x.subarray(50 * 784), data.y.subarray(50), s.input_shape, 1, 4, 'categoricalCrossentropy');
    const { maxDiff, bytes, expected, got } = await parity('cnn', model, data.x, s.input_shape);
    expect(maxDiff).toBeLessThan(1e-4);
    expect(argmaxAgreement(expected, got, 10)).toBe(1);

    const sum = summarizeOnnx(bytes);
    expect(sum.ops).toEqual({ Transpose: 2, Conv: 2, Relu: 3, MaxPool: 2, Flatten: 1, MatMul: 2, Add: 2, Softmax: 1 });
    const ops = readOnnxModel(bytes).graph!.node!.map((n) => n.opType);
    expect(ops.slice(0, 2)).toEqual(['Transpose', 'Conv']);
    expect(ops.indexOf('Flatten') - 1).toBe(ops.lastIndexOf('Transpose'));
    const perms = readOnnxModel(bytes)
      .graph!.node!.filter((n) => n.opType === 'Transpose')
      .map((n) => n.attribute![0]!.ints!.map(toNumber));
    expect(perms).toEqual([
      [0, 3, 1, 2],
      [0, 2, 3, 1],
    ]);
    model.dispose();
  });
});

describe('exportOnnx layer coverage', () => {
  it('Flatten after a spatial op orders elements channels-last, exactly as TF.js', async () => {
    // maxpool 1x1 is the identity but puts the value in NCHW; the output must equal the input.
    const model = buildModel(tf, spec([3, 4, 5], [{ type: 'maxpool', pool_size: 1 }, { type: 'flatten' }]), { seed: 1 });
    const x = rand(2 * 60, 3);
    const { maxDiff, got } = await parity('flatten-order', model, x, [3, 4, 5]);
    expect(maxDiff).toBe(0);
    expect(Array.from(got)).toEqual(Array.from(x));
    model.dispose();
  });

  it('every layer type and every activation, odd sizes, stride 2 same, avgpool same, trained batchnorm', async () => {
    const shape = [13, 11, 3];
    const s = spec(shape, [
      { type: 'conv2d', filters: 6, kernel_size: 3, strides: 2, padding: 'same', activation: 'relu6' }, // 7x6
      { type: 'batchnorm' },
      { type: 'activation', activation: 'elu' },
      { type: 'maxpool', pool_size: 3, strides: 1, padding: 'same' }, // 7x6
      { type: 'conv2d', filters: 5, kernel_size: [2, 3], padding: 'same', activation: 'softplus', use_bias: false },
      { type: 'avgpool', pool_size: 3, strides: 2, padding: 'same' }, // 4x3
      { type: 'batchnorm', momentum: 0.5 },
      { type: 'activation', activation: 'softmax' }, // over channels of a 4-D value
      { type: 'conv2d', filters: 4, kernel_size: 2, activation: 'tanh' }, // 3x2, valid
      { type: 'avgpool', pool_size: 2, strides: 1 }, // 2x1, valid
      { type: 'dropout', rate: 0.25 },
      { type: 'flatten' },
      { type: 'dense', units: 16, activation: 'sigmoid' },
      { type: 'batchnorm', momentum: 0.5 },
      { type: 'dropout', rate: 0.5 },
      { type: 'dense', units: 12, activation: 'relu' },
      { type: 'dense', units: 10, activation: 'linear', use_bias: false },
      { type: 'activation', activation: 'tanh' },
      { type: 'activation', activation: 'linear' },
      { type: 'dense', units: 10 },
      { type: 'activation', activation: 'sigmoid' },
    ]);
    const model = buildModel(tf, s, { seed: 5 });
    const n = 48;
    const x = rand(n * 13 * 11 * 3, 9, -1, 2);
    const y = Uint8Array.from(rand(n, 4), (v) => Math.floor(v * 10));
    await train(model, x, y, shape, 6, 16, 'meanSquaredError');
    const bn = model.getLayer('batchnorm_1').getWeights();
    expect(Array.from(bn[2]!.dataSync()).some((v) => v !== 0)).toBe(true); // moving mean
    expect(Array.from(bn[3]!.dataSync()).some((v) => v !== 1)).toBe(true); // moving variance

    const { maxDiff, bytes } = await parity('all-layers', model, x, shape);
    expect(maxDiff).toBeLessThan(1e-4);
    const ops = summarizeOnnx(bytes).ops;
    for (const op of [
      'Conv',
      'BatchNormalization',
      'Elu',
      'MaxPool',
      'Softplus',
      'AveragePool',
      'Softmax',
      'Tanh',
      'Flatten',
      'Sigmoid',
      'Relu',
      'Clip',
      'MatMul',
      'Add',
    ]) {
      expect(ops[op], op).toBeGreaterThan(0);
    }
    expect(ops.Dropout).toBeUndefined();
    const avg = readOnnxModel(bytes).graph!.node!.filter((nd) => nd.opType === 'AveragePool');
    expect(avg.map((nd) => toNumber(nd.attribute!.find((a) => a.name === 'count_include_pad')!.i))).toEqual([0, 0]);
    model.dispose();
  });

  it('asymmetric same padding (even sizes, even kernels) matches TF.js', async () => {
    const shape = [12, 10, 2];
    expect(tfPads('same', 12, 3, 2)).toEqual([0, 1]);
    expect(tfPads('same', 10, 4, 1)).toEqual([1, 2]);
    const s = spec(shape, [
      { type: 'conv2d', filters: 3, kernel_size: 3, strides: 2, padding: 'same', activation: 'relu' }, // 6x5
      { type: 'conv2d', filters: 4, kernel_size: 4, padding: 'same' },
      { type: 'avgpool', pool_size: 2, padding: 'same' }, // 3x3, pad 0/1 on width
      { type: 'maxpool', pool_size: [2, 3], strides: [1, 2], padding: 'same' },
      { type: 'flatten' },
      { type: 'dense', units: 5, activation: 'softmax' },
    ]);
    const model = buildModel(tf, s, { seed: 11 });
    const x = rand(20 * 12 * 10 * 2, 21, -1, 1);
    const { maxDiff } = await parity('asymmetric-same', model, x, shape);
    expect(maxDiff).toBeLessThan(1e-4);
    model.dispose();
  });

  it('models built with tf.layers: dilation, global pooling, more activations, rank-3 batchnorm and dense', async () => {
    const m = tf.sequential();
    m.add(
      tf.layers.conv2d({
        inputShape: [9, 10, 2],
        filters: 4,
        kernelSize: 3,
        dilationRate: 2,
        padding: 'same',
        activation: 'selu',
      }),
    );
    m.add(tf.layers.activation({ activation: 'softsign' }));
    m.add(tf.layers.conv2d({ filters: 4, kernelSize: 2, activation: 'hardSigmoid' }));
    m.add(tf.layers.activation({ activation: 'swish' }));
    m.add(tf.layers.activation({ activation: 'mish' }));
    m.add(tf.layers.globalAveragePooling2d({}));
    m.add(tf.layers.dense({ units: 6, activation: 'logSoftmax' as never }));
    const x = rand(10 * 9 * 10 * 2, 5, -2, 2);
    expect((await parity('tf.layers-a', m, x, [9, 10, 2])).maxDiff).toBeLessThan(1e-4);

    const seq = tf.sequential();
    seq.add(tf.layers.batchNormalization({ inputShape: [7, 5], center: false }));
    seq.add(tf.layers.dense({ units: 3, activation: 'elu' }));
    seq.add(tf.layers.flatten());
    seq.add(tf.layers.dense({ units: 4 }));
    // (TF.js cannot train a batchnorm with center: false; its statistics are set instead.)
    seq.layers[0]!.setWeights([tf.tensor(rand(5, 1, 0.5, 2)), tf.tensor(rand(5, 2, -1, 1)), tf.tensor(rand(5, 3, 0.2, 3))]);
    const dense = seq.layers[1]!.getWeights();
    seq.layers[1]!.setWeights([dense[0]!, tf.tensor(rand(3, 4, -0.5, 0.5))]);
    expect((await parity('tf.layers-b', seq, rand(6 * 35, 12, 0, 3), [7, 5])).maxDiff).toBeLessThan(1e-4);

    const inp = tf.input({ shape: [6, 6, 3] });
    const out = tf.layers.dense({ units: 2 }).apply(tf.layers.globalMaxPooling2d({}).apply(inp)) as ReturnType<typeof tf.input>;
    const fn = tf.model({ inputs: inp, outputs: out });
    expect((await parity('tf.model-globalmax', fn, rand(4 * 108, 3), [6, 6, 3])).maxDiff).toBeLessThan(1e-4);
    for (const mm of [m, seq, fn]) mm.dispose();
  });

  it('opsets 17 and 21, custom input and output names', async () => {
    const model = buildModel(
      tf,
      spec(
        [28, 28, 1],
        [
          { type: 'conv2d', filters: 4, kernel_size: 5, strides: 2, activation: 'relu' },
          { type: 'batchnorm' },
          { type: 'flatten' },
          { type: 'dense', units: 10, activation: 'softmax' },
        ],
      ),
      { seed: 3 },
    );
    const x = data.x.subarray(0, 20 * 784);
    for (const opset of [17, 21]) {
      const { maxDiff, bytes } = await parity(`opset-${opset}`, model, x, [28, 28, 1], {
        opset,
        inputName: 'pixels',
        outputName: 'probs',
      });
      expect(maxDiff).toBeLessThan(1e-4);
      const sum = summarizeOnnx(bytes);
      expect(sum.opset).toBe(opset);
      expect(sum.irVersion).toBe(opset === 17 ? 8 : 10);
      expect(sum.inputs[0]!.name).toBe('pixels');
      expect(sum.outputs[0]!.name).toBe('probs');
    }
    model.dispose();
  });

  it('a model of only dropout still has a graph (Identity)', async () => {
    const model = buildModel(tf, spec([4], [{ type: 'dropout', rate: 0.5 }]), { seed: 1 });
    const { maxDiff, bytes } = await parity('identity', model, rand(8, 1), [4]);
    expect(maxDiff).toBe(0);
    expect(summarizeOnnx(bytes).ops).toEqual({ Identity: 1 });
    model.dispose();
  });
});

describe('exportOnnx errors', () => {
  it('an unsupported layer names the layer, its class and the supported list', () => {
    const m = tf.sequential();
    m.add(tf.layers.dense({ inputShape: [6], units: 6, name: 'hidden' }));
    m.add(tf.layers.reshape({ targetShape: [2, 3], name: 'to_grid' }));
    expect(() => exportOnnx(m)).toThrow(OnnxExportError);
    expect(() => exportOnnx(m)).toThrow(
      /layer "to_grid" \(Reshape\): layer class Reshape is not supported; supported: Dense, Conv2D, .*BatchNormalization, Activation/,
    );
    m.dispose();
  });

  it('an unsupported activation, channelsFirst, batchnorm on another axis, bad opsets', () => {
    const a = tf.sequential();
    a.add(tf.layers.dense({ inputShape: [3], units: 2, activation: 'gelu' as never, name: 'd' }));
    expect(() => exportOnnx(a)).toThrow(/layer "d" \(Dense\): activation "gelu" is not supported; supported: linear, relu/);
    expect(() => exportOnnx(a, { opset: 12 })).toThrow(/opset 12 is not supported; use 13 to 21/);
    expect(() => exportOnnx(a, { opset: 22 })).toThrow(OnnxExportError);
    expect(() => exportOnnx(a, { inputName: 'x', outputName: 'x' })).toThrow(/must differ/);

    const b = tf.sequential();
    b.add(tf.layers.conv2d({ inputShape: [3, 8, 8], filters: 2, kernelSize: 3, dataFormat: 'channelsFirst', name: 'cf' }));
    expect(() => exportOnnx(b)).toThrow(/layer "cf" \(Conv2D\): dataFormat "channelsFirst" is not supported/);

    const c = tf.sequential();
    c.add(tf.layers.batchNormalization({ inputShape: [4, 4, 2], axis: 1, name: 'bn1' }));
    expect(() => exportOnnx(c)).toThrow(/layer "bn1" \(BatchNormalization\): axis 1 is not supported/);
    for (const m of [a, b, c]) m.dispose();
  });

  it('models that are not a linear stack', () => {
    const i = tf.input({ shape: [4] });
    const d1 = tf.layers.dense({ units: 4 }).apply(i);
    const d2 = tf.layers.dense({ units: 4 }).apply(i);
    const sum = tf.layers.add({ name: 'sum' }).apply([d1, d2] as never) as ReturnType<typeof tf.input>;
    const m = tf.model({ inputs: i, outputs: sum });
    expect(() => exportOnnx(m)).toThrow(OnnxExportError);
    m.dispose();
  });

  it('readOnnxModel rejects bytes that are not ONNX', () => {
    expect(() => readOnnxModel(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]))).toThrow(/not an ONNX model/);
  });
});
