/**
 * Convolutions in onnxruntime: Conv2D and FusedConv2D forward, the input gradient (ConvTranspose,
 * or a convolution of the dilated dy) and the filter gradient (im2col in JS, Gemm in
 * onnxruntime), each paired with its wasm kernel and chosen per shape (kernel-choice.ts).
 */
import { backend_util, util, type TensorInfo } from '@tensorflow/tfjs-core';
import { im2col } from './conv-backprop-filter.js';
import { choose } from './kernel-choice.js';
import type { OrtEngine } from './ort.js';
import type { OnnxGraph, OnnxNode } from './onnx-graph.js';
import { dilateRows, planBackpropInput, type BackpropInputPlan } from './wasm-conv.js';
import {
  backpropFilterInfo,
  dispose,
  f32,
  type BackpropFilterAttrs,
  type BackpropInputAttrs,
  type Pad,
  type SyncKernel,
  type WasmBackendLike,
} from './wasm-util.js';

/** Conv2DBackpropInput through ConvTranspose (default) or a convolution of the dilated dy. */
let useConvTranspose = process.env.CDL_KERNELS_CONVT !== '0';
export function setConvTranspose(on: boolean): void {
  useConvTranspose = on;
}

/** NHWC conv in onnxruntime: transpose in, Conv (+bias, relu), transpose out. */
function ortConv(
  engine: OrtEngine,
  backend: WasmBackendLike,
  x: TensorInfo,
  filter: TensorInfo | Float32Array,
  filterOIHW: boolean,
  filterShape: number[],
  bias: TensorInfo | null,
  relu: boolean,
  info: { pads: number[]; strides: number[]; dilations: number[]; outShape: number[] },
): TensorInfo {
  const out = backend.makeOutput(info.outShape, 'float32');
  // Views of the heap only after the allocation: when it grows the heap, older views are detached.
  const filterData = filter instanceof Float32Array ? filter : f32(backend, filter);
  const [B, H, W, C] = x.shape;
  const key = `conv:${x.shape}:${filterShape}:${+filterOIHW}:${info.pads}:${info.strides}:${info.dilations}:${bias ? 1 : 0}:${+relu}`;
  const kernel = filterOIHW ? filterShape.slice(2) : filterShape.slice(0, 2);
  const nodes: OnnxNode[] = [{ op: 'Transpose', inputs: ['x'], outputs: ['xt'], attrs: { perm: [0, 3, 1, 2] } }];
  let w = 'w';
  if (!filterOIHW) {
    nodes.push({ op: 'Transpose', inputs: ['w'], outputs: ['wt'], attrs: { perm: [3, 2, 0, 1] } });
    w = 'wt';
  }
  nodes.push({
    op: 'Conv',
    inputs: bias ? ['xt', w, 'b'] : ['xt', w],
    outputs: ['c'],
    attrs: { kernel_shape: kernel, pads: info.pads, strides: info.strides, dilations: info.dilations },
  });
  let last = 'c';
  if (relu) {
    nodes.push({ op: 'Relu', inputs: ['c'], outputs: ['r'] });
    last = 'r';
  }
  nodes.push({ op: 'Transpose', inputs: [last], outputs: ['y'], attrs: { perm: [0, 2, 3, 1] } });
  const feeds: Record<string, { data: Float32Array; shape: number[] }> = {
    x: { data: f32(backend, x), shape: [B, H, W, C] },
    w: { data: filterData, shape: filterShape },
  };
  if (bias) feeds.b = { data: f32(backend, bias), shape: [util.sizeFromShape(bias.shape)] };
  const graph = (): OnnxGraph => ({
    inputs: Object.entries(feeds).map(([name, v]) => ({ name, shape: v.shape })),
    outputs: [{ name: 'y', shape: info.outShape }],
    nodes,
  });
  engine.run(key, graph, feeds, { y: { data: f32(backend, out), shape: info.outShape } });
  return out;
}

function convGeometry(info: backend_util.Conv2DInfo) {
  return {
    pads: [info.padInfo.top, info.padInfo.left, info.padInfo.bottom, info.padInfo.right],
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
    outShape: info.outShape as number[],
  };
}

