/**
 * Datasets published over http(s): each file is downloaded once into a cache directory keyed by
 * the dataset URL, written to a temporary name and renamed into place, so a partial download
 * never looks complete.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { DataError } from '../util/errors.js';
import { writeStreamAtomic } from '../util/fs.js';
import { staysInside, unsafeRelativePath } from '../util/paths.js';

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

/** Limits on one download, from the environment (tests and slow links can change them). */
export interface DownloadLimits {
  /** No byte (nor the response headers, nor the connection) for this long: give up. */
  idleMs: number;
  /** The whole file must arrive within this. */
  totalMs: number;
  maxBytes: number;
}

function envNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    throw new DataError(`$${name} is ${JSON.stringify(text)}; expected a positive number`);
  }
  return n;
}

export function downloadLimits(): DownloadLimits {
  return {
    idleMs: envNumber('CDL_DOWNLOAD_IDLE_TIMEOUT_MS', 60_000),
    totalMs: envNumber('CDL_DOWNLOAD_TIMEOUT_MS', 60 * 60_000),
    maxBytes: envNumber('CDL_DOWNLOAD_MAX_BYTES', 16 * 1024 ** 3),
  };
}

/**
 * Make sure `rel` of the dataset at `baseUrl` is in `root` (the dataset's cache folder);
 * downloads it when absent, bounded in time and size (downloadLimits). `field` is the cdl.yaml
 * field that named `rel`. Returns the local file.
 */
export async function ensureDownloaded(
  baseUrl: string,
  rel: string,
  root: string,
  field = 'data file',
  limits: DownloadLimits = downloadLimits(),
): Promise<string> {
  const bad = unsafeRelativePath(rel);
  if (bad) {
    throw new DataError(
      `${field} ${JSON.stringify(rel)} ${bad}; expected a path inside the dataset at ${baseUrl}, such as train-images.gz`,
    );
  }
  const dest = path.join(root, ...rel.split('/'));
  if (!staysInside(root, dest)) {
    throw new DataError(`${dest}: ${field} leads outside the download cache ${root} through a symlink`);
  }
  if (await exists(dest)) return dest;
  const url = fileUrl(baseUrl, rel);
  const abort = new AbortController();
  let why = '';
  const stop = (reason: string) => {
    why = reason;
    abort.abort(new Error(reason));
  };
  let idle = setTimeout(() => stop(`nothing received for ${limits.idleMs} ms ($CDL_DOWNLOAD_IDLE_TIMEOUT_MS)`), limits.idleMs);
  const total = setTimeout(() => stop(`not complete after ${limits.totalMs} ms ($CDL_DOWNLOAD_TIMEOUT_MS)`), limits.totalMs);
  const failed = (err: unknown): string =>
    why || ((err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message);
  try {
    let res: Response;
    try {
      res = await fetch(url, { redirect: 'follow', signal: abort.signal });
    } catch (err) {
      throw new DataError(`${url}: download failed (${field}): ${failed(err)}`, { cause: err });
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel().catch(() => {});
      throw new DataError(
        `${url}: download failed (${field}): HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}; expected 200 OK`,
      );
    }
    const announced = Number(res.headers.get('content-length'));
    if (Number.isFinite(announced) && announced > limits.maxBytes) {
      await res.body.cancel().catch(() => {});
      throw new DataError(
        `${url}: download refused (${field}): ${announced} bytes is more than ${limits.maxBytes} ($CDL_DOWNLOAD_MAX_BYTES)`,
      );
    }
    let got = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        got += chunk.length;
        clearTimeout(idle);
        idle = setTimeout(() => stop(`nothing received for ${limits.idleMs} ms ($CDL_DOWNLOAD_IDLE_TIMEOUT_MS)`), limits.idleMs);
        if (got > limits.maxBytes) {
          why = `more than ${limits.maxBytes} bytes ($CDL_DOWNLOAD_MAX_BYTES)`;
          done(new Error(why));
          return;
        }
        done(null, chunk);
      },
    });
    try {
      await writeStreamAtomic(dest, Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>), {
        through: meter,
        signal: abort.signal,
        check: () => {
          if (res.headers.get('content-encoding') === null && Number.isFinite(announced) && announced > 0 && got !== announced) {
            throw new Error(`received ${got} of ${announced} bytes`);
          }
        },
      });
    } catch (err) {
      throw new DataError(`${url}: download failed (${field}): ${failed(err)}`, { cause: err });
    }
  } finally {
    clearTimeout(idle);
    clearTimeout(total);
  }
  return dest;
}
