/**
 * Pure wasm/JS replacements for the wasm backend's slow training kernels.
 *
 * The wasm backend runs its fast XNNPACK code only for non-transposed matrix
 * products and forward convolutions; the other kernels a training step needs
 * are plain loops. Each replacement (products in wasm-matmul.ts, the input
 * gradient in wasm-conv.ts, MaxPoolGrad in wasm-pool-grad.ts, the small ones
 * here) reduces its kernel to those fast paths, or is a cache-friendly JS
 * loop over the heap; this file puts the set together:
 *
 * - BatchMatMul with a transposed operand: transpose first, then the fast product.
 * - Conv2DBackpropInput: a forward convolution of the (stride-dilated) output
 *   gradient with the spatially flipped, channel-swapped filter.
 * - Conv2DBackpropFilter: im2col + fast product (see conv-backprop-filter.ts).
 * - MaxPoolGrad: one pass over the windows, channels innermost. Its running
 *   maximum starts at -Infinity (tfjs-backend-wasm 4.22 starts at the smallest
 *   positive float, so windows of non-positive values route their gradient to
 *   the first element).
 * - Sum over leading axes (bias gradients): row accumulation.
 * - Identity, and Cast to the dtype the tensor already has (the relu gradient
 *   casts its float32 step mask to float32): share the data (ref count)
 *   instead of copying it.
 * - _FusedMatMul with a transposed operand (wrong in tfjs-backend-wasm 4.22):
 *   transpose first, then the non-transposed fused product.
 *
 * Anything outside a replacement's supported cases goes to the original kernel.
 */
import { util } from '@tensorflow/tfjs-core';
import { makeConv2DBackpropFilter } from './conv-backprop-filter.js';
import { simdFor } from './simd.js';
import { makeConv2DBackpropInput } from './wasm-conv.js';
import { makeBatchMatMul, makeFusedMatMul } from './wasm-matmul.js';
import { makeMaxPoolGrad } from './wasm-pool-grad.js';
import { f32, offsetOf, type SyncKernel, type WasmOriginals } from './wasm-util.js';

function makeSum(orig: WasmOriginals): SyncKernel {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x;
    const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
    if (x.dtype !== 'float32') return orig.Sum(args);
    const rank = x.shape.length;
    const axes = util
      .parseAxisParam(axis, x.shape)
      .slice()
      .sort((p, q) => p - q);
    // Only leading axes 0..k-1 (bias gradients), and not everything.
    if (axes.length === 0 || axes.length >= rank || axes.some((v, i) => v !== i)) return orig.Sum(args);
    const k = axes.length;
    const rows = util.sizeFromShape(x.shape.slice(0, k));
    const cols = util.sizeFromShape(x.shape.slice(k));
    const outShape = keepDims ? x.shape.map((d, i) => (i < k ? 1 : d)) : x.shape.slice(k);
    const out = backend.makeOutput(outShape, 'float32');
    const simd = simdFor(backend);
    if (simd && cols % 4 === 0 && rows >= 64) {
      const acc = backend.wasm._malloc(cols * 8 + 16);
      simd.sumRows(offsetOf(backend, x), offsetOf(backend, out), rows, cols, (acc + 15) & ~15);
      backend.wasm._free(acc);
      return out;
    }
    const xv = f32(backend, x),
      ov = f32(backend, out);
    sumRowsInto(xv, ov, rows, cols);
    return out;
  };
}

/** out[j] = Σ_r x[r·cols + j], accumulated in float64, four rows per pass. */
function sumRowsInto(xv: Float32Array, ov: Float32Array, rows: number, cols: number): void {
  const acc = new Float64Array(cols);
  const r4 = rows - (rows % 4);
  const c2 = 2 * cols,
    c3 = 3 * cols;
  for (let r = 0; r < r4; r += 4) {
    const o = r * cols;
    for (let j = 0; j < cols; j++) {
      const k = o + j;
      acc[j] += xv[k] + xv[k + cols] + (xv[k + c2] + xv[k + c3]);
    }
  }
  for (let r = r4; r < rows; r++) {
    const o = r * cols;
    for (let j = 0; j < cols; j++) acc[j] += xv[o + j];
  }
  for (let j = 0; j < cols; j++) ov[j] = acc[j];
}

function makeIdentity(orig: WasmOriginals): SyncKernel {
  return (args) => {
    const { inputs, backend } = args;
    const x = inputs.x;
    if (x.dtype === 'string') return orig.Identity(args);
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

function makeCast(orig: WasmOriginals): SyncKernel {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x;
    const { dtype } = attrs as unknown as { dtype: string };
    if (x.dtype !== dtype || x.dtype === 'string') return orig.Cast(args);
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/** The pure-wasm fast kernel set, by kernel name. */
export function fastWasmKernels(orig: WasmOriginals): Record<string, SyncKernel> {
  return {
    BatchMatMul: makeBatchMatMul(orig),
    _FusedMatMul: makeFusedMatMul(orig),
    Conv2DBackpropInput: makeConv2DBackpropInput(orig),
    Conv2DBackpropFilter: makeConv2DBackpropFilter({ batchMatMul: orig.BatchMatMul }),
    MaxPoolGrad: makeMaxPoolGrad(orig),
    Sum: makeSum(orig),
    Identity: makeIdentity(orig),
    Cast: makeCast(orig),
  };
}
