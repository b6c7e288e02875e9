// Attacks on the results server `cdl run` starts, over real HTTP on 127.0.0.1, with the unmodified
// @actions/artifact client as the honest party: tokens on every route, run scoping, tokens that die
// with their run, a signing key no step can read, bounded uploads and ranges, refused names, and
// connections that cannot hold the server forever.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startResultsServer, type ResultsServer } from '../runner/results-server/index.js';

const LIMIT = 64 * 1024;
const REPO = 'acme/models';

let tmp: string;
let root: string;
let server: ResultsServer;
let artifact: typeof import('@actions/artifact');
const savedEnv = { ...process.env };

async function useRun(runId: string): Promise<void> {
  Object.assign(process.env, await server.env({ runId, jobId: 'build' }));
}

async function upload(runId: string, name: string, text: string): Promise<number> {
  await useRun(runId);
  const dir = path.join(tmp, `src-${runId}-${name}`);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'a.txt'), text);
  const up = await new artifact.DefaultArtifactClient().uploadArtifact(name, [path.join(dir, 'a.txt')], dir);
  return up.id as number;
}

function rest(route: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  if (init.token) headers['authorization'] = `token ${init.token}`;
  return fetch(new URL(`repos/${REPO}/actions/${route}`, server.url), { ...init, headers, redirect: 'manual' });
}

function twirp(method: string, body: object, token: string): Promise<Response> {
  return fetch(new URL(`twirp/github.actions.results.api.v1.ArtifactService/${method}`, server.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
}

/** Bytes the files under a folder say they hold (a sparse file counts in full). */
async function apparentBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) total += (await fs.stat(path.join(e.parentPath, e.name))).size;
  }
  return total;
}

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cdl-results-sec-'));
  root = path.join(tmp, 'root');
  await fs.mkdir(path.join(tmp, 'runner-temp'), { recursive: true });
  server = await startResultsServer({ root, runId: '1', repository: REPO, maxUploadBytes: LIMIT, idleTimeoutMs: 500 });
  process.env['RUNNER_TEMP'] = path.join(tmp, 'runner-temp');
  process.env['GITHUB_WORKSPACE'] = tmp;
  await useRun('1');
  artifact = await import('@actions/artifact');
});

