/**
 * Matrix products (BatchMatMul, _FusedMatMul with bias and relu) as one onnxruntime Gemm, each
 * paired with its wasm kernel and chosen per shape (kernel-choice.ts).
 */
import { util, type TensorInfo } from '@tensorflow/tfjs-core';
import { choose } from './kernel-choice.js';
import type { OrtEngine } from './ort.js';
import type { OnnxNode } from './onnx-graph.js';
import { f32, type SyncKernel, type WasmBackendLike } from './wasm-util.js';

const isUnitBatch = (shape: number[]) => util.sizeFromShape(shape.slice(0, -2)) === 1;
/** The length of the summed axis of op(a)·b. */
const innerSize = (a: TensorInfo, tA: boolean) => a.shape[a.shape.length - (tA ? 2 : 1)];

/** y = act(op(a)·op(b) + bias) as one Gemm (2-D operands). */
function ortGemm(
  engine: OrtEngine,
  backend: WasmBackendLike,
  a: TensorInfo,
  b: TensorInfo,
  tA: boolean,
  tB: boolean,
  bias: TensorInfo | null,
  relu: boolean,
  outShape: number[],
): TensorInfo {
  const [ar, ac] = a.shape.slice(-2),
    [br, bc] = b.shape.slice(-2);
  const M = tA ? ac : ar,
    N = tB ? br : bc;
  const key = `gemm:${ar}x${ac}:${br}x${bc}:${+tA}${+tB}:${bias ? bias.shape.join('x') : '-'}:${+relu}`;
  const out = backend.makeOutput(outShape, 'float32');
  const nodes: OnnxNode[] = [
    { op: 'Gemm', inputs: bias ? ['a', 'b', 'c'] : ['a', 'b'], outputs: [relu ? 'g' : 'y'], attrs: { transA: +tA, transB: +tB } },
  ];
  if (relu) nodes.push({ op: 'Relu', inputs: ['g'], outputs: ['y'] });
  const feeds: Record<string, { data: Float32Array; shape: number[] }> = {
    a: { data: f32(backend, a), shape: [ar, ac] },
    b: { data: f32(backend, b), shape: [br, bc] },
  };
  if (bias) feeds.c = { data: f32(backend, bias), shape: [util.sizeFromShape(bias.shape)] };
  engine.run(
    key,
    () => ({
      inputs: Object.entries(feeds).map(([name, v]) => ({ name, shape: v.shape })),
      outputs: [{ name: 'y', shape: [M, N] }],
      nodes,
    }),
    feeds,
    { y: { data: f32(backend, out), shape: [M, N] } },
  );
  return out;
}

export function makeOrtBatchMatMul(engine: OrtEngine, wasmKernel: SyncKernel): SyncKernel {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { a, b } = inputs;
    const { transposeA: tA, transposeB: tB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (a.dtype !== 'float32' || !isUnitBatch(a.shape) || !isUnitBatch(b.shape)) return wasmKernel(args);
    const M = tA ? a.shape[a.shape.length - 1] : a.shape[a.shape.length - 2];
    const N = tB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
    const outShape = [...(a.shape.length >= b.shape.length ? a.shape : b.shape).slice(0, -2), M, N];
    const key = `BatchMatMul:${a.shape}:${b.shape}:${+tA}${+tB}`;
    return choose(
      backend,
      key,
      M * N * innerSize(a, tA),
      () => ortGemm(engine, backend, a, b, tA, tB, null, false, outShape),
      () => wasmKernel(args),
    );
  };
}

export function makeOrtFusedMatMul(engine: OrtEngine, wasmKernel: SyncKernel): SyncKernel {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { a, b, bias, preluActivationWeights } = inputs as Record<string, TensorInfo | undefined> as Record<string, TensorInfo>;
    const {
      transposeA: tA,
      transposeB: tB,
      activation,
    } = attrs as unknown as { transposeA: boolean; transposeB: boolean; activation?: string };
    const act = activation ?? 'linear';
    const N = tB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
    if (
      preluActivationWeights ||
      (act !== 'linear' && act !== 'relu') ||
      !isUnitBatch(a.shape) ||
      !isUnitBatch(b.shape) ||
      (bias && util.sizeFromShape(bias.shape) !== N)
    ) {
      return wasmKernel(args);
    }
    const M = tA ? a.shape[a.shape.length - 1] : a.shape[a.shape.length - 2];
    const outShape = [...(a.shape.length >= b.shape.length ? a.shape : b.shape).slice(0, -2), M, N];
    const key = `_FusedMatMul:${a.shape}:${b.shape}:${+tA}${+tB}:${bias ? 1 : 0}:${act}`;
    return choose(
      backend,
      key,
      M * N * innerSize(a, tA),
      () => ortGemm(engine, backend, a, b, tA, tB, bias ?? null, act === 'relu', outShape),
      () => wasmKernel(args),
    );
  };
}
