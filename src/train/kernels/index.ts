/**
 * Kernel layer for training on the TF.js wasm backend.
 *
 * `installKernels()` is called by the trainer right after the backend is set.
 * It always provides the `Conv2DBackpropFilter` kernel the wasm backend lacks
 * (so convolutional models train at all), and in 'auto'/'fast' mode replaces
 * the slow wasm kernels by faster ones: pure-wasm/JS rewrites, and where
 * onnxruntime-node's synchronous binding is available, onnxruntime-backed
 * matrix products and convolutions for the shapes the choice policy gives it
 * (a fixed rule by default, so runs repeat bit for bit; timing with
 * train.deterministic: false).
 */
import * as tf from '@tensorflow/tfjs-core';
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { makeConv2DBackpropFilter, maxColumnFloats } from './conv-backprop-filter.js';
import { loadOrt, ORT_PINNED_VERSION } from './ort.js';
import { choicePolicy, choiceTable, setChoicePolicy, type ChoicePolicy } from './kernel-choice.js';
import { makeOrtConv2D, makeOrtConv2DBackpropFilter, makeOrtConv2DBackpropInput } from './ort-conv.js';
import { makeOrtBatchMatMul, makeOrtFusedMatMul } from './ort-matmul.js';
import { fastWasmKernels } from './fast-wasm.js';
import { asKernelFunc, type SyncKernel, type WasmOriginals } from './wasm-util.js';

export interface KernelLayerInfo {
  /** 'cdl-fast-ort' | 'cdl-fast-wasm' | 'wasm-reference' | 'none' (not on wasm). */
  name: string;
  /** Names of the kernels registered or replaced by this layer. */
  kernels: string[];
  notes: string[];
  /** How shapes are assigned to onnxruntime or wasm ('fixed' keeps runs bit-identical). */
  policy?: ChoicePolicy;
}

export type KernelMode = 'auto' | 'fast' | 'reference';

/** The wasm backend's own kernels, captured before anything is replaced. */
const originals = new Map<string, KernelConfig>();
/** Kernels this layer has registered, by name. */
const installed = new Map<string, string>();
let lastInfo: KernelLayerInfo | null = null;
let lastMode: string | null = null;

export interface InstallOptions {
  /** Use onnxruntime-node where it wins (default: yes, unless CDL_KERNELS_ORT=0). */
  ort?: boolean;
  /**
   * Assign shapes to onnxruntime or wasm by a fixed rule (default) instead of by timing, so the
   * same run repeats bit for bit (train.deterministic).
   */
  deterministic?: boolean;
}

/**
 * Which implementation ('ort' or 'wasm') the per-shape choice picked for each
 * kernel and shape seen so far; for the lineage, after training.
 */
export function kernelChoices(): Record<string, 'ort' | 'wasm'> {
  return choiceTable();
}

function original(name: string): SyncKernel {
  if (!originals.has(name)) {
    const k = getKernel(name, 'wasm');
    if (!k) throw new Error(`wasm backend has no ${name} kernel`);
    originals.set(name, k);
  }
  return originals.get(name)!.kernelFunc as unknown as SyncKernel;
}

/** Register `fn` as the wasm kernel `name`, remembering the original. */
function put(name: string, fn: SyncKernel, tag: string): void {
  const existing = getKernel(name, 'wasm');
  if (existing && !originals.has(name) && !installed.has(name)) originals.set(name, existing);
  if (existing) unregisterKernel(name, 'wasm');
  registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: asKernelFunc(fn) });
  installed.set(name, tag);
}

/** Put back the wasm backend's own kernel (or remove ours if it had none). */
function restore(name: string): void {
  if (!installed.has(name)) return;
  unregisterKernel(name, 'wasm');
  const o = originals.get(name);
  if (o) registerKernel(o);
  installed.delete(name);
}

