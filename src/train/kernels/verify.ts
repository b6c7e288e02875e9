/**
 * Checks the installed wasm kernels against TF.js's reference CPU kernels
 * (@tensorflow/tfjs-backend-cpu) on odd shapes, strides, paddings and filter
 * sizes: forward results and gradients. Used by the tests (which assert on
 * the differences) and by bench/train.ts (which records them).
 *
 * Needs the gradient functions registered (import '@tensorflow/tfjs-layers'
 * or '@tensorflow/tfjs-core/dist/register_all_gradients' first).
 */
import * as tf from '@tensorflow/tfjs-core';

export interface KernelCheck {
  /** Kernel (or gradient path) checked. */
  kernel: string;
  /** Shapes and attributes of the case. */
  case: string;
  maxAbsDiff: number;
  /** Largest |value| of the reference result (differences scale with it). */
  scale: number;
}

/** Deterministic pseudo-random values in [-1, 1). */
export function pseudoRandom(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    a[i] = s / 2147483648 - 1;
  }
  return a;
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

async function on(backend: string, fn: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(() => {
    const r = fn();
    return Array.isArray(r) ? r : [r];
  });
  const vals = outs.map((t) => Float32Array.from(t.dataSync() as Float32Array));
  tf.dispose(outs);
  return vals;
}

function diff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

