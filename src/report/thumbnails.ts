/**
 * Test images as small inline PNGs (data: URIs), so the HTML report shows the examples that
 * changed without hosting anything. Only image data ([H, W, C] with 1, 3 or 4 channels) has
 * thumbnails; larger images are shrunk (nearest pixel) to at most THUMBNAIL_MAX pixels a side.
 */
import { PNG } from 'pngjs';

export const THUMBNAIL_MAX = 64;

/** Whether examples of this shape are images a thumbnail can show. */
export function isImageShape(shape: readonly number[]): shape is [number, number, number] {
  return shape.length === 3 && [1, 3, 4].includes(shape[2]!) && shape[0]! > 0 && shape[1]! > 0;
}

/**
 * The PNG of example `index` of `x` (examples of `shape`, channels last). Values are shown as
 * they are when they lie in [0, 1] (scaled data), else stretched from the image's own range.
 */
export function thumbnailPng(x: Float32Array, index: number, shape: readonly number[]): Buffer {
  if (!isImageShape(shape)) throw new Error(`thumbnails need image examples [H, W, C]; got [${shape.join(', ')}]`);
  const [h, w, c] = shape;
  const size = h * w * c;
  const px = x.subarray(index * size, (index + 1) * size);
  if (px.length !== size) throw new Error(`no example ${index} in the test split`);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of px) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const [a, b] = lo >= 0 && hi <= 1 ? [0, 1] : [lo, hi > lo ? hi : lo + 1];
  const byte = (v: number) => (Number.isFinite(v) ? Math.round((255 * Math.min(b, Math.max(a, v)) - 255 * a) / (b - a)) : 0);
  const scale = Math.max(1, Math.ceil(Math.max(h, w) / THUMBNAIL_MAX));
  const [th, tw] = [Math.ceil(h / scale), Math.ceil(w / scale)];
  const png = new PNG({ width: tw, height: th, colorType: 6 });
  for (let y = 0; y < th; y++) {
    for (let xx = 0; xx < tw; xx++) {
      const src = (y * scale * w + xx * scale) * c;
      const dst = (y * tw + xx) * 4;
      const r = byte(px[src]!);
      png.data[dst] = r;
      png.data[dst + 1] = c >= 3 ? byte(px[src + 1]!) : r;
      png.data[dst + 2] = c >= 3 ? byte(px[src + 2]!) : r;
      png.data[dst + 3] = c === 4 ? byte(px[src + 3]!) : 255;
    }
  }
  return PNG.sync.write(png);
}

/** Thumbnails of the given examples as data: URIs, by index; none when the data are not images. */
export function thumbnailUris(x: Float32Array, shape: readonly number[], indices: Iterable<number>): Record<number, string> {
  const out: Record<number, string> = {};
  if (!isImageShape(shape)) return out;
  for (const i of indices) out[i] = `data:image/png;base64,${thumbnailPng(x, i, shape).toString('base64')}`;
  return out;
}
