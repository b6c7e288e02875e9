/**
 * Pure wasm/JS replacements for the wasm backend's slow training kernels.
 *
 * The wasm backend runs its fast XNNPACK code only for non-transposed matrix
 * products and forward convolutions; the other kernels a training step needs
 * are plain loops. Each replacement here reduces its kernel to those fast
 * paths, or is a cache-friendly JS loop over the heap:
 *
 * - BatchMatMul with a transposed operand: transpose first, then the fast product.
 * - Conv2DBackpropInput: a forward convolution of the (stride-dilated) output
 *   gradient with the spatially flipped, channel-swapped filter.
 * - Conv2DBackpropFilter: im2col + fast product (see conv-backprop-filter.ts).
 * - MaxPoolGrad: one pass over the windows, channels innermost. Its running
 *   maximum starts at -Infinity (tfjs-backend-wasm 4.22 starts at the smallest
 *   positive float, so windows of non-positive values route their gradient to
 *   the first element).
 * - Sum over leading axes (bias gradients): row accumulation.
 * - Identity, and Cast to the dtype the tensor already has (the relu gradient
 *   casts its float32 step mask to float32): share the data (ref count)
 *   instead of copying it.
 * - _FusedMatMul with a transposed operand (wrong in tfjs-backend-wasm 4.22):
 *   transpose first, then the non-transposed fused product.
 *
 * Anything outside a replacement's supported cases goes to the original kernel.
 */
import { backend_util, util, type TensorInfo } from '@tensorflow/tfjs-core';
import { makeConv2DBackpropFilter } from './conv-backprop-filter.js';
import { simdFor } from './simd.js';
import { dispose, f32, offsetOf, type SyncKernel, type WasmBackendLike } from './wasm-util.js';

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

type Pad = backend_util.ExplicitPadding | 'valid' | 'same' | number;

/** Transpose the last two axes of a float32 tensor (JS loop over the heap). */
export function transposeLast2(backend: WasmBackendLike, t: TensorInfo): TensorInfo {
  const r = t.shape.length;
  const rows = t.shape[r - 2],
    cols = t.shape[r - 1];
  const batch = util.sizeFromShape(t.shape.slice(0, -2));
  const outShape = [...t.shape.slice(0, -2), cols, rows];
  const out = backend.makeOutput(outShape, 'float32');
  const src = f32(backend, t),
    dst = f32(backend, out);
  const m = rows * cols;
  // Blocked transpose for cache friendliness.
  const B = 32;
  for (let b = 0; b < batch; b++) {
    const o = b * m;
    for (let i0 = 0; i0 < rows; i0 += B) {
      const i1 = Math.min(rows, i0 + B);
      for (let j0 = 0; j0 < cols; j0 += B) {
        const j1 = Math.min(cols, j0 + B);
        for (let i = i0; i < i1; i++) {
          const si = o + i * cols;
          for (let j = j0; j < j1; j++) dst[o + j * rows + i] = src[si + j];
        }
      }
    }
  }
  return out;
}

