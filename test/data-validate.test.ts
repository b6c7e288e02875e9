/**
 * Data validation finds planted problems and names them: duplicates within a split, leakage from
 * train into test, a corrupt image, a missing file, values outside the range, an unknown class
 * folder; clean data passes; fail_on decides the verdict.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { dataChecks, dataSection, type DataSection } from '../src/config/schema/data.js';
import { encodeIdx } from '../src/data/idx.js';
import { mulberry32 } from '../src/data/prng.js';
import { validateData, validationMarkdown, validationText } from '../src/data/validate.js';
import { EXAMPLE_CONFIG, exampleConfig, removeTempDirs, tempDir } from './helpers/example.js';

afterAll(removeTempDirs);

function png(seed: number, size = 6): Buffer {
  const rand = mulberry32(seed);
  const img = new PNG({ width: size, height: size });
  for (let i = 0; i < size * size; i++) {
    const v = Math.floor(rand() * 256);
    img.data.set([v, v, v, 255], 4 * i);
  }
  return PNG.sync.write(img);
}

/** An image folder: 3 classes × 5 images for train, × 2 for test, all different. */
function imageFolder(): string {
  const root = tempDir('cdl-validate-img-');
  let seed = 1;
  for (const [split, per] of [
    ['train', 5],
    ['test', 2],
  ] as const) {
    for (const c of ['cat', 'dog', 'eel']) {
      mkdirSync(path.join(root, split, c), { recursive: true });
      for (let i = 0; i < per; i++) writeFileSync(path.join(root, split, c, `${i}.png`), png(seed++));
    }
  }
  return root;
}

const section = (over: Omit<Partial<DataSection>, 'checks'> & { checks?: Partial<DataSection['checks']> }): DataSection =>
  dataSection.parse({ format: 'image-folder', ...over, checks: dataChecks.parse(over.checks ?? {}) });

