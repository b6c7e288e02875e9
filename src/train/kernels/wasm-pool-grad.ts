/**
 * MaxPoolGrad on the wasm backend: one pass over the windows, channels innermost, the running
 * maximum starting at -Infinity (tfjs-backend-wasm 4.22 starts at the smallest positive float, so
 * windows of non-positive values route their gradient to the first element).
 */
import { backend_util } from '@tensorflow/tfjs-core';
import { simdFor } from './simd.js';
import { f32, offsetOf, type Pad, type SyncKernel, type WasmOriginals } from './wasm-util.js';

export function makeMaxPoolGrad(orig: WasmOriginals): SyncKernel {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, input } = inputs;
    const a = attrs as unknown as {
      filterSize: [number, number] | number;
      strides: [number, number] | number;
      pad: Pad;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
    };
    if (input.dtype !== 'float32') return orig.MaxPoolGrad(args);
    const info = backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      a.filterSize,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    const dx = backend.makeOutput(input.shape, 'float32');
    const simd = simdFor(backend);
    if (simd && isTiled2x2(info) && info.inChannels % 4 === 0) {
      if (info.outHeight * 2 < info.inHeight || info.outWidth * 2 < info.inWidth) f32(backend, dx).fill(0);
      simd.maxPoolGrad2x2(
        offsetOf(backend, input),
        offsetOf(backend, dy),
        offsetOf(backend, dx),
        info.batchSize,
        info.inHeight,
        info.inWidth,
        info.inChannels,
        info.outHeight,
        info.outWidth,
      );
      return dx;
    }
    maxPoolGradInto(f32(backend, input), f32(backend, dy), f32(backend, dx), info);
    return dx;
  };
}

/** dx[argmax of each window] += dy; the first maximum wins, as in the cpu backend. */
function maxPoolGradInto(x: Float32Array, dy: Float32Array, dx: Float32Array, info: backend_util.Conv2DInfo): void {
  const B = info.batchSize,
    H = info.inHeight,
    W = info.inWidth,
    C = info.inChannels;
  const OH = info.outHeight,
    OW = info.outWidth;
  const SH = info.strideHeight,
    SW = info.strideWidth;
  const DH = info.dilationHeight,
    DW = info.dilationWidth;
  const EH = info.effectiveFilterHeight,
    EW = info.effectiveFilterWidth;
  const PT = info.padInfo.top,
    PL = info.padInfo.left;
  if (isTiled2x2(info)) return maxPoolGrad2x2(x, dy, dx, B, H, W, C, OH, OW);
  dx.fill(0);
  const best = new Float32Array(C);
  const where = new Int32Array(C);
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = oy * SH - PT;
      let yMin = y0;
      while (yMin < 0) yMin += DH;
      const yMax = Math.min(H, y0 + EH);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = ox * SW - PL;
        let xMin = x0;
        while (xMin < 0) xMin += DW;
        const xMax = Math.min(W, x0 + EW);
        best.fill(-Infinity);
        where.fill(-1);
        for (let y = yMin; y < yMax; y += DH) {
          for (let xx = xMin; xx < xMax; xx += DW) {
            const base = ((b * H + y) * W + xx) * C;
            for (let c = 0; c < C; c++) {
              const v = x[base + c];
              const gt = v > best[c];
              best[c] = gt ? v : best[c];
              where[c] = gt ? base + c : where[c];
            }
          }
        }
        const o = ((b * OH + oy) * OW + ox) * C;
        for (let c = 0; c < C; c++) {
          const k = where[c];
          if (k >= 0) dx[k] += dy[o + c];
        }
      }
    }
  }
}

/** 2×2 windows, stride 2, no padding or dilation: windows tile the input. */
function isTiled2x2(info: backend_util.Conv2DInfo): boolean {
  return (
    info.effectiveFilterHeight === 2 &&
    info.effectiveFilterWidth === 2 &&
    info.strideHeight === 2 &&
    info.strideWidth === 2 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0 &&
    info.outHeight * 2 <= info.inHeight &&
    info.outWidth * 2 <= info.inWidth
  );
}

/**
 * The common 2×2, stride-2, unpadded pooling: windows tile the input without
 * overlap, so every covered element is written once (the gradient or 0) and
 * only uncovered edge rows/columns (odd sizes) need clearing. Same result as
 * the general loop: first maximum wins, windows whose values are all -Infinity
 * or NaN pass no gradient.
 */
function maxPoolGrad2x2(
  x: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  B: number,
  H: number,
  W: number,
  C: number,
  OH: number,
  OW: number,
): void {
  if (OH * 2 < H || OW * 2 < W) dx.fill(0);
  const row = W * C;
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const r0 = (b * H + 2 * oy) * row;
      let o = (b * OH + oy) * OW * C;
      for (let ox = 0; ox < OW; ox++) {
        const i0 = r0 + 2 * ox * C,
          i1 = i0 + C,
          i2 = i0 + row,
          i3 = i2 + C;
        for (let c = 0; c < C; c++) {
          const v0 = x[i0 + c],
            v1 = x[i1 + c],
            v2 = x[i2 + c],
            v3 = x[i3 + c];
          let m = -Infinity,
            k = -1;
          if (v0 > m) {
            m = v0;
            k = 0;
          }
          if (v1 > m) {
            m = v1;
            k = 1;
          }
          if (v2 > m) {
            m = v2;
            k = 2;
          }
          if (v3 > m) k = 3;
          const g = dy[o + c];
          dx[i0 + c] = k === 0 ? g : 0;
          dx[i1 + c] = k === 1 ? g : 0;
          dx[i2 + c] = k === 2 ? g : 0;
          dx[i3 + c] = k === 3 ? g : 0;
        }
        o += C;
      }
    }
  }
}
