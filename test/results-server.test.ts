// The local results server, exercised with the unmodified @actions/artifact
// and @actions/cache clients over real HTTP on 127.0.0.1.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startResultsServer, type ResultsServer } from '../runner/results-server/index.js';

type ArtifactModule = typeof import('@actions/artifact');
type CacheModule = typeof import('@actions/cache');

let tmp: string;
let root: string;
let workspace: string;
let server: ResultsServer;
const requests: string[] = [];
let artifact: ArtifactModule;
let cache: CacheModule;
const savedEnv = { ...process.env };

async function writeFile(file: string, data: string | Buffer): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, data);
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.relative(dir, path.join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

async function expectSameTree(a: string, b: string): Promise<void> {
  const files = await listFiles(a);
  expect(await listFiles(b)).toEqual(files);
  for (const f of files) {
    const [x, y] = await Promise.all([fs.readFile(path.join(a, f)), fs.readFile(path.join(b, f))]);
    expect(x.equals(y), `${f} differs`).toBe(true);
  }
}

async function useServerEnv(ids?: { runId?: string; jobId?: string }): Promise<void> {
  Object.assign(process.env, await server.env(ids));
}

async function twirp(service: string, method: string, body: unknown, token?: string): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token !== undefined) headers['Authorization'] = `Bearer ${token}`;
  return fetch(new URL(`/twirp/github.actions.results.api.v1.${service}/${method}`, server.url), {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
}

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cdl-results-'));
  root = path.join(tmp, 'root');
  workspace = path.join(tmp, 'ws');
  await fs.mkdir(workspace, { recursive: true });
  await fs.mkdir(path.join(tmp, 'runner-temp'), { recursive: true });
  server = await startResultsServer({ root, runId: '1001', jobId: 'build', log: (l) => requests.push(l) });
  await useServerEnv();
  process.env['RUNNER_TEMP'] = path.join(tmp, 'runner-temp');
  process.env['GITHUB_WORKSPACE'] = workspace;
  // a 2-core machine: keep parallel block uploads modest
  process.env['ACTIONS_ARTIFACT_UPLOAD_CONCURRENCY'] = '2';
  // Imported after the env is set: some of the toolkit reads it at module load.
  artifact = await import('@actions/artifact');
  cache = await import('@actions/cache');
});

