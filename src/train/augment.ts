/**
 * Image data augmentation of training batches (train.augment): random shifts with zero padding,
 * horizontal flips, small rotations and random erasing, applied in place to the batch's typed
 * array. Every random number comes from a generator seeded by the run's seed, the epoch and the
 * step, so a run repeats itself and a resumed run draws what the uninterrupted one drew.
 */
import type { AugmentSection } from '../config/schema/train.js';
import { mulberry32 } from '../data/index.js';
import { TrainError } from '../util/errors.js';

/** A 31-bit seed mixed from integers (the run's seed, an epoch, a step, a layer index ...). */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  }
  return (h ^ (h >>> 16)) % 2147483647;
}

/** Whether the section asks for any change at all. */
export function augmentsAnything(cfg: AugmentSection | undefined): cfg is AugmentSection {
  return !!cfg && (cfg.shift > 0 || cfg.flip || cfg.rotate > 0 || cfg.erase > 0);
}

export class Augmenter {
  private readonly h: number;
  private readonly w: number;
  private readonly c: number;
  private readonly tmp: Float32Array;

  /** `shape` is one example's [height, width, channels]; anything else is refused. */
  constructor(
    private readonly cfg: AugmentSection,
    shape: readonly number[],
  ) {
    if (shape.length !== 3) {
      throw new TrainError(
        `train.augment: needs image data of shape [height, width, channels], but the examples have shape [${shape.join(', ')}]; ` +
          `remove train.augment or use image data`,
      );
    }
    [this.h, this.w, this.c] = shape as [number, number, number];
    if (cfg.shift >= Math.max(this.h, this.w)) {
      throw new TrainError(`train.augment.shift: ${cfg.shift} pixels is not smaller than the ${this.h}x${this.w} images`);
    }
    this.tmp = new Float32Array(this.h * this.w * this.c);
  }

  /** Augment the first `rows` examples of `x` in place, drawing from `seed`. */
  apply(x: Float32Array, rows: number, seed: number): void {
    const rand = mulberry32(seed);
    const size = this.tmp.length;
    const { shift, flip, rotate, erase } = this.cfg;
    for (let r = 0; r < rows; r++) {
      const img = x.subarray(r * size, (r + 1) * size);
      const mirror = flip && rand() < 0.5;
      const angle = rotate > 0 ? ((rand() * 2 - 1) * rotate * Math.PI) / 180 : 0;
      const dx = shift > 0 ? Math.floor(rand() * (2 * shift + 1)) - shift : 0;
      const dy = shift > 0 ? Math.floor(rand() * (2 * shift + 1)) - shift : 0;
      if (mirror || angle !== 0 || dx !== 0 || dy !== 0) {
        this.tmp.set(img);
        this.warp(this.tmp, img, mirror, angle, dx, dy);
      }
      if (erase > 0 && rand() < erase) this.erase(img, rand);
    }
  }

  /**
   * dst(y, x) = src at the point that rotating by `angle` about the centre, shifting by (dx, dy)
   * and mirroring move to (y, x); bilinear, zero outside. Without a rotation every source point is
   * a whole pixel, so shifts and flips copy values exactly.
   */
  private warp(src: Float32Array, dst: Float32Array, mirror: boolean, angle: number, dx: number, dy: number): void {
    const { h, w, c } = this;
    const cy = (h - 1) / 2;
    const cx = (w - 1) / 2;
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const u = x - cx - dx;
        const v = y - cy - dy;
        let sx = cos * u + sin * v + cx;
        const sy = -sin * u + cos * v + cy;
        if (mirror) sx = w - 1 - sx;
        const x0 = Math.floor(sx);
        const y0 = Math.floor(sy);
        const fx = sx - x0;
        const fy = sy - y0;
        const o = (y * w + x) * c;
        for (let k = 0; k < c; k++) {
          let v00 = 0,
            v01 = 0,
            v10 = 0,
            v11 = 0;
          if (y0 >= 0 && y0 < h) {
            if (x0 >= 0 && x0 < w) v00 = src[(y0 * w + x0) * c + k]!;
            if (fx > 0 && x0 + 1 >= 0 && x0 + 1 < w) v01 = src[(y0 * w + x0 + 1) * c + k]!;
          }
          if (fy > 0 && y0 + 1 >= 0 && y0 + 1 < h) {
            if (x0 >= 0 && x0 < w) v10 = src[((y0 + 1) * w + x0) * c + k]!;
            if (fx > 0 && x0 + 1 >= 0 && x0 + 1 < w) v11 = src[((y0 + 1) * w + x0 + 1) * c + k]!;
          }
          dst[o + k] = fx === 0 && fy === 0 ? v00 : (1 - fy) * ((1 - fx) * v00 + fx * v01) + fy * ((1 - fx) * v10 + fx * v11);
        }
      }
    }
  }

  /** Zero a rectangle of 2-25% of the image with an aspect ratio between 0.3 and 3.3. */
  private erase(img: Float32Array, rand: () => number): void {
    const { h, w, c } = this;
    const area = (0.02 + rand() * 0.23) * h * w;
    const ratio = Math.exp(Math.log(0.3) + rand() * (Math.log(3.3) - Math.log(0.3)));
    const eh = Math.max(1, Math.min(h, Math.round(Math.sqrt(area * ratio))));
    const ew = Math.max(1, Math.min(w, Math.round(Math.sqrt(area / ratio))));
    const top = Math.floor(rand() * (h - eh + 1));
    const left = Math.floor(rand() * (w - ew + 1));
    for (let y = top; y < top + eh; y++) img.fill(0, (y * w + left) * c, (y * w + left + ew) * c);
  }
}
