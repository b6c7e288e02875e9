/**
 * Files written whole or not at all, and JSON read back: the one way cdl does both. A write goes to
 * a temporary file beside the target (same folder, so the rename stays on one file system) and is
 * renamed over it; a reader never sees half a file.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A fresh temporary name beside `file` (`<file>.tmp-<pid>-<random>`): two writers never share one. */
function tempBeside(file: string): string {
  return `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Writes `content` to `file` atomically, creating its folder. */
export async function writeFileAtomic(file: string, content: string | Uint8Array): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = tempBeside(file);
  try {
    await writeFile(tmp, content);
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/**
 * Writes what `source` streams to `file` atomically, through `through` (a meter, a limit) when given.
 * `check` sees the finished temporary file and may throw to refuse it (a hash, a length) before the
 * rename; on any failure the temporary file is removed and the target is left as it was.
 */
export async function writeStreamAtomic(
  file: string,
  source: Readable,
  opts: { through?: Transform; signal?: AbortSignal; check?: (tmp: string) => Promise<void> | void } = {},
): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = tempBeside(file);
  try {
    const sink = createWriteStream(tmp);
    if (opts.through) await pipeline(source, opts.through, sink, { signal: opts.signal });
    else await pipeline(source, sink, { signal: opts.signal });
    await opts.check?.(tmp);
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** Writes `value` as indented JSON with a final newline, atomically. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** The parsed JSON in `file`, or undefined when there is no such file; a file that does not parse throws. */
export async function readJson<T>(file: string): Promise<T | undefined> {
  if (!existsSync(file)) return undefined;
  return JSON.parse(await readFile(file, 'utf8')) as T;
}

/** Runs `fn` with a fresh folder in the system's temp directory (named `prefix`…), removed afterwards whatever happens. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every file under `dir`, recursively: paths relative to it, `/`-separated, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}
