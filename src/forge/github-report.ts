/**
 * A verdict on GitHub: one pull-request comment per model (found by a hidden marker, updated on
 * every push), a commit status, and the job summary. The event payload names the pull request and
 * the commit the verdict belongs to.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { GitHubToolkit } from '../github/toolkit.js';
import { runUrl } from '../util/run-env.js';
import { httpStatus, type GitHubRepo } from './github-repo.js';
import { reportMarker, type Publication, type PublishResult } from './types.js';

/** GitHub refuses comments longer than this. */
const MAX_COMMENT = 65_536;

interface EventPayload {
  pull_request?: { number: number; head?: { sha?: string } };
  issue?: { number: number; pull_request?: unknown };
  number?: number;
}

/** Where a verdict goes: the pull request of the triggering event, and the commit (its head, else `sha`). */
export interface ReportTarget {
  pullRequest?: number;
  sha?: string;
}

/** The pull request and commit of the event in `eventPath` (a missing or unreadable file: no pull request). */
export function reportTarget(eventPath: string | undefined, sha: string | undefined): ReportTarget {
  let payload: EventPayload = {};
  if (eventPath && existsSync(eventPath)) {
    try {
      payload = JSON.parse(readFileSync(eventPath, 'utf8')) as EventPayload;
    } catch {
      payload = {};
    }
  }
  return {
    pullRequest: payload.pull_request?.number ?? (payload.issue?.pull_request ? payload.issue.number : undefined),
    sha: payload.pull_request?.head?.sha ?? sha,
  };
}

/** The one report comment of `model` on the pull request: updated when it exists, created otherwise. */
async function upsertComment(
  { owner, repo, octokit }: GitHubRepo,
  pullRequest: number,
  model: string,
  markdown: string,
): Promise<NonNullable<PublishResult['comment']>> {
  const marker = reportMarker(model);
  let body = `${marker}\n${markdown}`;
  if (body.length > MAX_COMMENT)
    body = `${body.slice(0, MAX_COMMENT - 80)}\n\n… (cut at GitHub's comment size limit; the job summary has it all)`;
  const comments = await octokit.paginate(octokit.rest.issues.listComments, {
    owner,
    repo,
    issue_number: pullRequest,
    per_page: 100,
  });
  const mine = comments.find((c) => c.body?.includes(marker));
  if (mine) {
    const { data } = await octokit.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body });
    return { id: data.id, url: data.html_url, action: 'updated' };
  }
  const { data } = await octokit.rest.issues.createComment({ owner, repo, issue_number: pullRequest, body });
  return { id: data.id, url: data.html_url, action: 'created' };
}

export async function publishReport(
  gh: GitHubRepo,
  toolkit: GitHubToolkit,
  target: ReportTarget,
  p: Publication,
): Promise<PublishResult> {
  const { owner, repo, octokit } = gh;
  const out: PublishResult = { files: [], notes: [] };
  const warn = (what: string, e: unknown) => {
    const msg = `${what}: ${(e as Error).message}${httpStatus(e) === 403 ? ' (the token lacks the permission; see the action README)' : ''}`;
    out.notes.push(msg);
    toolkit.warning(msg);
  };
  if (p.comment && target.pullRequest) {
    try {
      out.comment = await upsertComment(gh, target.pullRequest, p.model, p.markdown);
    } catch (e) {
      warn('pull-request comment', e);
    }
  } else if (p.comment) out.notes.push('not a pull request: no comment');
  if (target.sha) {
    const state = p.decision === 'blessed' ? 'success' : 'failure';
    const context = `cdl/evaluate-gate (${p.model})`;
    const link = runUrl(process.env, `${owner}/${repo}`);
    try {
      await octokit.rest.repos.createCommitStatus({
        owner,
        repo,
        sha: target.sha,
        state,
        context,
        description: p.description.length > 140 ? `${p.description.slice(0, 139)}…` : p.description,
        ...(link ? { target_url: link } : {}),
      });
      out.status = { state, context, sha: target.sha };
    } catch (e) {
      warn('commit status', e);
    }
  }
  if (process.env.GITHUB_STEP_SUMMARY) {
    await toolkit.appendSummary(p.markdown);
    out.summary = true;
  }
  return out;
}
