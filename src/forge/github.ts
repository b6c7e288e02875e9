/**
 * The GitHub forge, through the official toolkit: releases and their assets, workflow artifacts,
 * one pull-request comment per model (found by a hidden marker, updated on every push), a commit
 * status with the verdict, and the job summary.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import * as github from '@actions/github';
import { downloadModelDir, findRepoArtifact } from '../github/artifact.js';
import { MODEL_FILES, RELEASED_FILES } from '../model-dir/files.js';
import { CdlError, UsageError } from '../util/errors.js';
import {
  PromotionConflictError,
  releasesOfModel,
  reportMarker,
  type AssetInfo,
  type DeploymentRecord,
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

/** GitHub refuses comments longer than this. */
export const MAX_COMMENT = 65_536;
/** The model directory's files a release carries. */
const MODEL_ASSETS = RELEASED_FILES;

export interface GitHubForgeOptions {
  token: string;
  /** owner/name; default $GITHUB_REPOSITORY. */
  repository?: string;
  /** default $GITHUB_API_URL or https://api.github.com. */
  apiUrl?: string;
  /** The event payload file; default $GITHUB_EVENT_PATH. */
  eventPath?: string;
  sha?: string;
  log?: (line: string) => void;
  /** How long a promotion's claim on a tag lasts without renewal (default one hour). */
  claimTtlMs?: number;
}

interface EventPayload {
  pull_request?: { number: number; head?: { sha?: string } };
  issue?: { number: number; pull_request?: unknown };
  number?: number;
}

type Octokit = ReturnType<typeof github.getOctokit>;

interface ApiRelease {
  id: number;
  tag_name: string;
  name?: string | null;
  published_at?: string | null;
  target_commitish?: string;
  html_url?: string;
  upload_url?: string;
  draft?: boolean;
  immutable?: boolean;
  body?: string | null;
  assets?: Array<{ id: number; name: string; size: number; digest?: string | null }>;
}

interface ApiDeployment {
  id: number;
  ref: string;
  sha: string;
  task: string;
  environment: string;
  description?: string | null;
  created_at: string;
  payload: unknown;
}

/** The `task` of a deployment of `model`: deployments of several models share the environments. */
export const deploymentTask = (model: string) => `deploy:${model}`;

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function status(e: unknown): number | undefined {
  return (e as { status?: number }).status;
}

function alreadyPromoted(tag: string, e: unknown): CdlError {
  return new PromotionConflictError(
    `${tag} is already promoted (GitHub refused the release: HTTP 422 ${(e as Error).message.split('\n')[0]})`,
  );
}

/**
 * A promotion's claim on a tag, kept in its draft's body: who holds it and until when. A draft has
 * no git tag and only people with push access see it, so an interrupted promotion stays invisible;
 * its claim runs out (or its process is gone, on this host) and the next promotion replaces it.
 */
export interface PromotionClaim {
  pid: number;
  host: string;
  since: string;
  until: string;
}

const CLAIM_LINE = /\n*<!-- cdl-promotion-claim (\{[^\n]*?\}) -->\n*$/;
const DEFAULT_CLAIM_TTL_MS = 60 * 60_000;

export function claimOf(body: string | null | undefined): PromotionClaim | undefined {
  const m = CLAIM_LINE.exec(body ?? '');
  if (!m) return undefined;
  const c = safeJson(m[1]!) as Partial<PromotionClaim> | null;
  if (!c || !Number.isInteger(c.pid) || typeof c.host !== 'string' || typeof c.since !== 'string' || typeof c.until !== 'string')
    return undefined;
  return c as PromotionClaim;
}

export function withClaim(body: string, claim: PromotionClaim): string {
  return `${body.replace(CLAIM_LINE, '')}${body ? '\n\n' : ''}<!-- cdl-promotion-claim ${JSON.stringify(claim)} -->`;
}

