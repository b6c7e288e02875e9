/** model.layers: the seeded model built from the declarative spec, its shape checks, and its summary. */
import { beforeAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import { z } from 'zod';
import { layerSpec, type LayerSpec } from '../src/config/schema/model.js';
import { bundledTf } from '../src/train/tf.js';
import { buildModel, inferShapes, layerSeed } from '../src/train/model-layers.js';
import { describeModel, modelSummary } from '../src/train/model-summary.js';
import { ConfigError } from '../src/util/errors.js';

const tf = bundledTf();

function spec(input_shape: number[], layers: unknown[]): { input_shape: number[]; layers: LayerSpec[] } {
  return { input_shape, layers: z.array(layerSpec).parse(layers) };
}

const MLP = spec(
  [28, 28, 1],
  [
    { type: 'flatten' },
    { type: 'dense', units: 256, activation: 'relu' },
    { type: 'dense', units: 128, activation: 'relu' },
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
);
const CNN = spec(
  [28, 28, 1],
  [
    { type: 'conv2d', filters: 32, kernel_size: 3, activation: 'relu' },
    { type: 'maxpool', pool_size: 2 },
    { type: 'conv2d', filters: 64, kernel_size: 3, activation: 'relu' },
    { type: 'maxpool', pool_size: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 128, activation: 'relu' },
    { type: 'dropout', rate: 0.3 },
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
);

function weightsOf(m: ReturnType<typeof buildModel>): number[][] {
  return m.getWeights().map((t) => Array.from(t.dataSync()));
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('buildModel', () => {
  it('one seed gives identical weights; another seed differs; names are <type>_<index>', () => {
    const a = buildModel(tf, CNN, { seed: 7, name: 'cnn' });
    const b = buildModel(tf, CNN, { seed: 7 });
    const c = buildModel(tf, CNN, { seed: 8 });
    expect(a.name).toBe('cnn');
    expect(a.layers.map((l) => l.name)).toEqual([
      'conv2d_0',
      'maxpool_1',
      'conv2d_2',
      'maxpool_3',
      'flatten_4',
      'dense_5',
      'dropout_6',
      'dense_7',
    ]);
    expect(b.layers.map((l) => l.name)).toEqual(a.layers.map((l) => l.name));
    const wa = weightsOf(a);
    expect(weightsOf(b)).toEqual(wa);
    const wc = weightsOf(c);
    expect(wc[0]).not.toEqual(wa[0]);
    // layers of one model do not share a seed
    expect(wa[0]!.slice(0, 9)).not.toEqual(wa[2]!.slice(0, 9));
    // glorotUniform: |w| <= sqrt(6 / (fanIn + fanOut)), not all zero; biases zero
    const limit = Math.sqrt(6 / (9 * 1 + 9 * 32));
    expect(Math.max(...wa[0]!.map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...wa[0]!.map(Math.abs))).toBeGreaterThan(limit / 2);
    expect(wa[1]!.every((v) => v === 0)).toBe(true);
    expect(new Set([layerSeed(1, 0), layerSeed(1, 1), layerSeed(2, 0)]).size).toBe(3);
    for (const m of [a, b, c]) m.dispose();
  });

  it('output shapes follow the spec (inferShapes agrees with TF.js)', () => {
    const odd = spec(
      [13, 11, 3],
      [
        { type: 'conv2d', filters: 4, kernel_size: 3, strides: 2, padding: 'same' },
        { type: 'maxpool', pool_size: 3, strides: 2 },
        { type: 'avgpool', pool_size: 2, padding: 'same' },
        { type: 'batchnorm' },
        { type: 'conv2d', filters: 2, kernel_size: [2, 1], strides: [1, 2] }, // 2x1 → 1x1
        { type: 'flatten' },
        { type: 'dense', units: 3 },
        { type: 'activation', activation: 'softmax' },
      ],
    );
    for (const s of [MLP, CNN, odd]) {
      const m = buildModel(tf, s, { seed: 1 });
      expect(m.layers.map((l) => (l.outputShape as number[]).slice(1))).toEqual(inferShapes(s));
      m.dispose();
    }
  });

  it('the spec options reach the layers', () => {
    const m = buildModel(
      tf,
      spec(
        [8, 8, 2],
        [
          {
            type: 'conv2d',
            filters: 3,
            kernel_size: [3, 1],
            strides: [2, 1],
            padding: 'same',
            activation: 'elu',
            use_bias: false,
          },
          { type: 'avgpool', pool_size: 2, strides: 1 },
          { type: 'batchnorm', momentum: 0.9, epsilon: 0.01 },
          { type: 'flatten' },
          { type: 'dropout', rate: 0.2 },
          { type: 'dense', units: 4, activation: 'relu6' },
        ],
      ),
      { seed: 1 },
    );
    const cfg = m.layers.map((l) => l.getConfig() as Record<string, unknown>);
    expect(cfg[0]).toMatchObject({
      filters: 3,
      kernelSize: [3, 1],
      strides: [2, 1],
      padding: 'same',
      activation: 'elu',
      useBias: false,
    });
    expect(cfg[1]).toMatchObject({ poolSize: [2, 2], strides: [1, 1], padding: 'valid' });
    expect(cfg[2]).toMatchObject({ momentum: 0.9, epsilon: 0.01, axis: -1 });
    expect(cfg[4]).toMatchObject({ rate: 0.2 });
    expect(cfg[5]).toMatchObject({ units: 4, activation: 'relu6', useBias: true });
    m.dispose();
  });
});

describe('buildModel errors name model.layers[i] and the expected form', () => {
  const cases: Array<[string, ReturnType<typeof spec>, RegExp]> = [
    [
      'conv2d on a rank-1 input',
      spec([784], [{ type: 'conv2d', filters: 8, kernel_size: 3 }]),
      /^model\.layers\[0\]: conv2d needs a 3-D input \[height, width, channels\], got \[784\]$/,
    ],
    [
      'conv2d after flatten',
      spec([28, 28, 1], [{ type: 'flatten' }, { type: 'dense', units: 4 }, { type: 'conv2d', filters: 8, kernel_size: 3 }]),
      /^model\.layers\[2\]: conv2d needs a 3-D input \[height, width, channels\], got \[4\] \(it comes after a flatten layer/,
    ],
    [
      'maxpool on a 2-D input',
      spec([28, 28], [{ type: 'maxpool' }]),
      /^model\.layers\[0\]: maxpool needs a 3-D input .* got \[28, 28\] \(add a channel axis: input_shape \[28, 28, 1\]\)/,
    ],
    [
      'kernel larger than its input',
      spec(
        [5, 5, 1],
        [
          { type: 'conv2d', filters: 2, kernel_size: 3 },
          { type: 'conv2d', filters: 2, kernel_size: 4 },
        ],
      ),
      /^model\.layers\[1\]: kernel_size 4x4 is larger than its input 3x3 \(padding 'valid'\)/,
    ],
    [
      'pool larger than its input',
      spec(
        [4, 4, 1],
        [
          { type: 'avgpool', pool_size: 2 },
          { type: 'maxpool', pool_size: 3 },
        ],
      ),
      /^model\.layers\[1\]: pool_size 3x3 is larger than its input 2x2/,
    ],
    ['no layers', { input_shape: [4], layers: [] }, /^model\.layers: expected at least one layer$/],
    [
      'a bad input shape',
      { input_shape: [0, 3], layers: z.array(layerSpec).parse([{ type: 'flatten' }]) },
      /^model\.input_shape: expected 1 to 3 positive integers/,
    ],
    [
      'an unknown layer type',
      { input_shape: [4], layers: [{ type: 'lstm' } as unknown as LayerSpec] },
      /^model\.layers\[0\]: unknown layer type "lstm"; expected one of dense, conv2d/,
    ],
  ];
  it.each(cases)('%s', (_label, s, re) => {
    let err: unknown;
    try {
      buildModel(tf, s, { seed: 1 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(re);
  });
});

describe('describeModel', () => {
  it('text and parameter counts of the example MLP and CNN', () => {
    const mlp = buildModel(tf, MLP, { seed: 1, name: 'fashion-mnist' });
    const text = describeModel(mlp);
    expect(text.split('\n')[0]).toBe('fashion-mnist: 4 layers, 235,146 parameters (235,146 trainable)');
    expect(text).toMatch(/dense_1\s+Dense\s+\[N, 256\]\s+200,960\s+relu/);
    const cnn = buildModel(tf, spec([28, 28, 1], [...CNN.layers.slice(0, 4), { type: 'batchnorm' }, ...CNN.layers.slice(4)]), {
      seed: 1,
    });
    const s = modelSummary(cnn);
    // 320 + 18,496 + 4·64 (batchnorm) + 1600·128+128 + 1,290
    expect(s.params).toBe(320 + 18496 + 256 + 204928 + 1290);
    expect(s.trainableParams).toBe(s.params - 128);
    expect(s.layers.map((l) => l.outputShape)).toEqual([
      '[N, 26, 26, 32]',
      '[N, 13, 13, 32]',
      '[N, 11, 11, 64]',
      '[N, 5, 5, 64]',
      '[N, 5, 5, 64]',
      '[N, 1600]',
      '[N, 128]',
      '[N, 128]',
      '[N, 10]',
    ]);
    expect(s.layers[8]).toMatchObject({ name: 'dense_8', className: 'Dense', params: 1290, activation: 'softmax' });
    mlp.dispose();
    cnn.dispose();
  });
});
