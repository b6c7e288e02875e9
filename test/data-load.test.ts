import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { DataError } from '../src/util/errors.js';
import { datasetVersion, hashFiles, loadDataset, type Dataset } from '../src/data/index.js';
import { section, tempDir, writeIdx, writeIdxDataset } from './fixtures/data/helpers.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const exampleDir = path.join(repo, 'examples', 'fashion-mnist');
const FASHION = {
  format: 'idx',
  path: './data',
  train: { images: 'train-images-idx3-ubyte.gz', labels: 'train-labels-idx1-ubyte.gz' },
  test: { images: 't10k-images-idx3-ubyte.gz', labels: 't10k-labels-idx1-ubyte.gz' },
  classes: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  validation: { fraction: 0.1, seed: 42 },
};
const cls = { baseDir: exampleDir, task: 'classification' as const };
const root = tempDir();

function perClass(y: Int32Array | Float32Array, k: number): number[] {
  const c = new Array<number>(k).fill(0);
  for (const v of y) c[v]++;
  return c;
}

describe('the shipped Fashion-MNIST subset', () => {
  let ds: Dataset;

  it('has 1,200 training and 200 test images per class, scaled to [0, 1]', async () => {
    ds = await loadDataset(section(FASHION), cls);
    expect(ds.shape).toEqual([28, 28, 1]);
    expect(ds.classes).toHaveLength(10);
    expect(ds.source).toBe(path.join(exampleDir, 'data'));
    expect(ds.train.n + ds.validation.n).toBe(12_000);
    expect(ds.validation.n).toBe(1_200);
    expect(ds.test.n).toBe(2_000);
    const trainCounts = perClass(ds.train.y, 10).map((c, i) => c + perClass(ds.validation.y, 10)[i]);
    expect(trainCounts).toEqual(new Array(10).fill(1200));
    expect(perClass(ds.validation.y, 10)).toEqual(new Array(10).fill(120));
    expect(perClass(ds.test.y, 10)).toEqual(new Array(10).fill(200));
    expect(ds.train.x.length).toBe(ds.train.n * 784);
    let max = 0;
    for (const v of ds.test.x) max = Math.max(max, v);
    expect(max).toBe(1);
    expect(ds.files.map((f) => f.path)).toEqual([
      't10k-images-idx3-ubyte.gz',
      't10k-labels-idx1-ubyte.gz',
      'train-images-idx3-ubyte.gz',
      'train-labels-idx1-ubyte.gz',
    ]);
    expect(ds.version).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('has a stable version, which changes when one byte changes', async () => {
    const again = await loadDataset(section(FASHION), cls);
    expect(again.version).toBe(ds.version);
    expect([...again.validation.y.subarray(0, 50)]).toEqual([...ds.validation.y.subarray(0, 50)]);

    const copy = path.join(root, 'fashion-copy');
    cpSync(path.join(exampleDir, 'data'), copy, { recursive: true });
    const copied = await loadDataset(section({ ...FASHION, path: copy }), cls);
    expect(copied.version).toBe(ds.version); // the version is about content, not location

    const labelsFile = path.join(copy, 'train-labels-idx1-ubyte.gz');
    const labels = gunzipSync(readFileSync(labelsFile));
    labels[8] = (labels[8] + 1) % 10; // the first label
    writeFileSync(labelsFile, gzipSync(labels, { level: 9 }));
    const changed = await loadDataset(section({ ...FASHION, path: copy }), cls);
    expect(changed.version).not.toBe(ds.version);
    expect(datasetVersion(changed.files)).toBe(changed.version);
  });

  it('applies limits before the validation split', async () => {
    const d = await loadDataset(section({ ...FASHION, limit: { train: 1000, test: 100 } }), cls);
    expect(d.train.n + d.validation.n).toBe(1000);
    expect(d.test.n).toBe(100);
    expect(d.validation.n).toBeGreaterThanOrEqual(90);
    expect(d.validation.n).toBeLessThanOrEqual(110);
  });
});

describe('hashFiles and datasetVersion', () => {
  it('hash each file and combine them in path order', async () => {
    const dir = path.join(root, 'hash');
    mkdirSync(path.join(dir, 'sub'), { recursive: true });
    writeFileSync(path.join(dir, 'b.txt'), 'bee');
    writeFileSync(path.join(dir, 'sub', 'a.txt'), '');
    const files = await hashFiles(dir, ['sub/a.txt', 'b.txt']);
    expect(files).toEqual([
      { path: 'b.txt', size: 3, sha256: createHash('sha256').update('bee').digest('hex') },
      { path: 'sub/a.txt', size: 0, sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
    ]);
    expect(datasetVersion(files)).toBe(datasetVersion([...files].reverse()));
    const expected = createHash('sha256')
      .update(`b.txt\u00003\u0000${files[0].sha256}\nsub/a.txt\u00000\u0000${files[1].sha256}\n`)
      .digest('hex');
    expect(datasetVersion(files)).toBe(`sha256:${expected}`);
    await expect(hashFiles(dir, ['gone.txt'])).rejects.toThrow(/gone\.txt: cannot read the file to hash it/);
  });
});

describe('loadDataset', () => {
  it('reads IDX with default file names, plain or gzipped, and scales by data.scale', async () => {
    for (const gzip of [true, false]) {
      const dir = path.join(root, gzip ? 'idx-gz' : 'idx-plain');
      writeIdxDataset(dir, { n: 30, nTest: 9, gzip });
      const files = gzip
        ? {}
        : {
            train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
            test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
          };
      const d = await loadDataset(
        section({ format: 'idx', path: dir, scale: 2, validation: { fraction: 0.2, seed: 1 }, ...files }),
        {
          baseDir: '/',
          task: 'classification',
        },
      );
      expect(d.shape).toEqual([4, 3, 1]);
      expect(d.classes).toEqual(['0', '1', '2']);
      expect(d.validation.n).toBe(6);
      expect(d.train.n).toBe(24);
      expect(d.test.n).toBe(9);
      expect([...d.test.x.subarray(12, 15)]).toEqual([0.5, 1, 1.5]); // example 1: pixels 1, 2, 3 divided by 2
      expect([...d.test.y]).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
      expect(d.files).toHaveLength(4);
    }
  });

  it('reads IDX float labels as regression targets', async () => {
    const dir = path.join(root, 'idx-reg');
    writeIdx(path.join(dir, 'x.idx'), [5, 2], Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    writeIdx(path.join(dir, 'y.idx'), [5], Float32Array.from([0.5, 1, 1.5, 2, 2.5]));
    const d = await loadDataset(
      section({
        format: 'idx',
        path: dir,
        scale: 1,
        train: { images: 'x.idx', labels: 'y.idx' },
        test: { images: 'x.idx', labels: 'y.idx' },
        validation: { fraction: 0 },
      }),
      { baseDir: '/', task: 'regression' },
    );
    expect(d.shape).toEqual([2]);
    expect(d.classes).toEqual([]);
    expect(d.train.y).toBeInstanceOf(Float32Array);
    expect([...d.train.y]).toEqual([0.5, 1, 1.5, 2, 2.5]);
    expect(d.validation.n).toBe(0);
    expect(d.files.map((f) => f.path)).toEqual(['x.idx', 'y.idx']);
  });

  it('reads CSV train and test files relative to a relative data.path', async () => {
    const dir = path.join(root, 'proj', 'tables');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'tr.csv'),
      'a,b,label\n' + Array.from({ length: 20 }, (_, i) => `${i},${2 * i},${i % 2 ? 'odd' : 'even'}`).join('\n') + '\n',
    );
    writeFileSync(path.join(dir, 'te.csv'), 'a,b,label\n1,2,odd\n3,4,even\n');
    const d = await loadDataset(section({ format: 'csv', path: 'tables', train: 'tr.csv', test: 'te.csv', scale: 1 }), {
      baseDir: path.join(root, 'proj'),
      task: 'classification',
    });
    expect(d.shape).toEqual([2]);
    expect(d.classes).toEqual(['even', 'odd']);
    expect(d.validation.n).toBe(2);
    expect([...d.test.x]).toEqual([1, 2, 3, 4]);
    expect([...d.test.y]).toEqual([1, 0]);
    expect(d.files.map((f) => f.path)).toEqual(['te.csv', 'tr.csv']);
  });

  it('reads an image folder with train/test subfolders by default', async () => {
    const dir = path.join(root, 'imgs');
    const write = (rel: string, v: number, kind: 'png' | 'jpg') => {
      const file = path.join(dir, rel);
      mkdirSync(path.dirname(file), { recursive: true });
      const data = Buffer.alloc(2 * 2 * 4, v);
      if (kind === 'png') {
        const p = new PNG({ width: 2, height: 2 });
        data.copy(p.data);
        writeFileSync(file, PNG.sync.write(p));
      } else {
        writeFileSync(file, jpeg.encode({ width: 2, height: 2, data }, 100).data);
      }
    };
    for (let i = 0; i < 4; i++) {
      write(`train/circle/${i}.png`, 255, 'png');
      write(`train/square/${i}.jpg`, 0, 'jpg');
    }
    write('test/circle/a.png', 255, 'png');
    write('test/square/b.png', 0, 'png');
    const d = await loadDataset(
      section({ format: 'image-folder', path: dir, channels: 3, validation: { fraction: 0.25, seed: 3 } }),
      {
        baseDir: '/',
        task: 'classification',
      },
    );
    expect(d.shape).toEqual([2, 2, 3]);
    expect(d.classes).toEqual(['circle', 'square']);
    expect(d.train.n).toBe(6);
    expect(perClass(d.validation.y, 2)).toEqual([1, 1]);
    expect([...d.test.x.subarray(0, 3)]).toEqual([1, 1, 1]);
    expect(d.files).toHaveLength(10);
    expect(d.files[0].path).toBe('test/circle/a.png');

    const p = new PNG({ width: 3, height: 2 });
    writeFileSync(path.join(dir, 'test/square/big.png'), PNG.sync.write(p));
    await expect(
      loadDataset(section({ format: 'image-folder', path: dir }), { baseDir: '/', task: 'classification' }),
    ).rejects.toThrow(/imgs\/test: expected every image to be 2×2 .*1 differ: square\/big\.png \(2×3\)/);
  });
});

describe('loadDataset errors', () => {
  const load = (input: Record<string, unknown>, task: 'classification' | 'regression' = 'classification') =>
    loadDataset(section(input), { baseDir: root, task });

  it('a missing Fashion-MNIST directory or file names it and points to the Debian package', async () => {
    const err = await load({ ...FASHION, path: 'fashion-mnist-nowhere' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(
      /fashion-mnist-nowhere: no such directory \(data\.path\); expected the folder holding the data/,
    );
    expect((err as Error).message).toMatch(
      /dataset-fashion-mnist package installs the full set under \/usr\/share\/datasets\/fashion-mnist/,
    );
    const dir = path.join(root, 'half');
    mkdirSync(dir, { recursive: true });
    await expect(load({ ...FASHION, path: dir })).rejects.toThrow(
      /half\/train-images-idx3-ubyte\.gz: no such file \(data\.train\.images\)\. Fashion-MNIST: Debian's dataset-fashion-mnist/,
    );
    await expect(load({ format: 'csv', path: dir })).rejects.toThrow(/half\/train\.csv: no such file \(data\.train\)$/);
  });

  it('labels not below the number of classes name the file and the first bad index', async () => {
    const dir = path.join(root, 'badlabels');
    writeIdxDataset(dir, { n: 6, nTest: 6, classes: 3 });
    const labels = Uint8Array.from([0, 1, 2, 7, 9, 1]);
    writeIdx(path.join(dir, 't10k-labels-idx1-ubyte'), [6], labels);
    const spec = {
      format: 'idx',
      path: dir,
      classes: ['a', 'b', 'c'],
      train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
      test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
    };
    await expect(load(spec)).rejects.toThrow(
      /t10k-labels-idx1-ubyte: label 7 at index 3 is not a class index; expected an integer 0 to 2 \(3 classes, data\.classes\)/,
    );
    writeIdx(path.join(dir, 't10k-labels-idx1-ubyte'), [5], labels.subarray(0, 5));
    await expect(load(spec)).rejects.toThrow(
      /t10k-labels-idx1-ubyte: expected 6 labels \(dimensions \[6\], one per example in .*t10k-images-idx3-ubyte\), got dimensions \[5\]/,
    );
  });

  it('test data with another shape than the training data is an error', async () => {
    const dir = path.join(root, 'shapes');
    writeIdxDataset(dir, { n: 6, nTest: 2 });
    writeIdx(path.join(dir, 't10k-images-idx3-ubyte'), [2, 3, 3], new Uint8Array(18));
    await expect(
      load({
        format: 'idx',
        path: dir,
        train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
        test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
      }),
    ).rejects.toThrow(
      /t10k-images-idx3-ubyte: test examples have shape \[3, 3, 1\]; expected the shape of the training examples in .*train-images-idx3-ubyte, \[4, 3, 1\]/,
    );
    writeFileSync(path.join(dir, 'a.csv'), 'x,y,label\n1,2,0\n3,4,1\n');
    writeFileSync(path.join(dir, 'b.csv'), 'x,label\n1,0\n');
    writeFileSync(path.join(dir, 'c.csv'), 'y,x,label\n1,2,0\n');
    await expect(load({ format: 'csv', path: dir, train: 'a.csv', test: 'b.csv' })).rejects.toThrow(
      /b\.csv: test examples have shape \[1\]; expected .*a\.csv, \[2\]/,
    );
    await expect(load({ format: 'csv', path: dir, train: 'a.csv', test: 'c.csv' })).rejects.toThrow(
      /c\.csv: line 1: expected the feature columns of .*a\.csv in the same order \(x, y\), got y, x/,
    );
  });

  it('train/test fields of the wrong form for the format name the field', async () => {
    const dir = path.join(root, 'forms');
    mkdirSync(dir, { recursive: true });
    await expect(load({ format: 'idx', path: dir, train: 'train.idx' })).rejects.toThrow(
      /data\.train: expected \{images, labels\} \(two IDX files\) for format idx, got "train\.idx"/,
    );
    await expect(load({ format: 'csv', path: dir, test: { images: 'a', labels: 'b' } })).rejects.toThrow(
      /data\.test: expected a CSV file name for format csv, got \{images, labels\}/,
    );
    await expect(load({ format: 'csv', path: dir, train: '../outside.csv' })).rejects.toThrow(
      /data\.train: expected a path inside data\.path, got "\.\.\/outside\.csv"/,
    );
    await expect(load({ format: 'image-folder', path: dir }, 'regression')).rejects.toThrow(
      /expected model\.task classification, got regression/,
    );
    writeFileSync(path.join(dir, 'file'), '');
    await expect(load({ format: 'csv', path: path.join(dir, 'file') })).rejects.toThrow(
      /forms\/file: not a directory \(data\.path\)/,
    );
    rmSync(path.join(dir, 'file'));
  });
});
