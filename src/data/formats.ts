/**
 * The raw examples of each data format (IDX, CSV, image folders) before scaling, with the file
 * names of data.train and data.test checked to stay inside the dataset root.
 */
import path from 'node:path';
import type { DataSection } from '../config/schema/data.js';
import { DataError } from '../util/errors.js';
import { readCsv } from './csv.js';
import { readIdx, type IdxData } from './idx.js';
import { readImageFolder } from './images.js';
import { displayPath, formatShape } from './util.js';

type Task = 'classification' | 'regression';

const IDX_DEFAULTS = {
  train: { images: 'train-images-idx3-ubyte.gz', labels: 'train-labels-idx1-ubyte.gz' },
  test: { images: 't10k-images-idx3-ubyte.gz', labels: 't10k-labels-idx1-ubyte.gz' },
};

export type SplitName = 'train' | 'test';

/** Raw examples of one split before scaling. */
export interface RawSplit {
  x: ArrayLike<number>;
  y: Int32Array | Float32Array;
  n: number;
  shape: number[];
  /** What to name in messages about this split. */
  name: string;
}

export interface Raw {
  train: RawSplit;
  test: RawSplit;
  classes: string[];
  files: string[];
}

/** A '/'-separated path inside the dataset root, or an error naming the field. */
function relPath(value: string, field: string): string {
  const p = path.posix.normalize(value.replace(/\\/g, '/'));
  if (value.trim() === '' || path.posix.isAbsolute(p) || /^[A-Za-z]:/.test(p) || p === '..' || p.startsWith('../')) {
    throw new DataError(`${field}: expected a path inside data.path, got ${JSON.stringify(value)}`);
  }
  return p.replace(/\/+$/, '');
}

export type LocalFile = (rel: string, field: string) => Promise<string>;

function idxSpec(data: DataSection, split: SplitName): { images: string; labels: string } {
  const v = data[split];
  if (v === undefined) return IDX_DEFAULTS[split];
  if (typeof v === 'string') {
    throw new DataError(`data.${split}: expected {images, labels} (two IDX files) for format idx, got ${JSON.stringify(v)}`);
  }
  return { images: relPath(v.images, `data.${split}.images`), labels: relPath(v.labels, `data.${split}.labels`) };
}

function nameSpec(data: DataSection, split: SplitName, fallback: string, what: string): string {
  const v = data[split];
  if (v === undefined) return fallback;
  if (typeof v !== 'string')
    throw new DataError(`data.${split}: expected ${what} for format ${data.format}, got {images, labels}`);
  return relPath(v, `data.${split}`);
}

function checkLabels(y: Int32Array, classes: readonly string[], name: string, source: string): void {
  for (let i = 0; i < y.length; i++) {
    if (y[i] < 0 || y[i] >= classes.length) {
      throw new DataError(
        `${name}: label ${y[i]} at index ${i} is not a class index; expected an integer 0 to ${classes.length - 1} (${classes.length} classes, ${source})`,
      );
    }
  }
}

