/**
 * Reference statistics, stored with each trained model (reference.json): summaries of the inputs
 * (per feature, or per pixel block for images) and the distribution of the model's predictions on
 * the test split. The model server bins production traffic with the same edges, so monitoring can
 * compare the two (PSI, Kolmogorov–Smirnov) without keeping any example.
 */
import { MODEL_FILES, SCHEMA_VERSIONS } from '../model-dir/files.js';
import type { Split } from './split.js';

export const REFERENCE_FILE = MODEL_FILES.reference;
export const REFERENCE_SCHEMA_VERSION = SCHEMA_VERSIONS.reference;
/** Quantile bins per feature. */
export const DEFAULT_BINS = 10;
/** Inputs with more values than this are summarised by blocks or truncated to the first ones. */
const MAX_FEATURES = 512;

/** How an example's values become summary features. */
export type InputLayout =
  | { kind: 'features'; size: number; count: number }
  | { kind: 'blocks'; height: number; width: number; channels: number; block: [number, number]; grid: [number, number] };

export interface BinnedSummary {
  name: string;
  /** Inner bin edges, ascending: bin k holds values v with edges[k-1] < v <= edges[k]. */
  edges: number[];
  /** Reference share of each bin (edges.length + 1 bins). */
  fractions: number[];
  mean: number;
  std: number;
  min: number;
  max: number;
}

export interface ReferenceStats {
  schema_version: number;
  model: string;
  task: 'classification' | 'regression';
  dataset_version: string;
  split: 'test';
  examples: number;
  inputs: { layout: InputLayout; features: BinnedSummary[] };
  predictions:
    { kind: 'classes'; classes: string[]; counts: number[]; fractions: number[] } | { kind: 'values'; summary: BinnedSummary };
}

/** The layout for examples of `shape`: images ([H, W, C]) by blocks of about H/7 × W/7, else per value. */
export function inputLayout(shape: readonly number[]): InputLayout {
  const size = shape.reduce((a, b) => a * b, 1);
  if (shape.length === 3 && size > MAX_FEATURES) {
    const [h, w, c] = shape as [number, number, number];
    const bh = Math.max(1, Math.ceil(h / 7));
    const bw = Math.max(1, Math.ceil(w / 7));
    return { kind: 'blocks', height: h, width: w, channels: c, block: [bh, bw], grid: [Math.ceil(h / bh), Math.ceil(w / bw)] };
  }
  return { kind: 'features', size, count: Math.min(size, MAX_FEATURES) };
}

export function featureNames(layout: InputLayout): string[] {
  if (layout.kind === 'features') return ['mean', ...Array.from({ length: layout.count }, (_, i) => `x${i}`)];
  const names = ['mean'];
  for (let c = 0; c < layout.channels; c++) {
    for (let by = 0; by < layout.grid[0]; by++) {
      for (let bx = 0; bx < layout.grid[1]; bx++) names.push(`block[${by},${bx}]${layout.channels > 1 ? `c${c}` : ''}`);
    }
  }
  return names;
}

/** Summary features of one example (row-major, channels last): its mean, then each feature or block mean. */
export function exampleFeatures(layout: InputLayout, row: ArrayLike<number>, out?: Float64Array): Float64Array {
  if (layout.kind === 'features') {
    const f = out ?? new Float64Array(layout.count + 1);
    let sum = 0;
    for (let i = 0; i < layout.size; i++) sum += row[i]!;
    f[0] = sum / layout.size;
    for (let i = 0; i < layout.count; i++) f[i + 1] = row[i]!;
    return f;
  }
  const { height: h, width: w, channels: c } = layout;
  const nb = layout.grid[0] * layout.grid[1];
  const f = out ?? new Float64Array(1 + c * nb);
  f.fill(0);
  let total = 0;
  if (c === 1) {
    // One channel: each run of a row's pixels inside one block summed in a local first.
    const [bh, bw] = layout.block;
    const gw = layout.grid[1];
    for (let y = 0, at = 0; y < h; y++) {
      const base = 1 + Math.floor(y / bh) * gw;
      for (let bx = 0; bx < gw; bx++) {
        const end = at + Math.min(bw, w - bx * bw);
        let sum = 0;
        while (at < end) sum += row[at++]!;
        f[base + bx]! += sum;
        total += sum;
      }
    }
  } else {
    const { blockOf } = blockMap(layout);
    for (let p = 0, at = 0; p < h * w; p++) {
      const b = 1 + blockOf[p]!;
      for (let ch = 0; ch < c; ch++, at++) {
        const v = row[at]!;
        f[ch * nb + b]! += v;
        total += v;
      }
    }
  }
  const { pixels } = blockMap(layout);
  f[0] = total / (h * w * c);
  for (let ch = 0; ch < c; ch++) for (let b = 0; b < nb; b++) f[1 + ch * nb + b]! /= pixels[b]!;
  return f;
}

