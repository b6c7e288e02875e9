/**
 * Release → deploy → a running `cdl serve` answers with the new version; a corrupted asset is
 * refused while the old version keeps serving; a canary that breaks its clients is rolled back
 * on its own; rollback restores the previous version. Local forge, server on 127.0.0.1.
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CANARY, type DeploySettings } from '../src/deploy/types.js';
import { deploy, rollback } from '../src/deploy/deploy-release.js';
import { LocalForge } from '../src/forge/local.js';
import { ChecksumError } from '../src/model-dir/checksums.js';
import { Registry } from '../src/registry/registry.js';
import { silentLogger } from '../src/serve/log.js';
import { ModelServer } from '../src/serve/server.js';
import { removeTempDirs, tempDir } from './helpers/example.js';
import { candidate, project, sha256 } from './helpers/registry-models.js';

let server: ModelServer;
let repo: string;
let proj: ReturnType<typeof project>;
let forge: LocalForge;
let registry: Registry;
let settings: DeploySettings;

async function infer(rows = 1): Promise<{ version: string; y: number }> {
  const res = await fetch(`${server.url}/v2/models/lin/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'x', shape: [rows, 2], datatype: 'FP32', data: new Array(rows * 2).fill(1) }] }),
  });
  const json = (await res.json()) as any;
  if (res.status !== 200) return { version: `HTTP ${res.status}`, y: NaN };
  return { version: String(json.model_version), y: json.outputs[0].data[0] as number };
}

/** The SHA-256 the server reports for the version answering unversioned requests (or `version`). */
async function servedSha(url = server.url, version?: string): Promise<string> {
  const stats = (await (await fetch(`${url}/v2/models/lin/stats`)).json()) as any;
  const v =
    version ??
    (stats.canary
      ? stats.canary.primary
      : stats.versions
          .map((x: any) => x.version)
          .sort()
          .at(-1));
  const meta = (await (await fetch(`${url}/v2/models/lin/versions/${v}`)).json()) as any;
  return meta.parameters.sha256 as string;
}

const releasedSha = (tag: string) => sha256(readFileSync(path.join(forge.releasesDir, tag, 'model.onnx')));

async function release(version: string, bias: number, o: { inputs?: number } = {}): Promise<string> {
  const commit = proj.commit(`train ${version}`);
  const dir = candidate(path.join(tempDir('cdl-cand-'), 'model'), { bias, commit, inputs: o.inputs });
  return (await registry.promote(dir, { version })).tag;
}

beforeAll(async () => {
  proj = project();
  forge = new LocalForge({ root: proj.dir });
  registry = new Registry({ forge, model: 'lin' });
  repo = tempDir('cdl-deploy-repo-');
  server = await ModelServer.start({ repository: repo, port: 0, pollMs: 0, log: silentLogger });
  settings = {
    tag: '{model}@v{version}',
    environment: 'production',
    target: 'server',
    server: { url: server.url, repository: repo, ready_timeout_s: 120 },
    kserve: { namespace: 'default', apply: 'never' },
    canary: { ...DEFAULT_CANARY },
  };
});

afterAll(async () => {
  await server?.shutdown('test end');
  removeTempDirs();
});