/** Conv2D and FusedConv2D (bias, relu/linear) forward. */
export function makeOrtConv2D(engine: OrtEngine, wasmKernel: SyncKernel, fused: boolean): SyncKernel {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { x, filter, bias, preluActivationWeights } = inputs as Record<string, TensorInfo>;
    const a = attrs as unknown as {
      strides: [number, number] | number;
      pad: Pad;
      dataFormat?: string;
      dilations: [number, number] | number;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
      activation?: string;
    };
    const act = fused ? (a.activation ?? 'linear') : 'linear';
    if (
      a.dataFormat === 'NCHW' ||
      preluActivationWeights ||
      (act !== 'linear' && act !== 'relu') ||
      x.dtype !== 'float32' ||
      (bias && util.sizeFromShape(bias.shape) !== filter.shape[3])
    ) {
      return wasmKernel(args);
    }
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      a.strides,
      a.dilations ?? 1,
      a.pad,
      a.dimRoundingMode,
      false,
      'channelsLast',
    );
    const g = convGeometry(info);
    const key = `${fused ? 'FusedConv2D' : 'Conv2D'}:${x.shape}:${filter.shape}:${g.pads}:${g.strides}:${g.dilations}:${act}:${bias ? 1 : 0}`;
    return choose(
      backend,
      key,
      util.sizeFromShape(g.outShape) * info.filterHeight * info.filterWidth * info.inChannels,
      () => ortConv(engine, backend, x, filter, false, filter.shape, bias ?? null, act === 'relu', g),
      () => wasmKernel(args),
    );
  };
}

/** dx = conv(dilate(dy), flipped filter), the filter flipped and laid out OIHW in JS. */
export function makeOrtConv2DBackpropInput(engine: OrtEngine, wasmKernel: SyncKernel): SyncKernel {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs;
    const a = attrs as unknown as BackpropInputAttrs;
    const plan = planBackpropInput(
      a.inputShape,
      filter.shape as [number, number, number, number],
      a.strides,
      a.pad,
      a.dimRoundingMode,
      a.dataFormat,
    );
    if (!plan) return wasmKernel(args);
    const key = `Conv2DBackpropInput:${dy.shape}:${filter.shape}:${JSON.stringify(plan.pad)}:${plan.info.strideHeight},${plan.info.strideWidth}`;
    return choose(
      backend,
      key,
      util.sizeFromShape(dy.shape) * util.sizeFromShape(filter.shape.slice(0, 3)),
      () => ortBackpropInput(engine, backend, dy, filter, plan),
      () => wasmKernel(args),
    );
  };
}

/**
 * dx as one ConvTranspose of dy with the forward filter (its OIHW layout is
 * ConvTranspose's [in = CO, out = CI, kH, kW] weight): a product plus col2im,
 * with the stride handled natively, instead of a convolution over the
 * zero-dilated, padded dy. Null when the output padding it needs would be invalid.
 */
function ortBackpropInputTransposed(
  engine: OrtEngine,
  backend: WasmBackendLike,
  dy: TensorInfo,
  filter: TensorInfo,
  plan: BackpropInputPlan,
): TensorInfo | null {
  const { info } = plan;
  const { padInfo: p, strideHeight: sh, strideWidth: sw } = info;
  const FH = info.filterHeight,
    FW = info.filterWidth;
  const opH = info.inHeight - (sh * (info.outHeight - 1) + FH - p.top - p.bottom);
  const opW = info.inWidth - (sw * (info.outWidth - 1) + FW - p.left - p.right);
  if (opH < 0 || opW < 0 || opH >= sh || opW >= sw) return null;
  const outShape = [info.batchSize, info.inHeight, info.inWidth, info.inChannels];
  const out = backend.makeOutput(outShape, 'float32');
  const key = `convT:${dy.shape}:${filter.shape}:${p.top},${p.left},${p.bottom},${p.right}:${sh},${sw}:${opH},${opW}`;
  const nodes: OnnxNode[] = [
    { op: 'Transpose', inputs: ['dy'], outputs: ['dyt'], attrs: { perm: [0, 3, 1, 2] } },
    { op: 'Transpose', inputs: ['w'], outputs: ['wt'], attrs: { perm: [3, 2, 0, 1] } },
    {
      op: 'ConvTranspose',
      inputs: ['dyt', 'wt'],
      outputs: ['c'],
      attrs: { kernel_shape: [FH, FW], pads: [p.top, p.left, p.bottom, p.right], strides: [sh, sw], output_padding: [opH, opW] },
    },
    { op: 'Transpose', inputs: ['c'], outputs: ['y'], attrs: { perm: [0, 2, 3, 1] } },
  ];
  engine.run(
    key,
    () => ({
      inputs: [
        { name: 'dy', shape: dy.shape },
        { name: 'w', shape: filter.shape },
      ],
      outputs: [{ name: 'y', shape: outShape }],
      nodes,
    }),
    { dy: { data: f32(backend, dy), shape: dy.shape }, w: { data: f32(backend, filter), shape: filter.shape } },
    { y: { data: f32(backend, out), shape: outShape } },
  );
  return out;
}

