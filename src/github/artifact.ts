/** Model directories as workflow artifacts, through the unmodified @actions/artifact client. */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultArtifactClient } from '@actions/artifact';
import * as github from '@actions/github';
import type { Forge, KeptArtifact } from '../forge/types.js';
import { listFiles } from '../util/fs.js';

/** The runner's temporary folder (RUNNER_TEMP), else the system's. */
export function runnerTemp(): string {
  return process.env.RUNNER_TEMP || os.tmpdir();
}

/**
 * A model input of an action: a directory when one of that name exists, else the artifact of that
 * name of this workflow run, downloaded into the runner's temp folder as cdl-<role>-<name>
 * (through the results service inside Actions, else through the forge).
 */
export async function modelDirOrArtifact(
  input: string,
  role: string,
  opts: { forge?: Forge; log?: (line: string) => void } = {},
): Promise<string> {
  const dir = path.resolve(input);
  if (existsSync(dir)) return dir;
  opts.log?.(`model: no directory ${input}; downloading the artifact ${input}`);
  const dest = path.join(runnerTemp(), `cdl-${role}-${input}`);
  return !process.env.ACTIONS_RESULTS_URL && opts.forge
    ? await opts.forge.downloadArtifact(input, dest)
    : await downloadModelDir(input, dest);
}

export async function uploadModelDir(dir: string, name: string, retentionDays?: number): Promise<{ id?: number; size?: number }> {
  const root = path.resolve(dir);
  const files = (await listFiles(root)).map((f) => path.join(root, f));
  const client = new DefaultArtifactClient();
  const res = await client.uploadArtifact(name, files, root, retentionDays ? { retentionDays } : undefined);
  return { id: res.id, size: res.size };
}

export async function downloadModelDir(
  name: string,
  dir: string,
  opts: { runId?: number; repository?: string; token?: string } = {},
): Promise<string> {
  const client = new DefaultArtifactClient();
  const findBy =
    opts.runId && opts.repository && opts.token
      ? {
          workflowRunId: opts.runId,
          repositoryOwner: opts.repository.split('/')[0]!,
          repositoryName: opts.repository.split('/')[1]!,
          token: opts.token,
        }
      : undefined;
  const { artifact } = await client.getArtifact(name, findBy ? { findBy } : undefined);
  const res = await client.downloadArtifact(artifact.id, { path: dir, ...(findBy ? { findBy } : {}) });
  return res.downloadPath ?? dir;
}

/**
 * The newest unexpired artifact `name` of any workflow run of `repository`, through the Actions
 * REST API (GitHub, or the results server of `cdl run`, which serves the same routes), downloaded
 * into `dest`; undefined when no run kept one.
 */
export async function findRepoArtifact(
  name: string,
  dest: string,
  opts: { repository: string; token: string; apiUrl?: string; log?: (line: string) => void },
): Promise<KeptArtifact | undefined> {
  const [owner, repo] = opts.repository.split('/') as [string, string];
  const baseUrl = (opts.apiUrl ?? process.env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, '');
  const octokit = github.getOctokit(opts.token, { baseUrl });
  const { data } = await octokit.rest.actions.listArtifactsForRepo({ owner, repo, name, per_page: 10 });
  const found = data.artifacts.find((a) => a.name === name && !a.expired && a.workflow_run?.id !== undefined);
  if (!found) return undefined;
  const run = found.workflow_run!.id!;
  opts.log?.(`artifact ${name}: kept by workflow run ${run}`);
  const dir = await downloadModelDir(name, dest, { runId: run, repository: opts.repository, token: opts.token });
  return { dir, run: String(run), created_at: found.created_at ?? null };
}
