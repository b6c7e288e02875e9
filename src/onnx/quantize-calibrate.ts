/**
 * Activation ranges for static quantization: the float model runs in onnxruntime-node on
 * calibration examples with the tensors of interest added as graph outputs, and each tensor's
 * range is chosen by MinMax, Percentile or Entropy (KL divergence between the float histogram and
 * its 8-bit quantized version, as TensorRT's calibrator does).
 */
import type { Ort } from '../runtime/onnxruntime.js';
import { CdlError } from '../util/errors.js';
import { DT } from './tensor.js';
import { OnnxGraph, valueInfo } from './graph.js';

export const CALIBRATION_METHODS = ['minmax', 'percentile', 'entropy'] as const;
export type CalibrationMethod = (typeof CALIBRATION_METHODS)[number];

export interface Range {
  min: number;
  max: number;
}

/** Calibration examples, already in the layout the model's input takes. */
export interface CalibrationData {
  x: Float32Array;
  n: number;
  /** One example's shape as the model takes it (without the batch axis). */
  shape: number[];
}

export interface CalibrateOptions {
  method?: CalibrationMethod;
  /** percentile: the upper percentile kept (default 99.999); the lower one is 100 - p. */
  percentile?: number;
  /** Histogram bins for percentile and entropy (default 2048). */
  bins?: number;
  batchSize?: number;
}

class Histogram {
  readonly counts: Float64Array;
  constructor(
    readonly lo: number,
    readonly hi: number,
    bins: number,
  ) {
    this.counts = new Float64Array(bins);
  }
  add(v: Float32Array, abs: boolean): void {
    const n = this.counts.length;
    const w = (this.hi - this.lo) / n;
    if (!(w > 0)) {
      this.counts[0]! += v.length;
      return;
    }
    const inv = 1 / w;
    for (let i = 0; i < v.length; i++) {
      const x = abs ? Math.abs(v[i]!) : v[i]!;
      let b = Math.floor((x - this.lo) * inv);
      if (b < 0) b = 0;
      else if (b >= n) b = n - 1;
      this.counts[b]!++;
    }
  }
  /** The value below which fraction `q` of the mass lies. */
  quantile(q: number): number {
    let total = 0;
    for (const c of this.counts) total += c;
    const target = q * total;
    let acc = 0;
    const w = (this.hi - this.lo) / this.counts.length;
    for (let i = 0; i < this.counts.length; i++) {
      acc += this.counts[i]!;
      if (acc >= target) return this.lo + (i + 1) * w;
    }
    return this.hi;
  }
}

/**
 * The threshold T minimising KL(P || Q), where P is the |x| histogram clipped at T (the outliers
 * added to its last bin) and Q is P squeezed into `levels` quantization bins and expanded back.
 */
export function entropyThreshold(counts: Float64Array, binWidth: number, levels = 128): number {
  const nb = counts.length;
  if (nb <= levels) return nb * binWidth;
  let best = Infinity;
  let bestI = nb;
  let totalAbove = 0;
  for (let i = levels; i < nb; i++) totalAbove += counts[i]!;
  for (let i = levels; i <= nb; i++) {
    // P: the first i bins, outliers folded into the last one.
    const p = Float64Array.from(counts.subarray(0, i));
    p[i - 1]! += totalAbove;
    if (i < nb) totalAbove -= counts[i]!;
    // Q: merge the i bins into `levels` groups; spread each group's mass over its non-empty bins.
    const q = new Float64Array(i);
    const per = i / levels;
    for (let j = 0; j < levels; j++) {
      const start = Math.floor(j * per);
      const end = j === levels - 1 ? i : Math.floor((j + 1) * per);
      let sum = 0;
      let nonEmpty = 0;
      for (let k = start; k < end; k++) {
        sum += counts[k]!;
        if (counts[k]! > 0) nonEmpty++;
      }
      if (nonEmpty === 0) continue;
      for (let k = start; k < end; k++) if (counts[k]! > 0) q[k] = sum / nonEmpty;
    }
    let pSum = 0;
    let qSum = 0;
    for (let k = 0; k < i; k++) {
      pSum += p[k]!;
      qSum += q[k]!;
    }
    if (pSum === 0 || qSum === 0) continue;
    let kl = 0;
    for (let k = 0; k < i; k++) {
      const pk = p[k]! / pSum;
      if (pk === 0) continue;
      const qk = q[k]! / qSum;
      // A bin P has and Q lacks: a large but finite penalty.
      kl += qk === 0 ? pk * 20 : pk * Math.log(pk / qk);
    }
    if (kl < best) {
      best = kl;
      bestI = i;
    }
  }
  return (bestI + 0.5) * binWidth;
}

