/**
 * The onnxruntime kernels keep working when an output allocation grows the wasm heap: a view of
 * the heap taken before the allocation is detached by the growth. Such a failure used to fall
 * back to wasm for the shape, quietly, so a run's kernel choices depended on the heap's history
 * (and runs in one process, or resumed ones, differed in their last bits). Its own file: the
 * heap of a fresh process is small, so the large output below is sure to grow it.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { installKernels, kernelChoices } from '../src/train/kernels/index.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});

describe('onnxruntime kernels and a growing wasm heap', () => {
  it('a 1x1 convolution whose 105 MB output grows the heap runs in onnxruntime and is exact', async () => {
    const info = await installKernels('fast', { deterministic: true });
    if (info.name !== 'cdl-fast-ort') {
      console.log('onnxruntime path unavailable here:', info.notes);
      return;
    }
    const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
    const before = heap();
    const [H, W, CO] = [512, 800, 64];
    const xs = Float32Array.from({ length: H * W }, (_, i) => (i % 7) - 3);
    const ws = Float32Array.from({ length: CO }, (_, i) => i / 8 - 4);
    const x = tf.tensor4d(xs, [1, H, W, 1]);
    const f = tf.tensor4d(ws, [1, 1, 1, CO]);
    const y = tf.conv2d(x, f, 1, 'valid');
    expect(heap()).toBeGreaterThan(before);
    const key = Object.keys(kernelChoices()).find((k) => k.startsWith(`Conv2D:1,${H},${W},1:`));
    expect(key).toBeDefined();
    expect(kernelChoices()[key!]).toBe('ort');
    const out = y.dataSync() as Float32Array;
    for (const p of [0, 1, 12345, H * W - 1]) {
      for (const c of [0, 5, CO - 1]) expect(out[p * CO + c]! + 0).toBe(xs[p]! * ws[c]! + 0);
    }
    tf.dispose([x, f, y]);
  });
});
