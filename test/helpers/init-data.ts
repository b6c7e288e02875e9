/** Small, learnable data sets for `cdl init` tests: 8×8 grey images and four-feature CSV files. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';

/** A seeded generator, so the data (and the test) is the same on every run. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Two classes of 8×8 grey images: dark and bright, with noise. */
export function imageFolder(dir: string): void {
  const r = rng(7);
  for (const [split, n] of [
    ['train', 60],
    ['test', 20],
  ] as const) {
    for (const [cls, level] of [
      ['dark', 60],
      ['bright', 190],
    ] as const) {
      const folder = path.join(dir, 'data', split, cls);
      mkdirSync(folder, { recursive: true });
      for (let i = 0; i < n; i++) {
        const png = new PNG({ width: 8, height: 8 });
        for (let p = 0; p < 64; p++) {
          const v = Math.max(0, Math.min(255, Math.round(level + (r() - 0.5) * 80)));
          png.data.set([v, v, v, 255], p * 4);
        }
        writeFileSync(path.join(folder, `${i}.png`), PNG.sync.write(png));
      }
    }
  }
}

/** Two classes of four features around -1 and +1. */
export function csvFiles(dir: string): void {
  const r = rng(11);
  const rows = (n: number) =>
    [
      'a,b,c,d,label',
      ...Array.from({ length: n }, (_, i) =>
        [...[0, 1, 2, 3].map(() => ((i % 2) * 2 - 1 + (r() - 0.5)).toFixed(3)), i % 2 ? 'yes' : 'no'].join(','),
      ),
    ].join('\n') + '\n';
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  writeFileSync(path.join(dir, 'data', 'train.csv'), rows(300));
  writeFileSync(path.join(dir, 'data', 'test.csv'), rows(80));
}
