import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { DataError } from '../src/util/errors.js';
import { readImageFolder } from '../src/data/index.js';
import { tempDir } from './fixtures/data/helpers.js';

const root = tempDir();

/** RGBA pixels: (r, g, b) the same everywhere. */
function solid(w: number, h: number, rgb: [number, number, number]): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let p = 0; p < w * h; p++) data.set([...rgb, 255], 4 * p);
  return data;
}
function png(file: string, w: number, h: number, rgb: [number, number, number]): void {
  const img = new PNG({ width: w, height: h });
  solid(w, h, rgb).copy(img.data);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, PNG.sync.write(img));
}
function jpg(file: string, w: number, h: number, rgb: [number, number, number]): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, jpeg.encode({ width: w, height: h, data: solid(w, h, rgb) }, 100).data);
}

describe('readImageFolder', () => {
  const dir = path.join(root, 'ok');
  png(path.join(dir, 'dog', 'b.png'), 3, 2, [200, 100, 50]);
  jpg(path.join(dir, 'dog', 'a.jpg'), 3, 2, [10, 20, 30]);
  png(path.join(dir, 'cat', '1.PNG'), 3, 2, [0, 255, 0]);
  writeFileSync(path.join(dir, 'cat', 'notes.txt'), 'ignored');
  mkdirSync(path.join(dir, '.hidden'), { recursive: true });

  it('reads PNG and JPEG, one sorted subfolder per class, grey by luminance', async () => {
    const d = await readImageFolder(dir, { channels: 1 });
    expect(d.classes).toEqual(['cat', 'dog']);
    expect(d.files).toEqual(['cat/1.PNG', 'dog/a.jpg', 'dog/b.png']);
    expect([...d.y]).toEqual([0, 1, 1]);
    expect(d.shape).toEqual([2, 3, 1]);
    expect(d.n).toBe(3);
    expect(d.x.length).toBe(3 * 6);
    expect(d.x[0]).toBe(Math.round(0.587 * 255)); // green
    expect(Math.abs(d.x[6] - Math.round(0.299 * 10 + 0.587 * 20 + 0.114 * 30))).toBeLessThanOrEqual(2); // JPEG is lossy
    expect(d.x[12]).toBe(Math.round(0.299 * 200 + 0.587 * 100 + 0.114 * 50));
  });

  it('keeps RGB with channels: 3 (channels last) and follows the order of given classes', async () => {
    const d = await readImageFolder(dir, { channels: 3, classes: ['dog', 'cat', 'bird'] });
    expect(d.shape).toEqual([2, 3, 3]);
    expect(d.classes).toEqual(['dog', 'cat', 'bird']);
    expect([...d.y]).toEqual([1, 0, 0]);
    expect([...d.x.subarray(0, 3)]).toEqual([0, 255, 0]);
    expect([...d.x.subarray(2 * 18, 2 * 18 + 3)]).toEqual([200, 100, 50]);
  });

  it('lists every image whose size differs, by name', async () => {
    const bad = path.join(root, 'sizes');
    png(path.join(bad, 'a', '1.png'), 4, 4, [1, 1, 1]);
    png(path.join(bad, 'a', '2.png'), 5, 4, [1, 1, 1]);
    jpg(path.join(bad, 'b', '3.jpeg'), 4, 3, [1, 1, 1]);
    png(path.join(bad, 'b', '4.png'), 4, 4, [1, 1, 1]);
    const err = await readImageFolder(bad, { channels: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(
      /sizes: expected every image to be 4×4 \(height×width, as the first image, a\/1\.png\); 2 differ: a\/2\.png \(4×5\), b\/3\.jpeg \(3×4\)$/,
    );
    await expect(readImageFolder(bad, { channels: 1, imageSize: [4, 5] })).rejects.toThrow(
      /as data\.image_size\); 3 differ: a\/1\.png \(4×4\), b\/3\.jpeg \(3×4\), b\/4\.png \(4×4\)/,
    );
  });

  it('names the folder or file for missing folders, no classes, empty classes, unknown classes and broken images', async () => {
    await expect(readImageFolder(path.join(root, 'missing'), { channels: 1 })).rejects.toThrow(
      /missing: no such directory; expected a folder with one subfolder of images per class/,
    );
    const flat = path.join(root, 'flat');
    png(path.join(flat, 'x.png'), 2, 2, [0, 0, 0]);
    await expect(readImageFolder(flat, { channels: 1 })).rejects.toThrow(
      /flat: expected one subfolder of images per class, found no subfolders/,
    );
    const empty = path.join(root, 'empty');
    png(path.join(empty, 'a', 'x.png'), 2, 2, [0, 0, 0]);
    mkdirSync(path.join(empty, 'b'));
    await expect(readImageFolder(empty, { channels: 1 })).rejects.toThrow(
      /empty\/b: expected PNG or JPEG images .* of class "b", found none/,
    );
    await expect(readImageFolder(dir, { channels: 1, classes: ['dog', 'fish'] })).rejects.toThrow(
      /ok: subfolder\(s\) "cat" are not among data\.classes \("dog", "fish"\)/,
    );
    const broken = path.join(root, 'broken');
    mkdirSync(path.join(broken, 'a'), { recursive: true });
    writeFileSync(path.join(broken, 'a', 'x.png'), 'not an image');
    await expect(readImageFolder(broken, { channels: 1 })).rejects.toThrow(
      /broken\/a\/x\.png: expected a PNG or JPEG image, the content is neither/,
    );
    const png8 = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    writeFileSync(path.join(broken, 'a', 'x.png'), png8);
    await expect(readImageFolder(broken, { channels: 1 })).rejects.toThrow(/broken\/a\/x\.png: cannot decode the image/);
  });
});