afterAll(async () => {
  await server?.close();
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

describe('results server REST routes', () => {
  let mine: number;
  let theirs: number;

  beforeAll(async () => {
    mine = await upload('1', 'mine', 'one\n');
    theirs = await upload('2', 'theirs', 'two\n');
  });

  it('refuse every route without a token, or with a token this server did not sign: 401 JSON, nothing deleted', async () => {
    const foreign = await startResultsServer({ root: path.join(tmp, 'other-root'), repository: REPO });
    const forged = await foreign.githubToken({ runId: '1' });
    await foreign.close();
    for (const token of [undefined, forged, 'ghs_0000', await server.token({ runId: '1' })]) {
      for (const [route, method] of [
        ['artifacts', 'GET'],
        ['runs/2/artifacts', 'GET'],
        [`artifacts/${theirs}`, 'GET'],
        [`artifacts/${theirs}/zip`, 'GET'],
        [`artifacts/${theirs}`, 'DELETE'],
      ] as const) {
        const res = await rest(route, { method, token });
        expect(res.status, `${method} ${route} with ${token?.slice(0, 8)}`).toBe(401);
        expect(((await res.json()) as { message: string }).message).toMatch(/authentication|Bad credentials/);
      }
    }
    await useRun('2');
    const { artifacts } = await new artifact.DefaultArtifactClient().listArtifacts();
    expect(artifacts.map((a) => a.id)).toEqual([theirs]);
  });

  it("a run's GITHUB_TOKEN reads its repository's artifacts, deletes only its own run's, and no other repository's", async () => {
    const token = await server.githubToken({ runId: '1' });
    const listed = (await (await rest('artifacts', { token })).json()) as { artifacts: { id: number }[] };
    expect(listed.artifacts.map((a) => a.id).sort()).toEqual([mine, theirs].sort());
    expect((await rest(`artifacts/${theirs}/zip`, { token })).status).toBe(302);
    const refused = await rest(`artifacts/${theirs}`, { method: 'DELETE', token });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toMatch(/belongs to run 2/);
    expect((await rest(`artifacts/${theirs}`, { token })).status).toBe(200);
    const elsewhere = await fetch(new URL(`repos/someone/else/actions/artifacts`, server.url), {
      headers: { authorization: `token ${token}` },
    });
    expect(elsewhere.status).toBe(403);
    expect(((await elsewhere.json()) as { message: string }).message).toMatch(/for acme\/models, not someone\/else/);
    expect((await rest(`artifacts/${mine}`, { method: 'DELETE', token })).status).toBe(204);
    expect((await rest(`artifacts/${mine}`, { token })).status).toBe(404);
  });

  it("a run's tokens stop working when the run ends, and every token dies with the server", async () => {
    const runtime = await server.token({ runId: '2', jobId: 'build' });
    const api = await server.githubToken({ runId: '2' });
    const list = { workflow_run_backend_id: '2', workflow_job_run_backend_id: 'build' };
    expect((await twirp('ListArtifacts', list, runtime)).status).toBe(200);
    expect((await rest('runs/2/artifacts', { token: api })).status).toBe(200);
    server.endRun('2');
    const after = await twirp('ListArtifacts', list, runtime);
    expect(after.status).toBe(401);
    expect(((await after.json()) as { msg: string }).msg).toMatch(/run "2" has ended/);
    expect((await rest('runs/2/artifacts', { token: api })).status).toBe(401);
    const rest3 = await server.githubToken({ runId: '3' });
    // A restart on the same root draws a new key: no token from before is accepted.
    await server.close();
    server = await startResultsServer({ root, runId: '1', repository: REPO, maxUploadBytes: LIMIT, idleTimeoutMs: 500 });
    expect((await rest('artifacts', { token: rest3 })).status).toBe(401);
    expect((await rest('artifacts', { token: await server.githubToken({ runId: '3' }) })).status).toBe(200);
  });

  it('keeps the signing key off the disk (the root may sit in the workspace of the steps it signs for)', async () => {
    await server.close();
    // what an earlier version left behind is removed
    await fs.writeFile(path.join(root, 'secret'), `${'ab'.repeat(32)}\n`);
    server = await startResultsServer({ root, runId: '1', repository: REPO, maxUploadBytes: LIMIT, idleTimeoutMs: 500 });
    const files = (await fs.readdir(root, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    expect(files.map((e) => e.name)).not.toContain('secret');
    // no file under the root holds anything that verifies the server's tokens
    const [h, p, sig] = (await server.githubToken()).split('.') as [string, string, string];
    const { createHmac } = await import('node:crypto');
    for (const e of files) {
      const data = await fs.readFile(path.join(e.parentPath, e.name));
      for (const key of [data, Buffer.from(data.toString('utf8').trim(), 'hex')]) {
        expect(createHmac('sha256', key).update(`${h}.${p}`).digest('base64url')).not.toBe(sig);
      }
    }
  });
});

describe('results server bounds', () => {
  const cacheApi = () => new URL('_apis/artifactcache/', server.url).href;
  const headers = async () => ({ authorization: `Bearer ${await server.token()}`, 'content-type': 'application/json' });

  async function reserve(key: string): Promise<number> {
    const res = await fetch(`${cacheApi()}caches`, {
      method: 'POST',
      headers: await headers(),
      body: JSON.stringify({ key, version: 'v' }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { cacheId: number }).cacheId;
  }

  const patch = async (id: number, range: string, body: string) =>
    fetch(`${cacheApi()}caches/${id}`, {
      method: 'PATCH',
      headers: { ...(await headers()), 'content-type': 'application/octet-stream', 'content-range': range },
      body,
    });

  it('refuses a cache v1 range at 2^40 with 413 JSON before writing a byte', async () => {
    const id = await reserve('sparse');
    const res = await patch(id, `bytes ${2 ** 40}-${2 ** 40}/*`, 'x');
    expect(res.status).toBe(413);
    expect(((await res.json()) as { message: string }).message).toMatch(
      /Content-Range bytes 1099511627776-1099511627776 reaches past 65536/,
    );
    expect(await apparentBytes(root)).toBeLessThan(LIMIT);
    const commit = await fetch(`${cacheApi()}caches/${id}`, {
      method: 'POST',
      headers: await headers(),
      body: JSON.stringify({ size: 2 ** 40 + 1 }),
    });
    expect(commit.status).toBe(400);
    expect(await apparentBytes(root)).toBeLessThan(LIMIT);
  });

  it('commits only contiguous ranges of the declared size; overlaps and overlong bodies are 400 naming the header', async () => {
    const id = await reserve('gappy');
    expect((await patch(id, 'bytes 0-4/*', 'hello')).status).toBe(204);
    expect((await patch(id, 'bytes 10-14/*', 'world')).status).toBe(204);
    const overlap = await patch(id, 'bytes 3-7/*', 'XXXXX');
    expect(overlap.status).toBe(400);
    expect(await overlap.json()).toMatchObject({ argument: 'Content-Range' });
    const overlong = await patch(id, 'bytes 5-6/*', 'too long');
    expect(overlong.status).toBe(400);
    expect(((await overlong.json()) as { message: string }).message).toMatch(
      /Content-Length is 8 but Content-Range bytes 5-6 is 2 bytes/,
    );
    const gap = await fetch(`${cacheApi()}caches/${id}`, {
      method: 'POST',
      headers: await headers(),
      body: JSON.stringify({ size: 15 }),
    });
    expect(gap.status).toBe(400);
    expect(((await gap.json()) as { message: string }).message).toMatch(/bytes 5-9 were never uploaded/);
    expect((await patch(id, 'bytes 5-9/*', ', you ')).status).toBe(400); // 6 bytes for 5
    expect((await patch(id, 'bytes 5-9/*', ' big ')).status).toBe(204);
    const short = await fetch(`${cacheApi()}caches/${id}`, {
      method: 'POST',
      headers: await headers(),
      body: JSON.stringify({ size: 12 }),
    });
    expect(short.status).toBe(400);
    expect(await short.json()).toMatchObject({ argument: 'size' });
    const ok = await fetch(`${cacheApi()}caches/${id}`, {
      method: 'POST',
      headers: await headers(),
      body: JSON.stringify({ size: 15 }),
    });
    expect(ok.status).toBe(204);
    const hit = (await (await fetch(`${cacheApi()}cache?keys=gappy&version=v`, { headers: await headers() })).json()) as {
      archiveLocation: string;
    };
    expect(await (await fetch(hit.archiveLocation)).text()).toBe('hello big world');
  });

  it('refuses artifact names ".", "..", with NUL or a path separator: 400 naming the field', async () => {
    const ids = { workflow_run_backend_id: '1', workflow_job_run_backend_id: 'build' };
    for (const name of ['.', '..', ' .. ', 'a\0b', 'a/b', '..\\x']) {
      const res = await twirp('CreateArtifact', { ...ids, name, version: 4 }, await server.token());
      expect(res.status, JSON.stringify(name)).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'invalid_argument', meta: { argument: 'name' } });
    }
  });

  it('bounds uploads: a declared or streamed body over the limit is 413, and a block list cannot repeat past it', async () => {
    const ids = { workflow_run_backend_id: '1', workflow_job_run_backend_id: 'build', name: 'big', version: 4 };
    const { signed_upload_url } = (await (await twirp('CreateArtifact', ids, await server.token())).json()) as {
      signed_upload_url: string;
    };
    const declared = await fetch(signed_upload_url, {
      method: 'PUT',
      headers: { 'x-ms-blob-type': 'BlockBlob' },
      body: randomBytes(LIMIT + 1),
    });
    expect(declared.status).toBe(413);
    expect(await declared.text()).toMatch(/RequestBodyTooLarge/);
    // streamed without a length
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 5; i++) c.enqueue(randomBytes(LIMIT / 4));
        c.close();
      },
    });
    const streamed = await fetch(signed_upload_url, {
      method: 'PUT',
      headers: { 'x-ms-blob-type': 'BlockBlob' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    const block = Buffer.from('b1').toString('base64');
    expect(
      (await fetch(`${signed_upload_url}&comp=block&blockid=${block}`, { method: 'PUT', body: randomBytes(LIMIT / 2) })).status,
    ).toBe(201);
    const list = `<BlockList>${`<Latest>${block}</Latest>`.repeat(3)}</BlockList>`;
    const repeated = await fetch(`${signed_upload_url}&comp=blocklist`, { method: 'PUT', body: list });
    expect(repeated.status).toBe(413);
    expect(await apparentBytes(root)).toBeLessThan(2 * LIMIT);
  });

  it('bounds JSON bodies: 2 MiB to a Twirp or cache v1 route is refused naming the limit', async () => {
    const big = JSON.stringify({ key: 'k', version: 'v', pad: 'x'.repeat(2 * 1024 * 1024) });
    const res = await twirp('CreateArtifact', JSON.parse(big) as object, await server.token());
    expect(res.status).toBe(400);
    expect(((await res.json()) as { msg: string }).msg).toMatch(/request body is larger than 1048576 bytes/);
    const v1 = await fetch(`${cacheApi()}caches`, { method: 'POST', headers: await headers(), body: big });
    expect(v1.status).toBe(400);
    expect(((await v1.json()) as { message: string }).message).toMatch(/larger than 1048576 bytes/);
    expect((await fetch(server.url)).status).toBe(200);
  });

  it('closes an upload that goes quiet mid-body, keeps nothing of it, and answers others meanwhile', async () => {
    const ids = { workflow_run_backend_id: '1', workflow_job_run_backend_id: 'build', name: 'stalled', version: 4 };
    const { signed_upload_url } = (await (await twirp('CreateArtifact', ids, await server.token())).json()) as {
      signed_upload_url: string;
    };
    const url = new URL(signed_upload_url);
    const socket = net.connect(server.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.resume();
    socket.write(
      `PUT ${url.pathname}${url.search} HTTP/1.1\r\nHost: x\r\nx-ms-blob-type: BlockBlob\r\nContent-Length: 1000\r\n\r\nabc`,
    );
    expect((await fetch(server.url)).status).toBe(200);
    // closed by the server's idle timeout (500 ms here), long before the test's own timeout
    await closed;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await fs.readdir(path.join(root, 'tmp'))).toEqual([]);
    expect(await fs.readdir(path.join(root, 'blobs', 'artifacts'))).not.toContain(url.pathname.split('/').pop());
  });
});
