/**
 * Small seeded pseudo-random numbers for everything in cdl that must be reproducible
 * (validation splits, subsets, shuffling). Not for cryptography.
 */

/** mulberry32: a 32-bit state generator; returns a function giving floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, n) from `rand`. */
export function randomInt(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}

/** Fisher–Yates shuffle of `a` in place, driven by `rand`; returns `a`. */
export function shuffleInPlace<T extends { length: number; [i: number]: unknown }>(a: T, rand: () => number): T {
  for (let i = a.length - 1; i > 0; i--) {
    const j = randomInt(rand, i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}
