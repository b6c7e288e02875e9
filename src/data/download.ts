/**
 * Datasets published over http(s): each file is downloaded once into a cache directory keyed by
 * the dataset URL, written to a temporary name and renamed into place, so a partial download
 * never looks complete.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { DataError } from '../util/errors.js';

export function isUrl(p: string): boolean {
  return /^https?:\/\//i.test(p);
}

/** $XDG_CACHE_HOME/cdl/data, else ~/.cache/cdl/data. */
export function defaultCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache');
  return path.join(base, 'cdl', 'data');
}

/** The folder under `cacheDir` that holds the files of the dataset at `url`. */
export function cacheDirFor(url: string, cacheDir: string): string {
  const u = new URL(url);
  const slug = `${u.host}${u.pathname}`
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 80);
  const key = createHash('sha256').update(url.replace(/\/+$/, '')).digest('hex').slice(0, 16);
  return path.join(cacheDir, `${slug}-${key}`);
}

/** The URL of `rel` (a '/'-separated path) inside the dataset at `base`. */
export function fileUrl(base: string, rel: string): string {
  const withSlash = base.endsWith('/') ? base : `${base}/`;
  return new URL(rel.split('/').map(encodeURIComponent).join('/'), withSlash).toString();
}

async function exists(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * Make sure `rel` of the dataset at `baseUrl` is in `root` (the dataset's cache folder);
 * downloads it when absent. Returns the local file.
 */
export async function ensureDownloaded(baseUrl: string, rel: string, root: string): Promise<string> {
  const dest = path.join(root, ...rel.split('/'));
  if (await exists(dest)) return dest;
  const url = fileUrl(baseUrl, rel);
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow' });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
    throw new DataError(`${url}: download failed: ${cause}`, { cause: err });
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => {});
    throw new DataError(
      `${url}: download failed: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}; expected 200 OK`,
    );
  }
  await mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await pipeline(Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>), createWriteStream(tmp));
    const expected = Number(res.headers.get('content-length'));
    if (res.headers.get('content-encoding') === null && Number.isFinite(expected) && expected > 0) {
      const got = (await stat(tmp)).size;
      if (got !== expected) throw new Error(`received ${got} of ${expected} bytes`);
    }
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof DataError) throw err;
    throw new DataError(`${url}: download failed: ${(err as Error).message}`, { cause: err });
  }
  return dest;
}
