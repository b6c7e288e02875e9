/**
 * The registry and deploy on the GitHub forge, against a fake GitHub REST API on 127.0.0.1 through
 * the unmodified @actions/github Octokit: promotion creates a draft, uploads every asset and
 * publishes last; nothing is added to a published (immutable) release; deployments carry
 * statuses; every request is checked against GitHub's OpenAPI description.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy } from '../src/deploy/run.js';
import { DEFAULT_CANARY, type DeploySettings } from '../src/deploy/types.js';
import { GitHubForge } from '../src/forge/github.js';
import { ChecksumError } from '../src/model-dir/checksums.js';
import { ImmutableReleaseError, Registry } from '../src/registry/registry.js';
import { removeTempDirs, tempDir } from './helpers/example.js';
import { startFakeRegistryGitHub, type FakeRegistryGitHub } from './helpers/fake-github-registry.js';
import { candidate } from './helpers/registry-models.js';
import { validateRequest } from './forge-fake-github.js';

const COMMIT = 'c0ffee'.padEnd(40, '0');
let gh: FakeRegistryGitHub;
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
  gh = await startFakeRegistryGitHub({ sha: COMMIT });
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
    expect(ops.slice(create + 1, publish).every((o) => o === 'POST /repos/octo/models/releases/N/assets')).toBe(true);
    expect(publish - create - 1).toBe(10);
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
    const ok = await deploy({
      forge,
      model: 'lin',
      ref: '1.0.0',
      settings,
      runUrl: 'https://github.com/octo/models/actions/runs/1',
    });
    expect(ok).toMatchObject({ state: 'success', outcome: 'attached', source: 'release' });
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

  it('of two drafts of one version, GitHub publishes one; the other is refused as already promoted and deleted', async () => {
    const tag = 'lin@v2.0.0';
    const a = await forge.createDraftRelease(tag, { commit: COMMIT });
    const b = await forge.createDraftRelease(tag, { commit: COMMIT });
    // A draft makes no tag: nothing is visible yet.
    expect(await forge.getRelease(tag)).toBeUndefined();
    await forge.publishRelease(a);
    await expect(forge.publishRelease(b)).rejects.toThrow(
      /^lin@v2\.0\.0 is already promoted \(GitHub refused the release: HTTP 422/,
    );
    await forge.deleteDraft(b);
    expect(gh.releases.filter((x) => x.tag_name === tag).map((x) => x.draft)).toEqual([false]);
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
