/**
 * Matrix products with a transposed operand on the wasm backend: transpose first (a JS loop over
 * the heap), then the backend's fast non-transposed product. _FusedMatMul with a transposed
 * operand is wrong in tfjs-backend-wasm 4.22, so it goes the same way.
 */
import { util, type TensorInfo } from '@tensorflow/tfjs-core';
import { dispose, f32, type SyncKernel, type WasmBackendLike, type WasmOriginals } from './wasm-util.js';

/** Transpose the last two axes of a float32 tensor (JS loop over the heap). */
function transposeLast2(backend: WasmBackendLike, t: TensorInfo): TensorInfo {
  const r = t.shape.length;
  const rows = t.shape[r - 2],
    cols = t.shape[r - 1];
  const batch = util.sizeFromShape(t.shape.slice(0, -2));
  const outShape = [...t.shape.slice(0, -2), cols, rows];
  const out = backend.makeOutput(outShape, 'float32');
  const src = f32(backend, t),
    dst = f32(backend, out);
  const m = rows * cols;
  // Blocked transpose for cache friendliness.
  const B = 32;
  for (let b = 0; b < batch; b++) {
    const o = b * m;
    for (let i0 = 0; i0 < rows; i0 += B) {
      const i1 = Math.min(rows, i0 + B);
      for (let j0 = 0; j0 < cols; j0 += B) {
        const j1 = Math.min(cols, j0 + B);
        for (let i = i0; i < i1; i++) {
          const si = o + i * cols;
          for (let j = j0; j < j1; j++) dst[o + j * rows + i] = src[si + j];
        }
      }
    }
  }
  return out;
}

export function makeBatchMatMul(orig: WasmOriginals): SyncKernel {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const a = inputs.a,
      b = inputs.b;
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if ((!transposeA && !transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32') return orig.BatchMatMul(args);
    const at = transposeA ? transposeLast2(backend, a) : a;
    const bt = transposeB ? transposeLast2(backend, b) : b;
    const out = orig.BatchMatMul({ inputs: { a: at, b: bt }, backend, attrs: { transposeA: false, transposeB: false } });
    if (transposeA) dispose(backend, at);
    if (transposeB) dispose(backend, bt);
    return out;
  };
}

/**
 * _FusedMatMul: tfjs-backend-wasm 4.22 gives wrong results when an operand is
 * transposed; transpose first and use the non-transposed fused product.
 */
export function makeFusedMatMul(orig: WasmOriginals): SyncKernel {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { a, b } = inputs;
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if ((!transposeA && !transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32') return orig._FusedMatMul(args);
    const at = transposeA ? transposeLast2(backend, a) : a;
    const bt = transposeB ? transposeLast2(backend, b) : b;
    const out = orig._FusedMatMul({
      inputs: { ...inputs, a: at, b: bt },
      backend,
      attrs: { ...attrs, transposeA: false, transposeB: false },
    });
    if (transposeA) dispose(backend, at);
    if (transposeB) dispose(backend, bt);
    return out;
  };
}
