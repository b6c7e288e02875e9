/**
 * A folder of images, one subfolder per class (sorted names, or the order of `classes`), PNG and JPEG.
 * Images are not resized: every one must have the same height and width.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DataError } from '../util/errors.js';
import { realPathOf, staysInside } from '../util/paths.js';
import { comparePaths } from './hash.js';
import { displayPath, listSome } from './util.js';

export interface ImageFolderOptions {
  /** [height, width] every image must have; without it, that of the first image. */
  imageSize?: readonly [number, number];
  /** 1: grey (luminance of colour images), 3: RGB (grey images repeated). Alpha is dropped. */
  channels: 1 | 3;
  /** Class names in label order; each subfolder must be one of them. Default: the sorted subfolder names. */
  classes?: readonly string[];
  /** The data folder no symlink may lead out of (default: the folder read). */
  root?: string;
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

/** The most pixels cdl decodes from one image (a 5000×5000 photo); larger ones are refused unread. */
export const MAX_IMAGE_PIXELS = 25_000_000;

function isPngBytes(buf: Buffer): boolean {
  return buf.length >= 8 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47;
}

function isJpegBytes(buf: Buffer): boolean {
  return buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff;
}

/** Width and height from the JPEG's frame header (SOFn), without decoding. */
function jpegSize(buf: Buffer): { width: number; height: number } | undefined {
  let i = 2;
  while (i + 3 < buf.length) {
    if (buf[i] !== 0xff) return undefined;
    const m = buf[i + 1]!;
    if (m === 0xff) {
      i++;
      continue;
    }
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      i += 2;
      continue;
    }
    const len = buf.readUInt16BE(i + 2);
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (i + 9 > buf.length) return undefined;
      return { height: buf.readUInt16BE(i + 5), width: buf.readUInt16BE(i + 7) };
    }
    if (m === 0xd9 || m === 0xda || len < 2) return undefined;
    i += 2 + len;
  }
  return undefined;
}

/**
 * Height and width from a PNG's or JPEG's header, read before anything is decoded (so a huge
 * image is refused without spending its memory). `name` is used in errors.
 */
export function imageSize(buf: Buffer, name: string): { width: number; height: number } {
  let dims: { width: number; height: number } | undefined;
  if (isPngBytes(buf)) {
    if (buf.length >= 24 && buf.toString('latin1', 12, 16) === 'IHDR')
      dims = { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
  } else if (isJpegBytes(buf)) {
    dims = jpegSize(buf);
  } else {
    throw new DataError(`${name}: expected a PNG or JPEG image, the content is neither`);
  }
  if (!dims || dims.width === 0 || dims.height === 0) {
    throw new DataError(`${name}: cannot decode the image: no valid size in its header; expected a complete PNG or JPEG file`);
  }
  return dims;
}

/**
 * Decode PNG or JPEG bytes (told apart by their magic bytes); `name` is used in errors. The size
 * in the header is checked against MAX_IMAGE_PIXELS first.
 */
export function decodeImage(buf: Buffer, name: string): DecodedImage {
  const { width, height } = imageSize(buf, name);
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new DataError(
      `${name}: ${height}×${width} pixels (height×width) is more than cdl decodes (${MAX_IMAGE_PIXELS} pixels); expected images of the model's input size`,
    );
  }
  try {
    if (isPngBytes(buf)) {
      const png = PNG.sync.read(buf);
      return { width: png.width, height: png.height, rgba: png.data };
    }
    const img = jpeg.decode(buf, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6,
      maxMemoryUsageInMB: Math.ceil((MAX_IMAGE_PIXELS * 8) / 2 ** 20),
    });
    return { width: img.width, height: img.height, rgba: img.data };
  } catch (err) {
    throw new DataError(`${name}: cannot decode the image: ${(err as Error).message}`, { cause: err });
  }
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

/** The subfolders and image files of `dir` (hidden ones skipped), following symlinks that stay inside `root`. */
export async function listImageEntries(
  dir: string,
  root: string,
): Promise<{ folders: string[]; images: string[]; outside: Array<{ name: string; target: string }> }> {
  const folders: string[] = [];
  const images: string[] = [];
  const outside: Array<{ name: string; target: string }> = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      const p = path.join(dir, e.name);
      if (!staysInside(root, p)) {
        outside.push({ name: e.name, target: realPathOf(p) });
        continue;
      }
      const st = await stat(p).catch(() => undefined);
      isDir = st?.isDirectory() ?? false;
      isFile = st?.isFile() ?? false;
    }
    if (isDir) folders.push(e.name);
    else if (isFile && IMAGE_EXT.test(e.name)) images.push(e.name);
  }
  return { folders: folders.sort(comparePaths), images: images.sort(comparePaths), outside };
}

/** The error for symlinks that lead out of the data folder: named, never skipped silently. */
export function outsideMessage(dir: string, outside: Array<{ name: string; target: string }>, root: string): string {
  return `${displayPath(dir)}: ${listSome(outside.map((o) => `${o.name} -> ${o.target}`))}: symlink(s) leading outside the data folder ${displayPath(root)}; expected the images inside it`;
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
  const root = opts.root ?? dir;
  await listDir(dir, 'a folder with one subfolder of images per class');
  const top = await listImageEntries(dir, root);
  if (top.outside.length) throw new DataError(outsideMessage(dir, top.outside, root));
  const folders = top.folders;
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
    await listDir(sub, 'a folder of images');
    const listed = await listImageEntries(sub, root);
    if (listed.outside.length) throw new DataError(outsideMessage(sub, listed.outside, root));
    const files = listed.images;
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
    const dims = imageSize(buf, displayPath(file));
    if (size && (dims.height !== size[0] || dims.width !== size[1])) {
      wrong.push(`${item.rel} (${dims.height}×${dims.width})`);
      continue;
    }
    const img = decodeImage(buf, displayPath(file));
    if (!size) {
      size = [img.height, img.width];
      sizeFrom = `the first image, ${item.rel}`;
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
