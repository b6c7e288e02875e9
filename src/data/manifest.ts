/**
 * The data manifest: a small, content-addressed file committed next to the code (as DVC's .dvc
 * files are) that records every data file's hash and size and the validation split. The data
 * itself lives at data.path, or in a store / CI cache keyed by the manifest's version.
 *
 * The manifest holds nothing that changes without the data changing: no timestamps, no absolute
 * paths, files sorted by path, keys in a fixed order. Writing it twice over the same data gives
 * the same bytes.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DataSection } from '../config/schema/data.js';
import { DataError } from '../util/errors.js';
import { writeFileAtomic, writeStreamAtomic } from '../util/fs.js';
import { comparePaths, datasetVersion, hashFiles, type DataFile } from './hash.js';
import { listDataFiles, readTrainLabels, type RawOptions } from './raw.js';
import { stratifiedSplit } from './split.js';
import { displayPath } from './util.js';
import { staysInside, unsafeRelativePath } from '../util/paths.js';

export const MANIFEST_FILE = 'cdl.data.json';
export const MANIFEST_SCHEMA_VERSION = 1;

export interface SplitRecord {
  method: 'stratified';
  fraction: number;
  seed: number;
  /** data.limit.train, when only the first examples are used. */
  limit: number | null;
  train: number;
  validation: number;
  /** Validation examples per class index. */
  validation_per_class: number[];
  /** SHA-256 of the validation indices (int32 little-endian, ascending): the exact split. */
  validation_sha256: string;
}

export interface DataManifest {
  schema_version: number;
  /** 'sha256:<hex>' over the files (datasetVersion): the dataset version models record in lineage.json. */
  version: string;
  format: DataSection['format'];
  /** data.path as cdl.yaml writes it. */
  path: string;
  /** CI cache key for the data (actions/cache), derived from the version. */
  cache_key: string;
  size: number;
  files: DataFile[];
  split: SplitRecord | null;
}

export function cacheKey(version: string): string {
  return `cdl-data-${version.replace(/^sha256:/, '').slice(0, 32)}`;
}

/** The validation split as training makes it (loadDataset), recorded. */
export function splitRecord(labels: Int32Array, data: Pick<DataSection, 'validation' | 'limit'>): SplitRecord {
  const limit = data.limit?.train ?? null;
  const y = limit !== null && limit < labels.length ? labels.subarray(0, limit) : labels;
  const { fraction, seed } = data.validation;
  const idx =
    fraction > 0 ? stratifiedSplit(y, fraction, seed) : { train: new Int32Array(y.length), validation: new Int32Array(0) };
  let k = 0;
  for (const c of y) k = Math.max(k, c + 1);
  const perClass = new Array<number>(k).fill(0);
  for (const i of idx.validation) perClass[y[i]!]!++;
  const bytes = Buffer.alloc(idx.validation.length * 4);
  idx.validation.forEach((v, i) => bytes.writeInt32LE(v, i * 4));
  return {
    method: 'stratified',
    fraction,
    seed,
    limit,
    train: y.length - idx.validation.length,
    validation: idx.validation.length,
    validation_per_class: perClass,
    validation_sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

/** Hash every file of the dataset and record the split. */
export async function buildManifest(data: DataSection, opts: RawOptions): Promise<DataManifest> {
  const { root, files } = await listDataFiles(data, opts);
  const hashed = await hashFiles(root, files);
  const labels = await readTrainLabels(data, opts);
  const version = datasetVersion(hashed);
  return {
    schema_version: MANIFEST_SCHEMA_VERSION,
    version,
    format: data.format,
    path: data.path,
    cache_key: cacheKey(version),
    size: hashed.reduce((a, f) => a + f.size, 0),
    files: hashed.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })),
    split: labels ? splitRecord(labels, data) : null,
  };
}

