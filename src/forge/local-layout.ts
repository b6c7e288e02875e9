/**
 * Where the local forge keeps things under `.cdl/`: published releases in `releases/<tag>/`, drafts
 * in `drafts/<tag>/` (each with its release.json), deployments in `deployments/<model>.json`.
 */
import type { ReleaseInfo } from './types.js';

export const RELEASE_FILE = 'release.json';

export interface LocalDirs {
  /** The project (a git checkout, or not). */
  readonly root: string;
  readonly stateDir: string;
  readonly releasesDir: string;
  readonly draftsDir: string;
  readonly deploymentsDir: string;
}

/** The process that holds a draft: a draft is a promotion's exclusive claim on its tag. */
export interface DraftOwner {
  pid: number;
  host: string;
  since: string;
}

/** A release's release.json. */
export interface LocalRelease extends ReleaseInfo {
  model?: string;
  draft?: boolean;
  body?: string;
  created_at?: string;
  owner?: DraftOwner;
  /** `sha256:<hex>` of each asset, taken once at upload (as GitHub reports an asset's digest). */
  digests?: Record<string, string>;
}
