/**
 * The GitHub forge, through the official toolkit (src/github): the Forge methods, each handed to
 * the file of its concern — published releases (github-releases), the registry's drafts and their
 * claims (github-drafts, github-claims), deployments, the verdict's comment, status and job summary
 * (github-report), issues and workflow dispatch (github-issues); artifacts and attestation here.
 */
import { downloadModelDir, findRepoArtifact } from '../github/artifact.js';
import { toolkit as defaultToolkit, type GitHubToolkit, type Octokit } from '../github/toolkit.js';
import { CdlError, UsageError } from '../util/errors.js';
import { DEFAULT_CLAIM_TTL_MS } from './github-claims.js';
import { createDeployment, listDeployments, setDeploymentStatus } from './github-deployments.js';
import { GitHubDrafts } from './github-drafts.js';
import { dispatchWorkflow, upsertIssue } from './github-issues.js';
import { GitHubReleases } from './github-releases.js';
import type { GitHubRepo } from './github-repo.js';
import { publishReport, reportTarget } from './github-report.js';
import type {
  AssetInfo,
  DeploymentRecord,
  DeploymentState,
  DeploymentStatusUpdate,
  DispatchRequest,
  DispatchResult,
  IssueRequest,
  IssueResult,
  KeptArtifact,
  NewDeployment,
  ProvenanceSubject,
  Publication,
  PublishResult,
  RegistryForge,
  ReleaseDetails,
  ReleaseInfo,
} from './types.js';

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
  /** The official toolkit's pieces; default the real one from src/github. */
  toolkit?: GitHubToolkit;
  /** How long a promotion's claim on a tag lasts without renewal (default one hour). */
  claimTtlMs?: number;
}

export class GitHubForge implements RegistryForge, GitHubRepo {
  readonly owner: string;
  readonly repo: string;
  readonly octokit: Octokit;
  /** The pull request of the triggering event, if any. */
  readonly pullRequest?: number;
  /** The commit the verdict belongs to: the pull request's head, else $GITHUB_SHA. */
  readonly sha?: string;
  private readonly log: (line: string) => void;
  private readonly token: string;
  private readonly toolkit: GitHubToolkit;
  private readonly releases: GitHubReleases;
  private readonly drafts: GitHubDrafts;

  constructor(opts: GitHubForgeOptions) {
    const repository = opts.repository ?? process.env.GITHUB_REPOSITORY ?? '';
    const [owner, repo, ...rest] = repository.split('/');
    if (!owner || !repo || rest.length)
      throw new UsageError(`Invalid repository '${repository}'. Expected format {owner}/{repo}.`);
    this.owner = owner;
    this.repo = repo;
    this.log = opts.log ?? (() => {});
    this.token = opts.token;
    this.toolkit = opts.toolkit ?? defaultToolkit;
    const baseUrl = (opts.apiUrl ?? process.env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, '');
    this.octokit = this.toolkit.octokit(opts.token, baseUrl);
    const target = reportTarget(opts.eventPath ?? process.env.GITHUB_EVENT_PATH, opts.sha ?? process.env.GITHUB_SHA);
    this.pullRequest = target.pullRequest;
    this.sha = target.sha;
    this.releases = new GitHubReleases(this, this.log);
    this.drafts = new GitHubDrafts(this, this.log, opts.claimTtlMs ?? DEFAULT_CLAIM_TTL_MS);
  }

  describe(): string {
    return `${this.owner}/${this.repo} on GitHub`;
  }

  listReleases(model: string): Promise<ReleaseInfo[]> {
    return this.releases.list(model);
  }

  getRelease(tag: string): Promise<ReleaseInfo | undefined> {
    return this.releases.get(tag);
  }

  downloadRelease(release: ReleaseInfo, dest: string): Promise<string> {
    return this.releases.download(release, dest);
  }

  releaseMetrics(release: ReleaseInfo): Promise<Record<string, unknown> | undefined> {
    return this.releases.metrics(release);
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

  releaseDetails(tag: string): Promise<ReleaseDetails | undefined> {
    return this.drafts.details(tag);
  }

  createDraftRelease(tag: string, opts: { commit: string | null; name?: string; body?: string }): Promise<ReleaseDetails> {
    return this.drafts.create(tag, opts);
  }

  async uploadAsset(release: ReleaseDetails, name: string, file: string): Promise<AssetInfo> {
    const asset = await this.drafts.upload(release, name, file);
    this.releases.forget(Number(release.id));
    return asset;
  }

  publishRelease(release: ReleaseDetails): Promise<ReleaseDetails> {
    return this.drafts.publish(release);
  }

  deleteDraft(release: ReleaseDetails): Promise<void> {
    return this.drafts.delete(release);
  }

  async downloadAsset(_release: ReleaseDetails, asset: AssetInfo, file: string): Promise<void> {
    await this.releases.downloadAsset(asset, file);
  }

  createDeployment(d: NewDeployment): Promise<DeploymentRecord> {
    return createDeployment(this, d);
  }

  setDeploymentStatus(d: DeploymentRecord, state: DeploymentState, update?: DeploymentStatusUpdate): Promise<DeploymentRecord> {
    return setDeploymentStatus(this, d, state, update);
  }

  listDeployments(model: string, environment?: string): Promise<DeploymentRecord[]> {
    return listDeployments(this, model, environment);
  }

  publish(p: Publication): Promise<PublishResult> {
    return publishReport(this, this.toolkit, { pullRequest: this.pullRequest, sha: this.sha }, p);
  }

  upsertIssue(req: IssueRequest): Promise<IssueResult> {
    return upsertIssue(this, req);
  }

  dispatchWorkflow(req: DispatchRequest): Promise<DispatchResult> {
    return dispatchWorkflow(this, req);
  }

  /** A release names its commit itself; the tag alone is not looked up. */
  async commitOfTag(_tag: string): Promise<string | null> {
    return null;
  }

  async signProvenance(subjects: ProvenanceSubject[]): Promise<string> {
    try {
      return (await this.toolkit.attest(subjects, this.token)).message;
    } catch (e) {
      // Signing needs `id-token: write` and `attestations: write`; without them the release still
      // carries the unsigned statement.
      return `provenance not signed (${(e as Error).message.split('\n')[0]}); the unsigned statement is attached as provenance.intoto.json`;
    }
  }
}
