/**
 * A model directory as release assets, and back. Release assets are flat files, so the TF.js
 * bundle's `tfjs/model.json` and `tfjs/weights.bin` travel as `tfjs-model.json` and
 * `tfjs-weights.bin`; a compressed variant travels as `model-<name>.onnx` (with its
 * `metrics-<name>.json` and `lineage-<name>.json`). SHA256SUMS lists every model asset by its
 * asset name; the provenance statement and promotion.json describe the assets and are not in it.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CHECKSUMS_FILE, sha256File, writeChecksumsFile } from '../model-dir/checksums.js';
import { DESCRIPTIVE_FILES, MODEL_FILES, RELEASED_FILES } from '../model-dir/files.js';
import { openModelDir, type OpenedModelDir } from '../model-dir/index.js';
import { CdlError, UsageError } from '../util/errors.js';

export const PROVENANCE_FILE = MODEL_FILES.provenance;
export const PROMOTION_FILE = MODEL_FILES.promotion;
/** Files the registry writes beside the model assets, not listed in SHA256SUMS. */
export const DESCRIPTIVE_ASSETS = DESCRIPTIVE_FILES;

/** The top-level files of a model directory that become assets (others are left out and named). */
const TOP_LEVEL = new Set<string>(RELEASED_FILES);

export interface StagedAssets {
  dir: string;
  /** Asset name → SHA-256 of the model assets (what SHA256SUMS lists). */
  sums: Map<string, string>;
  /** Files of the model directory that were not made assets. */
  skipped: string[];
}

/** Asset name of a file of the model directory (`tfjs/model.json` → `tfjs-model.json`). */
export function assetName(rel: string): string {
  return rel.startsWith(`${MODEL_FILES.tfjs}/`) ? `tfjs-${rel.slice(MODEL_FILES.tfjs.length + 1)}` : rel;
}

/** The path in a model directory of an asset (`tfjs-weights.bin` → `tfjs/weights.bin`). */
export function assetPath(name: string): string {
  return name.startsWith('tfjs-') ? `${MODEL_FILES.tfjs}/${name.slice(5)}` : name;
}

/**
 * Copy an opened model directory (and compressed variants) into `dest` as flat release assets and
 * write SHA256SUMS over them. Nothing is hashed again: each file's SHA-256 is the one verified when
 * its directory was opened, and model.onnx is written from the bytes that were hashed. A variant
 * given as a path is opened (and verified) here.
 */
export async function stageAssets(
  model: OpenedModelDir,
  dest: string,
  variants: Record<string, OpenedModelDir | string> = {},
): Promise<StagedAssets> {
  await rm(dest, { recursive: true, force: true });
  await mkdir(dest, { recursive: true });
  const sums = new Map<string, string>();
  /** Copy `rel` of `md` to the asset `name`, with the hash known from opening `md` (hashed only when it has none). */
  const put = async (md: OpenedModelDir, rel: string, name: string) => {
    const to = path.join(dest, name);
    if (rel === MODEL_FILES.onnx) {
      await writeFile(to, md.onnx);
      sums.set(name, md.sha256);
      return;
    }
    await copyFile(path.join(md.dir, rel), to);
    sums.set(name, md.sums?.get(rel) ?? (await sha256File(to)));
  };
  const skipped: string[] = [];
  for (const e of await readdir(model.dir, { withFileTypes: true })) {
    if (e.isFile() && (TOP_LEVEL.has(e.name) || /^model-[A-Za-z0-9_-]+\.onnx$/.test(e.name))) await put(model, e.name, e.name);
    else if (e.isDirectory() && e.name === MODEL_FILES.tfjs) {
      for (const f of await readdir(path.join(model.dir, e.name), { withFileTypes: true })) {
        if (f.isFile()) await put(model, `${e.name}/${f.name}`, assetName(`${e.name}/${f.name}`));
      }
    } else if (e.name !== CHECKSUMS_FILE) skipped.push(e.name);
  }
  for (const [name, v] of Object.entries(variants)) {
    if (!/^[A-Za-z0-9_-]+$/.test(name))
      throw new UsageError(`variant name ${JSON.stringify(name)}: expected letters, digits, _ and - (e.g. int8)`);
    if (typeof v === 'string' && !existsSync(path.join(v, MODEL_FILES.onnx)))
      throw new CdlError(`variant ${name}: ${v} has no ${MODEL_FILES.onnx}`);
    const md = typeof v === 'string' ? await openModelDir(v, { requireChecksums: true }) : v;
    await put(md, MODEL_FILES.onnx, `model-${name}.onnx`);
    for (const f of [MODEL_FILES.metrics, MODEL_FILES.lineage]) {
      if (existsSync(path.join(md.dir, f))) await put(md, f, f.replace('.json', `-${name}.json`));
    }
  }
  await writeChecksumsFile(dest, sums);
  return { dir: dest, sums, skipped };
}

/**
 * Turn verified flat assets in `flat` into a model directory at `dest` (tfjs-* back under tfjs/),
 * with a SHA256SUMS in directory form carrying the verified hashes (nothing is hashed twice) and
 * covering the descriptive files too, so the directory passes `openModelDir`. Returns the
 * directory's sums.
 */
export async function assembleModelDir(flat: string, sums: Map<string, string>, dest: string): Promise<Map<string, string>> {
  // A whole directory is renamed into place here, which writeFileAtomic (one file) cannot do.
  const tmp = `${dest}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const dirSums = new Map<string, string>();
  for (const [name, hash] of sums) {
    const rel = assetPath(name);
    await mkdir(path.dirname(path.join(tmp, rel)), { recursive: true });
    await copyFile(path.join(flat, name), path.join(tmp, rel));
    dirSums.set(rel, hash);
  }
  for (const f of DESCRIPTIVE_ASSETS) {
    if (!existsSync(path.join(flat, f))) continue;
    await copyFile(path.join(flat, f), path.join(tmp, f));
    dirSums.set(f, await sha256File(path.join(tmp, f)));
  }
  await writeChecksumsFile(tmp, dirSums);
  await rm(dest, { recursive: true, force: true });
  await mkdir(path.dirname(dest), { recursive: true });
  await rename(tmp, dest);
  return dirSums;
}
