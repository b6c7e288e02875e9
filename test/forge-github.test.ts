/**
 * The GitHub forge against a fake GitHub REST API on 127.0.0.1, through the unmodified
 * @actions/github Octokit. Every request the code makes is checked against GitHub's OpenAPI
 * description from @octokit/openapi.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitHubForge } from '../src/forge/github.js';
import { reportMarker, type Publication } from '../src/forge/types.js';
import { removeTempDirs, tempDir } from './helpers/example.js';
import { startFakeGitHub, validateRequest, type FakeGitHub, type RecordedRequest } from './helpers/fake-github.js';

const HEAD_SHA = 'feedfacefeedfacefeedfacefeedfacefeedface';
let gh: FakeGitHub;
let work: string;
let eventPath: string;

beforeAll(async () => {
  gh = await startFakeGitHub();
  work = tempDir('cdl-forge-gh-');
  eventPath = path.join(work, 'event.json');
  writeFileSync(
    eventPath,
    JSON.stringify({ action: 'synchronize', number: 7, pull_request: { number: 7, head: { sha: HEAD_SHA } } }),
  );
});
afterAll(async () => {
  await gh?.close();
  removeTempDirs();
});

const forge = (extra: Partial<ConstructorParameters<typeof GitHubForge>[0]> = {}) =>
  new GitHubForge({ token: 'test-token', repository: 'octo/models', apiUrl: gh.url, eventPath, sha: '0'.repeat(40), ...extra });

const publication = (model: string, markdown: string, decision: Publication['decision'] = 'blessed'): Publication => ({
  model,
  markdown,
  html: '<html></html>',
  decision,
  description: `${decision}: accuracy 0.8500`,
  comment: true,
});

describe('GitHubForge', () => {
  it('keeps one pull-request comment per model, found by its hidden marker and updated on the next push', async () => {
    const summary = path.join(work, 'summary.md');
    writeFileSync(summary, '');
    process.env.GITHUB_STEP_SUMMARY = summary;
    try {
      // Someone else's comment on the pull request stays untouched.
      gh.comments.push({ id: 1, issue: 7, body: 'looks good to me' });
      const f = forge();
      expect(f.pullRequest).toBe(7);
      const first = await f.publish(publication('fashion-mnist', 'first push: accuracy 0.81'));
      expect(first.comment?.action).toBe('created');
      const second = await forge().publish(publication('fashion-mnist', 'second push: accuracy 0.85', 'rejected'));
      expect(second.comment).toMatchObject({ action: 'updated', id: first.comment!.id });
      const mine = gh.comments.filter((c) => c.body.includes(reportMarker('fashion-mnist')));
      expect(mine).toHaveLength(1);
      expect(mine[0]!.body).toContain('second push: accuracy 0.85');
      expect(gh.comments.find((c) => c.id === 1)!.body).toBe('looks good to me');
      // A second model gets its own comment.
      const other = await forge().publish(publication('other-model', 'other'));
      expect(other.comment?.action).toBe('created');
      expect(gh.comments.filter((c) => c.issue === 7)).toHaveLength(3);
      // The verdict goes on the pull request's head commit, one status context per model.
      expect(gh.statuses.map((s) => s.sha)).toEqual([HEAD_SHA, HEAD_SHA, HEAD_SHA]);
      expect(gh.statuses[1]!.body).toMatchObject({ state: 'failure', context: 'cdl/evaluate-gate (fashion-mnist)' });
      expect(readFileSync(summary, 'utf8')).toContain('second push: accuracy 0.85');
    } finally {
      delete process.env.GITHUB_STEP_SUMMARY;
    }
  });

  it('finds the comment beyond the first page of comments', async () => {
    for (let i = 0; i < 120; i++) gh.comments.push({ id: 5000 + i, issue: 9, body: `chatter ${i}` });
    const pr9 = path.join(work, 'event9.json');
    writeFileSync(pr9, JSON.stringify({ pull_request: { number: 9, head: { sha: HEAD_SHA } } }));
    const a = await forge({ eventPath: pr9 }).publish(publication('m', 'one'));
    const b = await forge({ eventPath: pr9 }).publish(publication('m', 'two'));
    expect(a.comment?.action).toBe('created');
    expect(b.comment).toMatchObject({ action: 'updated', id: a.comment!.id });
  });

  it('outside a pull request writes no comment but still sets the commit status', async () => {
    const push = path.join(work, 'push.json');
    writeFileSync(push, JSON.stringify({ ref: 'refs/heads/main' }));
    const before = gh.comments.length;
    const r = await forge({ eventPath: push, sha: 'a'.repeat(40) }).publish(publication('fashion-mnist', 'x'));
    expect(r.comment).toBeUndefined();
    expect(r.notes).toContain('not a pull request: no comment');
    expect(gh.comments.length).toBe(before);
    expect(gh.statuses.at(-1)).toMatchObject({ sha: 'a'.repeat(40), body: { state: 'success' } });
  });

  it('finds the latest release of the model, skipping drafts, pre-releases and other models, and downloads its files', async () => {
    gh.addRelease('fashion-mnist-v1.0.0', {
      'model.onnx': 'old',
      'metrics.json': JSON.stringify({ main_metric: 'accuracy', main_metric_value: 0.8 }),
    });
    gh.addRelease('other-v3.0.0', { 'model.onnx': 'other' });
    gh.addRelease('fashion-mnist-v1.1.0', {
      'fashion-mnist-model.onnx': 'new',
      'fashion-mnist-metrics.json': '{"main_metric":"accuracy","main_metric_value":0.82}',
    });
    gh.addRelease('fashion-mnist-v1.2.0-rc.1', { 'model.onnx': 'rc' }, { prerelease: true });
    gh.addRelease('fashion-mnist-v2.0.0', { 'model.onnx': 'draft' }, { draft: true });
    const f = forge();
    const releases = await f.listReleases('fashion-mnist');
    expect(releases.map((r) => r.tag)).toEqual(['fashion-mnist-v1.1.0', 'fashion-mnist-v1.0.0']);
    const dir = await f.downloadRelease(releases[0]!, path.join(work, 'baseline'));
    expect(readFileSync(path.join(dir, 'model.onnx'), 'utf8')).toBe('new');
    expect(readFileSync(path.join(dir, 'metrics.json'), 'utf8')).toContain('0.82');
    expect(existsSync(path.join(dir, 'lineage.json'))).toBe(false);
    expect(await f.releaseMetrics(releases[1]!)).toMatchObject({ main_metric_value: 0.8 });
    expect((await f.getRelease('fashion-mnist-v1.0.0'))?.tag).toBe('fashion-mnist-v1.0.0');
    expect(await f.getRelease('no-such-tag')).toBeUndefined();
    gh.addRelease('fashion-mnist-v0.9.0', { 'notes.txt': 'no model' });
    await expect(f.downloadRelease((await f.getRelease('fashion-mnist-v0.9.0'))!, path.join(work, 'b2'))).rejects.toThrow(
      /release fashion-mnist-v0\.9\.0 has no model\.onnx asset \(assets: notes\.txt\)/,
    );
  });

  it('made only requests that GitHub’s OpenAPI description allows', () => {
    expect(gh.requests.length).toBeGreaterThan(10);
    const ops = new Set<string>();
    for (const r of gh.requests) {
      const v = validateRequest(r);
      expect(v.errors, `${r.method} ${r.path} ${JSON.stringify(r.query)} ${JSON.stringify(r.body)?.slice(0, 200)}`).toEqual([]);
      ops.add(v.operationId!);
      expect(r.headers.authorization).toBe('token test-token');
    }
    expect([...ops].sort()).toEqual([
      'issues/create-comment',
      'issues/list-comments',
      'issues/update-comment',
      'repos/create-commit-status',
      'repos/get-release-asset',
      'repos/get-release-by-tag',
      'repos/list-release-assets',
      'repos/list-releases',
    ]);
  });

  // A pattern is what the first problem says; a list is every problem, in order.
  it.each<[string, Pick<RecordedRequest, 'method' | 'path' | 'body'> & { query?: Record<string, string> }, RegExp | string[]]>([
    [
      'a method the path does not have',
      { method: 'PUT', path: '/repos/o/r/issues/comments/5', body: { body: 'x' } },
      /no such operation/,
    ],
    [
      'a path parameter of the wrong type',
      { method: 'PATCH', path: '/repos/o/r/issues/comments/abc', body: { body: 'x' } },
      ['path.comment_id: expected integer, got string'],
    ],
    [
      'a body value outside its enum',
      { method: 'POST', path: '/repos/o/r/statuses/abc', body: { state: 'ok' } },
      /"ok" is not one of/,
    ],
    [
      'a body without a required property and with one the schema lacks',
      { method: 'POST', path: '/repos/o/r/issues/3/comments', body: { text: 'x' } },
      ['body: missing required property "body"', 'body: property "text" is not in the schema'],
    ],
    [
      'an undeclared query parameter',
      { method: 'GET', path: '/repos/o/r/releases', query: { perpage: '5' }, body: undefined },
      /"perpage" is not declared/,
    ],
  ])('the request check catches %s', (_, req, problems) => {
    const { errors } = validateRequest({ query: {}, headers: {}, ...req });
    if (Array.isArray(problems)) expect(errors).toEqual(problems);
    else expect(errors[0]).toMatch(problems);
  });
});
