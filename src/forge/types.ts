/**
 * The forge: where releases live and where reports go. One interface, two homes: GitHub (through
 * the official toolkit) and local (files under .cdl/ and git tags), chosen from the environment.
 */
import { CdlError } from '../util/errors.js';

/** Another promotion holds the tag, or has published it (exit code 1). */
export class PromotionConflictError extends CdlError {}

export interface ReleaseInfo {
  tag: string;
  name?: string | null;
  published_at?: string | null;
  commit?: string | null;
  url?: string | null;
  /** Forge-specific handle (GitHub release id, local folder). */
  id?: number | string;
}

export interface Publication {
  model: string;
  /** The pull-request comment / local report body (Markdown). */
  markdown: string;
  /** The self-contained HTML page (local runs). */
  html: string;
  decision: 'blessed' | 'rejected';
  /** One line for the commit status. */
  description: string;
  /** Keep a pull-request comment up to date (GitHub, pull requests only). */
  comment: boolean;
}

export interface PublishResult {
  comment?: { id: number | string; url?: string; action: 'created' | 'updated' };
  status?: { state: 'success' | 'failure'; context: string; sha?: string };
  summary?: boolean;
  /** Files written (local). */
  files: string[];
  notes: string[];
}

/**
 * A driver: GitHub and local implement the same methods, and callers never ask which one they
 * hold (a caller that needs to know is missing a method here).
 */
export interface Forge {
  /** Where this forge keeps things, for messages: "octo/models on GitHub", ".cdl/ in /repo". */
  describe(): string;
  /** Published releases of `model`, newest first. */
  listReleases(model: string): Promise<ReleaseInfo[]>;
  /** The release with this tag, or undefined. */
  getRelease(tag: string): Promise<ReleaseInfo | undefined>;
  /** Fetch a release's model directory into `dest`; returns the directory holding model.onnx. */
  downloadRelease(release: ReleaseInfo, dest: string): Promise<string>;
  /** A release's metrics.json, when it has one (for the chart across releases). */
  releaseMetrics(release: ReleaseInfo): Promise<Record<string, unknown> | undefined>;
  /** Fetch a workflow artifact holding a model directory into `dest`. */
  downloadArtifact(name: string, dest: string): Promise<string>;
  /**
   * The newest unexpired artifact `name` that any workflow run of the repository kept (a release
   * takes `model-<sha>`, uploaded by the push run of its commit), fetched into `dest`; undefined when
   * no run kept one (expired, or never made).
   */
  findArtifact(name: string, dest: string): Promise<KeptArtifact | undefined>;
  /** The pull-request comment (one per model, updated), the commit status and the job summary. */
  publish(p: Publication): Promise<PublishResult>;
  /** Open the issue carrying `req.marker`, or update the open one that does. */
  upsertIssue(req: IssueRequest): Promise<IssueResult>;
  /** Start a workflow_dispatch run of `req.workflow` (locally: record the request to run with `cdl run`). */
  dispatchWorkflow(req: DispatchRequest): Promise<DispatchResult>;
  /** The commit a tag points at, when the forge can tell without the release (local: git); else null. */
  commitOfTag(tag: string): Promise<string | null>;
  /**
   * Sign build provenance of release assets where the forge can (GitHub: a Sigstore attestation);
   * returns a line for the log, or undefined where the forge does not sign (the unsigned statement
   * stays a release asset either way). Never throws for a missing permission: says so instead.
   */
  signProvenance(subjects: ProvenanceSubject[]): Promise<string | undefined>;
}

export interface IssueRequest {
  /** Hidden line that identifies the issue, e.g. `<!-- cdl-monitor: model=fashion-mnist -->`. */
  marker: string;
  title: string;
  /** Markdown; the marker is put in front. */
  body: string;
  labels?: string[];
  /** Open a new issue when none carries the marker (false: only update an open one). */
  create: boolean;
}

export interface IssueResult {
  action: 'created' | 'updated' | 'none';
  number?: number;
  url?: string;
  /** Local forge: the file written. */
  file?: string;
}

export interface DispatchRequest {
  /** Workflow file name (train.yml) or numeric id. */
  workflow: string;
  /** Branch or tag; default the repository's default branch (GitHub) or the current branch (local). */
  ref?: string;
  inputs?: Record<string, string>;
}

