/**
 * What the GitHub forge needs of the official toolkit, in one place so that nothing outside
 * src/github imports `@actions/*`: an Octokit, a warning annotation, the job summary and signed
 * provenance. The forge takes it as an option (tests may pass their own).
 */
import * as core from '@actions/core';
import * as github from '@actions/github';
import { attestProvenance, type AttestSubject } from './attest.js';

export type Octokit = ReturnType<typeof github.getOctokit>;

export interface GitHubToolkit {
  octokit(token: string, baseUrl: string): Octokit;
  /** A warning annotation on the run. */
  warning(message: string): void;
  /** Append Markdown to the job summary ($GITHUB_STEP_SUMMARY). */
  appendSummary(markdown: string): Promise<void>;
  /** Sign build provenance of the subjects (needs `id-token: write` and `attestations: write`). */
  attest(subjects: AttestSubject[], token: string): Promise<{ id?: string; message: string }>;
}

export const toolkit: GitHubToolkit = {
  octokit: (token, baseUrl) => github.getOctokit(token, { baseUrl }),
  warning: (message) => core.warning(message),
  appendSummary: async (markdown) => {
    await core.summary.addRaw(markdown, true).write();
  },
  attest: attestProvenance,
};
