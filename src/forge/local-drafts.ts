/**
 * The registry's releases on the local forge: a draft in `.cdl/drafts/<tag>/` is a promotion's
 * exclusive claim on the tag (held by a live process), filled with every asset and published by one
 * rename into `.cdl/releases/<tag>/`, with the git tag made only then.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import { sha256File } from '../model-dir/checksums.js';
import { CdlError } from '../util/errors.js';
import { writeJsonAtomic } from '../util/fs.js';
import { RELEASE_FILE, type DraftOwner, type LocalDirs, type LocalRelease } from './local-layout.js';
import { PromotionConflictError, type AssetInfo, type ReleaseDetails } from './types.js';

class DraftMovedError extends Error {}

/** Whether the owner of a draft may still be writing it; an owner on another host counts as alive (fail closed). */
function ownerAlive(owner: DraftOwner): boolean {
  if (owner.host !== os.hostname()) return true;
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function draftOwner(dir: string): Promise<DraftOwner | undefined> {
  try {
    const o = (JSON.parse(await readFile(path.join(dir, RELEASE_FILE), 'utf8')) as LocalRelease).owner;
    return o && Number.isInteger(o.pid) && typeof o.host === 'string' ? o : undefined;
  } catch {
    return undefined;
  }
}

function beingPromoted(tag: string, owner: DraftOwner, dir: string): PromotionConflictError {
  const here = owner.host === os.hostname();
  return new PromotionConflictError(
    `${tag} is already being promoted (by pid ${owner.pid}${here ? '' : ` on ${owner.host}`} since ${owner.since}); wait for it to finish` +
      (here ? '' : `, or delete ${dir} if that promotion is gone (a process on another host cannot be checked)`),
  );
}

function checkTag(tag: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._@-]*$/.test(tag) || tag.includes('..')) {
    throw new CdlError(`invalid release tag ${JSON.stringify(tag)}; expected letters, digits and . _ @ - (no slash)`);
  }
}

function checkAssetName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name === RELEASE_FILE) {
    throw new CdlError(`invalid asset name ${JSON.stringify(name)}; expected letters, digits and . _ - (not ${RELEASE_FILE})`);
  }
}