/** The manifest's canonical text: fixed key order, one file a line, so diffs stay readable. */
export function manifestText(m: DataManifest): string {
  const head = {
    schema_version: m.schema_version,
    version: m.version,
    format: m.format,
    path: m.path,
    cache_key: m.cache_key,
    size: m.size,
  };
  const lines = Object.entries(head).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)},`);
  lines.push(`  "split": ${JSON.stringify(m.split)},`);
  const files = [...m.files].sort((a, b) => comparePaths(a.path, b.path));
  lines.push('  "files": [');
  files.forEach((f, i) =>
    lines.push(`    ${JSON.stringify({ path: f.path, size: f.size, sha256: f.sha256 })}${i < files.length - 1 ? ',' : ''}`),
  );
  lines.push('  ]');
  return `{\n${lines.join('\n')}\n}\n`;
}

/** Write the manifest when its text differs; returns whether the file changed. */
export async function writeManifest(file: string, m: DataManifest): Promise<boolean> {
  const text = manifestText(m);
  if (existsSync(file) && (await readFile(file, 'utf8')) === text) return false;
  await writeFileAtomic(file, text);
  return true;
}

export async function readManifest(file: string): Promise<DataManifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new DataError(`${displayPath(file)}: no data manifest; write one with: cdl data version`);
  }
  let m: DataManifest;
  try {
    m = JSON.parse(text) as DataManifest;
  } catch (e) {
    throw new DataError(
      `${displayPath(file)}: invalid JSON (${(e as Error).message}); expected the manifest cdl data version writes`,
    );
  }
  if (!m || typeof m !== 'object' || m.schema_version !== MANIFEST_SCHEMA_VERSION || !Array.isArray(m.files)) {
    throw new DataError(
      `${displayPath(file)}: expected a cdl data manifest with schema_version ${MANIFEST_SCHEMA_VERSION} and a files list`,
    );
  }
  checkManifestFiles(m, displayPath(file));
  return m;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The manifest is untrusted (a pull request can change it): every file must be a plain relative
 * path inside the data folder, its hash 64 lowercase hex digits and its size a whole number.
 * Throws a DataError naming the entry and the expected form.
 */
export function checkManifestFiles(m: Pick<DataManifest, 'files'>, source = MANIFEST_FILE): void {
  m.files.forEach((f: Partial<DataFile> | null, i) => {
    const at = `${source}: files[${i}]`;
    if (!f || typeof f !== 'object') throw new DataError(`${at}: expected {"path", "size", "sha256"}`);
    const bad = unsafeRelativePath(f.path);
    if (bad)
      throw new DataError(
        `${at}.path ${JSON.stringify(f.path)} ${bad}; expected a path inside the data folder such as train/images.gz`,
      );
    if (typeof f.sha256 !== 'string' || !SHA256_HEX.test(f.sha256)) {
      throw new DataError(`${at}.sha256 ${JSON.stringify(f.sha256)} (${f.path}): expected 64 lowercase hexadecimal digits`);
    }
    if (!Number.isSafeInteger(f.size) || f.size! < 0) {
      throw new DataError(`${at}.size ${JSON.stringify(f.size)} (${f.path}): expected a whole number of bytes >= 0`);
    }
  });
}

/** The absolute path of a manifest file under `root`, refused when a symlink leads it outside. */
function fileUnder(root: string, rel: string): string {
  const p = path.join(root, ...rel.split('/'));
  if (!staysInside(root, p)) {
    throw new DataError(
      `${displayPath(p)}: ${rel} leads outside the data folder ${displayPath(root)} through a symlink; expected the data inside it`,
    );
  }
  return p;
}

export interface DataStatus {
  /** The working data matches the manifest (files and split). */
  clean: boolean;
  version: string;
  manifestVersion: string;
  added: string[];
  removed: string[];
  modified: string[];
  /** The split record differs (data.validation or data.limit changed). */
  splitChanged: boolean;
}

/** Compare the working data with the manifest: files added, removed or modified, and the split. */
export async function dataStatus(data: DataSection, manifest: DataManifest, opts: RawOptions): Promise<DataStatus> {
  const current = await buildManifest(data, opts).catch((e: unknown) => {
    if (e instanceof DataError) return undefined;
    throw e;
  });
  const { root, files } = await listDataFiles(data, opts);
  const recorded = new Map(manifest.files.map((f) => [f.path, f]));
  const now = new Set(files);
  const added = files.filter((f) => !recorded.has(f));
  const removed: string[] = [];
  const modified: string[] = [];
  const hashes = new Map((current?.files ?? []).map((f) => [f.path, f]));
  for (const [rel, f] of recorded) {
    const p = path.join(root, ...rel.split('/'));
    if (!now.has(rel) || !existsSync(p)) {
      removed.push(rel);
      continue;
    }
    const h = hashes.get(rel) ?? (await hashFiles(root, [rel]))[0]!;
    if (h.size !== f.size || h.sha256 !== f.sha256) modified.push(rel);
  }
  const splitChanged = current !== undefined && JSON.stringify(current.split) !== JSON.stringify(manifest.split);
  const version = current?.version ?? '(unreadable)';
  return {
    clean: added.length === 0 && removed.length === 0 && modified.length === 0 && !splitChanged,
    version,
    manifestVersion: manifest.version,
    added,
    removed: removed.sort(comparePaths),
    modified: modified.sort(comparePaths),
    splitChanged,
  };
}

/** Where a file of `sha256` lives in a content-addressed store. */
export function storePath(store: string, sha256: string): string {
  return path.join(store, sha256.slice(0, 2), sha256);
}

/** Copy the manifest's files into a content-addressed store (what is there already is skipped). */
export async function pushData(
  root: string,
  manifest: DataManifest,
  store: string,
): Promise<{ copied: number; present: number }> {
  checkManifestFiles(manifest);
  let copied = 0;
  let present = 0;
  for (const f of manifest.files) {
    fileUnder(root, f.path);
    const dest = storePath(store, f.sha256);
    if (existsSync(dest) && (await stat(dest)).size === f.size) {
      present++;
      continue;
    }
    const [now] = await hashFiles(root, [f.path]);
    if (now!.sha256 !== f.sha256) {
      throw new DataError(
        `${f.path}: its content differs from the manifest (sha256 ${now!.sha256.slice(0, 12)}…, recorded ${f.sha256.slice(0, 12)}…); run cdl data version first`,
      );
    }
    await writeStreamAtomic(dest, createReadStream(path.join(root, ...f.path.split('/'))));
    copied++;
  }
  return { copied, present };
}

/** Restore the manifest's files from a store into `root`, checking each hash; returns the files written. */
export async function pullData(root: string, manifest: DataManifest, store: string): Promise<string[]> {
  const written: string[] = [];
  const missing: string[] = [];
  checkManifestFiles(manifest);
  for (const f of manifest.files) {
    const target = fileUnder(root, f.path);
    if (existsSync(target)) {
      const [h] = await hashFiles(root, [f.path]);
      if (h!.sha256 === f.sha256) continue;
    }
    const src = storePath(store, f.sha256);
    if (!existsSync(src)) {
      missing.push(f.path);
      continue;
    }
    // The folders are made first so the symlink check below sees the path the file will take.
    await mkdir(path.dirname(target), { recursive: true });
    fileUnder(root, f.path);
    await writeStreamAtomic(target, createReadStream(src), {
      check: async (tmp) => {
        const [h] = await hashFiles(path.dirname(tmp), [path.basename(tmp)]);
        if (h!.sha256 !== f.sha256)
          throw new DataError(`${displayPath(src)}: the stored copy of ${f.path} is damaged (sha256 ${h!.sha256.slice(0, 12)}…)`);
      },
    });
    written.push(f.path);
  }
  if (missing.length)
    throw new DataError(
      `${displayPath(store)}: ${missing.length} files of the manifest are not in the store: ${missing.slice(0, 10).join(', ')}`,
    );
  return written;
}