function scaleOf(a: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

type Shape4 = [number, number, number, number];
type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

export interface ConvCase {
  x: Shape4;
  f: Shape4;
  strides: [number, number];
  pad: Pad;
}
export const CONV_CASES: ConvCase[] = [
  { x: [2, 9, 7, 3], f: [3, 3, 3, 4], strides: [1, 1], pad: 'valid' },
  { x: [3, 8, 11, 5], f: [3, 2, 5, 7], strides: [2, 1], pad: 'same' },
  { x: [1, 13, 10, 1], f: [5, 4, 1, 6], strides: [2, 3], pad: 'valid' },
  { x: [2, 7, 7, 6], f: [1, 1, 6, 3], strides: [1, 1], pad: 'same' },
  // A numeric pad only with equal strides: tfjs-core 4.22 computes both output
  // sizes with the height stride, and the wasm forward conv then writes past its output.
  { x: [2, 10, 9, 4], f: [3, 3, 4, 5], strides: [3, 3], pad: 1 },
  {
    x: [2, 9, 8, 2],
    f: [2, 3, 2, 3],
    strides: [1, 2],
    pad: [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
  },
  { x: [4, 12, 12, 17], f: [3, 3, 17, 19], strides: [1, 1], pad: 'same' },
  { x: [5, 11, 11, 32], f: [3, 3, 32, 64], strides: [1, 1], pad: 'valid' },
];

export interface PoolCase {
  x: Shape4;
  size: [number, number];
  strides: [number, number];
  pad: 'valid' | 'same';
  values: 'random' | 'nonpositive' | 'ties';
}
export const POOL_CASES: PoolCase[] = [
  { x: [2, 8, 8, 3], size: [2, 2], strides: [2, 2], pad: 'valid', values: 'random' },
  { x: [3, 9, 7, 5], size: [3, 3], strides: [2, 2], pad: 'same', values: 'random' },
  { x: [2, 10, 11, 4], size: [3, 2], strides: [1, 2], pad: 'valid', values: 'random' },
  { x: [2, 9, 9, 6], size: [2, 3], strides: [3, 2], pad: 'same', values: 'random' },
  { x: [2, 6, 6, 3], size: [2, 2], strides: [2, 2], pad: 'valid', values: 'nonpositive' },
  { x: [2, 7, 9, 3], size: [3, 3], strides: [1, 1], pad: 'same', values: 'nonpositive' },
  { x: [2, 8, 8, 4], size: [2, 2], strides: [1, 1], pad: 'valid', values: 'ties' },
  // 2×2/stride-2 tiling with channels in fours (the SIMD path), odd sizes leaving edges uncovered.
  { x: [3, 11, 9, 8], size: [2, 2], strides: [2, 2], pad: 'valid', values: 'random' },
  { x: [2, 7, 10, 4], size: [2, 2], strides: [2, 2], pad: 'valid', values: 'nonpositive' },
  { x: [2, 8, 6, 12], size: [2, 2], strides: [2, 2], pad: 'valid', values: 'ties' },
  { x: [2, 9, 9, 4], size: [2, 2], strides: [2, 2], pad: 'same', values: 'random' },
];

export interface MatMulCase {
  a: number[];
  b: number[];
  tA: boolean;
  tB: boolean;
}
export const MATMUL_CASES: MatMulCase[] = [
  { a: [7, 13], b: [13, 5], tA: false, tB: false },
  { a: [13, 7], b: [13, 5], tA: true, tB: false },
  { a: [7, 13], b: [5, 13], tA: false, tB: true },
  { a: [13, 7], b: [5, 13], tA: true, tB: true },
  { a: [3, 9, 4], b: [3, 9, 6], tA: true, tB: false },
  { a: [3, 4, 9], b: [3, 6, 9], tA: false, tB: true },
  { a: [129, 257], b: [129, 33], tA: true, tB: false },
];

export const SUM_CASES: { shape: number[]; axis: number[]; keepDims: boolean }[] = [
  { shape: [37, 19], axis: [0], keepDims: false },
  { shape: [5, 7, 3, 11], axis: [0, 1, 2], keepDims: false },
  { shape: [5, 7, 3, 11], axis: [0, 1], keepDims: true },
  { shape: [6, 5, 4], axis: [1], keepDims: false },
  { shape: [6, 5, 4], axis: [2, 0], keepDims: false },
  // Enough rows, columns in fours: the SIMD path (and one with a column count that is not).
  { shape: [130, 12], axis: [0], keepDims: false },
  { shape: [9, 11, 7, 16], axis: [0, 1, 2], keepDims: true },
  { shape: [67, 10], axis: [0], keepDims: false },
];

function poolValues(c: PoolCase, seed: number): Float32Array {
  const v = pseudoRandom(size(c.x), seed);
  if (c.values === 'nonpositive') for (let i = 0; i < v.length; i++) v[i] = -Math.abs(v[i]) - (i % 3 === 0 ? 0 : 0.5);
  if (c.values === 'ties') for (let i = 0; i < v.length; i++) v[i] = Math.round(v[i] * 2) / 2;
  return v;
}

function label(o: Record<string, unknown>): string {
  return Object.entries(o)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? JSON.stringify(v) : String(v)}`)
    .join(' ');
}

/**
 * Compare the wasm backend's current kernels with the cpu backend's. Leaves
 * the wasm backend active. Throws if the cpu backend cannot be loaded.
 */
export async function verifyKernels(): Promise<KernelCheck[]> {
  await import('@tensorflow/tfjs-backend-cpu');
  const checks: KernelCheck[] = [];
  const compare = async (kernel: string, name: string, fn: () => tf.Tensor | tf.Tensor[], names?: string[]) => {
    const ref = await on('cpu', fn);
    const got = await on('wasm', fn);
    ref.forEach((r, i) =>
      checks.push({ kernel: names?.[i] ?? kernel, case: name, maxAbsDiff: diff(r, got[i]), scale: scaleOf(r) }),
    );
  };

  for (const c of CONV_CASES) {
    const xv = pseudoRandom(size(c.x), 11),
      fv = pseudoRandom(size(c.f), 12);
    await tf.setBackend('cpu');
    const yShape = tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, c.strides, c.pad).shape);
    const dyv = pseudoRandom(size(yShape), 13);
    const name = label({ x: c.x, filter: c.f, strides: c.strides, pad: c.pad });
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
    await compare('Conv2D', name, () => tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(fv, c.f), c.strides, c.pad));
    await compare(
      'Conv2DBackpropFilter',
      name,
      () =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(xv, c.x), dy: tf.tensor(dyv, yShape) }, {
          ...attrs,
          filterShape: c.f,
        } as never) as tf.Tensor,
    );
    await compare(
      'Conv2DBackpropInput',
      name,
      () =>
        tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor(dyv, yShape), filter: tf.tensor4d(fv, c.f) }, {
          ...attrs,
          inputShape: c.x,
        } as never) as tf.Tensor,
    );
    await compare('FusedConv2D', name, () => {
      const bias = tf.tensor1d(pseudoRandom(c.f[3], 14));
      return tf.fused.conv2d({
        x: tf.tensor4d(xv, c.x),
        filter: tf.tensor4d(fv, c.f),
        strides: c.strides,
        pad: c.pad,
        bias,
        activation: 'relu',
      });
    });
    await compare(
      'grad conv2d',
      name,
      () => {
        const r = tf.tensor(dyv, yShape);
        const f = (x: tf.Tensor, w: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.pad), r));
        return tf.grads(f)([tf.tensor4d(xv, c.x), tf.tensor4d(fv, c.f)]);
      },
      ['grad conv2d (dx)', 'grad conv2d (dw)'],
    );
  }

  for (const c of POOL_CASES) {
    const xv = poolValues(c, 21);
    await tf.setBackend('cpu');
    const yShape = tf.tidy(() => tf.maxPool(tf.zeros(c.x) as tf.Tensor4D, c.size, c.strides, c.pad).shape);
    const dyv = pseudoRandom(size(yShape), 22);
    const name = label({ x: c.x, size: c.size, strides: c.strides, pad: c.pad, values: c.values });
    await compare('MaxPoolGrad', name, () => {
      const x = tf.tensor4d(xv, c.x);
      const y = tf.maxPool(x, c.size, c.strides, c.pad);
      return tf.engine().runKernel('MaxPoolGrad', { dy: tf.tensor(dyv, yShape), input: x, output: y }, {
        filterSize: c.size,
        strides: c.strides,
        pad: c.pad,
      } as never) as tf.Tensor;
    });
    await compare('grad maxPool', name, () => {
      const r = tf.tensor(dyv, yShape);
      return tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(x as tf.Tensor4D, c.size, c.strides, c.pad), r)))(
        tf.tensor4d(xv, c.x),
      );
    });
  }

  for (const c of MATMUL_CASES) {
    const av = pseudoRandom(size(c.a), 31),
      bv = pseudoRandom(size(c.b), 32);
    const name = label({ a: c.a, b: c.b, transposeA: c.tA, transposeB: c.tB });
    await compare('BatchMatMul', name, () => tf.matMul(tf.tensor(av, c.a), tf.tensor(bv, c.b), c.tA, c.tB));
    await compare(
      'grad matMul',
      name,
      () => {
        const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.matMul(a, b, c.tA, c.tB)));
        return tf.grads(f)([tf.tensor(av, c.a), tf.tensor(bv, c.b)]);
      },
      ['grad matMul (da)', 'grad matMul (db)'],
    );
  }

  for (const c of MATMUL_CASES.filter((m) => m.a.length === 2)) {
    const av = pseudoRandom(size(c.a), 33),
      bv = pseudoRandom(size(c.b), 34);
    const n = c.tB ? c.b[0] : c.b[1];
    const biasv = pseudoRandom(n, 35);
    const name = label({ a: c.a, b: c.b, transposeA: c.tA, transposeB: c.tB, bias: [n], activation: 'relu' });
    const fm = (a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) =>
      tf.fused.matMul({ a, b, transposeA: c.tA, transposeB: c.tB, bias, activation: 'relu' });
    await compare('_FusedMatMul', name, () => fm(tf.tensor(av, c.a), tf.tensor(bv, c.b), tf.tensor1d(biasv)));
    await compare(
      'grad fused matMul',
      name,
      () =>
        tf.grads((a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) => tf.sum(tf.square(fm(a, b, bias))))([
          tf.tensor(av, c.a),
          tf.tensor(bv, c.b),
          tf.tensor1d(biasv),
        ]),
      ['grad fused matMul (da)', 'grad fused matMul (db)', 'grad fused matMul (dbias)'],
    );
  }

  for (const c of SUM_CASES) {
    const xv = pseudoRandom(size(c.shape), 41);
    await compare('Sum', label(c), () => tf.sum(tf.tensor(xv, c.shape), c.axis, c.keepDims));
  }

  {
    const xv = pseudoRandom(60, 51);
    await compare('Identity', 'x=[3,4,5]', () => {
      const x = tf.tensor(xv, [3, 4, 5]);
      const y = tf.clone(x);
      x.dispose(); // the clone must outlive its source
      return tf.add(y, 1);
    });
  }
  {
    const xv = pseudoRandom(60, 52);
    await compare('Cast', 'float32 to float32, x=[3,4,5]', () => {
      const x = tf.tensor(xv, [3, 4, 5]);
      const y = tf.cast(x, 'float32');
      x.dispose(); // the cast must outlive its source
      return tf.add(y, 1);
    });
    await compare('Cast', 'float32 to int32 and back, x=[3,4,5]', () =>
      tf.cast(tf.cast(tf.mul(tf.tensor(xv, [3, 4, 5]), 10), 'int32'), 'float32'),
    );
    await compare('grad relu', 'x=[4,7,5]', () =>
      tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.relu(x), tf.tensor(pseudoRandom(140, 53), [4, 7, 5]))))(
        tf.tensor(pseudoRandom(140, 54), [4, 7, 5]),
      ),
    );
  }
  await tf.setBackend('wasm');
  return checks;
}

/** Tolerance used by the tests: relative to the reference's magnitude. */
export function tolerance(c: KernelCheck): number {
  return 1e-5 * Math.max(1, c.scale);
}
