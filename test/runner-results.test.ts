/** Results server details cdl run relies on: block-list order, and the cache service v1 REST API. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startResultsServer, type ResultsServer } from '../runner/results-server/index.js';

let server: ResultsServer;
let dir: string;
let token: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cdl-results-'));
  server = await startResultsServer({ root: dir, runId: '7', jobId: 'j' });
  token = await server.token();
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const twirp = async (method: string, body: object) => {
  const res = await fetch(`${server.url}twirp/github.actions.results.api.v1.ArtifactService/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return (await res.json()) as Record<string, string>;
};

describe('results server', () => {
  it('assembles blocks in block-list order, not arrival order', async () => {
    const ids = { workflow_run_backend_id: '7', workflow_job_run_backend_id: 'j', name: 'ordered' };
    const { signed_upload_url } = await twirp('CreateArtifact', { ...ids, version: 4 });
    const a = Buffer.from('AAAA').toString('base64');
    const b = Buffer.from('BBBB').toString('base64');
    for (const [id, text] of [
      [b, 'second-'],
      [a, 'first-'],
    ] as const) {
      const res = await fetch(`${signed_upload_url}&comp=block&blockid=${encodeURIComponent(id)}`, { method: 'PUT', body: text });
      expect(res.status).toBe(201);
    }
    const list = `<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>${a}</Latest><Latest>${b}</Latest></BlockList>`;
    expect((await fetch(`${signed_upload_url}&comp=blocklist`, { method: 'PUT', body: list })).status).toBe(201);
    expect((await twirp('FinalizeArtifact', { ...ids, size: '13' })).ok).toBe(true);
    const { signed_url } = await twirp('GetSignedArtifactURL', ids);
    expect(await (await fetch(signed_url as string)).text()).toBe('first-second-');
  });

  it('serves the cache service v1 REST API: reserve, ranged uploads out of order, commit, lookup, 204 on a miss', async () => {
    const api = `${server.url}_apis/artifactcache/`;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const miss = await fetch(`${api}cache?keys=k1,k&version=v1`, { headers });
    expect(miss.status).toBe(204);
    const reserve = await fetch(`${api}caches`, { method: 'POST', headers, body: JSON.stringify({ key: 'k1', version: 'v1' }) });
    const { cacheId } = (await reserve.json()) as { cacheId: number };
    const again = await fetch(`${api}caches`, { method: 'POST', headers, body: JSON.stringify({ key: 'k1', version: 'v1' }) });
    expect(again.status).toBe(409);
    const patch = (range: string, body: string) =>
      fetch(`${api}caches/${cacheId}`, {
        method: 'PATCH',
        headers: { ...headers, 'content-type': 'application/octet-stream', 'content-range': range },
        body,
      });
    expect((await patch('bytes 5-9/*', 'world')).status).toBe(204);
    expect((await patch('bytes 0-4/*', 'hello')).status).toBe(204);
    const commit = await fetch(`${api}caches/${cacheId}`, { method: 'POST', headers, body: JSON.stringify({ size: 10 }) });
    expect(commit.status).toBe(204);
    const hit = (await (await fetch(`${api}cache?keys=${encodeURIComponent('k,k1')}&version=v1`, { headers })).json()) as Record<
      string,
      string
    >;
    expect(hit.cacheKey).toBe('k1');
    expect(await (await fetch(hit.archiveLocation as string)).text()).toBe('helloworld');
    expect((await fetch(`${api}cache?keys=k1&version=other`, { headers })).status).toBe(204);
    expect((await fetch(`${api}cache?keys=k1&version=v1`)).status).toBe(401);
  });
});
