/**
 * Draw the stratified Fashion-MNIST subset shipped with examples/fashion-mnist:
 * 1,200 training and 200 test images per class, chosen by a fixed seed, kept in their original order.
 *
 *   npx tsx scripts/make-example-subset.ts [source-dir] [output-dir]
 *
 * source-dir defaults to /usr/share/datasets/fashion-mnist (Debian: dataset-fashion-mnist),
 * output-dir to examples/fashion-mnist/data. The output bytes depend only on the input and the seed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { encodeIdx, mulberry32, readIdx, shuffleInPlace, type IdxData } from '../src/data/index.js';

const SEED = 20170825; // the date Fashion-MNIST was published
const CLASSES = 10;
const PER_CLASS = { train: 1200, t10k: 200 } as const;

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sourceDir = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const outDir = process.argv[3] ?? path.join(repo, 'examples/fashion-mnist/data');

/** Gzip with fixed header bytes: level 9, mtime 0 (zlib's default), OS byte 3 (Unix) on every platform. */
function gzipDeterministic(buf: Uint8Array): Buffer {
  const gz = gzipSync(buf, { level: 9 });
  gz.writeUInt32LE(0, 4);
  gz[9] = 3;
  return gz;
}

function pick(labels: IdxData, perClass: number, seed: number): number[] {
  const rand = mulberry32(seed);
  const chosen: number[] = [];
  for (let c = 0; c < CLASSES; c++) {
    const idx: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === c) idx.push(i);
    if (idx.length < perClass) throw new Error(`class ${c}: only ${idx.length} examples, need ${perClass}`);
    chosen.push(...shuffleInPlace(idx, rand).slice(0, perClass));
  }
  return chosen.sort((a, b) => a - b);
}

async function subset(prefix: 'train' | 't10k', seed: number): Promise<void> {
  const imagesName = `${prefix}-images-idx3-ubyte.gz`;
  const labelsName = `${prefix}-labels-idx1-ubyte.gz`;
  const images = await readIdx(path.join(sourceDir, imagesName));
  const labels = await readIdx(path.join(sourceDir, labelsName));
  const [n, h, w] = images.dims;
  if (labels.dims[0] !== n) throw new Error(`${prefix}: ${n} images but ${labels.dims[0]} labels`);
  const rows = pick(labels.data, PER_CLASS[prefix], seed);
  const row = h * w;
  const x = new Uint8Array(rows.length * row);
  const y = new Uint8Array(rows.length);
  rows.forEach((r, j) => {
    x.set(images.data.subarray(r * row, (r + 1) * row) as Uint8Array, j * row);
    y[j] = labels.data[r];
  });
  await writeFile(path.join(outDir, imagesName), gzipDeterministic(encodeIdx([rows.length, h, w], x)));
  await writeFile(path.join(outDir, labelsName), gzipDeterministic(encodeIdx([rows.length], y)));
  console.log(`${prefix}: ${rows.length} of ${n} examples (${PER_CLASS[prefix]} per class)`);
}

await mkdir(outDir, { recursive: true });
await subset('train', SEED);
await subset('t10k', SEED + 1);
console.log(`wrote ${path.relative(process.cwd(), outDir) || '.'}`);
