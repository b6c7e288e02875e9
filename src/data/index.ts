/**
 * Datasets for training: read IDX, CSV or image folders (local or over http(s)), scale the inputs,
 * split off a stratified validation set, and identify the exact data by a content hash.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { inputScale, type DataSection } from '../config/schema/data.js';
import { DataError } from '../util/errors.js';
import { loadCsv, loadIdx, loadImages, type LocalFile, type Raw, type RawSplit } from './formats.js';
import { cacheDirFor, defaultCacheDir, ensureDownloaded, isUrl } from './download.js';
import { datasetVersion, hashFiles, type DataFile } from './hash.js';
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
