/**
 * The data manifest changes when and only when the data changes: the same bytes after a rewrite,
 * a touch, a move of the whole folder or a change elsewhere in cdl.yaml; a different manifest
 * after a changed byte, an added, removed or renamed file, or another split. `cdl data status`
 * tells which files differ; push/pull restore files from a content-addressed store.
 */
import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { dataCommand } from '../src/cli/data.js';
import { loadConfig } from '../src/config/index.js';
import { loadDataset } from '../src/data/index.js';
import {
  buildManifest,
  dataStatus,
  manifestText,
  pullData,
  pushData,
  readManifest,
  writeManifest,
} from '../src/data/manifest.js';
import { mulberry32 } from '../src/data/prng.js';
import { EXAMPLE_CONFIG, exampleConfig, removeTempDirs, tempDir } from './helpers/example.js';

afterAll(removeTempDirs);

function png(seed: number): Buffer {
  const rand = mulberry32(seed);
  const img = new PNG({ width: 4, height: 4 });
  for (let i = 0; i < 16; i++) img.data.set([Math.floor(rand() * 256), 0, 0, 255], 4 * i);
  return PNG.sync.write(img);
}

/** A project: cdl.yaml + an image folder of 2 classes (6 train and 2 test images each). */
function project(): { dir: string; config: string } {
  const dir = tempDir('cdl-manifest-');
  let seed = 1;
  for (const [split, per] of [
    ['train', 6],
    ['test', 2],
  ] as const) {
    for (const c of ['a', 'b']) {
      mkdirSync(path.join(dir, 'data', split, c), { recursive: true });
      for (let i = 0; i < per; i++) writeFileSync(path.join(dir, 'data', split, c, `${i}.png`), png(seed++));
    }
  }
  const config = path.join(dir, 'cdl.yaml');
  writeFileSync(
    config,
    'model: { name: m, layers: [{ type: flatten }, { type: dense, units: 2, activation: softmax }] }\n' +
      'data: { format: image-folder, path: ./data, validation: { fraction: 0.25, seed: 1 } }\n',
  );
  return { dir, config };
}

async function manifestOf(config: string, overrides: string[] = []) {
  const loaded = await loadConfig(config, overrides);
  return buildManifest(loaded.config.data, { baseDir: loaded.dir, task: 'classification' });
}

async function statusOf(config: string, file: string, overrides: string[] = []) {
  const loaded = await loadConfig(config, overrides);
  return dataStatus(loaded.config.data, await readManifest(file), { baseDir: loaded.dir, task: 'classification' });
}

