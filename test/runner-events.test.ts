/**
 * `cdl run` builds realistic event payloads from the local git repository (push, pull_request,
 * release, schedule, workflow_dispatch with inputs) and enforces timeout-minutes.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWorkflow, type RunOptions } from '../runner/engine/workflow-run.js';

const WORKFLOW = `name: events
on:
  push:
  pull_request:
  release:
    types: [published]
  schedule:
    - cron: '17 3 * * 1'
  workflow_dispatch:
    inputs:
      epochs:
        type: number
        default: 2
permissions:
  contents: read
jobs:
  show:
    runs-on: ubuntu-latest
    steps:
      - name: context
        env:
          EVENT: \${{ github.event_name }}
          REF: \${{ github.ref }}
          SHA: \${{ github.sha }}
          HEAD_REF: \${{ github.head_ref }}
          BASE_REF: \${{ github.base_ref }}
          PR_HEAD_SHA: \${{ github.event.pull_request.head.sha }}
          PR_BASE_SHA: \${{ github.event.pull_request.base.sha }}
          TAG: \${{ github.event.release.tag_name }}
          CRON: \${{ github.event.schedule }}
          EPOCHS: \${{ inputs.epochs }}
          REPO: \${{ github.repository }}
        run: |
          echo "event=$EVENT ref=$REF sha=$SHA"
          echo "head_ref=$HEAD_REF base_ref=$BASE_REF pr_head=$PR_HEAD_SHA pr_base=$PR_BASE_SHA"
          echo "tag=$TAG cron=$CRON epochs=$EPOCHS repo=$REPO"
          node -e "const p=require(process.env.GITHUB_EVENT_PATH); console.log('payload keys', Object.keys(p).sort().join(','))"
`;

const TIMEOUT = `name: slow
on: push
permissions:
  contents: read
jobs:
  slow:
    runs-on: ubuntu-latest
    steps:
      - name: too slow
        timeout-minutes: 0.02
        run: sleep 600
      - name: after
        if: always()
        run: echo "after the timeout"
`;

let repo: string;
let sha: string;
let baseSha: string;

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();
}

async function run(workflow: string, opts: Partial<RunOptions> = {}) {
  let log = '';
  const summary = await runWorkflow({ workflow, repoRoot: repo, write: (s) => (log += s), runsOnAny: true, ...opts });
  return { ...summary, log };
}

beforeAll(() => {
  repo = mkdtempSync(path.join(os.tmpdir(), 'cdl-events-'));
  mkdirSync(path.join(repo, '.github', 'workflows'), { recursive: true });
  writeFileSync(path.join(repo, '.github', 'workflows', 'events.yml'), WORKFLOW);
  writeFileSync(path.join(repo, '.github', 'workflows', 'slow.yml'), TIMEOUT);
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.email=dev@example.com', '-c', 'user.name=Dev', 'commit', '-qm', 'first');
  baseSha = git('rev-parse', 'HEAD');
  git('checkout', '-q', '-b', 'feature/wider');
  writeFileSync(path.join(repo, 'draft.txt'), 'first try\n');
  git('add', '-A');
  git('-c', 'user.email=dev@example.com', '-c', 'user.name=Dev', 'commit', '-qm', 'First try');
  writeFileSync(path.join(repo, 'notes.txt'), 'wider layers\n');
  git('add', '-A');
  git('-c', 'user.email=dev@example.com', '-c', 'user.name=Dev', 'commit', '-qm', 'Wider layers');
  git('-c', 'user.email=dev@example.com', '-c', 'user.name=Dev', 'tag', '-a', 'fashion-mnist@v1.2.0', '-m', 'v1.2.0');
  sha = git('rev-parse', 'HEAD');
});

afterAll(() => rmSync(repo, { recursive: true, force: true }));

describe('cdl run events', () => {
  it('push: the checked-out branch and commit', async () => {
    const r = await run('.github/workflows/events.yml', { event: 'push' });
    expect(r.exitCode, r.log).toBe(0);
    expect(r.log).toContain(`event=push ref=refs/heads/feature/wider sha=${sha}`);
    expect(r.log).toMatch(/payload keys .*after.*head_commit.*ref.*repository/);
  });

  it('pull_request: head and base refs, the merge ref and the head sha', async () => {
    const r = await run('.github/workflows/events.yml', { event: 'pull_request' });
    expect(r.exitCode, r.log).toBe(0);
    expect(r.log).toContain('event=pull_request ref=refs/pull/1/merge');
    expect(r.log).toContain(`head_ref=feature/wider base_ref=main pr_head=${sha} pr_base=${baseSha}`);
  });

  it('release: the tag given as --ref', async () => {
    const r = await run('.github/workflows/events.yml', { event: 'release', ref: 'fashion-mnist@v1.2.0' });
    expect(r.exitCode, r.log).toBe(0);
    expect(r.log).toContain('event=release ref=refs/tags/fashion-mnist@v1.2.0');
    expect(r.log).toContain('tag=fashion-mnist@v1.2.0');
  });

  it('schedule: the cron expression of the workflow', async () => {
    const r = await run('.github/workflows/events.yml', { event: 'schedule' });
    expect(r.exitCode, r.log).toBe(0);
    expect(r.log).toContain('event=schedule');
    expect(r.log).toContain('cron=17 3 * * 1');
  });

  it('workflow_dispatch: inputs given and defaults filled', async () => {
    const given = await run('.github/workflows/events.yml', { event: 'workflow_dispatch', inputs: { epochs: '5' } });
    expect(given.exitCode, given.log).toBe(0);
    expect(given.log).toContain('epochs=5');
    const defaulted = await run('.github/workflows/events.yml', { event: 'workflow_dispatch' });
    expect(defaulted.log).toContain('epochs=2');
  });

  it('timeout-minutes stops a step that runs too long and the job fails', async () => {
    // The step sleeps ten minutes, far past the test's own timeout: only the step timeout can end it.
    const r = await run('.github/workflows/slow.yml', { event: 'push' });
    expect(r.exitCode).not.toBe(0);
    expect(r.jobs[0]!.result).toBe('failure');
    expect(r.log).toContain('error: the step has timed out');
    expect(r.log).toContain('after the timeout');
    expect(readdirSync(r.runDir).length).toBeGreaterThan(0);
  });
});
