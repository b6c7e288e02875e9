/**
 * Conv2DBackpropInput on the wasm backend as a forward convolution (XNNPACK) of the
 * stride-dilated output gradient with the spatially flipped, channel-swapped filter; the plan and
 * the dilation are shared with the onnxruntime kernels.
 */
import { backend_util, type TensorInfo } from '@tensorflow/tfjs-core';
import {
  dispose,
  f32,
  type BackpropInputAttrs,
  type Pad,
  type SyncKernel,
  type WasmBackendLike,
  type WasmOriginals,
} from './wasm-util.js';

/** Filter [FH,FW,CI,CO] → flipped [FH,FW,CO,CI] (rotated 180°, channels swapped). */
function flipSwapFilter(backend: WasmBackendLike, filter: TensorInfo): TensorInfo {
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
    const a = attrs as unknown as BackpropInputAttrs;
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

function backpropInputByConv(
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
