/**
 * Real models for the evaluation and gate tests: trained by cdl on the shipped Fashion-MNIST subset,
 * then damaged (noise on the weights) or re-wrapped as a PyTorch-style channels-first export.
 */
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config/index.js';
import { mulberry32 } from '../src/data/prng.js';
import { onnx, readOnnxModel } from '../src/onnx/index.js';
import { train } from '../src/train/training.js';
import { EXAMPLE_CONFIG } from './helpers/example.js';

/** Train the example MLP quickly into `outDir`. */
export async function trainExample(outDir: string, overrides: string[], config = EXAMPLE_CONFIG): Promise<string> {
  const all = ['train.backend=wasm', ...overrides];
  const loaded = await loadConfig(config, all);
  await train({ loaded, overrides: all, outDir, log: () => {} });
  return outDir;
}

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/**
 * A copy of the model directory whose weights got Gaussian noise of `scale` times each
 * initializer's standard deviation. Everything but model.onnx is copied as is.
 */
export function perturbModel(src: string, dest: string, scale: number, seed = 1): string {
  cpSync(src, dest, { recursive: true });
  const model = readOnnxModel(readFileSync(path.join(src, 'model.onnx')));
  const rand = mulberry32(seed);
  for (const t of model.graph!.initializer ?? []) {
    if (t.dataType !== 1 || !t.rawData?.length) continue;
    const bytes = Uint8Array.from(t.rawData);
    const w = new Float32Array(bytes.buffer, 0, bytes.length / 4);
    if (w.length < 2) continue;
    let mean = 0;
    for (const v of w) mean += v;
    mean /= w.length;
    let sd = 0;
    for (const v of w) sd += (v - mean) ** 2;
    sd = Math.sqrt(sd / w.length) || 1e-3;
    for (let i = 0; i < w.length; i++) w[i] = w[i]! + scale * sd * gaussian(rand);
    t.rawData = new Uint8Array(w.buffer);
  }
  writeFileSync(path.join(dest, 'model.onnx'), onnx.ModelProto.encode(model).finish());
  // A hand-made variant, as a user would export it: no SHA256SUMS (the original's no longer matches).
  rmSync(path.join(dest, 'SHA256SUMS'), { force: true });
  return dest;
}

/**
 * The model as a PyTorch export would be: input [N, C, H, W] (a Transpose to the original NHWC
 * input in front), producer "pytorch", and nothing in the directory but model.onnx.
 */
export function channelsFirstExport(src: string, dest: string, opts: { dims?: number[]; dropSoftmax?: boolean } = {}): string {
  mkdirSync(dest, { recursive: true });
  const model = readOnnxModel(readFileSync(path.join(src, 'model.onnx')));
  const g = model.graph!;
  const input = g.input![0]!;
  const original = input.name!;
  const [, h, w, c] = input.type!.tensorType!.shape!.dim!.map((d) => Number(d.dimValue ?? 0));
  const dims = opts.dims ?? [c!, h!, w!];
  g.input = [
    onnx.ValueInfoProto.create({
      name: 'x_nchw',
      type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'batch' }, ...dims.map((d) => ({ dimValue: d }))] } } },
    }),
  ];
  g.node!.unshift(
    onnx.NodeProto.create({
      opType: 'Transpose',
      input: ['x_nchw'],
      output: [original],
      attribute: [{ name: 'perm', type: 7, ints: [0, 2, 3, 1] }],
    }),
  );
  if (opts.dropSoftmax) {
    const sm = g.node!.findIndex((n) => n.opType === 'Softmax');
    const node = g.node![sm]!;
    g.node!.splice(sm, 1);
    for (const n of g.node!) n.input = n.input!.map((i) => (i === node.output![0] ? node.input![0]! : i));
    g.output![0]!.name = node.input![0]!;
  }
  model.producerName = 'pytorch';
  model.producerVersion = '2.1.0';
  writeFileSync(path.join(dest, 'model.onnx'), onnx.ModelProto.encode(model).finish());
  return dest;
}

export function copyModel(src: string, dest: string): string {
  mkdirSync(dest, { recursive: true });
  copyFileSync(path.join(src, 'model.onnx'), path.join(dest, 'model.onnx'));
  return dest;
}