afterAll(async () => {
  await server?.close();
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

describe('results server', () => {
  it('binds to 127.0.0.1 by default and hands out an env the toolkit accepts', async () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const env = await server.env();
    expect(env['ACTIONS_RESULTS_URL']).toBe(server.url);
    expect(env['ACTIONS_CACHE_SERVICE_V2']).toBeTruthy();
    expect(new URL(env['GITHUB_SERVER_URL'] as string).hostname.endsWith('.localhost')).toBe(true);
    const payload = JSON.parse(
      Buffer.from((env['ACTIONS_RUNTIME_TOKEN'] as string).split('.')[1] as string, 'base64url').toString(),
    );
    expect(payload.scp).toContain('Actions.Results:1001:build');
  });

  describe('artifacts', () => {
    let src: string;
    let uploadedId: number;

    beforeAll(async () => {
      src = path.join(workspace, 'out');
      await writeFile(path.join(src, 'metrics.json'), JSON.stringify({ accuracy: 0.93 }));
      await writeFile(path.join(src, 'notes.txt'), 'hello\n');
      await writeFile(path.join(src, 'nested', 'deeper', 'weights.bin'), randomBytes(4096));
      // incompressible and over the toolkit's 8 MiB chunk size, so the zip goes up in several blocks
      await writeFile(path.join(src, 'big.bin'), randomBytes(9 * 1024 * 1024 + 123));
    });

    it('uploads a directory through Put Block + Put Block List', async () => {
      const client = new artifact.DefaultArtifactClient();
      const files = (await listFiles(src)).map((f) => path.join(src, f));
      requests.length = 0;
      const result = await client.uploadArtifact('model-output', files, src, { retentionDays: 5 });
      expect(result.id).toBeGreaterThan(0);
      expect(result.size).toBeGreaterThan(9 * 1024 * 1024);
      expect(result.digest).toMatch(/^[0-9a-f]{64}$/);
      uploadedId = result.id as number;
      expect(
        requests.filter((l) => l.includes('PUT /blob/artifacts/') && l.includes('comp=block&')).length,
      ).toBeGreaterThanOrEqual(2);
      expect(requests.some((l) => l.includes('comp=blocklist') && / 201 /.test(l))).toBe(true);
      expect(requests.every((l) => !/sig=(?!\*\*\*)/.test(l))).toBe(true);
    });

    it('lists and gets it by name', async () => {
      const client = new artifact.DefaultArtifactClient();
      const { artifacts } = await client.listArtifacts();
      expect(artifacts.map((a) => a.name)).toEqual(['model-output']);
      expect(artifacts[0]?.id).toBe(uploadedId);
      expect(artifacts[0]?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      const { artifact: found } = await client.getArtifact('model-output');
      expect(found.id).toBe(uploadedId);
      await expect(client.getArtifact('missing')).rejects.toThrow(/not found/i);
    });

    it('downloads it back byte for byte', async () => {
      const client = new artifact.DefaultArtifactClient();
      const dest = path.join(tmp, 'download-1');
      const { artifact: found } = await client.getArtifact('model-output');
      const res = await client.downloadArtifact(uploadedId, { path: dest, expectedHash: found.digest });
      expect(res.digestMismatch).toBe(false);
      await expectSameTree(src, dest);
    });

    it('refuses a second artifact with the same name in the run', async () => {
      const client = new artifact.DefaultArtifactClient();
      await expect(client.uploadArtifact('model-output', [path.join(src, 'notes.txt')], src)).rejects.toThrow(
        /409.*already exists/,
      );
      // the original is untouched
      const { artifacts } = await client.listArtifacts();
      expect(artifacts).toHaveLength(1);
    });

    it('uploads a single file without archiving', async () => {
      const client = new artifact.DefaultArtifactClient();
      const up = await client.uploadArtifact('ignored', [path.join(src, 'metrics.json')], src, { skipArchive: true });
      const dest = path.join(tmp, 'download-raw');
      await client.downloadArtifact(up.id as number, { path: dest });
      expect(await fs.readFile(path.join(dest, 'metrics.json'), 'utf8')).toBe(JSON.stringify({ accuracy: 0.93 }));
      await client.deleteArtifact('metrics.json');
      expect((await client.listArtifacts()).artifacts.map((a) => a.name)).toEqual(['model-output']);
    });

    it('handles an empty file (a zero-byte blob)', async () => {
      const client = new artifact.DefaultArtifactClient();
      await writeFile(path.join(tmp, 'empty', 'empty.txt'), '');
      const up = await client.uploadArtifact('x', [path.join(tmp, 'empty', 'empty.txt')], path.join(tmp, 'empty'), {
        skipArchive: true,
      });
      expect(up.size).toBe(0);
      const dest = path.join(tmp, 'download-empty');
      await client.downloadArtifact(up.id as number, { path: dest });
      expect((await fs.stat(path.join(dest, 'empty.txt'))).size).toBe(0);
      await client.deleteArtifact('empty.txt');
    });

    it('finds artifacts of another run through the REST API (findBy)', async () => {
      // another run uploads
      await useServerEnv({ runId: '2002', jobId: 'train' });
      const other = new artifact.DefaultArtifactClient();
      const up = await other.uploadArtifact('other-run', [path.join(src, 'notes.txt')], src);
      // back in the first run: invisible through the run-scoped service
      await useServerEnv();
      const client = new artifact.DefaultArtifactClient();
      expect((await client.listArtifacts()).artifacts.map((a) => a.name)).not.toContain('other-run');
      const token = await server.githubToken({ runId: '1001', repository: 'acme/models' });
      const findBy = { token, workflowRunId: 2002, repositoryOwner: 'acme', repositoryName: 'models' };
      const listed = await client.listArtifacts({ findBy });
      expect(listed.artifacts.map((a) => [a.name, a.id])).toEqual([['other-run', up.id]]);
      const got = await client.getArtifact('other-run', { findBy });
      expect(got.artifact.id).toBe(up.id);
      const dest = path.join(tmp, 'download-other');
      await client.downloadArtifact(up.id as number, { path: dest, findBy });
      expect(await fs.readFile(path.join(dest, 'notes.txt'), 'utf8')).toBe('hello\n');
    });

    it('keeps artifacts across a restart on the same root', async () => {
      await server.close();
      server = await startResultsServer({ root, runId: '1001', jobId: 'build', log: (l) => requests.push(l) });
      await useServerEnv();
      const client = new artifact.DefaultArtifactClient();
      const { artifacts } = await client.listArtifacts();
      expect(artifacts.map((a) => a.id)).toEqual([uploadedId]);
      const dest = path.join(tmp, 'download-2');
      await client.downloadArtifact(uploadedId, { path: dest });
      await expectSameTree(src, dest);
    });
  });

  describe('cache', () => {
    let dir: string;

    beforeAll(async () => {
      dir = path.join(workspace, 'deps');
      await writeFile(path.join(dir, 'a.txt'), 'first\n');
      await writeFile(path.join(dir, 'sub', 'b.bin'), randomBytes(100_000));
    });

    it('saves and restores with the exact key', async () => {
      const original = await fs.readFile(path.join(dir, 'sub', 'b.bin'));
      requests.length = 0;
      const id = await cache.saveCache([dir], 'deps-linux-aaa');
      expect(id).toBeGreaterThan(0);
      // uploaded with a single Put Blob
      expect(requests.some((l) => /PUT \/blob\/cache\/[0-9a-f]{64}\?(?!.*comp=).* 201 /.test(l))).toBe(true);
      await fs.rm(dir, { recursive: true });
      expect(await cache.restoreCache([dir], 'deps-linux-aaa')).toBe('deps-linux-aaa');
      expect((await fs.readFile(path.join(dir, 'sub', 'b.bin'))).equals(original)).toBe(true);
      expect(await fs.readFile(path.join(dir, 'a.txt'), 'utf8')).toBe('first\n');
    });

    it('does not save the same key twice', async () => {
      expect(await cache.saveCache([dir], 'deps-linux-aaa')).toBe(-1);
    });

    it('restores the newest prefix match of a restore key', async () => {
      await writeFile(path.join(dir, 'a.txt'), 'second\n');
      expect(await cache.saveCache([dir], 'deps-linux-bbb')).toBeGreaterThan(0);
      await fs.rm(dir, { recursive: true });
      expect(await cache.restoreCache([dir], 'deps-linux-zzz', ['deps-windows-', 'deps-linux-'])).toBe('deps-linux-bbb');
      expect(await fs.readFile(path.join(dir, 'a.txt'), 'utf8')).toBe('second\n');
      // an exact match wins over a newer prefix match
      expect(await cache.restoreCache([dir], 'deps-linux-aaa', ['deps-linux-'], { lookupOnly: true })).toBe('deps-linux-aaa');
      // a prefix of the primary key itself matches too
      expect(await cache.restoreCache([dir], 'deps-linux-', [], { lookupOnly: true })).toBe('deps-linux-bbb');
    });

    it('misses return undefined, and entries are scoped by version (paths)', async () => {
      expect(await cache.restoreCache([dir], 'nothing-here', ['nor-here-'])).toBeUndefined();
      expect(await cache.restoreCache([path.join(workspace, 'elsewhere')], 'deps-linux-aaa', ['deps-'])).toBeUndefined();
    });
  });

  describe('standalone use', () => {
    it('refuses a second server on the same root', async () => {
      await expect(startResultsServer({ root })).rejects.toThrow(/already served/);
    });

    it('main.ts prints the env to use', async () => {
      const { spawn } = await import('node:child_process');
      const other = path.join(tmp, 'cli-root');
      const child = spawn(process.execPath, ['--import', 'tsx', 'runner/results-server/main.ts', '--root', other, '--json'], {
        cwd: path.resolve(import.meta.dirname, '..'),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      try {
        let out = '';
        const printed = await new Promise<{ url: string; env: Record<string, string>; githubToken: string }>(
          (resolve, reject) => {
            child.stdout.on('data', (d: Buffer) => {
              out += d.toString();
              try {
                resolve(JSON.parse(out));
              } catch {
                // not complete yet
              }
            });
            child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
          },
        );
        expect(printed.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
        expect(printed.env['ACTIONS_RESULTS_URL']).toBe(printed.url);
        const res = await fetch(printed.url);
        expect(await res.json()).toMatchObject({ ok: true });
        // the REST routes answer only the printed GITHUB_TOKEN (of --repository, local/repository by default)
        const api = new URL('repos/local/repository/actions/artifacts', printed.url);
        expect((await fetch(api)).status).toBe(401);
        const authed = await fetch(api, { headers: { authorization: `token ${printed.githubToken}` } });
        expect(await authed.json()).toMatchObject({ total_count: 0 });
      } finally {
        child.kill('SIGTERM');
      }
    });
  });

  describe('validation and auth', () => {
    it('answers 400 naming the missing field', async () => {
      const res = await twirp(
        'ArtifactService',
        'CreateArtifact',
        { workflow_run_backend_id: '1001', workflow_job_run_backend_id: 'build' },
        await server.token(),
      );
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'invalid_argument', msg: 'name is required', meta: { argument: 'name' } });
      const bad = await twirp(
        'CacheService',
        'FinalizeCacheEntryUpload',
        { key: 'k', version: 'v', size_bytes: 'lots' },
        await server.token(),
      );
      expect(bad.status).toBe(400);
      expect((await bad.json()).msg).toMatch(/^size_bytes /);
    });

    it('refuses requests without a valid token or for another run', async () => {
      expect((await twirp('ArtifactService', 'ListArtifacts', {})).status).toBe(401);
      expect((await twirp('ArtifactService', 'ListArtifacts', {}, 'a.b.c')).status).toBe(401);
      const res = await twirp(
        'ArtifactService',
        'ListArtifacts',
        { workflow_run_backend_id: '2002', workflow_job_run_backend_id: 'x' },
        await server.token(),
      );
      expect(res.status).toBe(403);
      expect((await twirp('ArtifactService', 'NoSuchMethod', {}, await server.token())).status).toBe(404);
    });

    it('refuses blob requests with a bad or missing signature', async () => {
      const res = await twirp(
        'ArtifactService',
        'GetSignedArtifactURL',
        { workflow_run_backend_id: '1001', workflow_job_run_backend_id: 'build', name: 'model-output' },
        await server.token(),
      );
      const { signed_url } = (await res.json()) as { signed_url: string };
      const ok = await fetch(signed_url, { headers: { Range: 'bytes=0-3' } });
      expect(ok.status).toBe(206);
      expect(Buffer.from(await ok.arrayBuffer()).toString('latin1')).toBe('PK\x03\x04');
      const tampered = new URL(signed_url);
      tampered.searchParams.set('se', new Date(Date.now() + 1e9).toISOString());
      expect((await fetch(tampered)).status).toBe(403);
      const put = await fetch(signed_url.replace('sp=r', 'sp=w'), {
        method: 'PUT',
        body: 'x',
        headers: { 'x-ms-blob-type': 'BlockBlob' },
      });
      expect(put.status).toBe(403);
    });
  });
});
