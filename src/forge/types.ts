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

export interface Forge {
  readonly kind: 'github' | 'local';
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

/** Release tags of `model`: `<model>-v1.2.0`, `<model>@1.2.0`, or plain `v1.2.0` in a one-model repository. */
export function releaseVersion(tag: string, model: string): string | undefined {
  for (const prefix of [`${model}-v`, `${model}@v`, `${model}@`, `${model}/v`]) {
    if (tag.startsWith(prefix) && /^\d/.test(tag.slice(prefix.length))) return tag.slice(prefix.length);
  }
  return undefined;
}

/** Releases that belong to `model`: tagged with its name, else (no such tag at all) plain `v*` tags. */
export function releasesOfModel<T extends ReleaseInfo>(releases: T[], model: string): T[] {
  const own = releases.filter((r) => releaseVersion(r.tag, model) !== undefined);
  if (own.length) return own;
  return releases.filter((r) => /^v?\d+(\.\d+)*([-+].*)?$/.test(r.tag));
}

/** Compares version strings numerically part by part (1.10.0 > 1.9.2); pre-releases sort lower. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core, pre] = v.replace(/^v/, '').split(/-(.*)/s, 2) as [string, string | undefined];
    return {
      nums: core
        .split('+')[0]!
        .split('.')
        .map((x) => Number.parseInt(x, 10) || 0),
      pre,
    };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < Math.max(x.nums.length, y.nums.length); i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d) return d;
  }
  if (x.pre && !y.pre) return -1;
  if (!x.pre && y.pre) return 1;
  return (x.pre ?? '').localeCompare(y.pre ?? '');
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
