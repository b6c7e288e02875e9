/**
 * The wasm SIMD helpers of simd.wat, instantiated on the TF.js wasm backend's
 * own memory so they work on tensors in place (byte offsets into the heap).
 * Unavailable (null) when the backend's memory cannot be imported (e.g. the
 * threaded build's shared memory) or the runtime lacks wasm SIMD; callers then
 * use their JS loops.
 */
import { SIMD_WASM_BASE64 } from './simd-module.js';
import type { WasmBackendLike } from './wasm-util.js';

export interface SimdKernels {
  /** See simd.wat: 2×2/stride-2 unpadded MaxPoolGrad, C % 4 == 0; byte offsets. */
  maxPoolGrad2x2(x: number, dy: number, dx: number, B: number, H: number, W: number, C: number, OH: number, OW: number): void;
  /** See simd.wat: column sums of a [rows, cols] matrix, cols % 4 == 0, float64 scratch `acc` (cols·8 bytes). */
  sumRows(x: number, out: number, rows: number, cols: number, acc: number): void;
}

let disabled = process.env.CDL_KERNELS_SIMD === '0';
const cache = new WeakMap<object, SimdKernels | null>();

/** Turn the SIMD helpers off/on (tests compare both paths). */
export function setSimdEnabled(on: boolean): void {
  disabled = !on;
}

/** The helpers bound to `backend`'s memory, or null. */
export function simdFor(backend: WasmBackendLike): SimdKernels | null {
  if (disabled) return null;
  const mod = backend.wasm as unknown as { asm?: { memory?: WebAssembly.Memory } };
  const memory = mod.asm?.memory;
  if (!memory) return null;
  if (cache.has(memory)) return cache.get(memory)!;
  let k: SimdKernels | null = null;
  try {
    const bytes = Buffer.from(SIMD_WASM_BASE64, 'base64');
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    k = inst.exports as unknown as SimdKernels;
  } catch {
    k = null;
  }
  cache.set(memory, k);
  return k;
}
