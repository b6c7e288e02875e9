/**
 * Reading a TF.js layer for the ONNX export: its shape, its weights by role, its padding, and the
 * kernel layout ONNX expects.
 */
import { CdlError } from '../util/errors.js';

/** The model cannot be written as ONNX (unsupported layer, option or structure). Exit code 1. */
export class OnnxExportError extends CdlError {}

/** Pads [before, after] of one spatial axis, computed as TF.js does for 'same' and 'valid'. */
export function tfPads(padding: string, inSize: number, kernel: number, stride: number, dilation = 1): [number, number] {
  if (padding === 'valid') return [0, 0];
  const eff = (kernel - 1) * dilation + 1;
  const out = Math.ceil(inSize / stride);
  const total = Math.max(0, (out - 1) * stride + eff - inSize);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** Reorders a TF.js conv kernel [kh, kw, cin, cout] into ONNX's [cout, cin, kh, kw]. */
export function convKernelToOihw(k: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(k.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = k[((y * kw + x) * cin + i) * cout + o]!;
  return out;
}

export type Dim = number | null;

/** The parts of a tfjs-layers Layer used here (kept structural: tfjs-node brings its own classes). */
export interface LayerLike {
  name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  getWeights(): Array<{ shape: number[]; dtype: string; dataSync(): ArrayLike<number> }>;
  weights: Array<{ name: string; originalName?: string }>;
  outputShape: Dim[] | Dim[][];
  input: unknown;
  output: unknown;
}

export function fail(layer: LayerLike, what: string): never {
  throw new OnnxExportError(`layer "${layer.name}" (${layer.getClassName()}): ${what}`);
}

export function pair(v: unknown, layer: LayerLike, field: string): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((n) => typeof n === 'number')) return [v[0], v[1]];
  fail(layer, `cannot read ${field} ${JSON.stringify(v)}`);
}

export function layerShape(layer: LayerLike): Dim[] {
  const s = layer.outputShape;
  if (Array.isArray(s[0])) fail(layer, 'layers with several outputs are not supported');
  return s as Dim[];
}

export function weightsByRole(layer: LayerLike): Map<string, Float32Array> {
  const values = layer.getWeights();
  const out = new Map<string, Float32Array>();
  values.forEach((t, i) => {
    const v = layer.weights[i];
    const full = v?.originalName ?? v?.name ?? '';
    const role = full.slice(full.lastIndexOf('/') + 1).replace(/_\d+$/, '');
    if (t.dtype !== 'float32') fail(layer, `weight ${full} has dtype ${t.dtype}; only float32 is supported`);
    out.set(role, Float32Array.from(t.dataSync()));
  });
  return out;
}

export function need(w: Map<string, Float32Array>, role: string, layer: LayerLike): Float32Array {
  const v = w.get(role);
  if (!v) fail(layer, `weight "${role}" not found (has ${[...w.keys()].join(', ') || 'none'})`);
  return v;
}
