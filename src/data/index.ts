/**
 * Datasets for training: read IDX, CSV or image folders (local or over http(s)), scale the inputs,
 * split off a stratified validation set, and identify the exact data by a content hash.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { inputScale, type DataSection } from '../config/schema/data.js';
import { DataError } from '../util/errors.js';
import { readCsv } from './csv.js';
import { cacheDirFor, defaultCacheDir, ensureDownloaded, isUrl } from './download.js';
import { datasetVersion, hashFiles, type DataFile } from './hash.js';
import { readIdx, type IdxData } from './idx.js';
import { readImageFolder } from './images.js';
import { firstRows, stratifiedSplit, takeRows, type Split } from './split.js';
import { displayPath, formatShape, product } from './util.js';

export { parseCsvText, readCsv, type CsvData, type CsvRecord, type ReadCsvOptions } from './csv.js';
export { cacheDirFor, defaultCacheDir, ensureDownloaded, fileUrl, isUrl } from './download.js';
export { comparePaths, datasetVersion, hashFiles, type DataFile } from './hash.js';
export { encodeIdx, isGzip, parseIdx, readIdx, type IdxData, type IdxFile, type IdxType } from './idx.js';
export {
  decodeImage,
  readImageFolder,
  toChannels,
  type DecodedImage,
  type ImageFolderData,
  type ImageFolderOptions,
} from './images.js';
export { mulberry32, randomInt, shuffleInPlace } from './prng.js';
export { firstRows, stratifiedSplit, takeRows, type Split } from './split.js';
export {
  buildManifest,
  cacheKey,
  dataStatus,
  MANIFEST_FILE,
  manifestText,
  pullData,
  pushData,
  readManifest,
  splitRecord,
  writeManifest,
  type DataManifest,
  type DataStatus,
  type SplitRecord,
} from './manifest.js';
export {
  binIndex,
  binnedSummary,
  exampleFeatures,
  featureNames,
  inputLayout,
  predictedClasses,
  REFERENCE_FILE,
  referenceStats,
  type BinnedSummary,
  type InputLayout,
  type ReferenceStats,
} from './stats.js';
export { dataRoot, listDataFiles, readRawData, readTrainLabels, type RawData, type RawProblem, type RawSplit } from './raw.js';
export {
  checkRawData,
  exampleHashes,
  validateData,
  validationMarkdown,
  validationText,
  type CheckName,
  type DataValidation,
  type Finding,
  type SplitSummary,
} from './validate.js';

export interface Dataset {
  /** One example without the batch axis; images are [H, W, C] (channels last). */
  shape: number[];
  /** Class names in label order ([] for regression). */
  classes: string[];
  train: Split;
  validation: Split;
  test: Split;
  /** 'sha256:<hex>' over `files` (see datasetVersion). */
  version: string;
  files: DataFile[];
  /** The resolved local folder or the URL. */
  source: string;
}

export interface LoadOptions {
  /** Folder that a relative data.path is resolved against (that of cdl.yaml). */
  baseDir: string;
  task: 'classification' | 'regression';
  /** Where downloaded datasets are kept; default $XDG_CACHE_HOME/cdl/data or ~/.cache/cdl/data. */
  cacheDir?: string;
}

export const FASHION_MNIST_HINT =
  "Fashion-MNIST: Debian's dataset-fashion-mnist package installs the full set under /usr/share/datasets/fashion-mnist";

const IDX_DEFAULTS = {
  train: { images: 'train-images-idx3-ubyte.gz', labels: 'train-labels-idx1-ubyte.gz' },
  test: { images: 't10k-images-idx3-ubyte.gz', labels: 't10k-labels-idx1-ubyte.gz' },
};

type SplitName = 'train' | 'test';

/** Raw examples of one split before scaling. */
interface RawSplit {
  x: ArrayLike<number>;
  y: Int32Array | Float32Array;
  n: number;
  shape: number[];
  /** What to name in messages about this split. */
  name: string;
}

interface Raw {
  train: RawSplit;
  test: RawSplit;
  classes: string[];
  files: string[];
}

