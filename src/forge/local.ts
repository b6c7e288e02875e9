/**
 * The local forge, for `cdl run` and the CLI offline: the same content GitHub would get, written
 * under `.cdl/` (local-layout); releases are git tags plus the model files under
 * `.cdl/releases/<tag>/`. Each Forge method is handed to the file of its concern: published
 * releases (local-releases), the registry's drafts (local-drafts), deployments, the verdict's
 * files (local-report), issues and dispatches (local-issues); artifacts and attestation here.
 */
import { existsSync } from 'node:fs';
import { cp, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import { CdlError } from '../util/errors.js';
import { STATE_DIR } from '../util/state-paths.js';
import { createDeployment, listDeployments, setDeploymentStatus } from './local-deployments.js';
import { createDraftRelease, deleteDraft, downloadAsset, publishRelease, releaseDetails, uploadAsset } from './local-drafts.js';
import { dispatchWorkflow, upsertIssue } from './local-issues.js';
import type { LocalDirs } from './local-layout.js';
import { createRelease, downloadRelease, getRelease, listReleases, releaseMetrics } from './local-releases.js';
import { publishReport } from './local-report.js';
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
  Publication,
  PublishResult,
  RegistryForge,
  ReleaseDetails,
  ReleaseInfo,
} from './types.js';

export class LocalForge implements RegistryForge, LocalDirs {
  readonly root: string;
  readonly stateDir: string;

  /** The run's token under `cdl run` (an action's token input), for the results server's artifacts. */
  private readonly token: string;

  constructor(opts: { root?: string; stateDir?: string; token?: string } = {}) {
    this.token = opts.token ?? '';
    this.root = path.resolve(opts.root ?? process.cwd());
    this.stateDir = path.resolve(this.root, opts.stateDir ?? STATE_DIR);
  }

  describe(): string {
    return `local files under ${this.stateDir}`;
  }

  get releasesDir(): string {
    return path.join(this.stateDir, 'releases');
  }

  get draftsDir(): string {
    return path.join(this.stateDir, 'drafts');
  }

  get deploymentsDir(): string {
    return path.join(this.stateDir, 'deployments');
  }

  reportDir(model: string): string {
    return path.join(this.stateDir, 'reports', model);
  }

  listReleases(model: string): Promise<ReleaseInfo[]> {
    return listReleases(this, model);
  }

  getRelease(tag: string): Promise<ReleaseInfo | undefined> {
    return getRelease(this, tag);
  }

  downloadRelease(release: ReleaseInfo): Promise<string> {
    return downloadRelease(this, release);
  }

  releaseMetrics(release: ReleaseInfo): Promise<Record<string, unknown> | undefined> {
    return releaseMetrics(this, release);
  }

  /** Publish a model directory as release `tag`: copy its files and tag the commit (in a git checkout). */
  createRelease(
    tag: string,
    modelDir: string,
    opts: { model?: string; commit?: string; gitTag?: boolean } = {},
  ): Promise<ReleaseInfo> {
    return createRelease(this, tag, modelDir, opts);
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

  releaseDetails(tag: string): Promise<ReleaseDetails | undefined> {
    return releaseDetails(this, tag);
  }

  createDraftRelease(tag: string, opts: { commit: string | null; name?: string; body?: string }): Promise<ReleaseDetails> {
    return createDraftRelease(this, tag, opts);
  }

  uploadAsset(release: ReleaseDetails, name: string, file: string): Promise<AssetInfo> {
    return uploadAsset(this, release, name, file);
  }

  publishRelease(release: ReleaseDetails): Promise<ReleaseDetails> {
    return publishRelease(this, release);
  }

  deleteDraft(release: ReleaseDetails): Promise<void> {
    return deleteDraft(this, release);
  }

  downloadAsset(release: ReleaseDetails, asset: AssetInfo, file: string): Promise<void> {
    return downloadAsset(release, asset, file);
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
    return publishReport(this.reportDir(p.model), p);
  }

  upsertIssue(req: IssueRequest): Promise<IssueResult> {
    return upsertIssue(this.stateDir, req);
  }

  dispatchWorkflow(req: DispatchRequest): Promise<DispatchResult> {
    return dispatchWorkflow(this.stateDir, req);
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
