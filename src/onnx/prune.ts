/**
 * Magnitude pruning: the weights of smallest magnitude are set to zero, either with one threshold
 * over all pruned layers (global) or to the same sparsity in each layer (per layer). The zeros
 * make the model compress well (a gzipped release asset) and are kept through fine-tuning by
 * re-applying the masks after each training step.
 */
import { DT, floatValues, makeTensor } from './tensor.js';
import { OnnxGraph } from './graph.js';
import { QUANTIZABLE_OPS } from './quantize.js';

export type PruneScope = 'global' | 'layer';

/** The k-th smallest value of `v` (0-based), without sorting the caller's array. */
function kth(v: Float32Array, k: number): number {
  const s = Float32Array.from(v).sort();
  return s[Math.max(0, Math.min(s.length - 1, k))]!;
}

/**
 * Masks (1 keep, 0 prune) reaching `sparsity` (0..1) over `weights`. Ties at the threshold are
 * pruned in order until the target count is reached, so the sparsity is exact.
 */
export function magnitudeMasks(weights: Float32Array[], sparsity: number, scope: PruneScope): Uint8Array[] {
  const masks = weights.map((w) => new Uint8Array(w.length).fill(1));
  if (!(sparsity > 0)) return masks;
  const groups = scope === 'global' ? [weights.map((_, i) => i)] : weights.map((_, i) => [i]);
  for (const group of groups) {
    const total = group.reduce((a, i) => a + weights[i]!.length, 0);
    const target = Math.floor(total * Math.min(1, sparsity));
    if (target === 0) continue;
    const abs = new Float32Array(total);
    let o = 0;
    for (const i of group) for (const x of weights[i]!) abs[o++] = Math.abs(x);
    const th = kth(abs, target - 1);
    let below = 0;
    for (const a of abs) if (a < th) below++;
    let tiesToPrune = target - below;
    for (const i of group) {
      const w = weights[i]!;
      const m = masks[i]!;
      for (let j = 0; j < w.length; j++) {
        const a = Math.abs(w[j]!);
        if (a < th) m[j] = 0;
        else if (a === th && tiesToPrune > 0) {
          m[j] = 0;
          tiesToPrune--;
        }
      }
    }
  }
  return masks;
}

export function applyMask(w: Float32Array, m: Uint8Array): Float32Array {
  for (let i = 0; i < w.length; i++) if (!m[i]) w[i] = 0;
  return w;
}

export function sparsityOf(w: ArrayLike<number>): number {
  let z = 0;
  for (let i = 0; i < w.length; i++) if (w[i] === 0) z++;
  return w.length ? z / w.length : 0;
}

export interface PruneOptions {
  sparsity: number;
  scope?: PruneScope;
  /** Operator types whose weights are pruned (default Conv, MatMul, Gemm). */
  ops?: readonly string[];
}

export interface PruneResult {
  bytes: Uint8Array;
  /** Sparsity reached per pruned weight. */
  layers: Record<string, number>;
  /** Over all pruned weights. */
  sparsity: number;
}

/** Prune the float weights of Conv, MatMul and Gemm nodes of an ONNX model in place (no retraining). */
export function pruneOnnx(bytes: Uint8Array, opts: PruneOptions): PruneResult {
  const g = OnnxGraph.fromBytes(bytes);
  const ops = new Set(opts.ops ?? QUANTIZABLE_OPS);
  const names: string[] = [];
  for (const n of g.nodes) {
    const w = n.input?.[1];
    const t = w ? g.initializers.get(w) : undefined;
    if (ops.has(n.opType ?? '') && t && t.dataType === DT.FLOAT && !names.includes(w!)) names.push(w!);
  }
  const weights = names.map((n) => Float32Array.from(floatValues(g.initializers.get(n)!)));
  const masks = magnitudeMasks(weights, opts.sparsity, opts.scope ?? 'global');
  const layers: Record<string, number> = {};
  let zeros = 0;
  let total = 0;
  names.forEach((name, i) => {
    const w = applyMask(weights[i]!, masks[i]!);
    const t = g.initializers.get(name)!;
    g.initializers.set(name, { ...makeTensor(name, DT.FLOAT, (t.dims ?? []).map(Number), w), docString: t.docString });
    layers[name] = sparsityOf(w);
    zeros += layers[name] * w.length;
    total += w.length;
  });
  return { bytes: g.toBytes(), layers, sparsity: total ? zeros / total : 0 };
}
