/**
 * What every part of the GitHub forge works on: the repository, its Octokit (from the official
 * toolkit in src/github), and how GitHub's errors and JSON fields read.
 */
import type { Octokit } from '../github/toolkit.js';

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
