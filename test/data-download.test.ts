import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError } from '../src/util/errors.js';
import { cacheDirFor, defaultCacheDir, loadDataset } from '../src/data/index.js';
import { section, tempDir } from './fixtures/data/helpers.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = path.join(repo, 'examples', 'fashion-mnist', 'data');
const cache = tempDir('cdl-cache-');

let server: http.Server;
let base = '';
const requests: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const m = /^\/fm\/([\w.-]+)$/.exec(req.url ?? '');
    if (req.url === '/broken/train-images-idx3-ubyte.gz') {
      res.writeHead(500, 'Internal Server Error');
      res.end('oops');
      return;
    }
    if (!m || !existsSync(path.join(dataDir, m[1]))) {
      res.writeHead(404, 'Not Found');
      res.end('not here');
      return;
    }
    const body = readFileSync(path.join(dataDir, m[1]));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const spec = (url: string) =>
  section({
    format: 'idx',
    path: url,
    train: { images: 'train-images-idx3-ubyte.gz', labels: 'train-labels-idx1-ubyte.gz' },
    test: { images: 't10k-images-idx3-ubyte.gz', labels: 't10k-labels-idx1-ubyte.gz' },
    limit: { train: 500, test: 100 },
  });

describe('datasets over http', () => {
  it('downloads the files once into the cache keyed by URL, with the same version as the local copy', async () => {
    const url = `${base}/fm`;
    const d = await loadDataset(spec(url), { baseDir: '/', task: 'classification', cacheDir: cache });
    expect(d.source).toBe(url);
    expect(d.shape).toEqual([28, 28, 1]);
    expect(d.test.n).toBe(100);
    const local = await loadDataset(spec(dataDir), { baseDir: '/', task: 'classification' });
    expect(d.version).toBe(local.version);
    const folder = cacheDirFor(url, cache);
    expect(folder.startsWith(cache)).toBe(true);
    expect(readdirSync(folder).sort()).toEqual(d.files.map((f) => f.path)); // no temporary files left
    expect(requests.filter((r) => r.startsWith('/fm/'))).toHaveLength(4);

    const again = await loadDataset(spec(`${url}/`), { baseDir: '/', task: 'classification', cacheDir: cache });
    expect(again.version).toBe(d.version);
    expect(requests.filter((r) => r.startsWith('/fm/'))).toHaveLength(4); // served from the cache
  });

  it('names the URL and the HTTP status when a download fails, and leaves nothing behind', async () => {
    const err = await loadDataset(spec(`${base}/missing`), { baseDir: '/', task: 'classification', cacheDir: cache }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toBe(
      `${base}/missing/train-images-idx3-ubyte.gz: download failed (data.train.images): HTTP 404 Not Found; expected 200 OK`,
    );
    await expect(loadDataset(spec(`${base}/broken`), { baseDir: '/', task: 'classification', cacheDir: cache })).rejects.toThrow(
      `${base}/broken/train-images-idx3-ubyte.gz: download failed (data.train.images): HTTP 500 Internal Server Error`,
    );
    const folder = cacheDirFor(`${base}/broken`, cache);
    expect(existsSync(folder) ? readdirSync(folder) : []).toEqual([]);
  });

  it('names the URL when the server cannot be reached', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(
      loadDataset(spec(`http://127.0.0.1:${port}/x`), { baseDir: '/', task: 'classification', cacheDir: cache }),
    ).rejects.toThrow(
      new RegExp(
        `^http://127\\.0\\.0\\.1:${port}/x/train-images-idx3-ubyte\\.gz: download failed \\(data\\.train\\.images\\): .*ECONNREFUSED`,
      ),
    );
  });

  it('uses $XDG_CACHE_HOME/cdl/data, else ~/.cache/cdl/data', () => {
    const saved = process.env.XDG_CACHE_HOME;
    try {
      process.env.XDG_CACHE_HOME = '/var/cache/me';
      expect(defaultCacheDir()).toBe(path.join('/var/cache/me', 'cdl', 'data'));
      delete process.env.XDG_CACHE_HOME;
      expect(defaultCacheDir()).toMatch(/\.cache[/\\]cdl[/\\]data$/);
    } finally {
      if (saved === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved;
    }
  });

  it('refuses image-folder over a URL', async () => {
    await expect(
      loadDataset(section({ format: 'image-folder', path: `${base}/imgs` }), {
        baseDir: '/',
        task: 'classification',
        cacheDir: cache,
      }),
    ).rejects.toThrow(/data\.path: format image-folder needs a local folder, got the URL/);
  });
});