function wasmOriginals(): WasmOriginals {
  return {
    BatchMatMul: original('BatchMatMul'),
    Transpose: original('Transpose'),
    Conv2D: original('Conv2D'),
    Conv2DBackpropInput: original('Conv2DBackpropInput'),
    MaxPoolGrad: original('MaxPoolGrad'),
    Sum: original('Sum'),
    Identity: original('Identity'),
    Cast: original('Cast'),
    _FusedMatMul: original('_FusedMatMul'),
    FusedConv2D: original('FusedConv2D'),
  };
}

function installBase(): void {
  // Capture the originals the base kernels depend on before anything changes.
  const batchMatMul = original('BatchMatMul');
  if (installed.get('Conv2DBackpropFilter') !== 'base') {
    put('Conv2DBackpropFilter', makeConv2DBackpropFilter({ batchMatMul }), 'base');
  }
}

/**
 * Always registers the missing wasm Conv2DBackpropFilter. With mode
 * 'auto'/'fast' also installs the fast kernels (falling back silently, with a
 * note, when onnxruntime's sync binding is unavailable). Idempotent. Only acts
 * when tf.getBackend() === 'wasm'.
 */
export async function installKernels(mode: KernelMode = 'auto', options: InstallOptions = {}): Promise<KernelLayerInfo> {
  if (tf.getBackend() !== 'wasm') {
    return { name: 'none', kernels: [], notes: [`backend is '${tf.getBackend()}', kernel layer not installed`] };
  }
  const useOrt = options.ort ?? process.env.CDL_KERNELS_ORT !== '0';
  setChoicePolicy(options.deterministic === false ? 'timed' : 'fixed');
  const modeKey = `${mode}:${useOrt}:${choicePolicy()}`;
  if (lastInfo && lastMode === modeKey) return lastInfo;
  const notes: string[] = [];
  // Start from the backend's own kernels.
  for (const name of [...installed.keys()]) restore(name);
  const orig = wasmOriginals();
  installBase();
  let name = 'wasm-reference';
  if (mode !== 'reference') {
    const fast = fastWasmKernels(orig);
    for (const [k, fn] of Object.entries(fast)) put(k, fn, 'fast-wasm');
    name = 'cdl-fast-wasm';
    if (useOrt) {
      const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer;
      const ort = loadOrt();
      if (typeof SharedArrayBuffer !== 'undefined' && heap instanceof SharedArrayBuffer) {
        notes.push('onnxruntime path off: the threaded wasm build shares its heap, outputs cannot be written into it');
      } else if (!ort.ok) {
        notes.push(`onnxruntime path off, using the pure-wasm kernels: ${ort.reason}`);
      } else {
        const e = ort.engine;
        if (e.version !== ORT_PINNED_VERSION) notes.push(`onnxruntime-node ${e.version} (tested with ${ORT_PINNED_VERSION})`);
        put('BatchMatMul', makeOrtBatchMatMul(e, fast.BatchMatMul), 'ort');
        put('_FusedMatMul', makeOrtFusedMatMul(e, fast._FusedMatMul), 'ort');
        put('Conv2D', makeOrtConv2D(e, orig.Conv2D, false), 'ort');
        put('FusedConv2D', makeOrtConv2D(e, orig.FusedConv2D, true), 'ort');
        put('Conv2DBackpropInput', makeOrtConv2DBackpropInput(e, fast.Conv2DBackpropInput), 'ort');
        put('Conv2DBackpropFilter', makeOrtConv2DBackpropFilter(e, fast.Conv2DBackpropFilter, maxColumnFloats), 'ort');
        notes.push(
          `onnxruntime-node ${e.version} synchronous binding, ${e.threads} threads, spinning off; per-shape choice between onnxruntime and wasm ${choicePolicy() === 'fixed' ? 'by a fixed size rule (deterministic)' : 'by timing'}`,
        );
        name = 'cdl-fast-ort';
      }
    } else {
      notes.push('onnxruntime path disabled by option/CDL_KERNELS_ORT=0');
    }
  }
  const info: KernelLayerInfo = { name, kernels: [...installed.keys()], notes, policy: choicePolicy() };
  lastInfo = info;
  lastMode = mode;
  return info;
}
