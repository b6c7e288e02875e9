/**
 * The registry and deploy on the GitHub forge, against a fake GitHub REST API on 127.0.0.1 through
 * the unmodified @actions/github Octokit: promotion creates a draft, uploads every asset and
 * publishes last; nothing is added to a published (immutable) release; deployments carry
 * statuses; every request is checked against GitHub's OpenAPI description.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy } from '../src/deploy/deploy-release.js';
import { DEFAULT_CANARY, type DeploySettings } from '../src/deploy/types.js';
import { claimOf, withClaim } from '../src/forge/github-claims.js';
import { GitHubForge } from '../src/forge/github.js';
import { PromotionConflictError } from '../src/forge/types.js';
import { ChecksumError } from '../src/model-dir/checksums.js';
import { ImmutableReleaseError, Registry } from '../src/registry/registry.js';
import { removeTempDirs, tempDir } from './helpers/example.js';
import { startFakeGitHub, validateRequest, type FakeGitHub } from './helpers/fake-github.js';
import { candidate } from './helpers/registry-models.js';

const COMMIT = 'c0ffee'.padEnd(40, '0');
let gh: FakeGitHub;
let forge: GitHubForge;
let registry: Registry;
let first: string;
const settings: DeploySettings = {
  tag: '{model}@v{version}',
  environment: 'production',
  target: 'release',
  kserve: { namespace: 'default', apply: 'never' },
  canary: DEFAULT_CANARY,
};

beforeAll(async () => {
  gh = await startFakeGitHub({ sha: COMMIT });
  forge = new GitHubForge({
    token: 'test-token',
    repository: 'octo/models',
    apiUrl: gh.url,
    eventPath: '/nonexistent',
    sha: COMMIT,
  });
  registry = new Registry({ forge, model: 'lin' });
});
afterAll(async () => {
  await gh?.close();
  removeTempDirs();
});

const cand = (bias: number, blessed = true) =>
  candidate(path.join(tempDir('cdl-ghc-'), 'model'), { bias, commit: COMMIT, blessed });

describe('registry on GitHub', () => {
  it('promotes as draft → every asset → publish, and never adds to a published release', async () => {
    first = cand(1);
    const r = await registry.promote(first, { version: '1.0.0' });
    expect(r.status).toBe('released');
    // No OIDC token outside GitHub: signing fails and the release keeps the unsigned statement.
    expect(r.provenance).toMatch(
      /^provenance not signed \(.*ACTIONS_ID_TOKEN_REQUEST_URL.*\); the unsigned statement is attached as provenance\.intoto\.json$/,
    );
    const rel = gh.releases.find((x) => x.tag_name === 'lin@v1.0.0')!;
    expect(rel).toMatchObject({ draft: false, immutable: true, target_commitish: COMMIT });
    expect(rel.assets.map((a) => a.name).sort()).toEqual(
      [
        'SHA256SUMS',
        'blessing.json',
        'lineage.json',
        'metrics.json',
        'model-card.md',
        'model.onnx',
        'promotion.json',
        'provenance.intoto.json',
        'tfjs-model.json',
        'tfjs-weights.bin',
      ].sort(),
    );
    const ops = gh.requests.map((q) => `${q.method} ${q.path.replace(/\d+/g, 'N')}`);
    const create = ops.indexOf('POST /repos/octo/models/releases');
    const publish = ops.indexOf('PATCH /repos/octo/models/releases/N');
    expect(gh.requests[create]!.body).toMatchObject({ draft: true, tag_name: 'lin@v1.0.0' });
    // After the draft, one look at the drafts of the tag (the claim), then the uploads.
    expect(ops[create + 1]).toBe('GET /repos/octo/models/releases');
    expect(ops.slice(create + 2, publish).every((o) => o === 'POST /repos/octo/models/releases/N/assets')).toBe(true);
    expect(publish - create - 2).toBe(10);
    expect(ops.slice(publish + 1).filter((o) => o.endsWith('/assets') && o.startsWith('POST'))).toEqual([]);
    const details = await forge.releaseDetails('lin@v1.0.0');
    await expect(forge.uploadAsset(details!, 'late.txt', path.join(cand(1), 'model-card.md'))).rejects.toThrow(
      /only added to a draft/,
    );
  });

  it('re-releasing the tag with other files is refused; the same files are a no-op', async () => {
    await expect(registry.promote(cand(2), { version: '1.0.0' })).rejects.toThrow(ImmutableReleaseError);
    expect((await registry.promote(first, { version: '1.0.0' })).status).toBe('unchanged');
    expect(gh.releases.filter((x) => x.tag_name === 'lin@v1.0.0')).toHaveLength(1);
  });

  it('deploys a release with a deployment and its statuses; a corrupted asset fails it and the alias stays', async () => {
    const before = gh.requests.length;
    const ok = await deploy({
      forge,
      model: 'lin',
      ref: '1.0.0',
      settings,
      runUrl: 'https://github.com/octo/models/actions/runs/1',
    });
    expect(ok).toMatchObject({ state: 'success', outcome: 'attached', source: 'release' });
    // The release's metadata is fetched once per deploy and handed to the verified fetch.
    const byTag = gh.requests
      .slice(before)
      .filter((q) => q.method === 'GET' && decodeURIComponent(q.path).endsWith('/releases/tags/lin@v1.0.0'));
    expect(byTag).toHaveLength(1);
    const d = gh.deployments.at(-1)!;
    expect(d).toMatchObject({ ref: 'lin@v1.0.0', task: 'deploy:lin', environment: 'production' });
    expect(d.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
    await registry.promote(cand(3), { version: '1.1.0' });
    const rel = gh.releases.find((x) => x.tag_name === 'lin@v1.1.0')!;
    rel.assets.find((a) => a.name === 'model.onnx')!.data = Buffer.from('tampered');
    await expect(deploy({ forge, model: 'lin', ref: '1.1.0', settings })).rejects.toThrow(ChecksumError);
    expect(gh.deployments.at(-1)!.statuses.map((s) => s.state)).toEqual(['in_progress', 'failure']);
    expect((await registry.alias('production'))?.tag).toBe('lin@v1.0.0');
    const history = await registry.history('production');
    expect(history.map((h) => [h.tag, h.state])).toEqual([
      ['lin@v1.1.0', 'failure'],
      ['lin@v1.0.0', 'success'],
    ]);
  });

  it('an unblessed candidate is refused without --force', async () => {
    await expect(registry.promote(cand(4, false), { version: '1.2.0' })).rejects.toThrow(
      /refusing to promote .* --force --reason/,
    );
    expect(gh.releases.some((x) => x.tag_name === 'lin@v1.2.0')).toBe(false);
  });

  it('a second draft of a held tag is refused; a draft that got past the claim cannot publish over the first', async () => {
    const tag = 'lin@v2.0.0';
    const a = await forge.createDraftRelease(tag, { commit: COMMIT });
    await expect(forge.createDraftRelease(tag, { commit: COMMIT })).rejects.toThrow(
      /^lin@v2\.0\.0 is already being promoted \(by pid \d+ since/,
    );
    expect(gh.releases.filter((x) => x.tag_name === tag).map((x) => x.id)).toEqual([a.id]);
    // A draft makes no tag: nothing is visible yet.
    expect(await forge.getRelease(tag)).toBeUndefined();
    // A draft of the same tag made by hand (no claim): GitHub publishes the first and refuses the other.
    const byHand = gh.addRelease(tag, {}, { draft: true, immutable: false, published_at: null });
    const b = { ...a, id: byHand.id, claim: undefined } as typeof a;
    await forge.publishRelease(a);
    await expect(forge.publishRelease(b)).rejects.toThrow(
      /^lin@v2\.0\.0 is already promoted \(GitHub refused the release: HTTP 422/,
    );
    await forge.deleteDraft(b);
    expect(gh.releases.filter((x) => x.tag_name === tag).map((x) => x.draft)).toEqual([false]);
  });

  it('two promotions of one version at once: one publishes, the other stops cleanly and leaves no draft', async () => {
    const settle = (p: Promise<unknown>) =>
      p.then(
        (v) => ({ ok: true as const, v }),
        (e: Error) => ({ ok: false as const, e }),
      );
    for (const [version, stagger] of [
      ['5.0.0', false],
      ['5.1.0', true],
      ['5.2.0', false],
    ] as const) {
      const tag = `lin@v${version}`;
      const a = settle(registry.promote(cand(10), { version }));
      // Staggered: the second starts once the first holds its draft (it meets the draft, not a race).
      if (stagger) while (!gh.releases.some((r) => r.tag_name === tag)) await new Promise((r) => setTimeout(r, 2));
      const b = settle(registry.promote(cand(11), { version }));
      const results = await Promise.all([a, b]);
      const won = results.filter((r) => r.ok);
      const lost = results.filter((r) => !r.ok);
      expect(won, JSON.stringify(lost.map((l) => l.e?.message))).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]!.e).toBeInstanceOf(PromotionConflictError);
      expect(lost[0]!.e!.message).toMatch(
        new RegExp(
          `^${tag.replace(/[.@]/g, '\\$&')} is already being promoted \\(by pid ${process.pid} since [^;]+; its claim lasts until [^)]+\\); wait for it to finish`,
        ),
      );
      const left = gh.releases.filter((r) => r.tag_name === tag);
      expect(left.map((r) => r.draft)).toEqual([false]);
      expect(left[0]!.assets).toHaveLength(10);
      // The published notes carry no claim.
      expect(left[0]!.body).not.toMatch(/cdl-promotion-claim/);
    }
  });

  it('an interrupted promotion is invisible, and the next promotion replaces its draft', async () => {
    const tag = 'lin@v6.0.0';
    // A process on this host that is gone (killed mid-promotion), its claim not yet run out.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const left = gh.addRelease(
      tag,
      { 'model.onnx': 'half-uploaded' },
      {
        draft: true,
        immutable: false,
        published_at: null,
        body: withClaim('notes', { pid: Number(dead.stdout), host: os.hostname(), since: new Date().toISOString(), until }),
      },
    );
    expect(claimOf(left.body)?.pid).toBe(Number(dead.stdout));
    // Invisible: no tag, not listed, not fetched.
    expect(await forge.getRelease(tag)).toBeUndefined();
    expect((await registry.list()).map((v) => v.tag)).not.toContain(tag);
    await expect(registry.fetch(tag, path.join(tempDir('cdl-ghf-'), 'm'))).rejects.toThrow(/is a draft; publish it first/);
    const r = await registry.promote(cand(12), { version: '6.0.0' });
    expect(r.status).toBe('released');
    expect(gh.releases.filter((x) => x.tag_name === tag).map((x) => [x.id === left.id, x.draft])).toEqual([[false, false]]);
  });

  it('a draft another host holds is left alone until its claim runs out, then replaced', async () => {
    const tag = 'lin@v7.0.0';
    const since = new Date().toISOString();
    const other = gh.addRelease(
      tag,
      {},
      {
        draft: true,
        immutable: false,
        published_at: null,
        body: withClaim('', { pid: 4242, host: 'runner-7', since, until: new Date(Date.now() + 3_600_000).toISOString() }),
      },
    );
    await expect(registry.promote(cand(13), { version: '7.0.0' })).rejects.toThrow(
      new RegExp(
        `^lin@v7\\.0\\.0 is already being promoted \\(by pid 4242 on runner-7 since ${since.replace(/\./g, '\\.')}; .*delete its draft release ${other.id} of octo/models`,
      ),
    );
    expect(gh.releases.filter((x) => x.tag_name === tag).map((x) => x.id)).toEqual([other.id]);
    // The claim runs out (the runner was lost): the next promotion takes the tag.
    other.body = withClaim('', { pid: 4242, host: 'runner-7', since, until: new Date(Date.now() - 1000).toISOString() });
    expect((await registry.promote(cand(13), { version: '7.0.0' })).status).toBe('released');
    expect(gh.releases.filter((x) => x.tag_name === tag).map((x) => x.draft)).toEqual([false]);
  });

  it('a long promotion renews its claim while it uploads', async () => {
    const quick = new GitHubForge({
      token: 'test-token',
      repository: 'octo/models',
      apiUrl: gh.url,
      eventPath: '/nonexistent',
      claimTtlMs: 1,
    });
    const draft = await quick.createDraftRelease('lin@v8.0.0', { commit: COMMIT, body: 'notes' });
    const before = claimOf(gh.releases.find((x) => x.id === draft.id)!.body)!;
    await new Promise((r) => setTimeout(r, 5));
    await quick.uploadAsset(draft, 'model-card.md', path.join(cand(14), 'model-card.md'));
    const after = claimOf(gh.releases.find((x) => x.id === draft.id)!.body)!;
    expect(Date.parse(after.until)).toBeGreaterThan(Date.parse(before.until));
    const published = await quick.publishRelease(draft);
    expect(gh.releases.find((x) => x.id === published.id)!.body).toBe('notes');
  });

  it('made only requests that GitHub’s OpenAPI description allows', () => {
    const ops = new Set<string>();
    for (const r of gh.requests) {
      const v = validateRequest(r);
      expect(v.errors, `${r.method} ${r.path} ${JSON.stringify(r.query)} ${JSON.stringify(r.body)?.slice(0, 200)}`).toEqual([]);
      ops.add(v.operationId!);
      expect(r.headers.authorization).toBe('token test-token');
    }
    expect([...ops].sort()).toEqual([
      'repos/create-deployment',
      'repos/create-deployment-status',
      'repos/create-release',
      'repos/delete-release',
      'repos/get-release-asset',
      'repos/get-release-by-tag',
      'repos/list-deployment-statuses',
      'repos/list-deployments',
      'repos/list-releases',
      'repos/update-release',
      'repos/upload-release-asset',
    ]);
  });
});
