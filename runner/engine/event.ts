// The github context and a realistic event payload, built from the local git repository.
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../../src/util/errors.js';

interface GitInfo {
  sha: string;
  branch: string;
  defaultBranch: string;
  owner: string;
  repo: string;
  author: { name: string; email: string };
  message: string;
  timestamp: string;
  parent: string;
  /** Where the current branch left the default branch: the base of a pull request. */
  mergeBase: string;
  latestTag?: string;
}

function git(cwd: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Without a remote, the default branch is main or master if one exists, else git's init.defaultBranch, else the current one. */
function localDefaultBranch(repoRoot: string, current: string): string {
  const configured = git(repoRoot, ['config', '--get', 'init.defaultBranch']);
  for (const candidate of ['main', 'master', configured]) {
    if (candidate && git(repoRoot, ['rev-parse', '--verify', '-q', `refs/heads/${candidate}`])) return candidate;
  }
  return current;
}

export function gitInfo(repoRoot: string): GitInfo {
  const zero = '0'.repeat(40);
  const remote = git(repoRoot, ['remote', 'get-url', 'origin']) ?? '';
  const m = /[/:]([^/:]+)\/([^/]+?)(?:\.git)?\/?$/.exec(remote);
  const branch = git(repoRoot, ['symbolic-ref', '--short', '-q', 'HEAD']) || 'main';
  const remoteHead = git(repoRoot, ['symbolic-ref', '--short', '-q', 'refs/remotes/origin/HEAD']);
  const defaultBranch = remoteHead ? remoteHead.replace(/^origin\//, '') : localDefaultBranch(repoRoot, branch);
  const [name, email, message, timestamp] = (git(repoRoot, ['log', '-1', '--format=%an%x00%ae%x00%s%x00%cI']) ?? '').split('\0');
  return {
    sha: git(repoRoot, ['rev-parse', 'HEAD']) ?? zero,
    branch,
    defaultBranch,
    owner: m?.[1] ?? 'local',
    repo: m?.[2] ?? path.basename(repoRoot),
    author: { name: name || 'cdl', email: email || 'cdl@localhost' },
    message: message ?? '',
    timestamp: timestamp || new Date().toISOString(),
    parent: git(repoRoot, ['rev-parse', 'HEAD~1']) ?? zero,
    mergeBase:
      (defaultBranch !== branch ? git(repoRoot, ['merge-base', 'HEAD', defaultBranch]) : undefined) ??
      git(repoRoot, ['rev-parse', 'HEAD~1']) ??
      zero,
    latestTag: git(repoRoot, ['describe', '--tags', '--abbrev=0']) || undefined,
  };
}

interface EventOptions {
  event: string;
  ref?: string;
  inputs: Record<string, unknown>;
  payloadFile?: string;
  schedule?: string;
}

/** The event payload (as in GITHUB_EVENT_PATH) and the github context fields that depend on it. */
export async function buildEvent(
  info: GitInfo,
  opts: EventOptions,
): Promise<{ payload: Record<string, unknown>; github: Record<string, unknown> }> {
  const fullName = `${info.owner}/${info.repo}`;
  const repository = {
    id: 1,
    name: info.repo,
    full_name: fullName,
    owner: { login: info.owner, type: 'User' },
    default_branch: info.defaultBranch,
    private: true,
    html_url: `https://github.com/${fullName}`,
  };
  const sender = { login: info.author.name.replace(/\s+/g, '-').toLowerCase() || 'cdl', type: 'User' };
  let ref = opts.ref ?? `refs/heads/${info.branch}`;
  if (opts.ref && !opts.ref.startsWith('refs/'))
    ref = opts.event === 'release' ? `refs/tags/${opts.ref}` : `refs/heads/${opts.ref}`;
  let payload: Record<string, unknown>;
  let headRef = '';
  let baseRef = '';
  const headCommit = {
    id: info.sha,
    tree_id: info.sha,
    message: info.message,
    timestamp: info.timestamp,
    author: { ...info.author, username: sender.login },
    committer: { ...info.author, username: sender.login },
  };
  switch (opts.event) {
    case 'push':
      payload = {
        ref,
        before: info.parent,
        after: info.sha,
        created: false,
        deleted: false,
        forced: false,
        head_commit: headCommit,
        commits: [headCommit],
        pusher: info.author,
      };
      break;
    case 'pull_request': {
      headRef = opts.ref && !opts.ref.startsWith('refs/') ? opts.ref : info.branch;
      baseRef = info.defaultBranch;
      ref = 'refs/pull/1/merge';
      payload = {
        action: 'opened',
        number: 1,
        pull_request: {
          number: 1,
          state: 'open',
          title: info.message,
          user: sender,
          draft: false,
          merged: false,
          head: { ref: headRef, sha: info.sha, label: `${info.owner}:${headRef}`, repo: repository },
          base: { ref: baseRef, sha: info.mergeBase, label: `${info.owner}:${baseRef}`, repo: repository },
          html_url: `https://github.com/${fullName}/pull/1`,
        },
      };
      break;
    }
    case 'release': {
      const tag = opts.ref ? opts.ref.replace(/^refs\/tags\//, '') : (info.latestTag ?? 'v0.0.0');
      ref = `refs/tags/${tag}`;
      payload = {
        action: 'published',
        release: {
          id: 1,
          tag_name: tag,
          name: tag,
          target_commitish: info.sha,
          draft: false,
          prerelease: false,
          author: sender,
          created_at: info.timestamp,
          published_at: new Date().toISOString(),
          assets: [],
          html_url: `https://github.com/${fullName}/releases/tag/${tag}`,
        },
      };
      break;
    }
    case 'workflow_dispatch':
      payload = { ref, inputs: opts.inputs, workflow: '' };
      break;
    case 'schedule':
      payload = { schedule: opts.schedule ?? '0 0 * * *' };
      break;
    default:
      payload = { inputs: opts.inputs };
  }
  payload = { ...payload, repository, sender };
  if (opts.payloadFile) {
    try {
      payload = { ...payload, ...(JSON.parse(await readFile(opts.payloadFile, 'utf8')) as Record<string, unknown>) };
    } catch (error) {
      throw new UsageError(`--payload ${opts.payloadFile}: ${(error as Error).message}`);
    }
    if (typeof payload['ref'] === 'string' && !opts.ref) ref = payload['ref'];
  }
  const refType = ref.startsWith('refs/tags/') ? 'tag' : 'branch';
  const refName = ref.replace(/^refs\/(heads|tags)\//, '');
  return {
    payload,
    github: {
      event_name: opts.event,
      event: payload,
      sha: info.sha,
      ref,
      ref_name: refName,
      ref_type: refType,
      ref_protected: false,
      head_ref: headRef,
      base_ref: baseRef,
      repository: fullName,
      repository_owner: info.owner,
      repository_id: '1',
      repositoryUrl: `git://github.com/${fullName}.git`,
      actor: sender.login,
      triggering_actor: sender.login,
      retention_days: '90',
      secret_source: 'Actions',
    },
  };
}