const blockMaps = new WeakMap<InputLayout, { blockOf: Int32Array; pixels: Float64Array }>();

/** For a blocks layout: the block of every pixel (row-major) and the pixels in each block, computed once per layout. */
function blockMap(layout: InputLayout & { kind: 'blocks' }): { blockOf: Int32Array; pixels: Float64Array } {
  let m = blockMaps.get(layout);
  if (m) return m;
  const { height: h, width: w, block, grid } = layout;
  const blockOf = new Int32Array(h * w);
  const pixels = new Float64Array(grid[0] * grid[1]);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const b = Math.floor(y / block[0]) * grid[1] + Math.floor(x / block[1]);
      blockOf[y * w + x] = b;
      pixels[b]!++;
    }
  }
  m = { blockOf, pixels };
  blockMaps.set(layout, m);
  return m;
}

/** The bin of `v` under `edges` (see BinnedSummary). */
export function binIndex(edges: readonly number[], v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Quantile bins of `values` (distinct inner edges) and the reference share of each. */
export function binnedSummary(name: string, values: Float64Array, bins = DEFAULT_BINS): BinnedSummary {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const e = sorted[Math.min(n - 1, Math.floor((k * n) / bins))]!;
    if (!edges.length || e > edges[edges.length - 1]!) edges.push(e);
  }
  if (edges.length === 0 && n) edges.push(sorted[0]!);
  // The top edge can equal the maximum, leaving an empty last bin; that bin still catches larger values.
  const counts = new Array<number>(edges.length + 1).fill(0);
  let sum = 0;
  let sq = 0;
  for (const v of values) {
    counts[binIndex(edges, v)]!++;
    sum += v;
    sq += v * v;
  }
  const mean = n ? sum / n : 0;
  return {
    name,
    edges: edges.map(round),
    fractions: counts.map((c) => round(c / Math.max(1, n))),
    mean: round(mean),
    std: round(Math.sqrt(Math.max(0, n ? sq / n - mean * mean : 0))),
    min: n ? round(sorted[0]!) : 0,
    max: n ? round(sorted[n - 1]!) : 0,
  };
}

/** Keep reference.json small and stable: 7 significant digits. */
function round(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(7)) : v;
}

/** The predicted class of each output row (argmax; logits or probabilities alike). */
export function predictedClasses(outputs: ArrayLike<number>, n: number): Int32Array {
  const width = n ? outputs.length / n : 0;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < width; j++) if (outputs[i * width + j]! > outputs[i * width + best]!) best = j;
    out[i] = best;
  }
  return out;
}

export interface ReferenceInput {
  model: string;
  task: 'classification' | 'regression';
  datasetVersion: string;
  shape: number[];
  classes: string[];
  /** The test split (inputs as the model sees them). */
  split: Split;
  /** The model's outputs on it, n × outputs. */
  outputs: ArrayLike<number>;
  bins?: number;
}

/** Reference statistics of a model on its test split. */
export function referenceStats(r: ReferenceInput): ReferenceStats {
  const layout = inputLayout(r.shape);
  const names = featureNames(layout);
  const rowSize = r.shape.reduce((a, b) => a * b, 1);
  const n = r.split.n;
  const columns = names.map(() => new Float64Array(n));
  const f = new Float64Array(names.length);
  for (let i = 0; i < n; i++) {
    exampleFeatures(layout, r.split.x.subarray(i * rowSize, (i + 1) * rowSize), f);
    for (let k = 0; k < names.length; k++) columns[k]![i] = f[k]!;
  }
  const features = names.map((name, k) => binnedSummary(name, columns[k]!, r.bins));
  let predictions: ReferenceStats['predictions'];
  if (r.task === 'classification') {
    const counts = new Array<number>(r.classes.length).fill(0);
    for (const c of predictedClasses(r.outputs, n)) counts[c]!++;
    predictions = { kind: 'classes', classes: r.classes, counts, fractions: counts.map((c) => round(c / Math.max(1, n))) };
  } else {
    predictions = {
      kind: 'values',
      summary: binnedSummary(
        'prediction',
        Float64Array.from({ length: n }, (_, i) => r.outputs[i]!),
        r.bins,
      ),
    };
  }
  return {
    schema_version: REFERENCE_SCHEMA_VERSION,
    model: r.model,
    task: r.task,
    dataset_version: r.datasetVersion,
    split: 'test',
    examples: n,
    inputs: { layout, features },
    predictions,
  };
}
