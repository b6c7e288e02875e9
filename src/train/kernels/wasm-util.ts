/**
 * Small helpers for writing TF.js kernels against the wasm backend's heap.
 *
 * The wasm backend keeps every tensor in its linear memory and exposes it via
 * `backend.dataIdMap.get(dataId).memoryOffset`. Kernels here read inputs and
 * write outputs through Float32Array views of that memory (no copies). Views
 * must be re-taken after any allocation, because the heap may grow and detach
 * the previous ArrayBuffer.
 */
import {
  backend_util,
  getKernel,
  util,
  type DataId,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

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

/** The wasm backend's own kernels that the replacements fall back to or build on. */
export interface WasmOriginals {
  BatchMatMul: SyncKernel;
  Transpose: SyncKernel;
  Conv2D: SyncKernel;
  Conv2DBackpropInput: SyncKernel;
  MaxPoolGrad: SyncKernel;
  Sum: SyncKernel;
  Identity: SyncKernel;
  Cast: SyncKernel;
  _FusedMatMul: SyncKernel;
  FusedConv2D: SyncKernel;
}

/** A convolution's padding attribute as TF.js passes it. */
export type Pad = backend_util.ExplicitPadding | 'valid' | 'same' | number;

export type Shape4 = [number, number, number, number];

/** The attributes TF.js passes to the two gradients of a convolution. */
interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat?: string;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}
export interface BackpropInputAttrs extends ConvGradAttrs {
  inputShape: Shape4;
}
export interface BackpropFilterAttrs extends ConvGradAttrs {
  filterShape: Shape4;
}

/** The geometry of the convolution whose filter gradient is asked for (NHWC, no dilation). */
export function backpropFilterInfo(x: TensorInfo, a: BackpropFilterAttrs): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    x.shape as Shape4,
    a.filterShape,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
}