describe('data manifest', () => {
  it('records every file, the version training records, and the stratified split', async () => {
    const loaded = await exampleConfig([], EXAMPLE_CONFIG);
    const m = await buildManifest(loaded.config.data, { baseDir: loaded.dir, task: 'classification' });
    const ds = await loadDataset(loaded.config.data, { baseDir: loaded.dir, task: 'classification' });
    expect(m.version).toBe(ds.version);
    expect(m.files.map((f) => f.path)).toEqual(ds.files.map((f) => f.path));
    expect(m.split).toMatchObject({
      method: 'stratified',
      fraction: 0.1,
      seed: 42,
      train: ds.train.n,
      validation: ds.validation.n,
    });
    expect(m.split!.validation_per_class).toEqual(new Array(10).fill(120));
    expect(m.cache_key).toBe(`cdl-data-${m.version.slice(7, 39)}`);
    expect(manifestText(m).length).toBeLessThan(2000);
  });

  it('stays byte for byte the same when the data does not change', async () => {
    const p = project();
    const file = path.join(p.dir, 'cdl.data.json');
    expect(await writeManifest(file, await manifestOf(p.config))).toBe(true);
    const first = readFileSync(file, 'utf8');
    // Rewritten, files touched, another setting changed: unchanged.
    utimesSync(path.join(p.dir, 'data/train/a/0.png'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    expect(await writeManifest(file, await manifestOf(p.config, ['train.epochs=3', 'model.name=other']))).toBe(false);
    // The whole project moved elsewhere: unchanged.
    const moved = tempDir('cdl-manifest-moved-');
    cpSync(p.dir, moved, { recursive: true });
    expect(manifestText(await manifestOf(path.join(moved, 'cdl.yaml')))).toBe(first);
    expect(await statusOf(p.config, file)).toMatchObject({ clean: true, added: [], removed: [], modified: [] });
  });

  it('changes when a byte, a file, a name or the split changes, and status names what differs', async () => {
    const p = project();
    const file = path.join(p.dir, 'cdl.data.json');
    await writeManifest(file, await manifestOf(p.config));
    const base = manifestText(await readManifest(file));
    const versions = new Set([(await readManifest(file)).version]);
    const img = path.join(p.dir, 'data/train/a/1.png');
    const original = readFileSync(img);

    const flipped = Buffer.from(original);
    flipped[flipped.length - 20]! ^= 1;
    writeFileSync(img, flipped);
    expect(await statusOf(p.config, file)).toMatchObject({ clean: false, modified: ['train/a/1.png'], added: [], removed: [] });
    versions.add((await manifestOf(p.config)).version);
    writeFileSync(img, original);

    writeFileSync(path.join(p.dir, 'data/test/b/new.png'), png(77));
    expect(await statusOf(p.config, file)).toMatchObject({ clean: false, added: ['test/b/new.png'], removed: [] });
    versions.add((await manifestOf(p.config)).version);
    rmSync(path.join(p.dir, 'data/test/b/new.png'));

    renameSync(img, path.join(p.dir, 'data/train/a/renamed.png'));
    expect(await statusOf(p.config, file)).toMatchObject({ added: ['train/a/renamed.png'], removed: ['train/a/1.png'] });
    versions.add((await manifestOf(p.config)).version);
    renameSync(path.join(p.dir, 'data/train/a/renamed.png'), img);

    const seeded = await manifestOf(p.config, ['data.validation.seed=2']);
    expect(seeded.version).toBe((await readManifest(file)).version); // same files …
    expect(seeded.split!.validation_sha256).not.toBe((await readManifest(file)).split!.validation_sha256); // … another split
    expect(await statusOf(p.config, file, ['data.validation.seed=2'])).toMatchObject({
      clean: false,
      splitChanged: true,
      modified: [],
    });

    expect(versions.size).toBe(4);
    // Back to the original data: the original manifest again.
    expect(manifestText(await manifestOf(p.config))).toBe(base);
    expect(await writeManifest(file, await manifestOf(p.config))).toBe(false);
  });

  it('cdl data version/status exit codes, and push/pull through a content-addressed store', async () => {
    const p = project();
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await dataCommand(['version', '-c', p.config])).toBe(0);
      expect(await dataCommand(['status', '-c', p.config])).toBe(0);
      expect(await dataCommand(['version', '--check', '-c', p.config])).toBe(0);
      const store = tempDir('cdl-store-');
      expect(await dataCommand(['push', '-c', p.config, '--store', store])).toBe(0);
      writeFileSync(path.join(p.dir, 'data/train/b/0.png'), 'not an image any more');
      rmSync(path.join(p.dir, 'data/test/a'), { recursive: true });
      expect(await dataCommand(['status', '-c', p.config])).toBe(1);
      expect(await dataCommand(['version', '--check', '-c', p.config])).toBe(1);
      const m = await readManifest(path.join(p.dir, 'cdl.data.json'));
      expect((await pullData(path.join(p.dir, 'data'), m, store)).sort()).toEqual([
        'test/a/0.png',
        'test/a/1.png',
        'train/b/0.png',
      ]);
      expect(await dataCommand(['status', '-c', p.config])).toBe(0);
      expect(await pushData(path.join(p.dir, 'data'), m, store)).toEqual({ copied: 0, present: m.files.length });
      const out = write.mock.calls.map((c) => String(c[0])).join('');
      expect(out).toMatch(/modified: train\/b\/0\.png/);
      expect(out).toMatch(/removed: {2}test\/a\/0\.png/);
    } finally {
      write.mockRestore();
      err.mockRestore();
    }
  });
});
