/**
 * Tolerant reading for data validation and versioning: every file the dataset names is tried,
 * and what cannot be found or read is collected by name instead of stopping at the first one
 * (loadDataset stops, because training cannot go on without it).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DataSection } from '../config/schema/data.js';
import { messageOf } from '../util/errors.js';
import { readCsv } from './csv.js';
import { cacheDirFor, defaultCacheDir, ensureDownloaded, isUrl } from './download.js';
import { comparePaths } from './hash.js';
import { readIdx, type IdxData } from './idx.js';
import { decodeImage, imageSize, listImageEntries, toChannels } from './images.js';
import { displayPath } from './util.js';

export type RawSplitName = 'train' | 'test';

/** Examples of one split as stored (before data.scale). */
export interface RawSplit {
  /** What to name in messages: the images file, the CSV file or the folder, relative to the data root. */
  name: string;
  /** n × prod(shape) values, row-major. */
  x: IdxData | Uint8Array | Float32Array;
  y: Int32Array | Float32Array;
  n: number;
  shape: number[];
  /** Image folders: each example's file, relative to the data root. */
  files?: string[];
}

export interface RawProblem {
  /** The file (or folder), relative to the data root. */
  file: string;
  message: string;
}

export interface RawData {
  /** The local data root (the download cache for a URL). */
  root: string;
  /** data.path as written, or the URL. */
  source: string;
  train?: RawSplit;
  test?: RawSplit;
  classes: string[];
  /** Missing or unreadable files, each named. */
  problems: RawProblem[];
}

export interface RawOptions {
  baseDir: string;
  task: 'classification' | 'regression';
  cacheDir?: string;
}

const IDX_DEFAULTS = {
  train: { images: 'train-images-idx3-ubyte.gz', labels: 'train-labels-idx1-ubyte.gz' },
  test: { images: 't10k-images-idx3-ubyte.gz', labels: 't10k-labels-idx1-ubyte.gz' },
};

export function dataRoot(data: DataSection, opts: Pick<RawOptions, 'baseDir' | 'cacheDir'>): string {
  return isUrl(data.path) ? cacheDirFor(data.path, opts.cacheDir ?? defaultCacheDir()) : path.resolve(opts.baseDir, data.path);
}

function posix(rel: string): string {
  return path.posix.normalize(rel.replace(/\\/g, '/')).replace(/\/+$/, '');
}

