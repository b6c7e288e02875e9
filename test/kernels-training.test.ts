import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm';
import { installKernels, kernelChoices, type KernelMode } from '../src/train/kernels/index.js';
import { rand } from './kernels-helpers.js';

const DIR = '/usr/share/datasets/fashion-mnist';
const N_TRAIN = 4096,
  N_TEST = 1000,
  BATCH = 32,
  STEPS = 300;

interface Set {
  x: Float32Array;
  y: Float32Array;
  labels: Uint8Array;
  n: number;
}

function idx(prefix: string, n: number): Set | null {
  const img = `${DIR}/${prefix}-images-idx3-ubyte.gz`,
    lab = `${DIR}/${prefix}-labels-idx1-ubyte.gz`;
  if (!existsSync(img) || !existsSync(lab)) return null;
  const ib = gunzipSync(readFileSync(img)),
    lb = gunzipSync(readFileSync(lab));
  const x = new Float32Array(n * 784),
    y = new Float32Array(n * 10),
    labels = new Uint8Array(n);
  for (let i = 0; i < n * 784; i++) x[i] = ib[16 + i] / 255;
  for (let i = 0; i < n; i++) {
    labels[i] = lb[8 + i];
    y[i * 10 + labels[i]] = 1;
  }
  return { x, y, labels, n };
}

/** Stand-in when the dataset is absent: class k = a bright bar at row 2k+4 plus noise. */
function synthetic(n: number, seed: number): Set {
  const noise = rand(n * 784, seed);
  const x = new Float32Array(n * 784),
    y = new Float32Array(n * 10),
    labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 10;
    labels[i] = k;
    y[i * 10 + k] = 1;
    for (let p = 0; p < 784; p++) x[i * 784 + p] = 0.3 * Math.abs(noise[i * 784 + p]);
    for (let c = 0; c < 28; c++) x[i * 784 + (2 * k + 4) * 28 + c] += 0.7;
  }
  return { x, y, labels, n };
}

const train = idx('train', N_TRAIN) ?? synthetic(N_TRAIN, 1);
const test = idx('t10k', N_TEST) ?? synthetic(N_TEST, 2);

function model(): tfl.Sequential {
  const init = (seed: number) => tfl.initializers.glorotUniform({ seed });
  const m = tfl.sequential();
  m.add(
    tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: init(1) }),
  );
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', kernelInitializer: init(2) }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 32, activation: 'relu', kernelInitializer: init(3) }));
  m.add(tfl.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(4) }));
  return m;
}

async function trainWith(mode: KernelMode, ort: boolean): Promise<{ acc: number; loss: number; ms: number }> {
  await tf.setBackend('wasm');
  await installKernels(mode, { ort });
  const m = model();
  const opt = tf.train.adam(1e-3);
  const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
  const bx = new Float32Array(BATCH * 784),
    by = new Float32Array(BATCH * 10);
  let loss = NaN;
  const t0 = performance.now();
  for (let s = 0; s < STEPS; s++) {
    for (let i = 0; i < BATCH; i++) {
      const k = (s * BATCH + i) % train.n;
      bx.set(train.x.subarray(k * 784, k * 784 + 784), i * 784);
      by.set(train.y.subarray(k * 10, k * 10 + 10), i * 10);
    }
    const x = tf.tensor4d(bx, [BATCH, 28, 28, 1]),
      y = tf.tensor2d(by, [BATCH, 10]);
    const cost = opt.minimize(
      () => tf.mean(tfl.metrics.categoricalCrossentropy(y, m.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar,
      s === STEPS - 1,
      vars,
    );
    if (cost) {
      loss = cost.dataSync()[0];
      cost.dispose();
    }
    tf.dispose([x, y]);
  }
  const ms = performance.now() - t0;
  const pred = tf.tidy(() => tf.argMax(m.predict(tf.tensor4d(test.x, [test.n, 28, 28, 1])) as tf.Tensor, 1).dataSync());
  let ok = 0;
  for (let i = 0; i < test.n; i++) if (pred[i] === test.labels[i]) ok++;
  m.dispose();
  opt.dispose();
  return { acc: ok / test.n, loss, ms };
}

describe('training with the fast kernel layer', () => {
  it('reaches the same accuracy as with the wasm reference kernels', async () => {
    const ref = await trainWith('reference', false);
    const pure = await trainWith('fast', false);
    const ort = await trainWith('fast', true);
    console.log('accuracy after', STEPS, 'steps:', { reference: ref, fastWasm: pure, fastOrt: ort, choices: kernelChoices() });
    expect(ref.acc).toBeGreaterThan(0.6);
    expect(Math.abs(pure.acc - ref.acc)).toBeLessThan(0.03);
    expect(Math.abs(ort.acc - ref.acc)).toBeLessThan(0.03);
  });
});
