/**
 * The local forge, for `cdl run` and the CLI offline: the same content GitHub would get, written
 * under `.cdl/`; releases are git tags plus the model files under `.cdl/releases/<tag>/`.
 */
import { existsSync } from 'node:fs';
import { appendFile, copyFile, cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import { sha256File } from '../model-dir/checksums.js';
import { MODEL_FILES } from '../model-dir/files.js';
import { addToModelDir } from '../model-dir/index.js';
import { CdlError } from '../util/errors.js';
import { readJson, writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { releasesOfModel, releaseVersion } from './tags.js';
import { issueBody, issueSlug } from './issues.js';
import {
  PromotionConflictError,
  compareVersions,
  reportMarker,
  type AssetInfo,
  type DeploymentRecord,
  type DispatchRequest,
  type DispatchResult,
  type IssueRequest,
  type IssueResult,
  type DeploymentState,
  type DeploymentStatusUpdate,
  type NewDeployment,
  type Publication,
  type PublishResult,
  type RegistryForge,
  type ReleaseDetails,
  type ReleaseInfo,
  type KeptArtifact,
} from './types.js';

export const RELEASE_FILE = 'release.json';

/** The process that holds a draft: a draft is a promotion's exclusive claim on its tag. */
interface DraftOwner {
  pid: number;
  host: string;
  since: string;
}

interface LocalRelease extends ReleaseInfo {
  model?: string;
  draft?: boolean;
  body?: string;
  created_at?: string;
  owner?: DraftOwner;
  /** `sha256:<hex>` of each asset, taken once at upload (as GitHub reports an asset's digest). */
  digests?: Record<string, string>;
}

class DraftMovedError extends Error {}

export { PromotionConflictError } from './types.js';

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

interface LocalDeployment extends DeploymentRecord {
  statuses: Array<{ state: DeploymentState; description?: string; environment_url?: string; log_url?: string; time: string }>;
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

export class LocalForge implements RegistryForge {
  readonly root: string;
  readonly stateDir: string;

  /** The run's token under `cdl run` (an action's token input), for the results server's artifacts. */
  private readonly token: string;

  constructor(opts: { root?: string; stateDir?: string; token?: string } = {}) {
    this.token = opts.token ?? '';
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
    return mine.sort(
      (a, b) =>
        compareVersions(version(b), version(a)) || String(b.published_at ?? '').localeCompare(String(a.published_at ?? '')),
    );
  }

  async getRelease(tag: string): Promise<ReleaseInfo | undefined> {
    return (await this.allReleases()).find((r) => r.tag === tag);
  }

  async downloadRelease(release: ReleaseInfo): Promise<string> {
    const dir = String(release.id ?? path.join(this.releasesDir, release.tag));
    if (!existsSync(path.join(dir, MODEL_FILES.onnx)))
      throw new CdlError(`${dir}: release ${release.tag} has no ${MODEL_FILES.onnx}`);
    return dir;
  }

  async releaseMetrics(release: ReleaseInfo): Promise<Record<string, unknown> | undefined> {
    const file = path.join(String(release.id ?? path.join(this.releasesDir, release.tag)), MODEL_FILES.metrics);
    if (!existsSync(file)) return undefined;
    try {
      return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }

  async downloadArtifact(name: string): Promise<string> {
    const dir = path.join(this.stateDir, 'artifacts', name);
    if (!existsSync(dir))
      throw new CdlError(`artifact ${name}: not found; expected a folder ${dir} (local runs keep artifacts there)`);
    return dir;
  }

  /**
   * Inside a `cdl run` step, the results server of the run keeps every run's artifacts and serves
   * the Actions REST routes for them; outside one, `.cdl/artifacts/<name>` is the artifact.
   */
  async findArtifact(name: string, dest: string): Promise<KeptArtifact | undefined> {
    const e = process.env;
    const token = this.token || e.GITHUB_TOKEN;
    if (e.ACTIONS_RESULTS_URL && e.GITHUB_API_URL && e.GITHUB_REPOSITORY && token) {
      const { findRepoArtifact } = await import('../github/artifact.js');
      return findRepoArtifact(name, dest, { repository: e.GITHUB_REPOSITORY, token, apiUrl: e.GITHUB_API_URL });
    }
    const dir = path.join(this.stateDir, 'artifacts', name);
    if (!existsSync(dir)) return undefined;
    await rm(dest, { recursive: true, force: true });
    await cp(dir, dest, { recursive: true });
    return { dir: dest, run: 'local', created_at: (await stat(dir)).mtime.toISOString() };
  }

  /** Publish a model directory as release `tag`: copy its files and tag the commit (in a git checkout). */
  async createRelease(
    tag: string,
    modelDir: string,
    opts: { model?: string; commit?: string; gitTag?: boolean } = {},
  ): Promise<ReleaseInfo> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._@/-]*$/.test(tag) || tag.includes('..'))
      throw new CdlError(`invalid release tag ${JSON.stringify(tag)}`);
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
    const text = JSON.stringify(info, null, 2) + '\n';
    // The release's directory is a model directory: its SHA256SUMS, when present, covers this file too.
    if (existsSync(path.join(tmp, MODEL_FILES.checksums))) await addToModelDir(tmp, { [RELEASE_FILE]: text });
    else await writeFile(path.join(tmp, RELEASE_FILE), text);
    await rename(tmp, dest);
    if (isRepo && commit && opts.gitTag !== false) await git.raw(['tag', tag, commit]);
    return { ...info, id: dest };
  }

  get draftsDir(): string {
    return path.join(this.stateDir, 'drafts');
  }

  get deploymentsDir(): string {
    return path.join(this.stateDir, 'deployments');
  }

  private async details(dir: string, tag: string, draft: boolean): Promise<ReleaseDetails> {
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
      // A draft being written holds files on their way in (`.partial`, `release.json.tmp-<pid>`): not assets yet.
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

  async releaseDetails(tag: string): Promise<ReleaseDetails | undefined> {
    checkTag(tag);
    const published = path.join(this.releasesDir, tag);
    if (existsSync(published)) return this.details(published, tag, false);
    const draft = path.join(this.draftsDir, tag);
    if (!existsSync(draft)) return undefined;
    try {
      return await this.details(draft, tag, true);
    } catch (e) {
      // Published or deleted by its promotion while we read it: look again.
      if (!(e instanceof DraftMovedError) && (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      if (existsSync(published)) return this.details(published, tag, false);
      return existsSync(draft) ? this.details(draft, tag, true) : undefined;
    }
  }

  /**
   * The draft is the promotion's claim on the tag: it appears whole (release.json with the owner's
   * pid) by one rename, which fails when another process's draft is already there. No git tag yet.
   */
  async createDraftRelease(tag: string, opts: { commit: string | null; name?: string; body?: string }): Promise<ReleaseDetails> {
    checkTag(tag);
    if (existsSync(path.join(this.releasesDir, tag))) throw new PromotionConflictError(`${tag} is already promoted`);
    const dir = path.join(this.draftsDir, tag);
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
    return this.details(dir, tag, true);
  }

  private assertDraft(release: ReleaseDetails, what: string): string {
    const dir = path.join(this.draftsDir, release.tag);
    if (!release.draft || !existsSync(dir)) {
      throw new CdlError(
        `${what} ${release.tag}: the release is published and immutable; only a draft can change (HTTP 422 on GitHub)`,
      );
    }
    return dir;
  }

  async uploadAsset(release: ReleaseDetails, name: string, file: string): Promise<AssetInfo> {
    checkAssetName(name);
    const dir = this.assertDraft(release, `upload ${name} to`);
    const dest = path.join(dir, name);
    if (existsSync(dest)) throw new CdlError(`release ${release.tag} already has an asset ${name}`);
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
  private async assertOwn(dir: string, tag: string): Promise<void> {
    const owner = await draftOwner(dir);
    if (owner && owner.pid !== process.pid && ownerAlive(owner)) throw beingPromoted(tag, owner, dir);
  }

  /**
   * Publish: the git tag is made only now, with every asset in place, and the draft becomes the
   * release by one rename; a tag made here is removed again when that rename fails.
   */
  async publishRelease(release: ReleaseDetails): Promise<ReleaseDetails> {
    const dir = this.assertDraft(release, 'publish');
    await this.assertOwn(dir, release.tag);
    const dest = path.join(this.releasesDir, release.tag);
    if (existsSync(dest)) throw new PromotionConflictError(`${release.tag} is already promoted`);
    const { owner, ...info } = JSON.parse(await readFile(path.join(dir, RELEASE_FILE), 'utf8')) as LocalRelease;
    const published: LocalRelease = { ...info, draft: false, published_at: new Date().toISOString() };
    // The owner stays in the draft's release.json until the rename below: a draft without one reads
    // as left by an interrupted promotion, which another promotion would delete mid-publish.
    await writeJsonAtomic(path.join(dir, RELEASE_FILE), { ...published, owner });
    const git = simpleGit(this.root);
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
      await mkdir(this.releasesDir, { recursive: true });
      await rename(dir, dest);
    } catch (e) {
      if (tagged) await git.raw(['tag', '-d', release.tag]).catch(() => {});
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTEMPTY') throw new PromotionConflictError(`${release.tag} is already promoted`);
      throw e;
    }
    await writeJsonAtomic(path.join(dest, RELEASE_FILE), published);
    return this.details(dest, release.tag, false);
  }

  /** Delete a draft: ours, or one whose promotion died; never one another live process is writing. */
  async deleteDraft(release: ReleaseDetails): Promise<void> {
    // Published by its owner since it was read: that promotion won.
    if (
      release.draft &&
      !existsSync(path.join(this.draftsDir, release.tag)) &&
      existsSync(path.join(this.releasesDir, release.tag))
    )
      throw new PromotionConflictError(`${release.tag} is already promoted`);
    const dir = this.assertDraft(release, 'delete');
    await this.assertOwn(dir, release.tag);
    // Out of the way first, so that a new claim on the tag never meets a half-deleted folder.
    const gone = `${dir}.deleting-${process.pid}`;
    await rm(gone, { recursive: true, force: true });
    await rename(dir, gone).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await rm(gone, { recursive: true, force: true });
  }

  async downloadAsset(release: ReleaseDetails, asset: AssetInfo, file: string): Promise<void> {
    const src = String(asset.id ?? path.join(String(release.id), asset.name));
    if (!existsSync(src)) throw new CdlError(`release ${release.tag}: asset ${asset.name} not found (${src})`);
    await mkdir(path.dirname(file), { recursive: true });
    await copyFile(src, file);
  }

  private deploymentsFile(model: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(model)) throw new CdlError(`invalid model name ${JSON.stringify(model)}`);
    return path.join(this.deploymentsDir, `${model}.json`);
  }

  private async readDeployments(model: string): Promise<LocalDeployment[]> {
    return (await readJson<LocalDeployment[]>(this.deploymentsFile(model))) ?? [];
  }

  async createDeployment(d: NewDeployment): Promise<DeploymentRecord> {
    const all = await this.readDeployments(d.model);
    const rec: LocalDeployment = {
      id: all.reduce((m, x) => Math.max(m, Number(x.id)), 0) + 1,
      model: d.model,
      environment: d.environment,
      tag: d.tag,
      version: d.version,
      commit: d.commit,
      created_at: new Date().toISOString(),
      state: 'queued',
      description: d.description,
      environment_url: null,
      payload: d.payload ?? {},
      statuses: [{ state: 'queued', description: d.description, time: new Date().toISOString() }],
    };
    all.push(rec);
    await writeJsonAtomic(this.deploymentsFile(d.model), all);
    return strip(rec);
  }

  async setDeploymentStatus(
    d: DeploymentRecord,
    state: DeploymentState,
    update: DeploymentStatusUpdate = {},
  ): Promise<DeploymentRecord> {
    const all = await this.readDeployments(d.model);
    const rec = all.find((x) => String(x.id) === String(d.id));
    if (!rec) throw new CdlError(`deployment ${d.id} of ${d.model} not found`);
    const time = new Date().toISOString();
    rec.state = state;
    if (update.description) rec.description = update.description;
    if (update.environmentUrl) rec.environment_url = update.environmentUrl;
    rec.statuses.push({
      state,
      description: update.description,
      environment_url: update.environmentUrl,
      log_url: update.logUrl,
      time,
    });
    // As GitHub does (auto_inactive): a success makes the earlier successes of the environment inactive.
    if (state === 'success') {
      for (const o of all) {
        if (o !== rec && o.environment === rec.environment && o.state === 'success') {
          o.state = 'inactive';
          o.statuses.push({ state: 'inactive', time });
        }
      }
    }
    await writeJsonAtomic(this.deploymentsFile(d.model), all);
    return strip(rec);
  }

  async listDeployments(model: string, environment?: string): Promise<DeploymentRecord[]> {
    return (await this.readDeployments(model))
      .filter((d) => !environment || d.environment === environment)
      .sort((a, b) => Number(b.id) - Number(a.id))
      .map(strip);
  }

  async publish(p: Publication): Promise<PublishResult> {
    const dir = this.reportDir(p.model);
    const commentFile = path.join(dir, 'comment.md');
    const existed = existsSync(commentFile);
    const body = `${reportMarker(p.model)}\n${p.markdown}`;
    await writeFileAtomic(commentFile, body);
    await writeFileAtomic(path.join(dir, 'report.html'), p.html);
    await writeFileAtomic(path.join(dir, 'summary.md'), p.markdown);
    const state = p.decision === 'blessed' ? 'success' : 'failure';
    const context = `cdl/evaluate-gate (${p.model})`;
    await writeFileAtomic(
      path.join(dir, 'status.json'),
      JSON.stringify({ state, context, description: p.description, time: new Date().toISOString() }, null, 2) + '\n',
    );
    // Inside a `cdl run` job the step summary is the job summary, as on GitHub.
    if (process.env.GITHUB_STEP_SUMMARY) await appendFile(process.env.GITHUB_STEP_SUMMARY, `${p.markdown}\n`);
    return {
      comment: { id: commentFile, action: existed ? 'updated' : 'created' },
      status: { state, context },
      summary: true,
      files: ['comment.md', 'report.html', 'summary.md', 'status.json'].map((f) => path.join(dir, f)),
      notes: [],
    };
  }

  async upsertIssue(req: IssueRequest): Promise<IssueResult> {
    const file = path.join(this.stateDir, 'issues', `${issueSlug(req.marker)}.md`);
    const exists = existsSync(file) && !/^state: closed$/m.test(await readFile(file, 'utf8'));
    if (!exists && !req.create) return { action: 'none' };
    const body = issueBody(req.marker, req.body);
    await writeFileAtomic(file, `# ${req.title}\n\nstate: open\nlabels: ${(req.labels ?? []).join(', ')}\n\n${body}\n`);
    return { action: exists ? 'updated' : 'created', file };
  }

  async dispatchWorkflow(req: DispatchRequest): Promise<DispatchResult> {
    const ref = req.ref ?? 'HEAD';
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const file = path.join(this.stateDir, 'dispatches', `${stamp}-${req.workflow.replace(/[^A-Za-z0-9._-]+/g, '-')}.json`);
    await writeFileAtomic(
      file,
      JSON.stringify(
        { workflow: req.workflow, ref, inputs: req.inputs ?? {}, run: `cdl run ${req.workflow} -e workflow_dispatch` },
        null,
        2,
      ) + '\n',
    );
    return { workflow: req.workflow, ref, file };
  }

  async commitOfTag(tag: string): Promise<string | null> {
    return (
      (
        await simpleGit(this.root)
          .revparse([`${tag}^{commit}`])
          .catch(() => '')
      ).trim() || null
    );
  }

  /** Local releases are not signed: the unsigned statement is their provenance. */
  async signProvenance(): Promise<undefined> {
    return undefined;
  }
}

function strip(d: LocalDeployment): DeploymentRecord {
  const { statuses: _statuses, ...rest } = d;
  return rest;
}