function ortBackpropInput(
  engine: OrtEngine,
  backend: WasmBackendLike,
  dy: TensorInfo,
  filter: TensorInfo,
  plan: BackpropInputPlan,
): TensorInfo {
  if (useConvTranspose) {
    const r = ortBackpropInputTransposed(engine, backend, dy, filter, plan);
    if (r) return r;
  }
  const { info } = plan;
  const strided = info.strideHeight > 1 || info.strideWidth > 1;
  const src = strided ? dilateRows(backend, dy, info.strideHeight, info.strideWidth) : dy;
  const [FH, FW, CI, CO] = filter.shape;
  // OIHW weight of the input-gradient conv: O = CI, I = CO, rotated 180°.
  const w = f32(backend, filter);
  const wf = new Float32Array(w.length);
  for (let kh = 0; kh < FH; kh++) {
    for (let kw = 0; kw < FW; kw++) {
      const s = (kh * FW + kw) * CI * CO;
      const d = (FH - 1 - kh) * FW + (FW - 1 - kw);
      for (let ci = 0; ci < CI; ci++) {
        for (let co = 0; co < CO; co++) wf[(ci * CO + co) * FH * FW + d] = w[s + ci * CO + co];
      }
    }
  }
  const p = plan.pad;
  const out = ortConv(engine, backend, src, wf, true, [CI, CO, FH, FW], null, false, {
    pads: [p[1][0], p[2][0], p[1][1], p[2][1]],
    strides: [1, 1],
    dilations: [1, 1],
    outShape: [info.batchSize, info.inHeight, info.inWidth, info.inChannels],
  });
  if (strided) dispose(backend, src);
  return out;
}

/** dW = colsᵀ·dy with im2col in JS and the product (transA) in onnxruntime. */
export function makeOrtConv2DBackpropFilter(engine: OrtEngine, wasmKernel: SyncKernel, maxColFloats: () => number): SyncKernel {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { x, dy } = inputs;
    const a = attrs as unknown as BackpropFilterAttrs;
    if (a.dataFormat === 'NCHW') return wasmKernel(args);
    const info = backpropFilterInfo(x, a);
    const n = info.batchSize * info.outHeight * info.outWidth;
    const K = info.filterHeight * info.filterWidth * info.inChannels;
    if (n * K > maxColFloats()) return wasmKernel(args);
    const key = `Conv2DBackpropFilter:${x.shape}:${dy.shape}:${a.filterShape}:${info.strideHeight},${info.strideWidth}:${info.padInfo.top},${info.padInfo.left}`;
    return choose(
      backend,
      key,
      n * K * info.outChannels,
      () => {
        const cols = backend.makeOutput([n, K], 'float32');
        const out = backend.makeOutput(a.filterShape, 'float32');
        im2col(
          f32(backend, x),
          f32(backend, cols),
          0,
          info.batchSize,
          info.inHeight,
          info.inWidth,
          info.inChannels,
          info.outHeight,
          info.outWidth,
          info.filterHeight,
          info.filterWidth,
          info.strideHeight,
          info.strideWidth,
          info.dilationHeight,
          info.dilationWidth,
          info.padInfo.top,
          info.padInfo.left,
        );
        const CO = info.outChannels;
        engine.run(
          `gemm:${n}x${K}:${n}x${CO}:10:-:0`,
          () => ({
            inputs: [
              { name: 'a', shape: [n, K] },
              { name: 'b', shape: [n, CO] },
            ],
            outputs: [{ name: 'y', shape: [K, CO] }],
            nodes: [{ op: 'Gemm', inputs: ['a', 'b'], outputs: ['y'], attrs: { transA: 1 } }],
          }),
          { a: { data: f32(backend, cols), shape: [n, K] }, b: { data: f32(backend, dy), shape: [n, CO] } },
          { y: { data: f32(backend, out), shape: [K, CO] } },
        );
        dispose(backend, cols);
        return out;
      },
      () => wasmKernel(args),
    );
  };
}