export interface DispatchResult {
  workflow: string;
  ref: string;
  /** Local forge: the recorded request. */
  file?: string;
}

/** An artifact a workflow run kept, fetched by `findArtifact`. */
export interface KeptArtifact {
  /** The directory holding its files. */
  dir: string;
  /** The workflow run that uploaded it. */
  run: string;
  created_at: string | null;
}

/** The hidden line that identifies the one report comment of a model on a pull request. */
export function reportMarker(model: string): string {
  return `<!-- cdl-report: model=${model} -->`;
}

/** A file attached to a release. */
export interface AssetInfo {
  name: string;
  size: number;
  /** `sha256:<hex>` when the forge reports it (GitHub does for assets uploaded since 2025). */
  digest?: string | null;
  /** Forge-specific handle (GitHub asset id, local file path). */
  id?: number | string;
}

/** A release as the registry sees it: published or draft, and whether its assets are locked. */
export interface ReleaseDetails extends ReleaseInfo {
  draft: boolean;
  /** Published with immutability on: tag and assets can no longer change. */
  immutable: boolean;
  assets: AssetInfo[];
}

export type DeploymentState = 'queued' | 'in_progress' | 'success' | 'failure' | 'error' | 'inactive';

/**
 * One record of a model going to an environment (an alias: production, staging, or any other
 * name). The newest record of an environment whose state is success is what the alias points at;
 * the list of records is the history of what was there when.
 */
export interface DeploymentRecord {
  id: number | string;
  model: string;
  environment: string;
  /** The release tag deployed. */
  tag: string;
  version: string;
  commit: string | null;
  created_at: string;
  /** The latest status. */
  state: DeploymentState;
  description: string;
  environment_url?: string | null;
  /** Free-form: the reason, the previous tag, the target, canary results. */
  payload: Record<string, unknown>;
}

export interface NewDeployment {
  model: string;
  environment: string;
  tag: string;
  version: string;
  commit: string | null;
  description: string;
  payload?: Record<string, unknown>;
}

export interface DeploymentStatusUpdate {
  description?: string;
  environmentUrl?: string;
  logUrl?: string;
}

/** Subjects of a provenance statement: file name and SHA-256. */
export interface ProvenanceSubject {
  name: string;
  digest: { sha256: string };
}

/**
 * What the model registry needs of a forge beyond reading releases: releases written as a draft,
 * filled with every asset and published last (nothing is ever added to a published release), asset
 * downloads, and deployments with statuses (which also record where each alias pointed when).
 */
export interface RegistryForge extends Forge {
  /** The release with this tag, drafts included, with its assets; undefined when there is none. */
  releaseDetails(tag: string): Promise<ReleaseDetails | undefined>;
  /** A new draft release of `tag` at `commit` (the tag itself appears when it is published). */
  createDraftRelease(tag: string, opts: { commit: string | null; name?: string; body?: string }): Promise<ReleaseDetails>;
  /** Attach a file to a draft. Refused for a published release. */
  uploadAsset(release: ReleaseDetails, name: string, file: string): Promise<AssetInfo>;
  /** Publish a draft: from here on its tag and assets do not change. */
  publishRelease(release: ReleaseDetails): Promise<ReleaseDetails>;
  /** Delete a draft (an interrupted promotion). Refused for a published release. */
  deleteDraft(release: ReleaseDetails): Promise<void>;
  /** Download one asset to `file`. */
  downloadAsset(release: ReleaseDetails, asset: AssetInfo, file: string): Promise<void>;
  createDeployment(d: NewDeployment): Promise<DeploymentRecord>;
  setDeploymentStatus(d: DeploymentRecord, state: DeploymentState, update?: DeploymentStatusUpdate): Promise<DeploymentRecord>;
  /** Deployments of `model`, newest first, optionally of one environment. */
  listDeployments(model: string, environment?: string): Promise<DeploymentRecord[]>;
}

/** Whether a forge can hold a model registry. */
export function isRegistryForge(f: Forge): f is RegistryForge {
  return typeof (f as Partial<RegistryForge>).createDraftRelease === 'function';
}
