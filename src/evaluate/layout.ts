/**
 * How test examples are laid out for a model's input. Datasets hold images as [H, W, C]
 * (channels last, as TF.js exports expect); PyTorch exports take [C, H, W]. The model's declared
 * input shape decides; only a real mismatch is an error.
 */
import { CdlError } from '../util/errors.js';

import type { LayoutKind } from '../model-dir/records.js';

export interface Layout {
  kind: LayoutKind;
  /** The input shape fed to the model, without the batch axis. */
  shape: number[];
}

export class ShapeMismatchError extends CdlError {}

const known = (d: number | string): d is number => typeof d === 'number' && d > 0;
const matches = (dims: ReadonlyArray<number | string>, want: readonly number[]) =>
  dims.length === want.length && dims.every((d, i) => !known(d) || d === want[i]);
const squeeze = (dims: readonly number[]) => dims.filter((d) => d !== 1);
const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

export function formatDims(dims: ReadonlyArray<number | string>): string {
  return `[${dims.map((d) => (known(d) ? String(d) : typeof d === 'string' && d ? d : '?')).join(', ')}]`;
}

/**
 * Chooses the layout for examples of `dataShape` (HWC for images) given the model input shape
 * `modelShape` (batch axis first). `producer` breaks the tie for fully symbolic 4-D inputs.
 */
export function planLayout(
  dataShape: readonly number[],
  modelShape: ReadonlyArray<number | string>,
  ctx: { model: string; input: string; data: string; producer?: string },
): Layout {
  const dims = modelShape.slice(1);
  const allSymbolic = dims.length > 0 && dims.every((d) => !known(d));
  if (dataShape.length === 3 && dims.length === 3) {
    const [h, w, c] = dataShape as [number, number, number];
    const nchw = [c, h, w];
    const hwcOk = matches(dims, dataShape);
    const chwOk = matches(dims, nchw);
    if (allSymbolic && /torch/i.test(ctx.producer ?? '')) return { kind: 'nchw', shape: nchw };
    if (hwcOk) return { kind: 'as-is', shape: [...dataShape] };
    if (chwOk) return { kind: 'nchw', shape: nchw };
  } else if (matches(dims, dataShape)) {
    return { kind: 'as-is', shape: [...dataShape] };
  }
  // The same values in another shape: a flat vector, or a dropped/added axis of size 1.
  const size = product(dataShape);
  if (dims.length === 1 && (!known(dims[0]!) || dims[0] === size)) return { kind: 'reshape', shape: [size] };
  if (dims.every(known) && product(dims as number[]) === size) {
    const a = squeeze(dims as number[]);
    if (a.join(',') === squeeze([...dataShape]).join(',')) return { kind: 'reshape', shape: dims as number[] };
    if (dataShape.length === 3) {
      const [h, w, c] = dataShape as [number, number, number];
      if (a.join(',') === squeeze([c, h, w]).join(',')) return { kind: 'nchw', shape: dims as number[] };
    }
  }
  const layoutHint = dataShape.length === 3 ? ` (HWC; in NCHW ${formatDims([dataShape[2]!, dataShape[0]!, dataShape[1]!])})` : '';
  throw new ShapeMismatchError(
    `${ctx.model}: the model's input "${ctx.input}" has shape ${formatDims(modelShape)}, but the test examples (${ctx.data}) have shape ` +
      `${formatDims(dataShape)}${layoutHint}; expected the same sizes, channels last or first`,
  );
}

/** Copies `n` HWC examples starting at example `start` into `out` in CHW order. */
export function toNchw(src: Float32Array, start: number, n: number, hwc: readonly number[], out: Float32Array): Float32Array {
  const [h, w, c] = hwc as [number, number, number];
  const size = h * w * c;
  const plane = h * w;
  for (let e = 0; e < n; e++) {
    const s = (start + e) * size;
    const d = e * size;
    for (let p = 0; p < plane; p++) {
      const sp = s + p * c;
      for (let ch = 0; ch < c; ch++) out[d + ch * plane + p] = src[sp + ch]!;
    }
  }
  return out;
}
