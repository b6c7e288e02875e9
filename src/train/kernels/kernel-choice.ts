/**
 * Which of a kernel's two implementations, onnxruntime (ort-matmul.ts, ort-conv.ts) or pure
 * wasm, computes a shape. Two policies:
 * - 'fixed' (train.deterministic, the default): the choice is a function of the
 *   shape alone (onnxruntime from FIXED_MIN_WORK multiply-adds on), so every
 *   run, and a resumed run, computes with the same kernels and the same bits;
 * - 'timed': the first time a shape is seen both are run and timed, and the
 *   faster one is used from then on. Faster, but two runs can pick differently
 *   for shapes where the two are close, and their sums then differ in the last bits.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { dispose, type WasmBackendLike } from './wasm-util.js';

export type Choice = 'ort' | 'wasm';

/** Forced choice for tests ('auto' = time both once per shape). */
let forced: Choice | 'auto' = 'auto';
export function forceChoice(c: Choice | 'auto'): void {
  forced = c;
}

export type ChoicePolicy = 'fixed' | 'timed';
let policy: ChoicePolicy = 'fixed';
/**
 * Set how shapes are assigned to onnxruntime or wasm. Changing the policy
 * forgets the choices made so far, so no timed choice leaks into a fixed run.
 */
export function setChoicePolicy(p: ChoicePolicy): void {
  if (p !== policy) choices.clear();
  policy = p;
}
export function choicePolicy(): ChoicePolicy {
  return policy;
}
/**
 * Multiply-adds from which the fixed policy hands a kernel call to onnxruntime:
 * below it, the cost of a session run (tens of microseconds) outweighs its faster product.
 */
const FIXED_MIN_WORK = 1 << 20;

const choices = new Map<string, Choice>();
/** The choice made per kernel/shape key so far (for the lineage and the bench). */
export function choiceTable(): Record<string, Choice> {
  return Object.fromEntries(choices);
}

const now = () => performance.now();

/**
 * Run `ort` or `wasm` for `key`. `ort` returns null when it does not apply to
 * these inputs. On the first encounter both are timed (after a warm-up run,
 * which also builds the onnxruntime session) and the faster is remembered.
 */
export function choose(
  backend: WasmBackendLike,
  key: string,
  work: number,
  ort: () => TensorInfo | null,
  wasm: () => TensorInfo,
): TensorInfo {
  if (forced === 'wasm') return wasm();
  if (forced === 'ort') return ort() ?? wasm();
  const c = choices.get(key);
  if (c === 'wasm') return wasm();
  if (c === 'ort') return ort() ?? wasm();
  if (policy === 'fixed') {
    const pick: Choice = work >= FIXED_MIN_WORK ? 'ort' : 'wasm';
    if (pick === 'wasm') {
      choices.set(key, 'wasm');
      return wasm();
    }
    // Whether onnxruntime applies (null: it does not) depends only on the shapes and attributes,
    // so this too is fixed. A failure is not turned into a quiet fallback: that would make the
    // choice depend on the state of the process.
    let r: TensorInfo | null;
    try {
      r = ort();
    } catch (e) {
      throw new Error(`onnxruntime kernel ${key} failed: ${(e as Error).message}; CDL_KERNELS_ORT=0 trains without onnxruntime`, {
        cause: e,
      });
    }
    choices.set(key, r ? 'ort' : 'wasm');
    return r ?? wasm();
  }
  let first: TensorInfo | null;
  try {
    first = ort();
  } catch {
    first = null;
  }
  if (!first) {
    choices.set(key, 'wasm');
    return wasm();
  }
  dispose(backend, first);
  dispose(backend, wasm());
  let tOrt = Infinity,
    tWasm = Infinity;
  for (let i = 0; i < 2; i++) {
    let t = now();
    dispose(backend, ort()!);
    tOrt = Math.min(tOrt, now() - t);
    t = now();
    dispose(backend, wasm());
    tWasm = Math.min(tWasm, now() - t);
  }
  const pick: Choice = tOrt < tWasm ? 'ort' : 'wasm';
  choices.set(key, pick);
  return pick === 'ort' ? ort()! : wasm();
}
