/**
 * Published local releases as the evaluation reads them (`.cdl/releases/<tag>/`, a model directory
 * with its release.json), and `createRelease`, which publishes a model directory as one at once.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import { MODEL_FILES } from '../model-dir/files.js';
import { addToModelDir } from '../model-dir/index.js';
import { CdlError } from '../util/errors.js';
import { RELEASE_FILE, type LocalDirs, type LocalRelease } from './local-layout.js';
import { compareVersions, releasesOfModel, releaseVersion } from './tags.js';
import type { ReleaseInfo } from './types.js';

async function allReleases({ releasesDir }: LocalDirs): Promise<LocalRelease[]> {
  if (!existsSync(releasesDir)) return [];
  const out: LocalRelease[] = [];
  for (const e of await readdir(releasesDir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const dir = path.join(releasesDir, e.name);
    const meta = path.join(dir, RELEASE_FILE);
    let info: LocalRelease = { tag: e.name };
    if (existsSync(meta)) {
      try {
        info = { ...(JSON.parse(await readFile(meta, 'utf8')) as LocalRelease), tag: e.name };
      } catch {
        // A release folder with a broken release.json still counts by its name.
      }
    }
    out.push({ ...info, id: dir });
  }
  return out;
}

export async function listReleases(dirs: LocalDirs, model: string): Promise<ReleaseInfo[]> {
  const mine = releasesOfModel(await allReleases(dirs), model);
  const version = (r: ReleaseInfo) => releaseVersion(r.tag, model) ?? r.tag;
  return mine.sort(
    (a, b) => compareVersions(version(b), version(a)) || String(b.published_at ?? '').localeCompare(String(a.published_at ?? '')),
  );
}

export async function getRelease(dirs: LocalDirs, tag: string): Promise<ReleaseInfo | undefined> {
  return (await allReleases(dirs)).find((r) => r.tag === tag);
}

export async function downloadRelease({ releasesDir }: LocalDirs, release: ReleaseInfo): Promise<string> {
  const dir = String(release.id ?? path.join(releasesDir, release.tag));
  if (!existsSync(path.join(dir, MODEL_FILES.onnx)))
    throw new CdlError(`${dir}: release ${release.tag} has no ${MODEL_FILES.onnx}`);
  return dir;
}

export async function releaseMetrics(
  { releasesDir }: LocalDirs,
  release: ReleaseInfo,
): Promise<Record<string, unknown> | undefined> {
  const file = path.join(String(release.id ?? path.join(releasesDir, release.tag)), MODEL_FILES.metrics);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Publish a model directory as release `tag`: copy its files and tag the commit (in a git checkout). */
export async function createRelease(
  { root, releasesDir }: LocalDirs,
  tag: string,
  modelDir: string,
  opts: { model?: string; commit?: string; gitTag?: boolean } = {},
): Promise<ReleaseInfo> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._@/-]*$/.test(tag) || tag.includes('..'))
    throw new CdlError(`invalid release tag ${JSON.stringify(tag)}`);
  const dest = path.join(releasesDir, tag);
  if (existsSync(dest)) throw new CdlError(`release ${tag} already exists (${dest})`);
  let commit = opts.commit ?? null;
  const git = simpleGit(root);
  const isRepo = await git.checkIsRepo().catch(() => false);
  if (isRepo && !commit) commit = (await git.revparse(['HEAD']).catch(() => '')) || null;
  // A whole directory is renamed into place here, which writeFileAtomic (one file) cannot do.
  const tmp = `${dest}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(path.dirname(tmp), { recursive: true });
  await cp(modelDir, tmp, { recursive: true });
  const info: LocalRelease = { tag, model: opts.model, commit, published_at: new Date().toISOString() };
  const text = JSON.stringify(info, null, 2) + '\n';
  // The release's directory is a model directory: its SHA256SUMS, when present, covers this file too.
  if (existsSync(path.join(tmp, MODEL_FILES.checksums))) await addToModelDir(tmp, { [RELEASE_FILE]: text });
  else await writeFile(path.join(tmp, RELEASE_FILE), text);
  await rename(tmp, dest);
  if (isRepo && commit && opts.gitTag !== false) await git.raw(['tag', tag, commit]);
  return { ...info, id: dest };
}
