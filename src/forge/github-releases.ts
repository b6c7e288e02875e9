/**
 * Published GitHub releases as the evaluation reads them: the releases of a model, one by tag, and
 * a release's model directory, metrics and assets (the asset list is read once per release).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MODEL_FILES, RELEASED_FILES } from '../model-dir/files.js';
import { CdlError } from '../util/errors.js';
import { httpStatus, releaseInfo, type GitHubRepo } from './github-repo.js';
import { releasesOfModel } from './tags.js';
import type { AssetInfo, ReleaseInfo } from './types.js';

/** The model directory's files a release carries. */
const MODEL_ASSETS = RELEASED_FILES;

/** The asset holding `file` of a model directory: `model.onnx`, or `<anything>-model.onnx`. */
function pick(assets: Array<{ id: number; name: string }>, file: string) {
  return assets.find((a) => a.name === file) ?? assets.find((a) => a.name.endsWith(`-${file}`));
}

export class GitHubReleases {
  private readonly assetCache = new Map<number, Array<{ id: number; name: string }>>();

  constructor(
    private readonly gh: GitHubRepo,
    private readonly log: (line: string) => void,
  ) {}

  async list(model: string): Promise<ReleaseInfo[]> {
    const { owner, repo, octokit } = this.gh;
    const all: ReleaseInfo[] = [];
    // Newest first; three pages (300 releases) reach far enough back for a baseline and a chart.
    for (let page = 1; page <= 3; page++) {
      const res = await octokit.rest.repos.listReleases({ owner, repo, per_page: 100, page });
      for (const r of res.data) {
        if (!r.draft && !r.prerelease) all.push(releaseInfo(r));
      }
      if (res.data.length < 100) break;
    }
    return releasesOfModel(all, model);
  }

  async get(tag: string): Promise<ReleaseInfo | undefined> {
    const { owner, repo, octokit } = this.gh;
    try {
      const { data } = await octokit.rest.repos.getReleaseByTag({ owner, repo, tag });
      return releaseInfo(data);
    } catch (e) {
      if (httpStatus(e) === 404) return undefined;
      throw e;
    }
  }

  /** Forget the assets listed for a release (an asset was added). */
  forget(releaseId: number): void {
    this.assetCache.delete(releaseId);
  }

  private async assets(release: ReleaseInfo): Promise<Array<{ id: number; name: string }>> {
    const id = Number(release.id);
    const cached = this.assetCache.get(id);
    if (cached) return cached;
    const res = await this.gh.octokit.rest.repos.listReleaseAssets({
      owner: this.gh.owner,
      repo: this.gh.repo,
      release_id: id,
      per_page: 100,
    });
    const list = res.data.map((a) => ({ id: a.id, name: a.name }));
    this.assetCache.set(id, list);
    return list;
  }

  private async assetBytes(id: number): Promise<Uint8Array> {
    const res = await this.gh.octokit.rest.repos.getReleaseAsset({
      owner: this.gh.owner,
      repo: this.gh.repo,
      asset_id: id,
      headers: { accept: 'application/octet-stream' },
    });
    const data = res.data as unknown;
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (typeof data === 'string') return new TextEncoder().encode(data);
    return new TextEncoder().encode(JSON.stringify(data));
  }

  async download(release: ReleaseInfo, dest: string): Promise<string> {
    const assets = await this.assets(release);
    if (!pick(assets, MODEL_FILES.onnx)) {
      throw new CdlError(
        `release ${release.tag} has no model.onnx asset (assets: ${assets.map((a) => a.name).join(', ') || 'none'}); expected the model directory's files`,
      );
    }
    await mkdir(dest, { recursive: true });
    for (const f of MODEL_ASSETS) {
      const a = pick(assets, f);
      if (a) await writeFile(path.join(dest, f), await this.assetBytes(a.id));
    }
    this.log(`baseline: release ${release.tag} of ${this.gh.owner}/${this.gh.repo} downloaded to ${dest}`);
    return dest;
  }

  async downloadAsset(asset: AssetInfo, file: string): Promise<void> {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, await this.assetBytes(Number(asset.id)));
  }

  async metrics(release: ReleaseInfo): Promise<Record<string, unknown> | undefined> {
    const a = pick(await this.assets(release), MODEL_FILES.metrics);
    if (!a) return undefined;
    try {
      return JSON.parse(new TextDecoder().decode(await this.assetBytes(a.id))) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
}