export async function loadIdx(data: DataSection, task: Task, localFile: LocalFile): Promise<Raw> {
  const files: string[] = [];
  const read = async (split: SplitName) => {
    const spec = idxSpec(data, split);
    files.push(spec.images, spec.labels);
    const imagesFile = await localFile(spec.images, `data.${split}.images`);
    const labelsFile = await localFile(spec.labels, `data.${split}.labels`);
    const images = await readIdx(imagesFile);
    const labels = await readIdx(labelsFile);
    const imagesName = displayPath(imagesFile);
    const labelsName = displayPath(labelsFile);
    if (images.dims.length < 2) {
      throw new DataError(
        `${imagesName}: expected examples with dimensions [n, ...] (at least 2), got ${formatShape(images.dims)}`,
      );
    }
    const n = images.dims[0];
    if (labels.dims.length !== 1 || labels.dims[0] !== n) {
      throw new DataError(
        `${labelsName}: expected ${n} labels (dimensions [${n}], one per example in ${imagesName}), got dimensions ${formatShape(labels.dims)}`,
      );
    }
    const rest = images.dims.slice(1);
    const shape = rest.length === 2 ? [...rest, 1] : rest;
    let y: Int32Array | Float32Array;
    if (task === 'regression') {
      y = Float32Array.from(labels.data);
    } else {
      const d: IdxData = labels.data;
      if (d instanceof Float32Array || d instanceof Float64Array) {
        const bad = d.findIndex((v) => !Number.isInteger(v));
        if (bad >= 0) {
          throw new DataError(
            `${labelsName}: label ${d[bad]} at index ${bad} is not a class index; expected integers for task classification`,
          );
        }
      }
      y = Int32Array.from(d);
    }
    return { raw: { x: images.data, y, n, shape, name: imagesName }, labelsName };
  };
  const train = await read('train');
  const test = await read('test');
  let classes: string[] = [];
  if (task === 'classification') {
    let source = 'data.classes';
    if (data.classes) {
      classes = [...data.classes];
    } else {
      let max = 0;
      for (const v of train.raw.y) max = Math.max(max, v);
      classes = Array.from({ length: max + 1 }, (_, i) => String(i));
      source = `the largest training label is ${max}; set data.classes to name them`;
    }
    checkLabels(train.raw.y as Int32Array, classes, train.labelsName, source);
    checkLabels(test.raw.y as Int32Array, classes, test.labelsName, source);
  }
  return { train: train.raw, test: test.raw, classes, files };
}

export async function loadCsv(data: DataSection, task: Task, localFile: LocalFile): Promise<Raw> {
  const trainRel = nameSpec(data, 'train', 'train.csv', 'a CSV file name');
  const testRel = nameSpec(data, 'test', 'test.csv', 'a CSV file name');
  const trainFile = await localFile(trainRel, 'data.train');
  const testFile = await localFile(testRel, 'data.test');
  const train = await readCsv(trainFile, data.label_column, task, { classes: data.classes });
  const test = await readCsv(testFile, data.label_column, task, {
    classes: task === 'classification' ? train.classes : undefined,
  });
  if (train.features.join('\0') !== test.features.join('\0') && train.features.length === test.features.length) {
    throw new DataError(
      `${displayPath(testFile)}: line 1: expected the feature columns of ${displayPath(trainFile)} in the same order (${train.features.join(', ')}), got ${test.features.join(', ')}`,
    );
  }
  const raw = (d: typeof train, file: string): RawSplit => ({
    x: d.x,
    y: d.y,
    n: d.n,
    shape: [d.features.length],
    name: displayPath(file),
  });
  return { train: raw(train, trainFile), test: raw(test, testFile), classes: train.classes, files: [trainRel, testRel] };
}

export async function loadImages(data: DataSection, task: Task, root: string): Promise<Raw> {
  if (task !== 'classification') {
    throw new DataError(
      `data.format: image-folder labels examples by class folder; expected model.task classification, got ${task}`,
    );
  }
  const trainRel = nameSpec(data, 'train', 'train', 'a folder name');
  const testRel = nameSpec(data, 'test', 'test', 'a folder name');
  const trainDir = path.join(root, ...trainRel.split('/'));
  const testDir = path.join(root, ...testRel.split('/'));
  const train = await readImageFolder(trainDir, {
    imageSize: data.image_size,
    channels: data.channels,
    classes: data.classes,
    root,
  });
  const test = await readImageFolder(testDir, {
    imageSize: [train.shape[0], train.shape[1]],
    channels: data.channels,
    classes: train.classes,
    root,
  });
  const raw = (d: typeof train, dir: string): RawSplit => ({ x: d.x, y: d.y, n: d.n, shape: d.shape, name: displayPath(dir) });
  return {
    train: raw(train, trainDir),
    test: raw(test, testDir),
    classes: train.classes,
    files: [...train.files.map((f) => `${trainRel}/${f}`), ...test.files.map((f) => `${testRel}/${f}`)],
  };
}
