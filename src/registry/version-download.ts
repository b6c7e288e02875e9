/**
 * The model of a released version, downloaded and verified: from the release's assets (every one
 * against SHA256SUMS and the forge's digest), or from the commit's workflow artifact when the
 * release has no model assets.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RegistryForge, ReleaseDetails } from '../forge/types.js';
import { CHECKSUMS_FILE, ChecksumError, parseChecksums, verifyChecksums } from '../model-dir/checksums.js';
import { adoptModelDir, openModelDir, type OpenedModelDir } from '../model-dir/index.js';
import { CdlError } from '../util/errors.js';
import { assembleModelDir, DESCRIPTIVE_ASSETS, stageAssets } from './assets.js';

export interface DownloadedModel {
  dir: OpenedModelDir;
  /** The files whose SHA-256 was checked. */
  verified: string[];
}

/** The release's model assets, each checked against SHA256SUMS, assembled as a model directory at `dest`. */
export async function modelFromRelease(
  forge: RegistryForge,
  release: ReleaseDetails,
  tag: string,
  flat: string,
  dest: string,
): Promise<DownloadedModel> {
  const sumsAsset = release.assets.find((a) => a.name === CHECKSUMS_FILE)!;
  await forge.downloadAsset(release, sumsAsset, path.join(flat, CHECKSUMS_FILE));
  const sums = parseChecksums(await readFile(path.join(flat, CHECKSUMS_FILE), 'utf8'), `${tag}/${CHECKSUMS_FILE}`);
  const bad: string[] = [];
  for (const [name, hash] of sums) {
    const asset = release.assets.find((a) => a.name === name);
    if (!asset) {
      bad.push(`${name}: listed in SHA256SUMS but not attached to ${tag}`);
      continue;
    }
    if (asset.digest && asset.digest !== `sha256:${hash}`)
      bad.push(`${name}: the forge reports ${asset.digest}, SHA256SUMS says sha256:${hash}`);
    await forge.downloadAsset(release, asset, path.join(flat, name));
  }
  for (const f of DESCRIPTIVE_ASSETS) {
    const a = release.assets.find((x) => x.name === f);
    if (a) await forge.downloadAsset(release, a, path.join(flat, f));
  }
  const report = await verifyChecksums(flat);
  for (const m of report.mismatches)
    bad.push(`${m.file}: SHA-256 ${m.actual ?? '(missing)'} does not match ${m.expected} in SHA256SUMS`);
  if (bad.length) throw new ChecksumError(`release ${tag} fails verification: ${bad.join('; ')}`);
  const dir = await adoptModelDir(dest, await assembleModelDir(flat, sums, dest));
  return { dir, verified: report.verified };
}

/** The workflow artifact `model-<sha>` of the release's commit, verified, as a model directory at `dest`. */
export async function modelFromArtifact(
  forge: RegistryForge,
  release: ReleaseDetails,
  tag: string,
  flat: string,
  dest: string,
  note: (line: string) => void,
): Promise<DownloadedModel> {
  const commit = release.commit && /^[0-9a-f]{40}$/.test(release.commit) ? release.commit : await forge.commitOfTag(tag);
  if (!commit)
    throw new CdlError(
      `release ${tag} has no model assets and its commit is unknown, so there is no artifact model-<sha> to take the model from`,
    );
  const name = `model-${commit}`;
  note(
    `release ${tag} has no model assets (published by hand; a published release does not take assets afterwards): taking the model from the workflow artifact ${name}`,
  );
  const got = await forge.downloadArtifact(name, flat);
  // A downloaded artifact is a trust boundary: SHA256SUMS must be there and cover every file.
  const opened = await openModelDir(got, { requireChecksums: true }).catch((e: unknown) => {
    throw new ChecksumError(`artifact ${name} fails verification: ${(e as Error).message}`);
  });
  const staged = await stageAssets(opened, path.join(flat, '.staged'));
  const dir = await adoptModelDir(dest, await assembleModelDir(staged.dir, staged.sums, dest));
  return { dir, verified: [...opened.sums!.keys()] };
}
