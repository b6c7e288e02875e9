/**
 * Conv2DBackpropFilter for the wasm backend (which ships without it).
 *
 * dW[kh,kw,ci,co] = sum over (b,y,x) of x[b, y*sh+kh*dh-pt, x*sw+kw*dw-pl, ci] * dy[b,y,x,co]
 *
 * computed as an im2col product: cols[n, (kh,kw,ci)] is gathered in JS from the
 * input (contiguous runs of ci), dyᵀ[co, n] is a transposed copy of the output
 * gradient, and dWᵀ = dyᵀ · cols runs in the backend's own non-transposed
 * BatchMatMul (XNNPACK). The batch is processed in chunks so the column buffer
 * stays bounded.
 */
import { backend_util, type TensorInfo } from '@tensorflow/tfjs-core';
import {
  backpropFilterInfo,
  f32,
  dispose,
  type BackpropFilterAttrs,
  type SyncKernel,
  type WasmBackendLike,
} from './wasm-util.js';

/** Upper bound on floats in one chunk's column buffer (32 MiB). */
let MAX_COL_FLOATS = 8 * 1024 * 1024;

export function maxColumnFloats(): number {
  return MAX_COL_FLOATS;
}

/** Change the column-buffer bound (tests use a tiny one to exercise chunking). Returns the previous value. */
export function setMaxColumnFloats(n: number): number {
  const prev = MAX_COL_FLOATS;
  MAX_COL_FLOATS = n;
  return prev;
}

export interface FilterGradDeps {
  /** The wasm backend's own BatchMatMul (non-transposed use only). */
  batchMatMul: SyncKernel;
}

export function makeConv2DBackpropFilter(deps: FilterGradDeps): SyncKernel {
  return ({ inputs, backend, attrs }) => {
    const x = inputs.x as TensorInfo;
    const dy = inputs.dy as TensorInfo;
    const a = (attrs ?? {}) as unknown as BackpropFilterAttrs;
    if (a.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter on wasm supports only NHWC (channelsLast)');
    const info = backpropFilterInfo(x, a);
    return conv2DBackpropFilterIm2col(backend, x, dy, info, deps.batchMatMul);
  };
}

export function conv2DBackpropFilterIm2col(
  backend: WasmBackendLike,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
  batchMatMul: SyncKernel,
): TensorInfo {
  const B = info.batchSize,
    H = info.inHeight,
    W = info.inWidth,
    C = info.inChannels;
  const OH = info.outHeight,
    OW = info.outWidth,
    CO = info.outChannels;
  const FH = info.filterHeight,
    FW = info.filterWidth;
  const SH = info.strideHeight,
    SW = info.strideWidth;
  const DH = info.dilationHeight,
    DW = info.dilationWidth;
  const PT = info.padInfo.top,
    PL = info.padInfo.left;
  const K = FH * FW * C;
  const P = OH * OW; // output pixels per image
  const chunk = Math.max(1, Math.min(B, Math.floor(MAX_COL_FLOATS / Math.max(1, P * K))));

  const out = backend.makeOutput([FH, FW, C, CO], 'float32');
  let acc: Float32Array | null = chunk < B ? new Float32Array(CO * K) : null;
  let result: TensorInfo | null = null;

  for (let b0 = 0; b0 < B; b0 += chunk) {
    const nb = Math.min(chunk, B - b0);
    const n = nb * P;
    const cols = backend.makeOutput([1, n, K], 'float32');
    const dyT = backend.makeOutput([1, CO, n], 'float32');
    // Views taken after both allocations.
    const xv = f32(backend, x);
    const dyv = f32(backend, dy);
    const cv = f32(backend, cols);
    const tv = f32(backend, dyT);
    im2col(xv, cv, b0, nb, H, W, C, OH, OW, FH, FW, SH, SW, DH, DW, PT, PL);
    // dyᵀ for this chunk: dy rows [b0*P, b0*P+n) of width CO.
    const base = b0 * P * CO;
    for (let r = 0; r < n; r++) {
      const src = base + r * CO;
      for (let c = 0; c < CO; c++) tv[c * n + r] = dyv[src + c];
    }
    const prod = batchMatMul({ inputs: { a: dyT, b: cols }, backend, attrs: { transposeA: false, transposeB: false } });
    dispose(backend, cols, dyT);
    const pv = f32(backend, prod);
    if (acc) {
      for (let i = 0; i < pv.length; i++) acc[i] += pv[i];
      dispose(backend, prod);
    } else {
      result = prod;
    }
  }
  // Transpose dWᵀ [CO, K] into dW [K, CO] (= [FH, FW, C, CO]).
  const ov = f32(backend, out);
  const src = acc ?? f32(backend, result!);
  for (let co = 0; co < CO; co++) {
    const row = co * K;
    for (let k = 0; k < K; k++) ov[k * CO + co] = src[row + k];
  }
  if (result) dispose(backend, result);
  acc = null;
  return out;
}

/** cols[(b-b0)*OH*OW + oy*OW + ox][(kh*FW + kw)*C + ci] = padded x value. */
export function im2col(
  xv: Float32Array,
  cv: Float32Array,
  b0: number,
  nb: number,
  H: number,
  W: number,
  C: number,
  OH: number,
  OW: number,
  FH: number,
  FW: number,
  SH: number,
  SW: number,
  DH: number,
  DW: number,
  PT: number,
  PL: number,
): void {
  const K = FH * FW * C;
  const run = FW * C;
  // When both views are on the same buffer (the wasm heap), a filter row whose
  // pixels are all inside the input is one contiguous run: one memmove.
  const heap = cv.buffer === xv.buffer && run >= 16 ? new Float32Array(cv.buffer) : null;
  const cBase = cv.byteOffset >> 2,
    xBase = xv.byteOffset >> 2;
  let dst = 0;
  for (let b = b0; b < b0 + nb; b++) {
    const xb = b * H * W * C;
    for (let oy = 0; oy < OH; oy++) {
      const iy0 = oy * SH - PT;
      for (let ox = 0; ox < OW; ox++) {
        const ix0 = ox * SW - PL;
        const inside = DW === 1 && ix0 >= 0 && ix0 + FW <= W;
        let d = dst;
        for (let kh = 0; kh < FH; kh++) {
          const iy = iy0 + kh * DH;
          if (iy < 0 || iy >= H) {
            cv.fill(0, d, d + FW * C);
            d += FW * C;
            continue;
          }
          const rowBase = xb + iy * W * C;
          if (inside) {
            const s = rowBase + ix0 * C;
            if (heap) heap.copyWithin(cBase + d, xBase + s, xBase + s + run);
            else for (let c = 0; c < run; c++) cv[d + c] = xv[s + c];
            d += run;
            continue;
          }
          for (let kw = 0; kw < FW; kw++) {
            const ix = ix0 + kw * DW;
            if (ix < 0 || ix >= W) {
              for (let c = 0; c < C; c++) cv[d + c] = 0;
            } else {
              const s = rowBase + ix * C;
              if (C >= 16) cv.set(xv.subarray(s, s + C), d);
              else for (let c = 0; c < C; c++) cv[d + c] = xv[s + c];
            }
            d += C;
          }
        }
        dst += K;
      }
    }
  }
}
