import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// Registers the gradient functions (tfjs-core alone does not).
import '@tensorflow/tfjs-layers';

/** Deterministic pseudo-random data in [-1, 1). */
export function rand(n: number, seed: number): Float32Array {
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

export function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Run `fn` on `backend` and return its outputs as plain arrays. */
export async function on(backend: string, fn: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  await tf.ready();
  const outs = tf.tidy(() => {
    const r = fn();
    return Array.isArray(r) ? r : [r];
  });
  const vals = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  return vals.map((v) => Float32Array.from(v));
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Largest magnitude in `a` (for relative tolerances). */
export function maxAbs(a: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export const diffs: Record<string, number> = {};
export function record(name: string, d: number): void {
  diffs[name] = Math.max(diffs[name] ?? 0, d);
}
