/**
 * A folder of images, one subfolder per class (sorted names, or the order of `classes`), PNG and JPEG.
 * Images are not resized: every one must have the same height and width.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DataError } from '../util/errors.js';
import { comparePaths } from './hash.js';
import { displayPath, listSome } from './util.js';

export interface ImageFolderOptions {
  /** [height, width] every image must have; without it, that of the first image. */
  imageSize?: readonly [number, number];
  /** 1: grey (luminance of colour images), 3: RGB (grey images repeated). Alpha is dropped. */
  channels: 1 | 3;
  /** Class names in label order; each subfolder must be one of them. Default: the sorted subfolder names. */
  classes?: readonly string[];
}

export interface ImageFolderData {
  /** n × H × W × C bytes, row-major, channels last. */
  x: Uint8Array;
  y: Int32Array;
  n: number;
  shape: [number, number, number];
  classes: string[];
  /** The images read, relative to the folder, '/'-separated, in example order. */
  files: string[];
}

const IMAGE_EXT = /\.(png|jpe?g)$/i;

export interface DecodedImage {
  width: number;
  height: number;
  /** RGBA, 4 bytes a pixel. */
  rgba: Uint8Array;
}

/** Decode PNG or JPEG bytes (told apart by their magic bytes); `name` is used in errors. */
export function decodeImage(buf: Buffer, name: string): DecodedImage {
  const isPng = buf.length >= 8 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47;
  const isJpeg = buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff;
  try {
    if (isPng) {
      const png = PNG.sync.read(buf);
      return { width: png.width, height: png.height, rgba: png.data };
    }
    if (isJpeg) {
      const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true });
      return { width: img.width, height: img.height, rgba: img.data };
    }
  } catch (err) {
    throw new DataError(`${name}: cannot decode the image: ${(err as Error).message}`, { cause: err });
  }
  throw new DataError(`${name}: expected a PNG or JPEG image, the content is neither`);
}

/** RGBA → `channels` bytes a pixel. */
export function toChannels(rgba: Uint8Array, pixels: number, channels: 1 | 3): Uint8Array {
  const out = new Uint8Array(pixels * channels);
  if (channels === 3) {
    for (let p = 0; p < pixels; p++) {
      out[3 * p] = rgba[4 * p];
      out[3 * p + 1] = rgba[4 * p + 1];
      out[3 * p + 2] = rgba[4 * p + 2];
    }
  } else {
    for (let p = 0; p < pixels; p++) {
      out[p] = Math.round(0.299 * rgba[4 * p] + 0.587 * rgba[4 * p + 1] + 0.114 * rgba[4 * p + 2]);
    }
  }
  return out;
}

async function listDir(dir: string, what: string) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such directory' : e.code === 'ENOTDIR' ? 'not a directory' : e.message;
    throw new DataError(`${displayPath(dir)}: ${why}; expected ${what}`, { cause: err });
  }
}

export async function readImageFolder(dir: string, opts: ImageFolderOptions): Promise<ImageFolderData> {
  const channels = opts.channels;
  const entries = await listDir(dir, 'a folder with one subfolder of images per class');
  const folders = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort(comparePaths);
  if (folders.length === 0) {
    throw new DataError(`${displayPath(dir)}: expected one subfolder of images per class, found no subfolders`);
  }
  let classes: string[];
  if (opts.classes) {
    classes = [...opts.classes];
    const unknown = folders.filter((f) => !classes.includes(f));
    if (unknown.length > 0) {
      throw new DataError(
        `${displayPath(dir)}: subfolder(s) ${listSome(unknown.map((u) => JSON.stringify(u)))} are not among data.classes (${listSome(classes.map((c) => JSON.stringify(c)))})`,
      );
    }
  } else {
    classes = folders;
  }
  const items: { rel: string; label: number }[] = [];
  for (const folder of folders) {
    const sub = path.join(dir, folder);
    const files = (await listDir(sub, 'a folder of images'))
      .filter((e) => e.isFile() && IMAGE_EXT.test(e.name) && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort(comparePaths);
    if (files.length === 0) {
      throw new DataError(
        `${displayPath(sub)}: expected PNG or JPEG images (.png, .jpg, .jpeg) of class ${JSON.stringify(folder)}, found none`,
      );
    }
    const label = classes.indexOf(folder);
    for (const f of files) items.push({ rel: `${folder}/${f}`, label });
  }
  let size: [number, number] | undefined = opts.imageSize ? [opts.imageSize[0], opts.imageSize[1]] : undefined;
  let sizeFrom = opts.imageSize ? 'data.image_size' : '';
  const pixels: Uint8Array[] = [];
  const wrong: string[] = [];
  for (const item of items) {
    const file = path.join(dir, ...item.rel.split('/'));
    let buf: Buffer;
    try {
      buf = await readFile(file);
    } catch (err) {
      throw new DataError(`${displayPath(file)}: cannot read the image: ${(err as Error).message}`, { cause: err });
    }
    const img = decodeImage(buf, displayPath(file));
    if (!size) {
      size = [img.height, img.width];
      sizeFrom = `the first image, ${item.rel}`;
    }
    if (img.height !== size[0] || img.width !== size[1]) {
      wrong.push(`${item.rel} (${img.height}×${img.width})`);
      continue;
    }
    pixels.push(toChannels(img.rgba, img.width * img.height, channels));
  }
  if (wrong.length > 0) {
    throw new DataError(
      `${displayPath(dir)}: expected every image to be ${size![0]}×${size![1]} (height×width, as ${sizeFrom}); ${wrong.length} differ: ${listSome(wrong, 20)}`,
    );
  }
  const [h, w] = size!;
  const row = h * w * channels;
  const x = new Uint8Array(items.length * row);
  pixels.forEach((p, i) => x.set(p, i * row));
  return {
    x,
    y: Int32Array.from(items, (it) => it.label),
    n: items.length,
    shape: [h, w, channels],
    classes,
    files: items.map((it) => it.rel),
  };
}
