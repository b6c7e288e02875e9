/**
 * IDX files (the MNIST / Fashion-MNIST format), gzipped or not.
 * Layout: 0x00 0x00 <type> <ndims>, then ndims big-endian uint32 sizes, then the data, big-endian.
 */
import { readFile } from 'node:fs/promises';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { DataError } from '../util/errors.js';
import { displayPath, formatShape, product } from './util.js';

const gunzipAsync = promisify(gunzip);

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxFile {
  dims: number[];
  data: IdxData;
}

export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

const TYPES: Record<number, { name: IdxType; bytes: number }> = {
  0x08: { name: 'uint8', bytes: 1 },
  0x09: { name: 'int8', bytes: 1 },
  0x0b: { name: 'int16', bytes: 2 },
  0x0c: { name: 'int32', bytes: 4 },
  0x0d: { name: 'float32', bytes: 4 },
  0x0e: { name: 'float64', bytes: 8 },
};
const TYPE_CODES: Record<IdxType, number> = {
  uint8: 0x08,
  int8: 0x09,
  int16: 0x0b,
  int32: 0x0c,
  float32: 0x0d,
  float64: 0x0e,
};

export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** Read an IDX file; gzip is detected by its magic bytes, not by the name. */
export async function readIdx(file: string): Promise<IdxFile> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    throw new DataError(`${displayPath(file)}: cannot read the IDX file: ${(err as Error).message}`, { cause: err });
  }
  if (isGzip(buf)) {
    try {
      buf = await gunzipAsync(buf);
    } catch (err) {
      throw new DataError(`${displayPath(file)}: starts like a gzip file but does not decompress: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  return parseIdx(buf, displayPath(file));
}

/** Parse the bytes of an (uncompressed) IDX file; `name` is used in error messages. */
export function parseIdx(buf: Uint8Array, name: string): IdxFile {
  const expected = 'expected an IDX file (magic 0x00 0x00 <type> <ndims>)';
  if (buf.length < 4) throw new DataError(`${name}: ${expected}, got only ${buf.length} byte(s)`);
  const hex = (b: number) => `0x${b.toString(16).padStart(2, '0')}`;
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new DataError(`${name}: ${expected}, got ${[...buf.subarray(0, 4)].map(hex).join(' ')}`);
  }
  const type = TYPES[buf[2]];
  if (!type) {
    throw new DataError(
      `${name}: unknown IDX type byte ${hex(buf[2])}; expected 0x08 (uint8), 0x09 (int8), 0x0b (int16), 0x0c (int32), 0x0d (float32) or 0x0e (float64)`,
    );
  }
  const ndims = buf[3];
  if (ndims === 0) throw new DataError(`${name}: IDX header declares 0 dimensions; expected at least 1`);
  const headerBytes = 4 + 4 * ndims;
  if (buf.length < headerBytes) {
    throw new DataError(
      `${name}: truncated IDX header: ${ndims} dimension(s) need ${headerBytes} bytes, the file has ${buf.length}`,
    );
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = product(dims);
  const dataBytes = count * type.bytes;
  const actual = buf.length - headerBytes;
  if (actual !== dataBytes) {
    throw new DataError(
      `${name}: IDX dimensions ${formatShape(dims)} of ${type.name} need ${dataBytes} data bytes, the file has ${actual}` +
        (actual < dataBytes ? ' (truncated?)' : ' (extra bytes at the end)'),
    );
  }
  const off = headerBytes;
  let data: IdxData;
  switch (type.name) {
    case 'uint8':
      data = new Uint8Array(buf.buffer, buf.byteOffset + off, count);
      break;
    case 'int8':
      data = new Int8Array(buf.buffer, buf.byteOffset + off, count);
      break;
    case 'int16': {
      const a = new Int16Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getInt16(off + 2 * i, false);
      data = a;
      break;
    }
    case 'int32': {
      const a = new Int32Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getInt32(off + 4 * i, false);
      data = a;
      break;
    }
    case 'float32': {
      const a = new Float32Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getFloat32(off + 4 * i, false);
      data = a;
      break;
    }
    case 'float64': {
      const a = new Float64Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getFloat64(off + 8 * i, false);
      data = a;
      break;
    }
  }
  return { dims, data };
}

function idxTypeOf(data: IdxData): IdxType {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Float32Array) return 'float32';
  return 'float64';
}

/** The bytes of an uncompressed IDX file; the type follows the array's type. */
export function encodeIdx(dims: readonly number[], data: IdxData): Buffer {
  if (dims.length < 1 || dims.length > 255) throw new RangeError(`IDX: expected 1 to 255 dimensions, got ${dims.length}`);
  if (product(dims) !== data.length) {
    throw new RangeError(`IDX: dimensions ${formatShape(dims)} hold ${product(dims)} values, got ${data.length}`);
  }
  const type = idxTypeOf(data);
  const bytes = TYPES[TYPE_CODES[type]].bytes;
  const header = 4 + 4 * dims.length;
  const buf = Buffer.alloc(header + data.length * bytes);
  buf[2] = TYPE_CODES[type];
  buf[3] = dims.length;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  if (type === 'uint8') {
    buf.set(data, header);
    return buf;
  }
  for (let i = 0; i < data.length; i++) {
    const o = header + i * bytes;
    switch (type) {
      case 'int8':
        view.setInt8(o, data[i]);
        break;
      case 'int16':
        view.setInt16(o, data[i], false);
        break;
      case 'int32':
        view.setInt32(o, data[i], false);
        break;
      case 'float32':
        view.setFloat32(o, data[i], false);
        break;
      case 'float64':
        view.setFloat64(o, data[i], false);
        break;
    }
  }
  return buf;
}
