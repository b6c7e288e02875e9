import { mulberry32, shuffleInPlace } from './prng.js';

/** Examples of one split, row-major. */
export interface Split {
  /** n × prod(shape) inputs, row-major. */
  x: Float32Array;
  /** Class index per example (classification) or target value (regression). */
  y: Int32Array | Float32Array;
  n: number;
}

/**
 * Indices of a stratified validation split.
 * Every class contributes round(count × fraction) examples to validation; a class with at least
 * two examples gives at least one (when fraction > 0) and always keeps at least one for training.
 * Deterministic for a seed; both index lists come back in ascending order.
 */
export function stratifiedSplit(y: Int32Array, fraction: number, seed: number): { train: Int32Array; validation: Int32Array } {
  if (!(fraction >= 0 && fraction < 1)) {
    throw new RangeError(`validation fraction: expected a number >= 0 and < 1, got ${fraction}`);
  }
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) {
    const c = y[i];
    let list = byClass.get(c);
    if (!list) byClass.set(c, (list = []));
    list.push(i);
  }
  const rand = mulberry32(seed);
  const isVal = new Uint8Array(y.length);
  let nVal = 0;
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const idx = byClass.get(c)!;
    let k = Math.round(idx.length * fraction);
    if (fraction > 0 && idx.length >= 2) k = Math.min(Math.max(k, 1), idx.length - 1);
    if (k === 0) continue;
    shuffleInPlace(idx, rand);
    for (let j = 0; j < k; j++) isVal[idx[j]] = 1;
    nVal += k;
  }
  const train = new Int32Array(y.length - nVal);
  const validation = new Int32Array(nVal);
  let t = 0;
  let v = 0;
  for (let i = 0; i < y.length; i++) {
    if (isVal[i]) validation[v++] = i;
    else train[t++] = i;
  }
  return { train, validation };
}

/** A new split holding the rows at `indices` (in that order); rowSize = prod(shape). */
export function takeRows(split: Split, indices: ArrayLike<number>, rowSize: number): Split {
  const n = indices.length;
  const x = new Float32Array(n * rowSize);
  const y = split.y instanceof Int32Array ? new Int32Array(n) : new Float32Array(n);
  for (let j = 0; j < n; j++) {
    const i = indices[j];
    if (!(i >= 0 && i < split.n)) throw new RangeError(`row index ${i} out of range [0, ${split.n})`);
    x.set(split.x.subarray(i * rowSize, (i + 1) * rowSize), j * rowSize);
    y[j] = split.y[i];
  }
  return { x, y, n };
}

/** The first `count` rows (all of them when count >= n), sharing memory with `split`. */
export function firstRows(split: Split, count: number, rowSize: number): Split {
  if (count >= split.n) return split;
  return { x: split.x.subarray(0, count * rowSize), y: split.y.subarray(0, count), n: count };
}
