/**
 * The local forge, for `cdl run` and the CLI offline: the same content GitHub would get, written
 * under `.cdl/`; releases are git tags plus the model files under `.cdl/releases/<tag>/`.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import { CdlError } from '../util/errors.js';
import {
  compareVersions,
  releasesOfModel,
  releaseVersion,
  reportMarker,
  type Forge,
  type Publication,
  type PublishResult,
  type ReleaseInfo,
} from './types.js';

export const RELEASE_FILE = 'release.json';

interface LocalRelease extends ReleaseInfo {
  model?: string;
}

async function writeAtomic(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, content);
  await rename(tmp, file);
}

export class LocalForge implements Forge {
  readonly kind = 'local' as const;
  readonly root: string;
  readonly stateDir: string;

  constructor(opts: { root?: string; stateDir?: string } = {}) {
    this.root = path.resolve(opts.root ?? process.cwd());
    this.stateDir = path.resolve(this.root, opts.stateDir ?? '.cdl');
  }

  describe(): string {
    return `local files under ${this.stateDir}`;
  }

  get releasesDir(): string {
    return path.join(this.stateDir, 'releases');
  }

  reportDir(model: string): string {
    return path.join(this.stateDir, 'reports', model);
  }

  private async allReleases(): Promise<LocalRelease[]> {
    if (!existsSync(this.releasesDir)) return [];
    const out: LocalRelease[] = [];
    for (const e of await readdir(this.releasesDir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const dir = path.join(this.releasesDir, e.name);
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

  async listReleases(model: string): Promise<ReleaseInfo[]> {
    const mine = releasesOfModel(await this.allReleases(), model);
    const version = (r: ReleaseInfo) => releaseVersion(r.tag, model) ?? r.tag;
    return mine.sort((a, b) => compareVersions(version(b), version(a)) || String(b.published_at ?? '').localeCompare(String(a.published_at ?? '')));
  }

  async getRelease(tag: string): Promise<ReleaseInfo | undefined> {
    return (await this.allReleases()).find((r) => r.tag === tag);
  }

  async downloadRelease(release: ReleaseInfo): Promise<string> {
    const dir = String(release.id ?? path.join(this.releasesDir, release.tag));
    if (!existsSync(path.join(dir, 'model.onnx'))) throw new CdlError(`${dir}: release ${release.tag} has no model.onnx`);
    return dir;
  }

  async releaseMetrics(release: ReleaseInfo): Promise<Record<string, unknown> | undefined> {
    const file = path.join(String(release.id ?? path.join(this.releasesDir, release.tag)), 'metrics.json');
    if (!existsSync(file)) return undefined;
    try {
      return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }

  async downloadArtifact(name: string): Promise<string> {
    const dir = path.join(this.stateDir, 'artifacts', name);
    if (!existsSync(dir)) throw new CdlError(`artifact ${name}: not found; expected a folder ${dir} (local runs keep artifacts there)`);
    return dir;
  }

  /** Publish a model directory as release `tag`: copy its files and tag the commit (in a git checkout). */
  async createRelease(tag: string, modelDir: string, opts: { model?: string; commit?: string; gitTag?: boolean } = {}): Promise<ReleaseInfo> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._@/-]*$/.test(tag) || tag.includes('..')) throw new CdlError(`invalid release tag ${JSON.stringify(tag)}`);
    const dest = path.join(this.releasesDir, tag);
    if (existsSync(dest)) throw new CdlError(`release ${tag} already exists (${dest})`);
    let commit = opts.commit ?? null;
    const git = simpleGit(this.root);
    const isRepo = await git.checkIsRepo().catch(() => false);
    if (isRepo && !commit) commit = (await git.revparse(['HEAD']).catch(() => '')) || null;
    const tmp = `${dest}.partial-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(path.dirname(tmp), { recursive: true });
    await cp(modelDir, tmp, { recursive: true });
    const info: LocalRelease = { tag, model: opts.model, commit, published_at: new Date().toISOString() };
    await writeFile(path.join(tmp, RELEASE_FILE), JSON.stringify(info, null, 2) + '\n');
    await rename(tmp, dest);
    if (isRepo && commit && opts.gitTag !== false) await git.raw(['tag', tag, commit]);
    return { ...info, id: dest };
  }

  async publish(p: Publication): Promise<PublishResult> {
    const dir = this.reportDir(p.model);
    const commentFile = path.join(dir, 'comment.md');
    const existed = existsSync(commentFile);
    const body = `${reportMarker(p.model)}\n${p.markdown}`;
    await writeAtomic(commentFile, body);
    await writeAtomic(path.join(dir, 'report.html'), p.html);
    await writeAtomic(path.join(dir, 'summary.md'), p.markdown);
    const state = p.decision === 'blessed' ? 'success' : 'failure';
    const context = `cdl/evaluate-gate (${p.model})`;
    await writeAtomic(
      path.join(dir, 'status.json'),
      JSON.stringify({ state, context, description: p.description, time: new Date().toISOString() }, null, 2) + '\n',
    );
    return {
      comment: { id: commentFile, action: existed ? 'updated' : 'created' },
      status: { state, context },
      summary: true,
      files: ['comment.md', 'report.html', 'summary.md', 'status.json'].map((f) => path.join(dir, f)),
      notes: [],
    };
  }
}
