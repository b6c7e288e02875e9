/**
 * Small helpers for writing TF.js kernels against the wasm backend's heap.
 *
 * The wasm backend keeps every tensor in its linear memory and exposes it via
 * `backend.dataIdMap.get(dataId).memoryOffset`. Kernels here read inputs and
 * write outputs through Float32Array views of that memory (no copies). Views
 * must be re-taken after any allocation, because the heap may grow and detach
 * the previous ArrayBuffer.
 */
import { getKernel, util, type DataId, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

export interface WasmModuleLike {
  HEAPF32: Float32Array;
  HEAPU8: Uint8Array;
  _malloc(n: number): number;
  _free(p: number): void;
}

export interface WasmTensorData {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: string;
  refCount: number;
}

export interface WasmBackendLike {
  wasm: WasmModuleLike;
  dataIdMap: { get(id: DataId): WasmTensorData; has(id: DataId): boolean };
  makeOutput(shape: number[], dtype: string, memoryOffset?: number, values?: unknown): TensorInfo;
  disposeData(dataId: DataId, force?: boolean): boolean;
  incRef(dataId: DataId): void;
}

/** Float32 view of a tensor's data inside the wasm heap (valid until the next allocation). */
export function f32(backend: WasmBackendLike, t: TensorInfo): Float32Array {
  const d = backend.dataIdMap.get(t.dataId);
  return new Float32Array(backend.wasm.HEAPF32.buffer, d.memoryOffset, util.sizeFromShape(t.shape));
}

/** Byte offset of a tensor's data inside the wasm heap. */
export function offsetOf(backend: WasmBackendLike, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/** A view of the same data with another shape (shares memory, bumps the ref count). */
export function reshapeShared(backend: WasmBackendLike, t: TensorInfo, shape: number[]): TensorInfo {
  backend.incRef(t.dataId);
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

export function dispose(backend: WasmBackendLike, ...ts: TensorInfo[]): void {
  for (const t of ts) backend.disposeData(t.dataId);
}

type KernelArgs = { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs?: NamedAttrMap };
export type SyncKernel = (args: KernelArgs) => TensorInfo;

/** The kernel function currently registered for `name` on the wasm backend. */
export function wasmKernel(name: string): SyncKernel | undefined {
  const k = getKernel(name, 'wasm');
  return k ? (k.kernelFunc as unknown as SyncKernel) : undefined;
}

export function asKernelFunc(f: SyncKernel): KernelFunc {
  return f as unknown as KernelFunc;
}

interface WasmModuleWithTfjs extends WasmModuleLike {
  tfjs: { disposeData(id: number): void };
}

/**
 * A tensor that aliases `shape`-many floats at byte `offset` of the heap (for
 * example a slice of another tensor). Must be released with `releaseView`,
 * never disposed: its memory belongs to someone else.
 */
export function viewAt(backend: WasmBackendLike, offset: number, shape: number[]): TensorInfo {
  return backend.makeOutput(shape, 'float32', offset);
}

export function releaseView(backend: WasmBackendLike, t: TensorInfo): void {
  const map = backend.dataIdMap as unknown as { get(id: DataId): WasmTensorData; delete(id: DataId): void };
  const d = map.get(t.dataId);
  if (!d) return;
  (backend.wasm as WasmModuleWithTfjs).tfjs.disposeData(d.id);
  map.delete(t.dataId);
}