export function makeBatchMatMul(orig: WasmOriginals): SyncKernel {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const a = inputs.a,
      b = inputs.b;
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if ((!transposeA && !transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32') return orig.BatchMatMul(args);
    const at = transposeA ? transposeLast2(backend, a) : a;
    const bt = transposeB ? transposeLast2(backend, b) : b;
    const out = orig.BatchMatMul({ inputs: { a: at, b: bt }, backend, attrs: { transposeA: false, transposeB: false } });
    if (transposeA) dispose(backend, at);
    if (transposeB) dispose(backend, bt);
    return out;
  };
}

/**
 * _FusedMatMul: tfjs-backend-wasm 4.22 gives wrong results when an operand is
 * transposed; transpose first and use the non-transposed fused product.
 */
export function makeFusedMatMul(orig: WasmOriginals): SyncKernel {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { a, b } = inputs;
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if ((!transposeA && !transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32') return orig._FusedMatMul(args);
    const at = transposeA ? transposeLast2(backend, a) : a;
    const bt = transposeB ? transposeLast2(backend, b) : b;
    const out = orig._FusedMatMul({
      inputs: { ...inputs, a: at, b: bt },
      backend,
      attrs: { ...attrs, transposeA: false, transposeB: false },
    });
    if (transposeA) dispose(backend, at);
    if (transposeB) dispose(backend, bt);
    return out;
  };
}

/** Filter [FH,FW,CI,CO] → flipped [FH,FW,CO,CI] (rotated 180°, channels swapped). */
export function flipSwapFilter(backend: WasmBackendLike, filter: TensorInfo): TensorInfo {
  const [FH, FW, CI, CO] = filter.shape;
  const out = backend.makeOutput([FH, FW, CO, CI], 'float32');
  const w = f32(backend, filter),
    o = f32(backend, out);
  for (let kh = 0; kh < FH; kh++) {
    for (let kw = 0; kw < FW; kw++) {
      const src = (kh * FW + kw) * CI * CO;
      const dst = ((FH - 1 - kh) * FW + (FW - 1 - kw)) * CO * CI;
      for (let ci = 0; ci < CI; ci++) {
        for (let co = 0; co < CO; co++) o[dst + co * CI + ci] = w[src + ci * CO + co];
      }
    }
  }
  return out;
}

/** dy [B,OH,OW,C] → [B,(OH-1)*sh+1,(OW-1)*sw+1,C] with zeros between the rows/columns. */
export function dilateRows(backend: WasmBackendLike, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  const [B, OH, OW, C] = dy.shape;
  const DH = (OH - 1) * sh + 1,
    DW = (OW - 1) * sw + 1;
  const out = backend.makeOutput([B, DH, DW, C], 'float32');
  const s = f32(backend, dy),
    d = f32(backend, out);
  d.fill(0);
  for (let b = 0; b < B; b++) {
    for (let y = 0; y < OH; y++) {
      for (let x = 0; x < OW; x++) {
        const si = ((b * OH + y) * OW + x) * C;
        const di = ((b * DH + y * sh) * DW + x * sw) * C;
        for (let c = 0; c < C; c++) d[di + c] = s[si + c];
      }
    }
  }
  return out;
}

export interface BackpropInputPlan {
  info: backend_util.Conv2DInfo;
  /** Explicit padding of the stride-1 forward convolution over the dilated dy. */
  pad: [[number, number], [number, number], [number, number], [number, number]];
}

/** Plan dx = conv(dilate(dy), flip(W)) or null when it does not apply (dilations, negative pads, NCHW). */
export function planBackpropInput(
  inputShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  strides: [number, number] | number,
  pad: Pad,
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
  dataFormat: string | undefined,
): BackpropInputPlan | null {
  if (dataFormat === 'NCHW') return null;
  const info = backend_util.computeConv2DInfo(inputShape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const FH = info.filterHeight,
    FW = info.filterWidth;
  const dH = (info.outHeight - 1) * info.strideHeight + 1,
    dW = (info.outWidth - 1) * info.strideWidth + 1;
  const pt = FH - 1 - info.padInfo.top,
    pl = FW - 1 - info.padInfo.left;
  const pb = info.inHeight + FH - 1 - dH - pt,
    pr = info.inWidth + FW - 1 - dW - pl;
  if (pt < 0 || pl < 0 || pb < 0 || pr < 0) return null;
  return {
    info,
    pad: [
      [0, 0],
      [pt, pb],
      [pl, pr],
      [0, 0],
    ],
  };
}

export function makeConv2DBackpropInput(orig: WasmOriginals): SyncKernel {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const a = attrs as unknown as {
      strides: [number, number] | number;
      pad: Pad;
      dataFormat?: string;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
      inputShape: [number, number, number, number];
    };
    const plan = planBackpropInput(
      a.inputShape,
      inputs.filter.shape as [number, number, number, number],
      a.strides,
      a.pad,
      a.dimRoundingMode,
      a.dataFormat,
    );
    if (!plan) return orig.Conv2DBackpropInput(args);
    return backpropInputByConv(backend, inputs.dy, inputs.filter, plan, orig.Conv2D);
  };
}

export function backpropInputByConv(
  backend: WasmBackendLike,
  dy: TensorInfo,
  filter: TensorInfo,
  plan: BackpropInputPlan,
  conv2d: SyncKernel,
): TensorInfo {
  const { info } = plan;
  const strided = info.strideHeight > 1 || info.strideWidth > 1;
  const src = strided ? dilateRows(backend, dy, info.strideHeight, info.strideWidth) : dy;
  const wf = flipSwapFilter(backend, filter);
  const out = conv2d({
    inputs: { x: src, filter: wf },
    backend,
    attrs: { strides: [1, 1], dilations: [1, 1], pad: plan.pad, dataFormat: 'NHWC', dimRoundingMode: undefined } as never,
  });
  dispose(backend, wf);
  if (strided) dispose(backend, src);
  return out;
}

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
export function maxPoolGradInto(x: Float32Array, dy: Float32Array, dx: Float32Array, info: backend_util.Conv2DInfo): void {
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

export function makeSum(orig: WasmOriginals): SyncKernel {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x;
    const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
    if (x.dtype !== 'float32') return orig.Sum(args);
    const rank = x.shape.length;
    const axes = util
      .parseAxisParam(axis, x.shape)
      .slice()
      .sort((p, q) => p - q);
    // Only leading axes 0..k-1 (bias gradients), and not everything.
    if (axes.length === 0 || axes.length >= rank || axes.some((v, i) => v !== i)) return orig.Sum(args);
    const k = axes.length;
    const rows = util.sizeFromShape(x.shape.slice(0, k));
    const cols = util.sizeFromShape(x.shape.slice(k));
    const outShape = keepDims ? x.shape.map((d, i) => (i < k ? 1 : d)) : x.shape.slice(k);
    const out = backend.makeOutput(outShape, 'float32');
    const simd = simdFor(backend);
    if (simd && cols % 4 === 0 && rows >= 64) {
      const acc = backend.wasm._malloc(cols * 8 + 16);
      simd.sumRows(offsetOf(backend, x), offsetOf(backend, out), rows, cols, (acc + 15) & ~15);
      backend.wasm._free(acc);
      return out;
    }
    const xv = f32(backend, x),
      ov = f32(backend, out);
    sumRowsInto(xv, ov, rows, cols);
    return out;
  };
}

/** out[j] = Σ_r x[r·cols + j], accumulated in float64, four rows per pass. */
export function sumRowsInto(xv: Float32Array, ov: Float32Array, rows: number, cols: number): void {
  const acc = new Float64Array(cols);
  const r4 = rows - (rows % 4);
  const c2 = 2 * cols,
    c3 = 3 * cols;
  for (let r = 0; r < r4; r += 4) {
    const o = r * cols;
    for (let j = 0; j < cols; j++) {
      const k = o + j;
      acc[j] += xv[k] + xv[k + cols] + (xv[k + c2] + xv[k + c3]);
    }
  }
  for (let r = r4; r < rows; r++) {
    const o = r * cols;
    for (let j = 0; j < cols; j++) acc[j] += xv[o + j];
  }
  for (let j = 0; j < cols; j++) ov[j] = acc[j];
}

export function makeIdentity(orig: WasmOriginals): SyncKernel {
  return (args) => {
    const { inputs, backend } = args;
    const x = inputs.x;
    if (x.dtype === 'string') return orig.Identity(args);
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

export function makeCast(orig: WasmOriginals): SyncKernel {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x;
    const { dtype } = attrs as unknown as { dtype: string };
    if (x.dtype !== dtype || x.dtype === 'string') return orig.Cast(args);
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/** The pure-wasm fast kernel set, by kernel name. */
export function fastWasmKernels(orig: WasmOriginals): Record<string, SyncKernel> {
  return {
    BatchMatMul: makeBatchMatMul(orig),
    _FusedMatMul: makeFusedMatMul(orig),
    Conv2DBackpropInput: makeConv2DBackpropInput(orig),
    Conv2DBackpropFilter: makeConv2DBackpropFilter({ batchMatMul: orig.BatchMatMul }),
    MaxPoolGrad: makeMaxPoolGrad(orig),
    Sum: makeSum(orig),
    Identity: makeIdentity(orig),
    Cast: makeCast(orig),
  };
}
