import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataError } from '../src/util/errors.js';
import { encodeIdx, readIdx } from '../src/data/index.js';
import { tempDir, writeIdx } from './fixtures/data/helpers.js';

const dir = tempDir();

describe('readIdx', () => {
  it('reads uint8 images, plain and gzipped (detected by magic bytes, not name)', async () => {
    const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 7);
    writeIdx(path.join(dir, 'plain'), [2, 3, 4], data);
    writeIdx(path.join(dir, 'zipped-without-gz-suffix'), [2, 3, 4], data, true);
    for (const name of ['plain', 'zipped-without-gz-suffix']) {
      const r = await readIdx(path.join(dir, name));
      expect(r.dims).toEqual([2, 3, 4]);
      expect(r.data).toBeInstanceOf(Uint8Array);
      expect([...r.data]).toEqual([...data]);
    }
  });

  it('returns the array type of the type byte, values decoded big-endian', async () => {
    const cases = [
      new Int8Array([-128, -1, 0, 127]),
      new Int16Array([-32768, -2, 300, 32767]),
      new Int32Array([-2147483648, -3, 70000, 2147483647]),
      new Float32Array([-1.5, 0, 3.25, 1e-3]),
      new Float64Array([-1e300, 0, Math.PI, 1e-300]),
    ];
    for (const data of cases) {
      const file = path.join(dir, `t-${data.constructor.name}`);
      writeIdx(file, [2, 2], data);
      const r = await readIdx(file);
      expect(r.dims).toEqual([2, 2]);
      expect(r.data.constructor).toBe(data.constructor);
      expect([...r.data]).toEqual([...data]);
    }
    // The bytes on disk are big-endian: 300 as int16 is 0x01 0x2c.
    const raw = encodeIdx([1], new Int16Array([300]));
    expect([...raw]).toEqual([0, 0, 0x0b, 1, 0, 0, 0, 1, 0x01, 0x2c]);
  });

  it('rejects a bad magic number, naming the file and the expected form', async () => {
    const file = path.join(dir, 'bad-magic.idx');
    writeFileSync(file, Buffer.from([1, 2, 8, 1, 0, 0, 0, 0]));
    const err = await readIdx(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(
      /bad-magic\.idx: expected an IDX file \(magic 0x00 0x00 <type> <ndims>\), got 0x01 0x02 0x08 0x01/,
    );
  });

  it('rejects an unknown type byte', async () => {
    const file = path.join(dir, 'bad-type.idx');
    writeFileSync(file, Buffer.from([0, 0, 0x07, 1, 0, 0, 0, 0]));
    await expect(readIdx(file)).rejects.toThrow(/bad-type\.idx: unknown IDX type byte 0x07; expected 0x08 \(uint8\)/);
  });

  it('rejects dimensions that do not match the file length (truncated or extra bytes)', async () => {
    const good = encodeIdx([3, 2, 2], new Uint8Array(12));
    const short = path.join(dir, 'short.idx');
    writeFileSync(short, good.subarray(0, good.length - 1));
    await expect(readIdx(short)).rejects.toThrow(
      /short\.idx: IDX dimensions \[3, 2, 2\] of uint8 need 12 data bytes, the file has 11 \(truncated\?\)/,
    );
    const long = path.join(dir, 'long.idx.gz');
    writeFileSync(long, gzipSync(Buffer.concat([good, Buffer.from([9, 9])])));
    await expect(readIdx(long)).rejects.toThrow(/long\.idx\.gz: .* need 12 data bytes, the file has 14 \(extra bytes/);
    const header = path.join(dir, 'header.idx');
    writeFileSync(header, good.subarray(0, 9));
    await expect(readIdx(header)).rejects.toThrow(/header\.idx: truncated IDX header: 3 dimension\(s\) need 16 bytes/);
  });

  it('rejects a corrupt gzip stream and a missing file', async () => {
    const gz = gzipSync(encodeIdx([4], new Uint8Array(4)));
    const file = path.join(dir, 'corrupt.gz');
    writeFileSync(file, gz.subarray(0, gz.length - 6));
    await expect(readIdx(file)).rejects.toThrow(/corrupt\.gz: starts like a gzip file but does not decompress/);
    await expect(readIdx(path.join(dir, 'nope.idx'))).rejects.toThrow(/nope\.idx: cannot read the IDX file/);
  });

  it('round-trips a gzipped file byte for byte', async () => {
    const data = Uint8Array.from({ length: 50 }, (_, i) => 255 - i);
    const file = path.join(dir, 'rt.gz');
    writeIdx(file, [5, 10], data, true);
    const r = await readIdx(file);
    expect(encodeIdx(r.dims, r.data).equals(encodeIdx([5, 10], data))).toBe(true);
    expect(readFileSync(file)[0]).toBe(0x1f);
  });
});
