/**
 * Issues and workflow dispatches for monitoring: one issue per finding kind, found by a hidden
 * marker and updated instead of opening another, and a workflow_dispatch of the retraining
 * workflow (the feedback loop). On GitHub through the forge's Octokit; locally as files under
 * .cdl/issues and .cdl/dispatches (run a recorded dispatch with `cdl run <workflow> -e workflow_dispatch`).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { GitHubForge } from './github.js';
import type { LocalForge } from './local.js';
import type { Forge } from './types.js';

/** GitHub refuses issue bodies longer than this. */
const MAX_BODY = 65_536;

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

export function monitorMarker(model: string): string {
  return `<!-- cdl-monitor: model=${model} -->`;
}

function withMarker(marker: string, body: string): string {
  const text = `${marker}\n${body}`;
  return text.length > MAX_BODY ? `${text.slice(0, MAX_BODY - 60)}\n\n… (cut at GitHub's size limit)` : text;
}

function slug(marker: string): string {
  return (
    marker
      .replace(/<!--|-->/g, '')
      .trim()
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'issue'
  );
}

async function writeAtomic(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(`${file}.tmp-${process.pid}`, text);
  await rename(`${file}.tmp-${process.pid}`, file);
}

/** Open the issue carrying `req.marker`, or update the open one that does. */
export async function upsertIssue(forge: Forge, req: IssueRequest): Promise<IssueResult> {
  const body = withMarker(req.marker, req.body);
  if (forge.kind === 'github') {
    const gh = forge as GitHubForge;
    const { owner, repo, octokit } = gh;
    const open = await octokit.paginate(octokit.rest.issues.listForRepo, { owner, repo, state: 'open', per_page: 100 });
    const mine = open.find((i) => !i.pull_request && i.body?.includes(req.marker));
    if (mine) {
      const { data } = await octokit.rest.issues.update({ owner, repo, issue_number: mine.number, title: req.title, body });
      return { action: 'updated', number: data.number, url: data.html_url };
    }
    if (!req.create) return { action: 'none' };
    const { data } = await octokit.rest.issues.create({
      owner,
      repo,
      title: req.title,
      body,
      ...(req.labels?.length ? { labels: req.labels } : {}),
    });
    return { action: 'created', number: data.number, url: data.html_url };
  }
  const local = forge as LocalForge;
  const file = path.join(local.stateDir, 'issues', `${slug(req.marker)}.md`);
  const exists = existsSync(file) && !/^state: closed$/m.test(await readFile(file, 'utf8'));
  if (!exists && !req.create) return { action: 'none' };
  await writeAtomic(file, `# ${req.title}\n\nstate: open\nlabels: ${(req.labels ?? []).join(', ')}\n\n${body}\n`);
  return { action: exists ? 'updated' : 'created', file };
}

/** Dispatch a workflow_dispatch run of `req.workflow`. */
export async function dispatchWorkflow(forge: Forge, req: DispatchRequest): Promise<DispatchResult> {
  if (forge.kind === 'github') {
    const { owner, repo, octokit } = forge as GitHubForge;
    const ref = req.ref ?? (await octokit.rest.repos.get({ owner, repo })).data.default_branch;
    const workflow_id = /^\d+$/.test(req.workflow) ? Number(req.workflow) : req.workflow;
    await octokit.rest.actions.createWorkflowDispatch({
      owner,
      repo,
      workflow_id,
      ref,
      ...(req.inputs && Object.keys(req.inputs).length ? { inputs: req.inputs } : {}),
    });
    return { workflow: req.workflow, ref };
  }
  const local = forge as LocalForge;
  const ref = req.ref ?? 'HEAD';
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(local.stateDir, 'dispatches', `${stamp}-${req.workflow.replace(/[^A-Za-z0-9._-]+/g, '-')}.json`);
  await writeAtomic(
    file,
    JSON.stringify(
      { workflow: req.workflow, ref, inputs: req.inputs ?? {}, run: `cdl run ${req.workflow} -e workflow_dispatch` },
      null,
      2,
    ) + '\n',
  );
  return { workflow: req.workflow, ref, file };
}
