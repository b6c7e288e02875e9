/**
 * Issues and workflow dispatches on GitHub (monitoring's findings and the retraining it starts):
 * the open issue carrying a marker is updated, else one is opened; a workflow_dispatch run is started.
 */
import type { GitHubRepo } from './github-repo.js';
import { issueBody } from './issues.js';
import type { DispatchRequest, DispatchResult, IssueRequest, IssueResult } from './types.js';

export async function upsertIssue({ owner, repo, octokit }: GitHubRepo, req: IssueRequest): Promise<IssueResult> {
  const body = issueBody(req.marker, req.body);
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

export async function dispatchWorkflow({ owner, repo, octokit }: GitHubRepo, req: DispatchRequest): Promise<DispatchResult> {
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
