/**
 * The forge: where releases live and where reports go. One interface, two homes: GitHub (through
 * the official toolkit) and local (files under .cdl/ and git tags), chosen from the environment.
 */

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
  /** The pull-request comment (one per model, updated), the commit status and the job summary. */
  publish(p: Publication): Promise<PublishResult>;
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
    return { nums: core.split('+')[0]!.split('.').map((x) => Number.parseInt(x, 10) || 0), pre };
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