describe('deploy to a running cdl serve', () => {
  it('release → deploy → the server answers with the new version', async () => {
    await release('1.0.0', 1);
    const first = await deploy({ forge, model: 'lin', ref: '1.0.0', settings });
    expect(first).toMatchObject({ state: 'success', outcome: 'deployed', tag: 'lin@v1.0.0', previous: null, source: 'release' });
    expect(await infer()).toEqual({ version: '1', y: 3 });
    await release('1.1.0', 2);
    const second = await deploy({ forge, model: 'lin', ref: 'lin@v1.1.0', settings });
    expect(second).toMatchObject({
      state: 'success',
      outcome: 'deployed',
      previous: 'lin@v1.0.0',
      environment_url: `${server.url}/v2/models/lin`,
    });
    expect(second.server).toMatchObject({ serverVersion: 2, previous: 1, smoke: { model_version: '2' } });
    expect(await infer()).toEqual({ version: '2', y: 4 });
    // The server reports the hash of what each version serves, in its metadata and its index.
    expect(await servedSha()).toBe(releasedSha('lin@v1.1.0'));
    const index = (await (await fetch(`${server.url}/v2/repository/index`, { method: 'POST', body: '{}' })).json()) as any[];
    expect(index.find((e) => e.version === '2')).toMatchObject({ state: 'READY', sha256: releasedSha('lin@v1.1.0') });
    // The repository records which release each version holds; only the new one is served.
    expect(JSON.parse(readFileSync(path.join(repo, 'lin', '2', 'cdl-release.json'), 'utf8'))).toMatchObject({
      tag: 'lin@v1.1.0',
    });
    expect(readFileSync(path.join(repo, 'lin', 'config.yaml'), 'utf8')).toContain('specific');
    expect((await registry.alias('production'))?.tag).toBe('lin@v1.1.0');
    const history = await registry.history('production');
    expect(history.map((d) => [d.tag, d.state])).toEqual([
      ['lin@v1.1.0', 'success'],
      ['lin@v1.0.0', 'inactive'],
    ]);
  });

  it('a corrupted asset: deploy refuses, records the failure, and the old version keeps serving', async () => {
    const tag = await release('1.2.0', 5);
    appendFileSync(path.join(forge.releasesDir, tag, 'model.onnx'), Buffer.from([0]));
    await expect(deploy({ forge, model: 'lin', ref: '1.2.0', settings })).rejects.toThrow(ChecksumError);
    // Nothing reached the model repository: versions 1 and 2 only.
    expect(
      readdirSync(path.join(repo, 'lin'))
        .filter((f) => /^\d+$/.test(f))
        .sort(),
    ).toEqual(['1', '2']);
    await expect(deploy({ forge, model: 'lin', ref: '1.2.0', settings })).rejects.toThrow(
      /model\.onnx: SHA-256 [0-9a-f]{64} does not match/,
    );
    expect(await infer()).toEqual({ version: '2', y: 4 });
    const [last] = await registry.history('production');
    expect(last).toMatchObject({ tag, state: 'failure' });
    expect((await registry.alias('production'))?.tag).toBe('lin@v1.1.0');
  });

  it('a canary whose error rate breaches the threshold is rolled back on its own', async () => {
    // The new version expects 3 features: clients sending 2 get errors from it, not from the primary.
    await release('2.0.0', 7, { inputs: 3 });
    // A long window: the breach must end it early, however slowly a busy machine answers.
    const canary = { percent: 50, window_s: 60, interval_s: 0.2, max_error_rate: 0.05, min_requests: 6 };
    let done = false;
    const seen = new Map<string, number>();
    const traffic = (async () => {
      for (let i = 0; i < 2000 && !done; i++) {
        const r = await infer();
        seen.set(r.version, (seen.get(r.version) ?? 0) + 1);
        await new Promise((res) => setTimeout(res, 10));
      }
    })();
    const result = await deploy({ forge, model: 'lin', ref: '2.0.0', settings: { ...settings, canary } }).finally(
      () => (done = true),
    );
    await traffic;
    expect(result).toMatchObject({ state: 'failure', outcome: 'rolled_back', server: { serverVersion: 3, previous: 2 } });
    expect(result.server!.canary).toMatchObject({ decision: 'rolled_back', percent: 50 });
    expect(result.server!.canary!.reason).toMatch(/error rate \d+\.\d% over \d+ requests > 5\.0%/);
    expect(result.server!.canary!.window_s).toBeLessThan(60);
    expect(seen.get('HTTP 400')).toBeGreaterThan(0);
    expect(await infer()).toEqual({ version: '2', y: 4 });
    expect((await registry.alias('production'))?.tag).toBe('lin@v1.1.0');
    expect((await registry.history('production'))[0]).toMatchObject({ tag: 'lin@v2.0.0', state: 'failure' });
  });

  it('a healthy canary is promoted to 100% after its window', async () => {
    await release('2.1.0', 9);
    // Long enough for min_requests to reach the canary when a busy machine answers slowly.
    const canary = { percent: 30, window_s: 4, interval_s: 0.2, max_error_rate: 0.05, min_requests: 3 };
    let done = false;
    const traffic = (async () => {
      for (let i = 0; i < 1000 && !done; i++) {
        await infer();
        await new Promise((res) => setTimeout(res, 10));
      }
    })();
    const result = await deploy({ forge, model: 'lin', ref: '2.1.0', settings: { ...settings, canary } }).finally(
      () => (done = true),
    );
    await traffic;
    expect(result).toMatchObject({
      state: 'success',
      outcome: 'promoted',
      server: { serverVersion: 4, canary: { decision: 'promoted' } },
    });
    expect(await infer()).toEqual({ version: '4', y: 11 });
  });

  it('rollback moves the alias back and restores the previous version', async () => {
    // Without the server (target release from cdl.yaml), a rollback cannot check what serves: refused, nothing recorded.
    const before = (await registry.history('production')).length;
    await expect(
      rollback({ forge, model: 'lin', settings: { ...settings, target: 'release', server: undefined } }),
    ).rejects.toThrow(
      /production of lin was deployed to target server \(http:\/\/127\.0\.0\.1:\d+\).*--server-url URL --repository DIR/,
    );
    expect((await registry.history('production')).length).toBe(before);
    expect((await registry.alias('production'))?.tag).toBe('lin@v2.1.0');
    const r = await rollback({ forge, model: 'lin', settings });
    expect(r).toMatchObject({ state: 'success', tag: 'lin@v1.1.0', previous: 'lin@v2.1.0' });
    expect(await infer()).toEqual({ version: '2', y: 4 });
    expect(await servedSha()).toBe(releasedSha('lin@v1.1.0'));
    expect((await registry.alias('production'))?.tag).toBe('lin@v1.1.0');
    const list = await registry.list();
    expect(list.find((v) => v.tag === 'lin@v1.1.0')?.aliases).toEqual(['production']);
  });

  it('a server that does not serve what was deployed: deploy exits with an error and the alias stays', async () => {
    // The server serves another repository than the one deploy writes to (a misconfigured runner):
    // it loads its own version 1, ready and answering, but not the model that was deployed.
    const theirs = tempDir('cdl-other-repo-');
    candidate(path.join(theirs, 'lin', '1'), { bias: 30, commit: proj.commit('other') });
    const other = await ModelServer.start({ repository: theirs, port: 0, pollMs: 0, log: silentLogger });
    try {
      const tag = await release('2.2.0', 31);
      const edge: DeploySettings = {
        ...settings,
        environment: 'edge',
        server: { url: other.url, repository: tempDir('cdl-ours-repo-'), ready_timeout_s: 20 },
      };
      await expect(deploy({ forge, model: 'lin', ref: '2.2.0', settings: edge })).rejects.toThrow(
        new RegExp(`serves lin version 1 with model.onnx [0-9a-f]{64}, not the deployed ${releasedSha(tag)}`),
      );
      expect(await registry.alias('edge')).toBeUndefined();
      expect((await registry.history('edge'))[0]).toMatchObject({ tag, state: 'failure' });
      expect(await servedSha(other.url)).not.toBe(releasedSha(tag));
    } finally {
      await other.shutdown('test end');
    }
  });

  it('a release published by hand without assets deploys the commit’s workflow artifact, and says so', async () => {
    const commit = proj.commit('hand release');
    const artifact = path.join(forge.stateDir, 'artifacts', `model-${commit}`);
    candidate(artifact, { bias: 20, commit });
    const notes = tempDir('cdl-notes-');
    mkdirSync(notes, { recursive: true });
    await forge.createRelease('lin@v3.0.0', notes, { model: 'lin', commit });
    const lines: string[] = [];
    const r = await deploy({ forge, model: 'lin', ref: '3.0.0', settings, log: (l) => lines.push(l) });
    expect(r).toMatchObject({ state: 'success', source: 'artifact' });
    expect(r.notes.join('\n')).toContain(`taking the model from the workflow artifact model-${commit}`);
    expect(await infer()).toEqual({ version: '5', y: 22 });
  });

  it('deploy starts a version in shadow: clients keep production, the comparison is reported, the alias stays', async () => {
    const before = (await registry.alias('production'))!.tag;
    const served = (await infer()).version;
    await release('2.3.0', 40);
    let done = false;
    const answered: string[] = [];
    const traffic = (async () => {
      for (let i = 0; i < 2000 && !done; i++) {
        answered.push((await infer()).version);
        await new Promise((res) => setTimeout(res, 5));
      }
    })();
    const lines: string[] = [];
    const shadow = { fraction: 1, window_s: 1.5, interval_s: 0.2 };
    const r = await deploy({
      forge,
      model: 'lin',
      ref: '2.3.0',
      settings: { ...settings, shadow },
      log: (l) => lines.push(l),
    }).finally(() => (done = true));
    await traffic;
    expect(r).toMatchObject({ state: 'success', outcome: 'shadow', server: { outcome: 'shadow' } });
    const v = String(r.server!.serverVersion);
    // Every client answer came from production, never from the shadow.
    expect(answered.length).toBeGreaterThan(0);
    expect(new Set(answered)).toEqual(new Set([served]));
    const rep = r.server!.shadow!;
    expect(rep).toMatchObject({ version: v, fraction: 1, errors: 0 });
    expect(rep.requests).toBeGreaterThan(0);
    // A bias of 40 instead of production's: no row agrees.
    expect(rep.agreement_rate).toBe(0);
    expect(r.server!.shadowSummary).toMatch(new RegExp(`version ${v} agrees with production on 0\\.00% of \\d+ rows`));
    expect(lines.join('\n')).toMatch(/shadow: version \d+ gets a copy of 100% of lin's requests/);
    // The deployment is recorded, production's alias stays.
    expect((await registry.alias('production'))?.tag).toBe(before);
    expect((await registry.history('production'))[0]).toMatchObject({ tag: 'lin@v2.3.0', state: 'inactive' });
    expect((await registry.history('production'))[0]!.description).toMatch(/in shadow beside/);
    const stats = (await (await fetch(`${server.url}/v2/models/lin/stats`)).json()) as any;
    expect(stats.shadow_version).toBe(v);
  });
});