describe('data validation', () => {
  it('passes clean data with no findings (the Fashion-MNIST subset and a small image folder)', async () => {
    const loaded = await exampleConfig([], EXAMPLE_CONFIG);
    const v = await validateData(loaded.config.data, { baseDir: loaded.dir, task: 'classification' });
    expect([...v.errors, ...v.warnings]).toEqual([]);
    expect(v.splits.train).toMatchObject({ examples: 12000, shape: [28, 28, 1], min: 0, max: 1, duplicates: 0 });
    expect(v.failed).toBe(false);
    const root = imageFolder();
    const w = await validateData(section({ path: root }), { baseDir: root, task: 'classification' });
    expect([...w.errors, ...w.warnings]).toEqual([]);
    expect(w.splits.test?.class_counts).toEqual([2, 2, 2]);
  });

  it('names planted duplicates, train→test leakage, a corrupt image and an unknown class folder', async () => {
    const root = imageFolder();
    copyFileSync(path.join(root, 'train/cat/0.png'), path.join(root, 'train/cat/0-copy.png'));
    copyFileSync(path.join(root, 'train/dog/1.png'), path.join(root, 'train/eel/dog-mislabelled.png'));
    copyFileSync(path.join(root, 'train/eel/2.png'), path.join(root, 'test/eel/leaked.png'));
    writeFileSync(path.join(root, 'train/dog/broken.png'), Buffer.concat([png(99).subarray(0, 40), Buffer.from('garbage')]));
    mkdirSync(path.join(root, 'test/fox'));
    writeFileSync(path.join(root, 'test/fox/0.png'), png(500));
    const v = await validateData(section({ path: root }), { baseDir: root, task: 'classification' });
    const by = (check: string) => [...v.errors, ...v.warnings].filter((f) => f.check === check);

    const files = by('files');
    expect(files.map((f) => f.items)).toEqual([['train/dog/broken.png'], ['test/fox']]);
    expect(files[0]!.message).toMatch(/train\/dog\/broken\.png: cannot decode the image/);

    const [dup] = by('duplicates');
    expect(dup).toMatchObject({ severity: 'error' }); // 2 of 17 is above the default 1%
    expect(dup!.items).toEqual(['train/cat/0-copy.png = train/cat/0.png', 'train/dog/1.png = train/eel/dog-mislabelled.png']);
    const conflict = by('labels').find((f) => /different labels/.test(f.message));
    expect(conflict?.items).toEqual(['train/dog/1.png (dog) = train/eel/dog-mislabelled.png (eel)']);

    const [leak] = by('leakage');
    expect(leak).toMatchObject({ severity: 'error', items: ['test/eel/leaked.png = train/eel/2.png'] });
    expect(v.leaked).toBe(1);
    expect(v.failed).toBe(true);

    const md = validationMarkdown(v);
    for (const name of ['train/dog/broken.png', 'test/eel/leaked.png = train/eel/2.png', 'train/cat/0-copy.png'])
      expect(md).toContain(name);
    expect(validationText(v)).toMatch(/5 errors, 0 warnings, 1 test examples leaked from train — failed$/);
  });

  it('thresholds: below them duplicates and leakage are warnings, fail_on decides the verdict', async () => {
    const root = imageFolder();
    copyFileSync(path.join(root, 'train/cat/0.png'), path.join(root, 'train/cat/0-copy.png'));
    copyFileSync(path.join(root, 'train/eel/2.png'), path.join(root, 'test/eel/leaked.png'));
    const checks = { max_duplicate_fraction: 0.1, max_leakage_fraction: 0.2 };
    const v = await validateData(section({ path: root, checks }), { baseDir: root, task: 'classification' });
    expect(v.errors).toEqual([]);
    expect(v.warnings.map((w) => w.check).sort()).toEqual(['duplicates', 'leakage']);
    expect(v.failed).toBe(false);
    const strict = await validateData(section({ path: root, checks: { ...checks, fail_on: 'warning' } }), {
      baseDir: root,
      task: 'classification',
    });
    expect(strict.failed).toBe(true);
  });

  it('IDX: a missing labels file is named, values outside the range and class imbalance are reported, leakage across files', async () => {
    const root = tempDir('cdl-validate-idx-');
    const n = 200;
    const rand = mulberry32(7);
    const images = (count: number) => Uint8Array.from({ length: count * 16 }, () => Math.floor(rand() * 200));
    const train = images(n);
    const trainLabels = Uint8Array.from({ length: n }, (_, i) => (i < 198 ? i % 2 : 2)); // class 2: 1%
    const test = images(50);
    test.set(train.subarray(16 * 5, 16 * 6), 16 * 3); // test[3] = train[5]
    test[16 * 10] = 255; // above value_range
    writeFileSync(path.join(root, 'tr-x.idx'), encodeIdx([n, 4, 4], train));
    writeFileSync(path.join(root, 'tr-y.idx'), encodeIdx([n], trainLabels));
    writeFileSync(path.join(root, 'te-x.idx'), encodeIdx([50, 4, 4], test));
    const data = dataSection.parse({
      format: 'idx',
      path: root,
      classes: ['a', 'b', 'c'],
      train: { images: 'tr-x.idx', labels: 'tr-y.idx' },
      test: { images: 'te-x.idx', labels: 'te-y.idx' },
      checks: { value_range: [0, 0.9], min_class_fraction: 0.02 },
    });
    let v = await validateData(data, { baseDir: root, task: 'classification' });
    expect(v.errors.map((e) => e.message)).toEqual([
      `te-y.idx: no such file ${path.join(root, 'te-y.idx')} (data.test.labels); expected the file there, or data.path and data.test.labels changed to where it is`,
    ]);
    writeFileSync(
      path.join(root, 'te-y.idx'),
      encodeIdx(
        [50],
        Uint8Array.from({ length: 50 }, (_, i) => i % 3),
      ),
    );
    v = await validateData(data, { baseDir: root, task: 'classification' });
    const byCheck = Object.fromEntries([...v.errors, ...v.warnings].map((f) => [f.check, f]));
    expect(byCheck.leakage!.items).toEqual(['te-x.idx[3] = tr-x.idx[5]']);
    expect(byCheck.range).toMatchObject({ severity: 'error', items: ['te-x.idx[10]'] });
    expect(byCheck.balance).toMatchObject({ severity: 'warning' });
    expect(byCheck.balance!.message).toMatch(/tr-x\.idx: 1 classes .*c \(2, 1\.00%\)/);
  });

  it('CSV: a non-numeric cell is named with its line, and classes missing from test are warned about', async () => {
    const root = tempDir('cdl-validate-csv-');
    writeFileSync(path.join(root, 'train.csv'), 'a,b,label\n1,2,x\n3,4,y\n5,6,z\n');
    writeFileSync(path.join(root, 'test.csv'), 'a,b,label\n1,oops,x\n');
    const data = dataSection.parse({ format: 'csv', path: root });
    let v = await validateData(data, { baseDir: root, task: 'classification' });
    expect(v.errors.map((e) => e.message)).toEqual(['test.csv: line 2: column "b": expected a number, got "oops"']);
    writeFileSync(path.join(root, 'test.csv'), 'a,b,label\n1,9,x\n');
    v = await validateData(data, { baseDir: root, task: 'classification' });
    expect(v.errors).toEqual([]);
    expect(v.warnings[0]!.message).toMatch(/no test example of class "y", "z"/);
  });
});