/** The files of a split as cdl.yaml names them: {images, labels} for idx, a file or a folder otherwise. */
export function splitSpec(data: DataSection, split: RawSplitName): { images: string; labels: string } | string {
  const v = data[split];
  if (data.format === 'idx') {
    if (v === undefined || typeof v === 'string') return IDX_DEFAULTS[split];
    return { images: posix(v.images), labels: posix(v.labels) };
  }
  if (v !== undefined && typeof v !== 'string') return posix(v.images);
  return posix(v ?? (data.format === 'csv' ? `${split}.csv` : split));
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/** A local path for `rel` (downloaded first when the data lives at a URL), or a problem. */
async function locate(
  data: DataSection,
  root: string,
  rel: string,
  problems: RawProblem[],
  field?: string,
): Promise<string | undefined> {
  try {
    if (isUrl(data.path)) return await ensureDownloaded(data.path, rel, root, field);
    const file = path.join(root, ...rel.split('/'));
    if (await isFile(file)) return file;
    problems.push({
      file: rel,
      message: `no such file ${displayPath(file)}${field ? ` (${field})` : ''}; expected the file there, or data.path and ${field ?? 'the file names'} changed to where it is`,
    });
  } catch (e) {
    problems.push({ file: rel, message: messageOf(e) });
  }
  return undefined;
}

function outsideProblem(target: string, root: string): string {
  return `a symlink to ${target}, outside the data folder ${displayPath(root)}; expected the image inside it`;
}

/** Class folders and their images (relative to the data root), without decoding them. */
async function listImageSplit(
  root: string,
  rel: string,
  problems: RawProblem[],
): Promise<Array<{ folder: string; files: string[] }>> {
  const dir = path.join(root, ...rel.split('/'));
  try {
    await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    problems.push({ file: rel, message: code === 'ENOENT' ? 'no such folder' : messageOf(e) });
    return [];
  }
  const out: Array<{ folder: string; files: string[] }> = [];
  const top = await listImageEntries(dir, root);
  for (const o of top.outside) problems.push({ file: `${rel}/${o.name}`, message: outsideProblem(o.target, root) });
  for (const folder of top.folders) {
    const listed = await listImageEntries(path.join(dir, folder), root);
    for (const o of listed.outside)
      problems.push({ file: `${rel}/${folder}/${o.name}`, message: outsideProblem(o.target, root) });
    out.push({ folder, files: listed.images.map((name) => `${rel}/${folder}/${name}`) });
  }
  if (out.length === 0) problems.push({ file: rel, message: 'no class subfolders' });
  return out;
}

/**
 * The files that make up the dataset, relative to its root, without reading them: the four IDX
 * files, the two CSV files, or every image of the two image folders. Missing ones are listed too.
 */
export async function listDataFiles(
  data: DataSection,
  opts: Pick<RawOptions, 'baseDir' | 'cacheDir'>,
): Promise<{ root: string; files: string[] }> {
  const root = dataRoot(data, opts);
  const files: string[] = [];
  for (const split of ['train', 'test'] as const) {
    const spec = splitSpec(data, split);
    if (typeof spec !== 'string') files.push(spec.images, spec.labels);
    else if (data.format === 'csv') files.push(spec);
    else for (const c of await listImageSplit(root, spec, [])) files.push(...c.files);
  }
  return { root, files: [...new Set(files)].sort(comparePaths) };
}

/** Class indices of the training split (for the split record of the manifest), read without decoding images. */
export async function readTrainLabels(data: DataSection, opts: RawOptions): Promise<Int32Array | undefined> {
  if (opts.task !== 'classification') return undefined;
  const root = dataRoot(data, opts);
  const problems: RawProblem[] = [];
  const spec = splitSpec(data, 'train');
  if (typeof spec !== 'string') {
    const file = await locate(data, root, spec.labels, problems, 'data.train.labels');
    return file ? Int32Array.from((await readIdx(file)).data) : undefined;
  }
  if (data.format === 'csv') {
    const file = await locate(data, root, spec, problems, 'data.train');
    return file
      ? ((await readCsv(file, data.label_column, 'classification', { classes: data.classes })).y as Int32Array)
      : undefined;
  }
  const listed = await listImageSplit(root, spec, problems);
  const classes = data.classes ?? listed.map((c) => c.folder);
  return Int32Array.from(listed.flatMap((c) => c.files.map(() => classes.indexOf(c.folder))));
}

async function readIdxSplit(
  data: DataSection,
  root: string,
  split: RawSplitName,
  task: RawOptions['task'],
  problems: RawProblem[],
) {
  const spec = splitSpec(data, split) as { images: string; labels: string };
  const imagesFile = await locate(data, root, spec.images, problems, `data.${split}.images`);
  const labelsFile = await locate(data, root, spec.labels, problems, `data.${split}.labels`);
  const read = async (file: string | undefined, rel: string) => {
    if (!file) return undefined;
    try {
      return await readIdx(file);
    } catch (e) {
      problems.push({ file: rel, message: messageOf(e).replace(/^[^:]*: /, '') });
      return undefined;
    }
  };
  const images = await read(imagesFile, spec.images);
  const labels = await read(labelsFile, spec.labels);
  if (!images || !labels) return undefined;
  const n = images.dims[0] ?? 0;
  if (images.dims.length < 2) {
    problems.push({ file: spec.images, message: `expected examples with dimensions [n, ...], got [${images.dims.join(', ')}]` });
    return undefined;
  }
  if (labels.dims.length !== 1 || labels.dims[0] !== n) {
    problems.push({
      file: spec.labels,
      message: `expected ${n} labels (one per example of ${spec.images}), got dimensions [${labels.dims.join(', ')}]`,
    });
    return undefined;
  }
  const rest = images.dims.slice(1);
  const y = task === 'regression' ? Float32Array.from(labels.data) : Int32Array.from(labels.data);
  const out: RawSplit = { name: spec.images, x: images.data, y, n, shape: rest.length === 2 ? [...rest, 1] : rest };
  return out;
}

async function readImageSplit(
  data: DataSection,
  root: string,
  split: RawSplitName,
  classes: string[] | undefined,
  problems: RawProblem[],
  size: { hw?: [number, number]; from?: string },
): Promise<{ split: RawSplit; folders: string[] } | undefined> {
  const rel = splitSpec(data, split) as string;
  const listed = await listImageSplit(root, rel, problems);
  if (listed.length === 0) return undefined;
  const channels = data.channels;
  const names = classes ?? listed.map((c) => c.folder);
  const rows: Uint8Array[] = [];
  const labels: number[] = [];
  const files: string[] = [];
  for (const { folder, files: list } of listed) {
    const label = names.indexOf(folder);
    if (label < 0) {
      problems.push({
        file: `${rel}/${folder}`,
        message: `class folder not among the classes (${names.join(', ')}); its ${list.length} images are left out`,
      });
      continue;
    }
    for (const f of list) {
      let buf: Buffer;
      try {
        buf = await readFile(path.join(root, ...f.split('/')));
      } catch (e) {
        problems.push({ file: f, message: messageOf(e) });
        continue;
      }
      let img;
      try {
        const dims = imageSize(buf, f);
        if (!size.hw && data.image_size) {
          size.hw = [data.image_size[0], data.image_size[1]];
          size.from = 'data.image_size';
        }
        if (size.hw && (dims.height !== size.hw[0] || dims.width !== size.hw[1])) {
          problems.push({
            file: f,
            message: `${dims.height}×${dims.width} pixels; expected ${size.hw[0]}×${size.hw[1]} (as ${size.from})`,
          });
          continue;
        }
        img = decodeImage(buf, f);
      } catch (e) {
        problems.push({ file: f, message: messageOf(e).replace(`${f}: `, '') });
        continue;
      }
      if (!size.hw) {
        size.hw = [img.height, img.width];
        size.from = `the first image, ${f}`;
      }
      rows.push(toChannels(img.rgba, img.width * img.height, channels));
      labels.push(label);
      files.push(f);
    }
  }
  const [h, w] = size.hw ?? [0, 0];
  const row = h * w * channels;
  const x = new Uint8Array(rows.length * row);
  rows.forEach((r, i) => x.set(r, i * row));
  return {
    split: { name: rel, x, y: Int32Array.from(labels), n: rows.length, shape: [h, w, channels], files },
    folders: listed.map((c) => c.folder),
  };
}

/** Read both splits as stored, collecting every missing or unreadable file instead of stopping. */
export async function readRawData(data: DataSection, opts: RawOptions): Promise<RawData> {
  const root = dataRoot(data, opts);
  const problems: RawProblem[] = [];
  const out: RawData = { root, source: data.path, classes: [], problems };
  if (data.format === 'idx') {
    out.train = await readIdxSplit(data, root, 'train', opts.task, problems);
    out.test = await readIdxSplit(data, root, 'test', opts.task, problems);
    if (opts.task === 'classification') {
      let max = -1;
      for (const s of [out.train, out.test]) if (s) for (const v of s.y) max = Math.max(max, v);
      out.classes = data.classes ? [...data.classes] : Array.from({ length: max + 1 }, (_, i) => String(i));
    }
  } else if (data.format === 'csv') {
    let classes = data.classes ? [...data.classes] : undefined;
    for (const split of ['train', 'test'] as const) {
      const rel = splitSpec(data, split) as string;
      const file = await locate(data, root, rel, problems, `data.${split}`);
      if (!file) continue;
      try {
        const d = await readCsv(file, data.label_column, opts.task, {
          classes: opts.task === 'classification' ? classes : undefined,
        });
        if (opts.task === 'classification' && !classes) classes = d.classes;
        out[split] = { name: rel, x: d.x, y: d.y, n: d.n, shape: [d.features.length] };
      } catch (e) {
        problems.push({ file: rel, message: messageOf(e).replace(/^[^:]*: /, '') });
      }
    }
    out.classes = classes ?? [];
  } else {
    if (isUrl(data.path)) {
      problems.push({ file: data.path, message: 'format image-folder needs a local folder, not a URL' });
      return out;
    }
    const size: { hw?: [number, number]; from?: string } = {};
    const train = await readImageSplit(data, root, 'train', data.classes ? [...data.classes] : undefined, problems, size);
    const classes = data.classes ? [...data.classes] : (train?.folders ?? []);
    const test = await readImageSplit(data, root, 'test', classes, problems, size);
    out.train = train?.split;
    out.test = test?.split;
    out.classes = classes;
  }
  return out;
}
