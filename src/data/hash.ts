import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { DataError } from '../util/errors.js';
import { sha256File } from '../util/sha256.js';
import { displayPath } from './util.js';

/** One file of a dataset. */
export interface DataFile {
  /** Relative to the dataset root, '/'-separated. */
  path: string;
  /** Hex SHA-256 of the file's bytes. */
  sha256: string;
  size: number;
}

function toPosix(rel: string): string {
  return rel.split(path.sep).join('/').replace(/\\/g, '/');
}

/** Size and SHA-256 of each file (relative to `root`), sorted by path. */
export async function hashFiles(root: string, relPaths: readonly string[]): Promise<DataFile[]> {
  const unique = [...new Set(relPaths.map(toPosix))];
  const out: DataFile[] = [];
  for (const rel of unique) {
    const file = path.join(root, ...rel.split('/'));
    try {
      const st = await stat(file);
      out.push({ path: rel, size: st.size, sha256: await sha256File(file) });
    } catch (err) {
      throw new DataError(`${displayPath(file)}: cannot read the file to hash it: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  return out.sort((a, b) => comparePaths(a.path, b.path));
}

/** Code-unit order, the same on every machine and locale. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * 'sha256:<hex>' over the files in canonical order: files sorted by path, one line
 * "path\0size\0sha256\n" each. Equal content gives an equal version wherever it lives.
 */
export function datasetVersion(files: readonly DataFile[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => comparePaths(a.path, b.path))) {
    h.update(`${f.path}\0${f.size}\0${f.sha256}\n`);
  }
  return `sha256:${h.digest('hex')}`;
}
