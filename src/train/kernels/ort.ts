/**
 * onnxruntime-node as a synchronous compute engine for TF.js wasm kernels.
 *
 * TF.js kernels must be synchronous; onnxruntime-node's public `run()` is a
 * promise around its native binding's synchronous `run`, which is what is used
 * here (an internal API: it is detected, smoke-tested, and when missing the
 * layer falls back to the pure-wasm kernels). Inputs are zero-copy views of
 * the wasm heap and outputs are pre-allocated views of it too, so onnxruntime
 * writes results straight into the output tensors. Sessions are cached per
 * graph (shape and attributes). Thread spinning is turned off: with it on,
 * the cached sessions' thread pools fight for the cores.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { disableOrtTelemetry } from '../../runtime/onnxruntime.js';
import { encodeModel, type OnnxGraph } from './onnx-graph.js';

/** The onnxruntime-node version this layer was written and tested against. */
export const ORT_PINNED_VERSION = '1.30.0';

interface BindingSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: unknown): void;
  run(feeds: Record<string, unknown>, fetches: Record<string, unknown>, options: unknown): unknown;
}

type TensorCtor = new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;

export interface OrtEngine {
  version: string;
  threads: number;
  /** Run the graph (cached per key) with heap views as inputs and outputs. */
  run(
    key: string,
    graph: () => OnnxGraph,
    feeds: Record<string, { data: Float32Array; shape: number[] }>,
    outputs: Record<string, { data: Float32Array; shape: number[] }>,
  ): void;
  sessions(): number;
}

export type OrtLoad = { ok: true; engine: OrtEngine } | { ok: false; reason: string };

let loaded: OrtLoad | null = null;

/** Load onnxruntime-node and check its synchronous binding; never throws. */
export function loadOrt(): OrtLoad {
  if (loaded) return loaded;
  loaded = tryLoad();
  return loaded;
}

/** Replace the loaded state (tests simulate an onnxruntime without a synchronous binding). */
export function overrideOrtLoad(l: OrtLoad | null): void {
  loaded = l;
}

interface BindingModule {
  binding?: { InferenceSession?: new () => BindingSession };
  initOrt?: () => void;
}

/** Why a binding module cannot be used synchronously, or null when it can. */
export function bindingProblem(mod: unknown): string | null {
  const m = mod as BindingModule | null;
  const Session = m?.binding?.InferenceSession;
  if (typeof Session !== 'function') return 'no native InferenceSession in the binding';
  if (typeof m?.initOrt !== 'function') return 'no initOrt in the binding';
  if (typeof Session.prototype?.run !== 'function') return 'the native session has no synchronous run()';
  return null;
}

function tryLoad(): OrtLoad {
  let version = 'unknown';
  try {
    const require = createRequire(import.meta.url);
    disableOrtTelemetry();
    version = (require('onnxruntime-node/package.json') as { version: string }).version;
    const ort = require('onnxruntime-node') as { Tensor: TensorCtor };
    const mod = require('onnxruntime-node/dist/binding.js') as BindingModule;
    const problem = bindingProblem(mod);
    if (problem) return { ok: false, reason: `onnxruntime-node ${version}: ${problem}` };
    const Session = mod.binding!.InferenceSession!;
    mod.initOrt!();
    const threads = Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, 8));
    const options = {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    };
    const cache = new Map<string, BindingSession>();
    const engine: OrtEngine = {
      version,
      threads,
      sessions: () => cache.size,
      run(key, graph, feeds, outputs) {
        let s = cache.get(key);
        if (!s) {
          const bytes = encodeModel(graph());
          s = new Session();
          s.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, options);
          cache.set(key, s);
        }
        const f: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor('float32', v.data, v.shape);
        const o: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(outputs)) o[k] = new ort.Tensor('float32', v.data, v.shape);
        const r = s.run(f, o, {});
        if (r instanceof Promise) throw new Error('onnxruntime binding run() is not synchronous');
      },
    };
    // Smoke test: a transposed product written into a pre-allocated output.
    const buf = new ArrayBuffer(256);
    const a = new Float32Array(buf, 0, 6);
    a.set([1, 2, 3, 4, 5, 6]);
    const b = new Float32Array(buf, 32, 3);
    b.set([1, 1, 1]);
    const y = new Float32Array(buf, 64, 2);
    engine.run(
      'smoke',
      () => ({
        inputs: [
          { name: 'a', shape: [3, 2] },
          { name: 'b', shape: [3, 1] },
        ],
        outputs: [{ name: 'y', shape: [2, 1] }],
        nodes: [{ op: 'Gemm', inputs: ['a', 'b'], outputs: ['y'], attrs: { transA: 1 } }],
      }),
      { a: { data: a, shape: [3, 2] }, b: { data: b, shape: [3, 1] } },
      { y: { data: y, shape: [2, 1] } },
    );
    if (y[0] !== 9 || y[1] !== 12)
      return { ok: false, reason: `onnxruntime-node ${version}: smoke test gave ${y[0]},${y[1]} instead of 9,12` };
    return { ok: true, engine };
  } catch (e) {
    return { ok: false, reason: `onnxruntime-node ${version} unavailable: ${(e as Error).message.split('\n')[0]}` };
  }
}
