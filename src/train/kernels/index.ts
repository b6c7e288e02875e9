/**
 * Kernel layer for training on the TF.js wasm backend.
 *
 * `installKernels()` is called by the trainer right after the backend is set.
 * It always provides the `Conv2DBackpropFilter` kernel the wasm backend lacks
 * (so convolutional models train at all), and in 'auto'/'fast' mode replaces
 * the slow wasm kernels by faster ones: pure-wasm/JS rewrites, and where
 * onnxruntime-node's synchronous binding is available and measured faster for
 * a shape, onnxruntime-backed matrix products and convolutions.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { makeConv2DBackpropFilter } from './conv-backprop-filter.js';
import { fastWasmKernels, type WasmOriginals } from './fast-wasm.js';
import { asKernelFunc, type SyncKernel } from './wasm-util.js';

export interface KernelLayerInfo {
  /** 'cdl-fast-ort' | 'cdl-fast-wasm' | 'wasm-reference' | 'none' (not on wasm). */
  name: string;
  /** Names of the kernels registered or replaced by this layer. */
  kernels: string[];
  notes: string[];
}

export type KernelMode = 'auto' | 'fast' | 'reference';

/** The wasm backend's own kernels, captured before anything is replaced. */
const originals = new Map<string, KernelConfig>();
/** Kernels this layer has registered, by name. */
const installed = new Map<string, string>();
let lastInfo: KernelLayerInfo | null = null;
let lastMode: KernelMode | null = null;

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
export async function installKernels(mode: KernelMode = 'auto'): Promise<KernelLayerInfo> {
  if (tf.getBackend() !== 'wasm') {
    return { name: 'none', kernels: [], notes: [`backend is '${tf.getBackend()}', kernel layer not installed`] };
  }
  if (lastInfo && lastMode === mode) return lastInfo;
  const notes: string[] = [];
  // Start from the backend's own kernels.
  for (const name of [...installed.keys()]) restore(name);
  const orig = wasmOriginals();
  installBase();
  let name = 'wasm-reference';
  if (mode !== 'reference') {
    for (const [k, fn] of Object.entries(fastWasmKernels(orig))) put(k, fn, 'fast-wasm');
    name = 'cdl-fast-wasm';
  }
  const info: KernelLayerInfo = { name, kernels: [...installed.keys()], notes };
  lastInfo = info;
  lastMode = mode;
  return info;
}
