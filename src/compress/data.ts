/** Examples in the layout a model takes, and batch predictions with onnxruntime. */
import { planLayout, toNchw } from '../evaluate/layout.js';
import { softmaxRows, looksLikeProbabilities } from '../evaluate/metrics.js';
import { MODEL_FILES } from '../model-dir/files.js';
import { summarizeOnnx } from '../onnx/read.js';
import type { Ort } from '../runtime/onnxruntime.js';

/** The first `n` examples of `x` (dataset layout, HWC for images) in the layout the model takes. */
export function examplesFor(
  bytes: Uint8Array,
  x: Float32Array,
  n: number,
  dataShape: number[],
): { x: Float32Array; n: number; shape: number[] } {
  const s = summarizeOnnx(bytes);
  const input = s.inputs[0]!;
  const layout = planLayout(dataShape, input.shape, {
    model: MODEL_FILES.onnx,
    input: input.name,
    data: 'training data',
    producer: s.producer,
  });
  const size = dataShape.reduce((a, b) => a * b, 1);
  const src = x.subarray(0, n * size);
  const out = layout.kind === 'nchw' ? toNchw(src, 0, n, dataShape, new Float32Array(n * size)) : Float32Array.from(src);
  return { x: out, n, shape: layout.shape };
}

/** The first output of the model for all `n` examples; with `probabilities`, logits are softmaxed. */
export async function runOnnx(
  ort: Ort,
  bytes: Uint8Array,
  x: Float32Array,
  n: number,
  dataShape: number[],
  opts: { probabilities?: boolean; classes?: number; batchSize?: number } = {},
): Promise<Float32Array> {
  const size = dataShape.reduce((a, b) => a * b, 1);
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all' });
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  const bs = opts.batchSize ?? 256;
  const parts: Float32Array[] = [];
  try {
    for (let start = 0; start < n; start += bs) {
      const m = Math.min(bs, n - start);
      const ex = examplesFor(bytes, x.subarray(start * size), m, dataShape);
      const res = await session.run({ [inputName]: new ort.Tensor('float32', ex.x, [m, ...ex.shape]) });
      parts.push(Float32Array.from(res[outputName]!.data as Float32Array));
    }
  } finally {
    await session.release();
  }
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  if (opts.probabilities && opts.classes && !looksLikeProbabilities(out, opts.classes)) softmaxRows(out, opts.classes);
  return out;
}

/** Cosine similarity of two equally long vectors. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return aa && bb ? ab / Math.sqrt(aa * bb) : aa === bb ? 1 : 0;
}