/** Whether the promotion holding a claim may still be at work: not expired, and (on this host) its process alive. */
function claimLive(c: PromotionClaim | undefined, now = Date.now()): c is PromotionClaim {
  if (!c) return false;
  const until = Date.parse(c.until);
  if (!Number.isFinite(until) || until <= now) return false;
  if (c.host !== os.hostname() || c.pid === process.pid) return true;
  try {
    process.kill(c.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function beingPromoted(tag: string, c: PromotionClaim, id: number | string | undefined, repo: string): PromotionConflictError {
  const here = c.host === os.hostname();
  return new PromotionConflictError(
    `${tag} is already being promoted (by pid ${c.pid}${here ? '' : ` on ${c.host}`} since ${c.since}; its claim lasts until ${c.until}); ` +
      `wait for it to finish, or, if that promotion is gone, delete its draft release ${id} of ${repo} (or wait until the claim runs out) and promote again`,
  );
}

export class GitHubForge implements RegistryForge {
  readonly kind = 'github' as const;
  readonly owner: string;
  readonly repo: string;
  readonly octokit: Octokit;
  /** The pull request of the triggering event, if any. */
  readonly pullRequest?: number;
  /** The commit the verdict belongs to: the pull request's head, else $GITHUB_SHA. */
  readonly sha?: string;
  private readonly log: (line: string) => void;
  private readonly token: string;
  private readonly assetCache = new Map<number, Array<{ id: number; name: string }>>();
  private readonly claimTtlMs: number;
  /** This process's drafts: the release notes without the claim, the claim and when it was last renewed. */
  private readonly claims = new Map<number, { body: string; claim: PromotionClaim; renewed: number }>();
  /** The drafts as createDraftRelease handed them out: only the promotion holding one may delete it. */
  private readonly own = new WeakSet<ReleaseDetails>();

  constructor(opts: GitHubForgeOptions) {
    const repository = opts.repository ?? process.env.GITHUB_REPOSITORY ?? '';
    const [owner, repo, ...rest] = repository.split('/');
    if (!owner || !repo || rest.length)
      throw new UsageError(`Invalid repository '${repository}'. Expected format {owner}/{repo}.`);
    this.owner = owner;
    this.repo = repo;
    this.log = opts.log ?? (() => {});
    this.token = opts.token;
    this.claimTtlMs = opts.claimTtlMs ?? DEFAULT_CLAIM_TTL_MS;
    const baseUrl = (opts.apiUrl ?? process.env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, '');
    this.octokit = github.getOctokit(opts.token, { baseUrl });
    let payload: EventPayload = {};
    const eventPath = opts.eventPath ?? process.env.GITHUB_EVENT_PATH;
    if (eventPath && existsSync(eventPath)) {
      try {
        payload = JSON.parse(readFileSync(eventPath, 'utf8')) as EventPayload;
      } catch {
        payload = {};
      }
    }
    this.pullRequest = payload.pull_request?.number ?? (payload.issue?.pull_request ? payload.issue.number : undefined);
    this.sha = payload.pull_request?.head?.sha ?? opts.sha ?? process.env.GITHUB_SHA;
  }

  describe(): string {
    return `${this.owner}/${this.repo} on GitHub`;
  }

  async listReleases(model: string): Promise<ReleaseInfo[]> {
    const all: ReleaseInfo[] = [];
    // Newest first; three pages (300 releases) reach far enough back for a baseline and a chart.
    for (let page = 1; page <= 3; page++) {
      const res = await this.octokit.rest.repos.listReleases({ owner: this.owner, repo: this.repo, per_page: 100, page });
      for (const r of res.data) {
        if (r.draft || r.prerelease) continue;
        all.push({
          tag: r.tag_name,
          name: r.name,
          published_at: r.published_at,
          commit: r.target_commitish,
          url: r.html_url,
          id: r.id,
        });
      }
      if (res.data.length < 100) break;
    }
    return releasesOfModel(all, model);
  }

  async getRelease(tag: string): Promise<ReleaseInfo | undefined> {
    try {
      const { data: r } = await this.octokit.rest.repos.getReleaseByTag({ owner: this.owner, repo: this.repo, tag });
      return {
        tag: r.tag_name,
        name: r.name,
        published_at: r.published_at,
        commit: r.target_commitish,
        url: r.html_url,
        id: r.id,
      };
    } catch (e) {
      if (status(e) === 404) return undefined;
      throw e;
    }
  }

  private async assets(release: ReleaseInfo): Promise<Array<{ id: number; name: string }>> {
    const id = Number(release.id);
    const cached = this.assetCache.get(id);
    if (cached) return cached;
    const res = await this.octokit.rest.repos.listReleaseAssets({
      owner: this.owner,
      repo: this.repo,
      release_id: id,
      per_page: 100,
    });
    const list = res.data.map((a) => ({ id: a.id, name: a.name }));
    this.assetCache.set(id, list);
    return list;
  }

  private async assetBytes(id: number): Promise<Uint8Array> {
    const res = await this.octokit.rest.repos.getReleaseAsset({
      owner: this.owner,
      repo: this.repo,
      asset_id: id,
      headers: { accept: 'application/octet-stream' },
    });
    const data = res.data as unknown;
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (typeof data === 'string') return new TextEncoder().encode(data);
    return new TextEncoder().encode(JSON.stringify(data));
  }

  /** The asset holding `file` of a model directory: `model.onnx`, or `<anything>-model.onnx`. */
  private static pick(assets: Array<{ id: number; name: string }>, file: string) {
    return assets.find((a) => a.name === file) ?? assets.find((a) => a.name.endsWith(`-${file}`));
  }

  async downloadRelease(release: ReleaseInfo, dest: string): Promise<string> {
    const assets = await this.assets(release);
    if (!GitHubForge.pick(assets, MODEL_FILES.onnx)) {
      throw new CdlError(
        `release ${release.tag} has no model.onnx asset (assets: ${assets.map((a) => a.name).join(', ') || 'none'}); expected the model directory's files`,
      );
    }
    await mkdir(dest, { recursive: true });
    for (const f of MODEL_ASSETS) {
      const a = GitHubForge.pick(assets, f);
      if (a) await writeFile(path.join(dest, f), await this.assetBytes(a.id));
    }
    this.log(`baseline: release ${release.tag} of ${this.owner}/${this.repo} downloaded to ${dest}`);
    return dest;
  }

  async releaseMetrics(release: ReleaseInfo): Promise<Record<string, unknown> | undefined> {
    const a = GitHubForge.pick(await this.assets(release), MODEL_FILES.metrics);
    if (!a) return undefined;
    try {
      return JSON.parse(new TextDecoder().decode(await this.assetBytes(a.id))) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }

  /**
   * A workflow artifact holding a model directory: from this run, else from the newest run of the
   * repository that uploaded one by that name (a release deploys the artifact of its commit's run).
   */
  async downloadArtifact(name: string, dest: string): Promise<string> {
    try {
      return await downloadModelDir(name, dest);
    } catch (e) {
      const found = await this.findArtifact(name, dest);
      if (!found)
        throw new CdlError(
          `artifact ${name}: not in this run (${(e as Error).message}) nor in any run of ${this.owner}/${this.repo}`,
        );
      return found.dir;
    }
  }

  async findArtifact(name: string, dest: string): Promise<KeptArtifact | undefined> {
    return findRepoArtifact(name, dest, {
      repository: `${this.owner}/${this.repo}`,
      token: this.token,
      apiUrl: this.octokit.request.endpoint.DEFAULTS.baseUrl,
      log: this.log,
    });
  }

  private details(r: ApiRelease): ReleaseDetails {
    return {
      tag: r.tag_name,
      name: r.name,
      published_at: r.published_at,
      commit: r.target_commitish,
      url: r.html_url,
      id: r.id,
      draft: Boolean(r.draft),
      immutable: Boolean(r.immutable),
      assets: (r.assets ?? []).map((a) => ({ name: a.name, size: a.size, digest: a.digest ?? null, id: a.id })),
      ...(r.upload_url ? { uploadUrl: r.upload_url } : {}),
      ...(r.draft ? { claim: claimOf(r.body) } : {}),
    };
  }

  /** Drafts of `tag` among the newest releases (drafts are not found by tag). */
  private async drafts(tag: string): Promise<ApiRelease[]> {
    const { data } = await this.octokit.rest.repos.listReleases({ owner: this.owner, repo: this.repo, per_page: 100 });
    return (data as ApiRelease[]).filter((r) => r.draft && r.tag_name === tag);
  }

  private newClaim(): PromotionClaim {
    const now = Date.now();
    return {
      pid: process.pid,
      host: os.hostname(),
      since: new Date(now).toISOString(),
      until: new Date(now + this.claimTtlMs).toISOString(),
    };
  }

  /** Keep our claim from running out while a long upload goes on. */
  private async renewClaim(release: ReleaseDetails): Promise<void> {
    const mine = this.claims.get(Number(release.id));
    if (!mine || Date.now() - mine.renewed < this.claimTtlMs / 4) return;
    const claim = { ...mine.claim, until: new Date(Date.now() + this.claimTtlMs).toISOString() };
    await this.octokit.rest.repos
      .updateRelease({ owner: this.owner, repo: this.repo, release_id: Number(release.id), body: withClaim(mine.body, claim) })
      .catch((e: unknown) => {
        throw status(e) === 404 ? this.draftGone(release) : e;
      });
    this.claims.set(Number(release.id), { ...mine, claim, renewed: Date.now() });
  }

  private draftGone(release: ReleaseDetails): PromotionConflictError {
    return new PromotionConflictError(
      `the draft of ${release.tag} (release ${release.id}) was deleted while this promotion wrote it: another promotion took the tag over; nothing was published by this one`,
    );
  }

  async releaseDetails(tag: string): Promise<ReleaseDetails | undefined> {
    try {
      const { data } = await this.octokit.rest.repos.getReleaseByTag({ owner: this.owner, repo: this.repo, tag });
      return this.details(data as ApiRelease);
    } catch (e) {
      if (status(e) !== 404) throw e;
    }
    // Drafts are not found by tag: look through the newest releases, the oldest draft (the claim holder) first.
    const draft = (await this.drafts(tag)).sort((a, b) => a.id - b.id)[0];
    return draft ? this.details(draft) : undefined;
  }

  /**
   * A draft has no git tag on GitHub: the tag is made when the release is published. The draft is
   * the promotion's claim on the tag. GitHub lets several drafts share a tag, so after creating
   * ours we look at all of them: of the drafts whose claim is live, the oldest (lowest id) holds
   * the tag; any other promotion deletes its own draft and stops with "already being promoted".
   * The holder deletes drafts whose claim ran out (interrupted promotions).
   */
  async createDraftRelease(tag: string, opts: { commit: string | null; name?: string; body?: string }): Promise<ReleaseDetails> {
    const body = opts.body ?? '';
    const claim = this.newClaim();
    let mine: ReleaseDetails;
    try {
      const { data } = await this.octokit.rest.repos.createRelease({
        owner: this.owner,
        repo: this.repo,
        tag_name: tag,
        ...(opts.commit ? { target_commitish: opts.commit } : {}),
        name: opts.name ?? tag,
        body: withClaim(body, claim),
        draft: true,
      });
      mine = this.details(data as ApiRelease);
    } catch (e) {
      if (status(e) === 422) throw alreadyPromoted(tag, e);
      throw e;
    }
    const id = Number(mine.id);
    this.claims.set(id, { body, claim, renewed: Date.now() });
    const others = (await this.drafts(tag)).filter((d) => d.id !== id);
    const holder = others.filter((d) => d.id < id && claimLive(claimOf(d.body))).sort((a, b) => a.id - b.id)[0];
    if (holder) {
      this.claims.delete(id);
      await this.octokit.rest.repos.deleteRelease({ owner: this.owner, repo: this.repo, release_id: id }).catch(() => {});
      throw beingPromoted(tag, claimOf(holder.body)!, holder.id, `${this.owner}/${this.repo}`);
    }
    for (const stale of others.filter((d) => !claimLive(claimOf(d.body)))) {
      this.log(
        `deleting draft ${stale.id} of ${tag}: left by an interrupted promotion (its claim ran out or its process is gone)`,
      );
      await this.octokit.rest.repos
        .deleteRelease({ owner: this.owner, repo: this.repo, release_id: stale.id })
        .catch((e: unknown) => {
          if (status(e) !== 404) throw e;
        });
    }
    this.own.add(mine);
    return mine;
  }

  async uploadAsset(release: ReleaseDetails, name: string, file: string): Promise<AssetInfo> {
    if (!release.draft)
      throw new CdlError(`upload ${name} to ${release.tag}: the release is published; assets are only added to a draft`);
    const uploadUrl = (release as ReleaseDetails & { uploadUrl?: string }).uploadUrl;
    await this.renewClaim(release);
    const data = await readFile(file);
    const { data: a } = await this.octokit.rest.repos
      .uploadReleaseAsset({
        owner: this.owner,
        repo: this.repo,
        release_id: Number(release.id),
        name,
        // Octokit sends the bytes as they are; its types only know strings.
        data: data as unknown as string,
        headers: { 'content-type': 'application/octet-stream', 'content-length': data.length },
        ...(uploadUrl ? { baseUrl: uploadUrl.replace(/\/repos\/.*$/, '') } : {}),
      })
      .catch((e: unknown) => {
        throw status(e) === 404 && this.claims.has(Number(release.id)) ? this.draftGone(release) : e;
      });
    this.assetCache.delete(Number(release.id));
    return { name: a.name, size: a.size, digest: (a as { digest?: string | null }).digest ?? null, id: a.id };
  }

  /**
   * Publishing makes the tag; of two drafts of one tag (two promotions at once) GitHub publishes
   * the first and refuses the second with 422, which the registry reports and cleans up after.
   */
  async publishRelease(release: ReleaseDetails): Promise<ReleaseDetails> {
    const id = Number(release.id);
    const mine = this.claims.get(id);
    try {
      const { data } = await this.octokit.rest.repos.updateRelease({
        owner: this.owner,
        repo: this.repo,
        release_id: id,
        draft: false,
        // The published notes without the claim.
        ...(mine ? { body: mine.body } : {}),
      });
      this.claims.delete(id);
      return this.details(data as ApiRelease);
    } catch (e) {
      if (status(e) === 422) throw alreadyPromoted(release.tag, e);
      if (status(e) === 404 && mine) throw this.draftGone(release);
      throw e;
    }
  }

  /** Delete a draft: ours, or one whose promotion is gone; never one another live promotion holds. */
  async deleteDraft(release: ReleaseDetails): Promise<void> {
    if (!release.draft) throw new CdlError(`delete ${release.tag}: the release is published; only drafts are deleted`);
    const id = Number(release.id);
    const claim = (release as ReleaseDetails & { claim?: PromotionClaim }).claim;
    if (!this.own.has(release) && claimLive(claim)) throw beingPromoted(release.tag, claim, id, `${this.owner}/${this.repo}`);
    this.claims.delete(id);
    await this.octokit.rest.repos.deleteRelease({ owner: this.owner, repo: this.repo, release_id: id }).catch((e: unknown) => {
      if (status(e) !== 404) throw e;
    });
  }

  async downloadAsset(_release: ReleaseDetails, asset: AssetInfo, file: string): Promise<void> {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, await this.assetBytes(Number(asset.id)));
  }

  private deployment(d: ApiDeployment, state: DeploymentState, environmentUrl?: string | null): DeploymentRecord {
    const payload = (typeof d.payload === 'string' ? safeJson(d.payload) : d.payload) as Record<string, unknown> | null;
    return {
      id: d.id,
      model: String(payload?.model ?? d.task.replace(/^deploy:/, '')),
      environment: d.environment,
      tag: d.ref,
      version: String(payload?.version ?? ''),
      commit: d.sha ?? null,
      created_at: d.created_at,
      state,
      description: d.description ?? '',
      environment_url: environmentUrl ?? null,
      payload: payload ?? {},
    };
  }

  async createDeployment(d: NewDeployment): Promise<DeploymentRecord> {
    const res = await this.octokit.rest.repos.createDeployment({
      owner: this.owner,
      repo: this.repo,
      ref: d.tag,
      task: deploymentTask(d.model),
      environment: d.environment,
      description: d.description.slice(0, 140),
      // The release was checked by cdl (checksums, blessing); commit statuses are not required.
      required_contexts: [],
      auto_merge: false,
      payload: { ...(d.payload ?? {}), model: d.model, version: d.version, tag: d.tag },
      production_environment: d.environment === 'production',
    });
    if (res.status !== 201)
      throw new CdlError(`deployment of ${d.tag} to ${d.environment} not created: ${JSON.stringify(res.data).slice(0, 200)}`);
    return this.deployment(res.data as ApiDeployment, 'queued');
  }

  async setDeploymentStatus(
    d: DeploymentRecord,
    state: DeploymentState,
    update: DeploymentStatusUpdate = {},
  ): Promise<DeploymentRecord> {
    await this.octokit.rest.repos.createDeploymentStatus({
      owner: this.owner,
      repo: this.repo,
      deployment_id: Number(d.id),
      state,
      ...(update.description ? { description: update.description.slice(0, 140) } : {}),
      ...(update.environmentUrl ? { environment_url: update.environmentUrl } : {}),
      ...(update.logUrl ? { log_url: update.logUrl } : {}),
      auto_inactive: true,
    });
    return {
      ...d,
      state,
      ...(update.description ? { description: update.description } : {}),
      ...(update.environmentUrl ? { environment_url: update.environmentUrl } : {}),
    };
  }

  async listDeployments(model: string, environment?: string): Promise<DeploymentRecord[]> {
    const { data } = await this.octokit.rest.repos.listDeployments({
      owner: this.owner,
      repo: this.repo,
      task: deploymentTask(model),
      ...(environment ? { environment } : {}),
      per_page: 100,
    });
    const out: DeploymentRecord[] = [];
    for (const d of data as ApiDeployment[]) {
      const { data: statuses } = await this.octokit.rest.repos.listDeploymentStatuses({
        owner: this.owner,
        repo: this.repo,
        deployment_id: d.id,
        per_page: 1,
      });
      const latest = statuses[0];
      out.push(this.deployment(d, (latest?.state as DeploymentState | undefined) ?? 'queued', latest?.environment_url));
    }
    return out.sort((a, b) => b.created_at.localeCompare(a.created_at) || Number(b.id) - Number(a.id));
  }

  /** The one report comment of `model` on the pull request: updated when it exists, created otherwise. */
  async upsertComment(model: string, markdown: string): Promise<NonNullable<PublishResult['comment']>> {
    if (!this.pullRequest) throw new CdlError('not a pull request: no comment to write');
    const marker = reportMarker(model);
    let body = `${marker}\n${markdown}`;
    if (body.length > MAX_COMMENT)
      body = `${body.slice(0, MAX_COMMENT - 80)}\n\n… (cut at GitHub's comment size limit; the job summary has it all)`;
    const comments = await this.octokit.paginate(this.octokit.rest.issues.listComments, {
      owner: this.owner,
      repo: this.repo,
      issue_number: this.pullRequest,
      per_page: 100,
    });
    const mine = comments.find((c) => c.body?.includes(marker));
    if (mine) {
      const { data } = await this.octokit.rest.issues.updateComment({
        owner: this.owner,
        repo: this.repo,
        comment_id: mine.id,
        body,
      });
      return { id: data.id, url: data.html_url, action: 'updated' };
    }
    const { data } = await this.octokit.rest.issues.createComment({
      owner: this.owner,
      repo: this.repo,
      issue_number: this.pullRequest,
      body,
    });
    return { id: data.id, url: data.html_url, action: 'created' };
  }

  async publish(p: Publication): Promise<PublishResult> {
    const out: PublishResult = { files: [], notes: [] };
    const warn = (what: string, e: unknown) => {
      const msg = `${what}: ${(e as Error).message}${status(e) === 403 ? ' (the token lacks the permission; see the action README)' : ''}`;
      out.notes.push(msg);
      core.warning(msg);
    };
    if (p.comment && this.pullRequest) {
      try {
        out.comment = await this.upsertComment(p.model, p.markdown);
      } catch (e) {
        warn('pull-request comment', e);
      }
    } else if (p.comment) out.notes.push('not a pull request: no comment');
    if (this.sha) {
      const state = p.decision === 'blessed' ? 'success' : 'failure';
      const context = `cdl/evaluate-gate (${p.model})`;
      const server = process.env.GITHUB_SERVER_URL ?? 'https://github.com';
      const runId = process.env.GITHUB_RUN_ID;
      try {
        await this.octokit.rest.repos.createCommitStatus({
          owner: this.owner,
          repo: this.repo,
          sha: this.sha,
          state,
          context,
          description: p.description.length > 140 ? `${p.description.slice(0, 139)}…` : p.description,
          ...(runId ? { target_url: `${server}/${this.owner}/${this.repo}/actions/runs/${runId}` } : {}),
        });
        out.status = { state, context, sha: this.sha };
      } catch (e) {
        warn('commit status', e);
      }
    }
    if (process.env.GITHUB_STEP_SUMMARY) {
      await core.summary.addRaw(p.markdown, true).write();
      out.summary = true;
    }
    return out;
  }
}
