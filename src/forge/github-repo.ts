/**
 * What every part of the GitHub forge works on: the repository, its Octokit (from the official
 * toolkit in src/github), and how GitHub's errors and JSON fields read.
 */
import type { Octokit } from '../github/toolkit.js';
import type { ReleaseInfo } from './types.js';

export interface GitHubRepo {
  readonly owner: string;
  readonly repo: string;
  readonly octokit: Octokit;
}

/** The HTTP status of an Octokit error, if it has one. */
export function httpStatus(e: unknown): number | undefined {
  return (e as { status?: number }).status;
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** A release as GitHub's REST API returns it: the fields the forge reads. */
export interface ApiRelease {
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

export function releaseInfo(r: ApiRelease): ReleaseInfo {
  return {
    tag: r.tag_name,
    name: r.name,
    published_at: r.published_at,
    commit: r.target_commitish,
    url: r.html_url,
    id: r.id,
  };
}
