/**
 * The model registry on the local forge: promotion writes a draft, uploads every asset and
 * publishes last; a released tag never changes; an unblessed candidate is refused unless forced
 * with a reason; lineage, aliases and their history; the provenance statement; the KServe manifest.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployToKServe, renderInferenceService } from '../src/deploy/kserve.js';
import { deploySettings } from '../src/deploy/settings.js';
import { LocalForge } from '../src/forge/local.js';
import { ImmutableReleaseError, NotBlessedError, Registry } from '../src/registry/registry.js';
import { formatTag, parseTag } from '../src/forge/tags.js';
import { git, removeTempDirs, runCli, tempDir } from './helpers/example.js';
import { candidate, project, readJson, sha256, writeSums } from './helpers/registry-models.js';

let proj: ReturnType<typeof project>;
let forge: LocalForge;
let registry: Registry;

beforeAll(() => {
  proj = project();
  forge = new LocalForge({ root: proj.dir });
  registry = new Registry({ forge, model: 'lin' });
});
afterAll(() => removeTempDirs());

const cand = (bias: number, o: Partial<Parameters<typeof candidate>[1]> = {}) =>
  candidate(path.join(tempDir('cdl-cand-'), 'model'), { bias, commit: proj.commit(`train ${bias}`), ...o });

describe('registry', () => {
  it('tags follow the convention', () => {
    expect(formatTag('{model}@v{version}', 'lin', 'v1.2.0')).toBe('lin@v1.2.0');
    expect(parseTag('{model}@v{version}', 'lin', 'lin@v1.2.0-rc.1')).toBe('1.2.0-rc.1');
    expect(parseTag('{model}@v{version}', 'lin', 'other@v1.2.0')).toBeUndefined();
    expect(parseTag('release-{version}', 'lin', 'release-2.0.0')).toBe('2.0.0');
    expect(() => formatTag('{model}@v{version}', 'lin', '1.2')).toThrow(/semantic versioning/);
  });

  it('promotes a blessed candidate: every asset, SHA256SUMS, provenance, the git tag', async () => {
    const dir = cand(1);
    const r = await registry.promote(dir, { version: '1.0.0' });
    expect(r.status).toBe('released');
    const rel = path.join(forge.releasesDir, 'lin@v1.0.0');
    for (const f of [
      'model.onnx',
      'metrics.json',
      'lineage.json',
      'blessing.json',
      'model-card.md',
      'tfjs-model.json',
      'tfjs-weights.bin',
      'SHA256SUMS',
      'provenance.intoto.json',
      'promotion.json',
    ]) {
      expect(existsSync(path.join(rel, f)), f).toBe(true);
    }
    expect(existsSync(forge.draftsDir) ? readJson(path.join(rel, 'release.json')).draft : false).toBe(false);
    const sums = readFileSync(path.join(rel, 'SHA256SUMS'), 'utf8');
    expect(sums).toContain(`${sha256(readFileSync(path.join(dir, 'model.onnx')))}  model.onnx`);
    const statement = readJson(path.join(rel, 'provenance.intoto.json'));
    expect(statement).toMatchObject({
      _type: 'https://in-toto.io/Statement/v1',
      predicateType: 'https://slsa.dev/provenance/v1',
    });
    expect(statement.subject.map((s: { name: string }) => s.name)).toContain('model.onnx');
    const commit = readJson(path.join(dir, 'lineage.json')).git.commit;
    expect(git(proj.dir, 'rev-parse', 'lin@v1.0.0^{commit}')).toBe(commit);
    const details = await forge.releaseDetails('lin@v1.0.0');
    expect(details).toMatchObject({ draft: false, immutable: true });
    // Nothing is ever added to a published release.
    await expect(forge.uploadAsset(details!, 'extra.txt', path.join(dir, 'model-card.md'))).rejects.toThrow(
      /published and immutable/,
    );
  });

  it('re-releasing a tag with different assets is refused; the same files again change nothing', async () => {
    await expect(registry.promote(cand(2), { version: '1.0.0' })).rejects.toThrow(ImmutableReleaseError);
    await expect(registry.promote(cand(2), { version: '1.0.0' })).rejects.toThrow(
      /release lin@v1\.0\.0 already exists with different assets; released versions are immutable/,
    );
    const before = readFileSync(path.join(forge.releasesDir, 'lin@v1.0.0', 'model.onnx'));
    expect(sha256(before)).toBe(sha256(readFileSync(path.join(forge.releasesDir, 'lin@v1.0.0', 'model.onnx'))));
    // An interrupted promotion's draft is replaced, not published half-filled.
    const draft = await forge.createDraftRelease('lin@v1.1.0', { commit: null });
    await forge.uploadAsset(draft, 'model.onnx', path.join(cand(9), 'model.onnx'));
    expect((await registry.promote(cand(3), { version: '1.1.0' })).status).toBe('released');
    expect(existsSync(path.join(forge.draftsDir, 'lin@v1.1.0'))).toBe(false);
  });

  it('refuses an unblessed or rejected candidate unless forced with a reason, and records why', async () => {
    await expect(registry.promote(cand(4, { blessed: false }), { version: '1.2.0' })).rejects.toThrow(NotBlessedError);
    await expect(registry.promote(cand(4, { blessed: 'rejected' }), { version: '1.2.0' })).rejects.toThrow(
      /the gate rejected it: failed: rmse above 0\.1/,
    );
    // A blessing of another model.onnx does not count.
    const other = cand(5);
    writeFileSync(path.join(other, 'model.onnx'), Buffer.from(readFileSync(path.join(cand(6), 'model.onnx'))));
    // Its SHA256SUMS no longer matches: refused before the blessing is even read.
    await expect(registry.promote(other, { version: '1.2.0' })).rejects.toThrow(
      new RegExp(`${path.join(other, 'model.onnx')}: SHA-256 [0-9a-f]{64} does not match`),
    );
    writeSums(other);
    await expect(registry.promote(other, { version: '1.2.0' })).rejects.toThrow(
      /blesses model\.onnx [0-9a-f]{12}, but this model\.onnx is/,
    );
    // A file SHA256SUMS does not list, or no SHA256SUMS at all: refused, naming the file.
    const extra = cand(7);
    writeFileSync(path.join(extra, 'notes.txt'), 'added after the gate');
    await expect(registry.promote(extra, { version: '1.2.0' })).rejects.toThrow(
      `${path.join(extra, 'notes.txt')}: not listed in SHA256SUMS`,
    );
    rmSync(path.join(extra, 'notes.txt'));
    rmSync(path.join(extra, 'SHA256SUMS'));
    await expect(registry.promote(extra, { version: '1.2.0' })).rejects.toThrow(`${path.join(extra, 'SHA256SUMS')}: missing`);
    expect(await forge.releaseDetails('lin@v1.2.0')).toBeUndefined();
    const forced = await registry.promote(cand(4, { blessed: false }), {
      version: '1.2.0',
      force: { reason: 'hotfix for a data bug', by: 'alice' },
    });
    expect(forced.status).toBe('released');
    expect(readJson(path.join(forge.releasesDir, 'lin@v1.2.0', 'promotion.json'))).toMatchObject({
      blessed: false,
      forced: { reason: 'hotfix for a data bug', by: 'alice' },
    });
    const fetched = await registry.fetch('1.2.0', path.join(tempDir('cdl-fetch-'), 'm'));
    expect(fetched.notes.join()).toMatch(/promoted with --force: hotfix for a data bug/);
  });

  it('aliases point at versions; every move is recorded; lineage goes back to commit, data, config and parent', async () => {
    await registry.moveAlias('staging', '1.0.0', 'first staging');
    await registry.moveAlias('staging', '1.1.0', 'second staging');
    await registry.moveAlias('production', '1.0.0', 'go live');
    expect(Object.fromEntries(Object.entries(await registry.aliases()).map(([k, v]) => [k, v.tag]))).toEqual({
      staging: 'lin@v1.1.0',
      production: 'lin@v1.0.0',
    });
    expect((await registry.history('staging')).map((d) => [d.tag, d.state, d.payload.previous])).toEqual([
      ['lin@v1.1.0', 'success', 'lin@v1.0.0'],
      ['lin@v1.0.0', 'inactive', null],
    ]);
    expect((await registry.previous('staging'))?.tag).toBe('lin@v1.0.0');
    const list = await registry.list();
    expect(list.map((v) => [v.version, v.aliases])).toEqual([
      ['1.2.0', []],
      ['1.1.0', ['staging']],
      ['1.0.0', ['production']],
    ]);
    const l = await registry.lineage('1.1.0', tempDir('cdl-lin-'));
    expect(l).toMatchObject({
      tag: 'lin@v1.1.0',
      dataset: { version: 'sha256:data3' },
      config: { hash: 'cfg3' },
      gate: { decision: 'blessed' },
    });
    expect(l.commit).toMatch(/^[0-9a-f]{40}$/);
  });

  it('cdl models: promote refuses an unblessed candidate without --force, list, diff', async () => {
    const env = { CDL_FORGE: 'local' };
    const unblessed = cand(7, { blessed: false });
    const refused = await runCli(['models', 'promote', '--name', 'lin', '--model', unblessed, '--version', '2.0.0'], {
      cwd: proj.dir,
      env,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refusing to promote .* no blessing\.json .* --force --reason/s);
    const noReason = await runCli(['models', 'promote', '--name', 'lin', '--model', unblessed, '--version', '2.0.0', '--force'], {
      cwd: proj.dir,
      env,
    });
    expect(noReason.code).toBe(2);
    const ok = await runCli(
      ['models', 'promote', '--name', 'lin', '--model', unblessed, '--version', '2.0.0', '--force', '--reason', 'demo'],
      { cwd: proj.dir, env },
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/lin@v2\.0\.0: released/);
    const list = await runCli(['models', 'list', '--name', 'lin'], { cwd: proj.dir, env });
    expect(list.stdout).toMatch(/2\.0\.0\s+lin@v2\.0\.0/);
    expect(list.stdout).toMatch(/1\.0\.0\s+lin@v1\.0\.0\s+[0-9a-f]{12}\s+\S+ \S+\s+production/);
    const diff = await runCli(['models', 'diff', '1.0.0', '1.1.0', '--name', 'lin'], { cwd: proj.dir, env });
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toMatch(/config\.hash\s+"cfg1"\s+"cfg3"/);
  });
});

describe('kserve target', () => {
  const target = { namespace: 'models', apply: 'auto' as const, storage_uri: 's3://bucket/{model}/{version}/model.onnx' };

  it('renders an InferenceService: ONNX, Open Inference Protocol v2, canary traffic', () => {
    const { manifest, yaml } = renderInferenceService({
      model: 'Fashion_MNIST',
      tag: 'fashion@v1.2.0',
      version: '1.2.0',
      commit: 'abc',
      target,
      canaryPercent: 10,
    });
    expect(YAML.parse(yaml)).toEqual(manifest);
    expect(manifest).toMatchObject({
      apiVersion: 'serving.kserve.io/v1beta1',
      kind: 'InferenceService',
      metadata: {
        name: 'fashion-mnist',
        namespace: 'models',
        annotations: { 'cdl.dev/tag': 'fashion@v1.2.0', 'cdl.dev/commit': 'abc' },
      },
      spec: {
        predictor: {
          canaryTrafficPercent: 10,
          model: {
            modelFormat: { name: 'onnx' },
            protocolVersion: 'v2',
            storageUri: 's3://bucket/Fashion_MNIST/1.2.0/model.onnx',
          },
        },
      },
    });
    const gh = renderInferenceService({
      model: 'm',
      tag: 'm@v1.0.0',
      version: '1.0.0',
      commit: null,
      target: { namespace: 'default', apply: 'never' },
      repository: 'octo/models',
    });
    expect((gh.manifest.spec as any).predictor.model.storageUri).toBe(
      'https://github.com/octo/models/releases/download/m%40v1.0.0/model.onnx',
    );
    expect((gh.manifest.spec as any).predictor.canaryTrafficPercent).toBeUndefined();
  });

  it('applies with kubectl when it has a context, and only writes the manifest otherwise', async () => {
    const bin = tempDir('cdl-kubectl-');
    const calls = path.join(bin, 'calls.txt');
    writeFileSync(
      path.join(bin, 'kubectl'),
      `#!/bin/sh\necho "$@" >> ${calls}\n[ "$1" = config ] && { [ -n "$KUBE_OK" ] && echo test-ctx && exit 0; echo "error: current-context is not set" >&2; exit 1; }\necho "inferenceservice.serving.kserve.io/m configured"\n`,
    );
    chmodSync(path.join(bin, 'kubectl'), 0o755);
    const base = { model: 'm', tag: 'm@v1.0.0', version: '1.0.0', commit: null, target };
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    const out = tempDir('cdl-ks-');
    const applied = await deployToKServe({ ...base, outDir: out, env: { ...env, KUBE_OK: '1' } });
    expect(applied).toMatchObject({ applied: true });
    expect(readFileSync(calls, 'utf8')).toContain(`apply -f ${path.join(out, 'inferenceservice.yaml')}`);
    const notApplied = await deployToKServe({ ...base, outDir: out, env });
    expect(notApplied.applied).toBe(false);
    expect(notApplied.note).toMatch(/no current context/);
    await expect(deployToKServe({ ...base, target: { ...target, apply: 'always' }, outDir: out, env })).rejects.toThrow(
      /cannot apply/,
    );
  });

  it('settings from cdl.yaml and the command line', () => {
    const s = deploySettings(undefined, '/p', {
      target: 'server',
      serverUrl: 'http://127.0.0.1:8000',
      repository: '/r',
      canaryPercent: '10',
    });
    expect(s).toMatchObject({
      target: 'server',
      environment: 'production',
      tag: '{model}@v{version}',
      server: { url: 'http://127.0.0.1:8000', repository: '/r' },
      canary: { percent: 10 },
    });
    expect(() => deploySettings(undefined, '/p', { target: 'server' })).toThrow(/deploy\.server\.url/);
    expect(() => deploySettings(undefined, '/p', { canaryPercent: '120' })).toThrow(
      /--canary-percent: expected a number from 0 to 100/,
    );
    mkdirSync(tempDir(), { recursive: true });
  });
});