async function details(dir: string, tag: string, draft: boolean): Promise<ReleaseDetails> {
  let info: LocalRelease = { tag };
  const meta = path.join(dir, RELEASE_FILE);
  if (existsSync(meta)) {
    try {
      info = JSON.parse(await readFile(meta, 'utf8')) as LocalRelease;
    } catch {
      // A broken release.json still leaves the files.
    }
  }
  const assets: AssetInfo[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    // A draft being written holds files on their way in (`.partial`, `release.json.tmp-<pid>-<random>`): not assets yet.
    if (!e.isFile() || e.name === RELEASE_FILE || e.name.endsWith('.partial') || e.name.startsWith(`${RELEASE_FILE}.tmp-`))
      continue;
    const file = path.join(dir, e.name);
    try {
      const digest = info.digests?.[e.name] ?? `sha256:${await sha256File(file)}`;
      assets.push({ name: e.name, size: (await stat(file)).size, digest, id: file });
    } catch (err) {
      // The promotion that owns a draft may publish (move) it while we read it.
      if (!draft || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      throw new DraftMovedError();
    }
  }
  assets.sort((a, b) => a.name.localeCompare(b.name));
  // Published local releases are always immutable, as GitHub's are with immutable releases on.
  return { ...info, tag, id: dir, draft, immutable: !draft, assets };
}

export async function releaseDetails({ releasesDir, draftsDir }: LocalDirs, tag: string): Promise<ReleaseDetails | undefined> {
  checkTag(tag);
  const published = path.join(releasesDir, tag);
  if (existsSync(published)) return details(published, tag, false);
  const draft = path.join(draftsDir, tag);
  if (!existsSync(draft)) return undefined;
  try {
    return await details(draft, tag, true);
  } catch (e) {
    // Published or deleted by its promotion while we read it: look again.
    if (!(e instanceof DraftMovedError) && (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    if (existsSync(published)) return details(published, tag, false);
    return existsSync(draft) ? details(draft, tag, true) : undefined;
  }
}

/**
 * The draft is the promotion's claim on the tag: it appears whole (release.json with the owner's
 * pid) by one rename, which fails when another process's draft is already there. No git tag yet.
 */
export async function createDraftRelease(
  { releasesDir, draftsDir }: LocalDirs,
  tag: string,
  opts: { commit: string | null; name?: string; body?: string },
): Promise<ReleaseDetails> {
  checkTag(tag);
  if (existsSync(path.join(releasesDir, tag))) throw new PromotionConflictError(`${tag} is already promoted`);
  const dir = path.join(draftsDir, tag);
  const owner: DraftOwner = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  const info: LocalRelease = {
    tag,
    name: opts.name ?? tag,
    commit: opts.commit,
    body: opts.body,
    draft: true,
    created_at: owner.since,
    owner,
  };
  // A whole directory is renamed into place (the rename is the claim), which writeFileAtomic cannot do.
  const tmp = `${dir}.claim-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await writeFile(path.join(tmp, RELEASE_FILE), JSON.stringify(info, null, 2) + '\n');
  try {
    await rename(tmp, dir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw e;
    const other = await draftOwner(dir);
    if (other && ownerAlive(other)) throw beingPromoted(tag, other, dir);
    throw new PromotionConflictError(
      `a draft of ${tag} left by an interrupted promotion exists (${dir}); promote again to replace it`,
    );
  }
  return details(dir, tag, true);
}

function assertDraft({ draftsDir }: LocalDirs, release: ReleaseDetails, what: string): string {
  const dir = path.join(draftsDir, release.tag);
  if (!release.draft || !existsSync(dir)) {
    throw new CdlError(
      `${what} ${release.tag}: the release is published and immutable; only a draft can change (HTTP 422 on GitHub)`,
    );
  }
  return dir;
}

export async function uploadAsset(dirs: LocalDirs, release: ReleaseDetails, name: string, file: string): Promise<AssetInfo> {
  checkAssetName(name);
  const dir = assertDraft(dirs, release, `upload ${name} to`);
  const dest = path.join(dir, name);
  if (existsSync(dest)) throw new CdlError(`release ${release.tag} already has an asset ${name}`);
  // By hand, not writeStreamAtomic: the `.partial` name is what the draft's listing skips as not yet an asset.
  await copyFile(file, `${dest}.partial`);
  await rename(`${dest}.partial`, dest);
  // The digest is taken once, here, and reported from release.json afterwards (not hashed on every listing).
  const digest = `sha256:${await sha256File(dest)}`;
  const meta = path.join(dir, RELEASE_FILE);
  const info = JSON.parse(await readFile(meta, 'utf8')) as LocalRelease;
  await writeJsonAtomic(meta, { ...info, digests: { ...info.digests, [name]: digest } });
  return { name, size: (await stat(dest)).size, digest, id: dest };
}

/** A draft another live process holds is not ours to change. */
async function assertOwn(dir: string, tag: string): Promise<void> {
  const owner = await draftOwner(dir);
  if (owner && owner.pid !== process.pid && ownerAlive(owner)) throw beingPromoted(tag, owner, dir);
}

/**
 * Publish: the git tag is made only now, with every asset in place, and the draft becomes the
 * release by one rename; a tag made here is removed again when that rename fails.
 */
export async function publishRelease(dirs: LocalDirs, release: ReleaseDetails): Promise<ReleaseDetails> {
  const dir = assertDraft(dirs, release, 'publish');
  await assertOwn(dir, release.tag);
  const dest = path.join(dirs.releasesDir, release.tag);
  if (existsSync(dest)) throw new PromotionConflictError(`${release.tag} is already promoted`);
  const { owner, ...info } = JSON.parse(await readFile(path.join(dir, RELEASE_FILE), 'utf8')) as LocalRelease;
  const published: LocalRelease = { ...info, draft: false, published_at: new Date().toISOString() };
  // The owner stays in the draft's release.json until the rename below: a draft without one reads
  // as left by an interrupted promotion, which another promotion would delete mid-publish.
  await writeJsonAtomic(path.join(dir, RELEASE_FILE), { ...published, owner });
  const git = simpleGit(dirs.root);
  const isRepo = await git.checkIsRepo().catch(() => false);
  let tagged = false;
  if (isRepo && info.commit) {
    const existing = (await git.raw(['tag', '--list', release.tag])).trim();
    if (existing) {
      const at = (await git.revparse([`${release.tag}^{commit}`])).trim();
      if (at !== info.commit) throw new CdlError(`git tag ${release.tag} already points at ${at}, not ${info.commit}`);
    } else {
      await git.raw(['tag', release.tag, info.commit]);
      tagged = true;
    }
  }
  try {
    await mkdir(dirs.releasesDir, { recursive: true });
    await rename(dir, dest);
  } catch (e) {
    if (tagged) await git.raw(['tag', '-d', release.tag]).catch(() => {});
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTEMPTY') throw new PromotionConflictError(`${release.tag} is already promoted`);
    throw e;
  }
  await writeJsonAtomic(path.join(dest, RELEASE_FILE), published);
  return details(dest, release.tag, false);
}

/** Delete a draft: ours, or one whose promotion died; never one another live process is writing. */
export async function deleteDraft(dirs: LocalDirs, release: ReleaseDetails): Promise<void> {
  // Published by its owner since it was read: that promotion won.
  if (
    release.draft &&
    !existsSync(path.join(dirs.draftsDir, release.tag)) &&
    existsSync(path.join(dirs.releasesDir, release.tag))
  )
    throw new PromotionConflictError(`${release.tag} is already promoted`);
  const dir = assertDraft(dirs, release, 'delete');
  await assertOwn(dir, release.tag);
  // Out of the way first, so that a new claim on the tag never meets a half-deleted folder.
  const gone = `${dir}.deleting-${process.pid}`;
  await rm(gone, { recursive: true, force: true });
  await rename(dir, gone).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  await rm(gone, { recursive: true, force: true });
}

export async function downloadAsset(release: ReleaseDetails, asset: AssetInfo, file: string): Promise<void> {
  const src = String(asset.id ?? path.join(String(release.id), asset.name));
  if (!existsSync(src)) throw new CdlError(`release ${release.tag}: asset ${asset.name} not found (${src})`);
  await mkdir(path.dirname(file), { recursive: true });
  await copyFile(src, file);
}