/** Runs the float model on the calibration data and returns a range for each tensor. */
export async function calibrate(
  ort: Ort,
  bytes: Uint8Array,
  tensors: string[],
  data: CalibrationData,
  opts: CalibrateOptions = {},
): Promise<Map<string, Range>> {
  const method = opts.method ?? 'minmax';
  if (data.n === 0) throw new CdlError('calibration needs at least one example; got none');
  const g = OnnxGraph.fromBytes(bytes);
  const inputName = g.realInputs()[0]?.name ?? '';
  const existing = new Set(g.outputs.map((o) => o.name));
  for (const t of tensors) if (!existing.has(t)) g.outputs.push(valueInfo(t, { elemType: DT.FLOAT, shape: null }));
  const session = await ort.InferenceSession.create(g.toBytes(), { graphOptimizationLevel: 'disabled' });
  const size = data.shape.reduce((a, b) => a * b, 1);
  const batch = opts.batchSize ?? 64;
  const pass = async (visit: (name: string, v: Float32Array) => void): Promise<void> => {
    for (let start = 0; start < data.n; start += batch) {
      const n = Math.min(batch, data.n - start);
      const feed = new ort.Tensor('float32', data.x.subarray(start * size, (start + n) * size), [n, ...data.shape]);
      const res = await session.run({ [inputName]: feed }, tensors);
      for (const t of tensors) {
        const v = res[t]!;
        visit(t, v.data as Float32Array);
        v.dispose?.();
      }
    }
  };
  try {
    const ranges = new Map<string, Range>(tensors.map((t) => [t, { min: Infinity, max: -Infinity }]));
    await pass((t, v) => {
      const r = ranges.get(t)!;
      let lo = r.min;
      let hi = r.max;
      for (let i = 0; i < v.length; i++) {
        const x = v[i]!;
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
      r.min = lo;
      r.max = hi;
    });
    if (method === 'minmax') return ranges;
    const bins = opts.bins ?? 2048;
    const hists = new Map<string, Histogram>();
    for (const [t, r] of ranges) {
      hists.set(
        t,
        method === 'entropy'
          ? new Histogram(0, Math.max(Math.abs(r.min), Math.abs(r.max)), bins)
          : new Histogram(r.min, r.max, bins),
      );
    }
    await pass((t, v) => hists.get(t)!.add(v, method === 'entropy'));
    const out = new Map<string, Range>();
    // The model's inputs keep their full range: clipping the data itself costs the most.
    const graphInputs = new Set(g.realInputs().map((v) => v.name));
    for (const [t, r] of ranges) {
      const h = hists.get(t)!;
      if (graphInputs.has(t)) {
        out.set(t, r);
        continue;
      }
      if (method === 'percentile') {
        const p = (opts.percentile ?? 99.999) / 100;
        out.set(t, { min: r.min >= 0 ? r.min : Math.max(r.min, h.quantile(1 - p)), max: Math.min(r.max, h.quantile(p)) });
      } else {
        // Non-negative values use all 256 uint8 levels; signed ones half of them on each side.
        // The zeros a Relu makes say nothing about where to clip: leave them out.
        const counts = r.min >= 0 ? Float64Array.from(h.counts, (c, i) => (i === 0 ? 0 : c)) : h.counts;
        const th = entropyThreshold(counts, (h.hi - h.lo) / bins, r.min >= 0 ? 256 : 128);
        out.set(t, { min: Math.max(r.min, -th), max: Math.min(r.max, th) });
      }
    }
    return out;
  } finally {
    await session.release();
  }
}