export async function loadDataset(data: DataSection, opts: LoadOptions): Promise<Dataset> {
  const remote = isUrl(data.path);
  const root = remote ? cacheDirFor(data.path, opts.cacheDir ?? defaultCacheDir()) : path.resolve(opts.baseDir, data.path);
  const source = remote ? data.path : root;
  const fashion = /fashion[-_]?mnist/i.test(source);
  const hint = (rel: string) =>
    fashion || /(train|t10k)-(images|labels)-idx\d-ubyte/.test(rel) ? `. ${FASHION_MNIST_HINT}` : '';

  if (!remote) {
    let isDir = false;
    try {
      isDir = (await stat(root)).isDirectory();
    } catch {
      throw new DataError(`${displayPath(root)}: no such directory (data.path); expected the folder holding the data${hint('')}`);
    }
    if (!isDir) throw new DataError(`${displayPath(root)}: not a directory (data.path); expected the folder holding the data`);
  } else if (data.format === 'image-folder') {
    throw new DataError(`data.path: format image-folder needs a local folder, got the URL ${data.path}`);
  }

  /** A local file for `rel` (downloaded when remote); `field` is the cdl.yaml field that named it. */
  const localFile = async (rel: string, field: string): Promise<string> => {
    if (remote) return ensureDownloaded(data.path, rel, root, field);
    const file = path.join(root, ...rel.split('/'));
    let ok = false;
    try {
      ok = (await stat(file)).isFile();
    } catch {
      throw new DataError(`${displayPath(file)}: no such file (${field})${hint(rel)}`);
    }
    if (!ok) throw new DataError(`${displayPath(file)}: not a file (${field})`);
    return file;
  };

  // One parse per process: a train and a gate, or a gate and a compress, in one process share it,
  // as long as the files still hash to the version that was parsed (hashing is far cheaper than parsing).
  const key = JSON.stringify([root, opts.task, { ...data, validation: null, checks: null }]);
  let parsed =
    lastParsed?.key === key && (await currentVersion(root, lastParsed.files)) === lastParsed.version ? lastParsed : undefined;
  if (!parsed) {
    parsed = await parse(data, opts.task, root, localFile, key);
    lastParsed = parsed;
  }
  const { shape, classes, all, test, files, version } = parsed;
  const rowSize = product(shape);
  const strata = all.y instanceof Int32Array ? all.y : new Int32Array(all.n);
  const { fraction, seed } = data.validation;
  let train: Split;
  let validation: Split;
  if (fraction > 0) {
    const idx = stratifiedSplit(strata, fraction, seed);
    train = takeRows(all, idx.train, rowSize);
    validation = takeRows(all, idx.validation, rowSize);
  } else {
    train = all;
    validation = firstRows(all, 0, rowSize);
  }
  return { shape, classes, train, validation, test, version, files, source };
}

/** A dataset as parsed and scaled, before its validation split; its splits are shared and read-only. */
interface Parsed {
  key: string;
  shape: number[];
  classes: string[];
  all: Split;
  test: Split;
  files: DataFile[];
  version: string;
}

/** The dataset this process parsed last (one, so a long process keeps at most one in memory). */
let lastParsed: Parsed | undefined;

/** How many datasets this process has parsed (not served from the last parse): for tests. */
export function datasetParses(): number {
  return parses;
}
let parses = 0;

/** The version the files of a parsed dataset have now; undefined when one is gone. */
async function currentVersion(root: string, files: readonly DataFile[]): Promise<string | undefined> {
  try {
    return datasetVersion(
      await hashFiles(
        root,
        files.map((f) => f.path),
      ),
    );
  } catch {
    return undefined;
  }
}

async function parse(
  data: DataSection,
  task: LoadOptions['task'],
  root: string,
  localFile: LocalFile,
  key: string,
): Promise<Parsed> {
  parses++;
  let raw: Raw;
  switch (data.format) {
    case 'idx':
      raw = await loadIdx(data, task, localFile);
      break;
    case 'csv':
      raw = await loadCsv(data, task, localFile);
      break;
    case 'image-folder':
      raw = await loadImages(data, task, root);
      break;
  }

  const shape = raw.train.shape;
  if (formatShape(raw.test.shape) !== formatShape(shape)) {
    throw new DataError(
      `${raw.test.name}: test examples have shape ${formatShape(raw.test.shape)}; expected the shape of the training examples in ${raw.train.name}, ${formatShape(shape)}`,
    );
  }
  const rowSize = product(shape);
  const scale = inputScale(data);
  const toSplit = (r: RawSplit, limit: number | undefined): Split => {
    const n = limit !== undefined ? Math.min(limit, r.n) : r.n;
    const x = new Float32Array(n * rowSize);
    const where = (i: number) => (data.format === 'csv' ? `data row ${i + 1}` : `example ${i} (counting from 0)`);
    for (let i = 0; i < x.length; i++) {
      x[i] = r.x[i] / scale;
      if (!Number.isFinite(x[i])) {
        throw new DataError(
          `${r.name}: ${where(Math.floor(i / rowSize))}, value ${i % rowSize} is ${x[i]} (as a 32-bit float, after data.scale ${scale}); expected finite numbers (cdl data validate lists every such example)`,
        );
      }
    }
    const y = r.y.subarray(0, n);
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(y[i])) throw new DataError(`${r.name}: ${where(i)}: label ${y[i]}; expected a finite number`);
    }
    return { x, y, n };
  };
  const all = toSplit(raw.train, data.limit?.train);
  const test = toSplit(raw.test, data.limit?.test);
  const files = await hashFiles(root, raw.files);
  return { key, shape, classes: raw.classes, all, test, files, version: datasetVersion(files) };
}

/** A '/'-separated path inside the dataset root, or an error naming the field. */
function relPath(value: string, field: string): string {
  const p = path.posix.normalize(value.replace(/\\/g, '/'));
  if (value.trim() === '' || path.posix.isAbsolute(p) || /^[A-Za-z]:/.test(p) || p === '..' || p.startsWith('../')) {
    throw new DataError(`${field}: expected a path inside data.path, got ${JSON.stringify(value)}`);
  }
  return p.replace(/\/+$/, '');
}

type LocalFile = (rel: string, field: string) => Promise<string>;

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

async function loadIdx(data: DataSection, task: LoadOptions['task'], localFile: LocalFile): Promise<Raw> {
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

async function loadCsv(data: DataSection, task: LoadOptions['task'], localFile: LocalFile): Promise<Raw> {
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

async function loadImages(data: DataSection, task: LoadOptions['task'], root: string): Promise<Raw> {
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
