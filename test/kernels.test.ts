import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { installKernels } from '../src/train/kernels/index.js';
import { setMaxColumnFloats } from '../src/train/kernels/conv-backprop-filter.js';
import { diffs, maxAbs, maxAbsDiff, on, rand, record, size } from './kernels-helpers.js';

type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

interface ConvCase {
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: [number, number];
  pad: Pad;
}

const convCases: ConvCase[] = [
  { x: [2, 9, 7, 3], f: [3, 3, 3, 4], strides: [1, 1], pad: 'valid' },
  { x: [3, 8, 11, 5], f: [3, 2, 5, 7], strides: [2, 1], pad: 'same' },
  { x: [1, 13, 10, 1], f: [5, 4, 1, 6], strides: [2, 3], pad: 'valid' },
  { x: [2, 7, 7, 6], f: [1, 1, 6, 3], strides: [1, 1], pad: 'same' },
  // A numeric pad only with equal strides: tfjs-core 4.22 computes both output sizes with the
  // height stride, and the wasm forward conv then writes past its output.
  { x: [2, 10, 9, 4], f: [3, 3, 4, 5], strides: [3, 3], pad: 1 },
  { x: [2, 9, 8, 2], f: [2, 3, 2, 3], strides: [1, 2], pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { x: [4, 12, 12, 17], f: [3, 3, 17, 19], strides: [1, 1], pad: 'same' },
];

function convLabel(c: ConvCase): string {
  return `x${c.x.join('x')} f${c.f.join('x')} s${c.strides.join(',')} pad=${JSON.stringify(c.pad)}`;
}

describe('wasm kernel layer: reference mode', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    await installKernels('reference');
  });
  afterAll(() => {
    console.log('max abs differences vs tfjs-backend-cpu:', JSON.stringify(diffs, null, 1));
  });

  it.each(convCases.map((c) => [convLabel(c), c] as const))('Conv2DBackpropFilter %s', async (_l, c) => {
    const xv = rand(size(c.x), 11);
    // Output shape from the forward pass on cpu.
    const [y] = await on('cpu', () => tf.conv2d(tf.tensor4d(xv, c.x), tf.zeros(c.f), c.strides, c.pad));
    const yShape = tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f), c.strides, c.pad).shape);
    expect(y.length).toBe(size(yShape));
    const dyv = rand(size(yShape), 23);
    const run = () =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(xv, c.x), dy: tf.tensor(dyv, yShape) }, {
        strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.f,
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const [ref] = await on('cpu', run);
    const [got] = await on('wasm', run);
    const d = maxAbsDiff(ref, got);
    record('Conv2DBackpropFilter', d);
    expect(d).toBeLessThan(1e-5 * Math.max(1, maxAbs(ref)));
  });

  it('Conv2DBackpropFilter processes the batch in chunks with the same result', async () => {
    const c = convCases[4];
    const xv = rand(size(c.x), 3);
    const yShape = tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f), c.strides, c.pad).shape);
    const dyv = rand(size(yShape), 4);
    const run = () =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(xv, c.x), dy: tf.tensor(dyv, yShape) }, {
        strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.f,
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const [ref] = await on('cpu', run);
    const prev = setMaxColumnFloats(1);
    try {
      const [got] = await on('wasm', run);
      expect(maxAbsDiff(ref, got)).toBeLessThan(1e-5 * Math.max(1, maxAbs(ref)));
    } finally {
      setMaxColumnFloats(prev);
    }
  });

  it('conv2d filter gradient through tf.grads on wasm equals cpu', async () => {
    const c = convCases[1];
    const xv = rand(size(c.x), 5), fv = rand(size(c.f), 6);
    const g = () => {
      const f = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.sum(tf.square(tf.conv2d(x, w, c.strides, c.pad as 'same')));
      return tf.grads(f as (...a: tf.Tensor[]) => tf.Tensor)([tf.tensor4d(xv, c.x), tf.tensor4d(fv, c.f)]);
    };
    const ref = await on('cpu', g);
    const got = await on('wasm', g);
    for (let i = 0; i < 2; i++) expect(maxAbsDiff(ref[i], got[i])).toBeLessThan(1e-4 * Math.max(1, maxAbs(ref[i])));
  });
});
