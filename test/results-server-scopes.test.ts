// Cache scoping under `cdl run`, as on GitHub: a run saves caches to its own ref and restores
// from its own ref, then the pull request's base branch, then the default branch; a cache saved
// on one feature branch is never restored on another.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startResultsServer, type ResultsServer } from '../runner/results-server/index.js';
import { cacheScopesFor, type CacheScope } from '../runner/results-server/token.js';

let tmp: string;
let server: ResultsServer;

const MAIN = cacheScopesFor('refs/heads/main', { defaultBranch: 'main' });
const FEATURE = cacheScopesFor('refs/heads/feature', { defaultBranch: 'main' });
const OTHER = cacheScopesFor('refs/heads/other', { defaultBranch: 'main' });
const PR = cacheScopesFor('refs/pull/7/merge', { baseRef: 'release', defaultBranch: 'main' });
const RELEASE = cacheScopesFor('refs/heads/release', { defaultBranch: 'main' });

const api = (p: string) => new URL(`_apis/artifactcache/${p}`, server.url).href;
const auth = async (scopes: CacheScope[]) => ({ authorization: `Bearer ${await server.token({ runId: '1', scopes })}` });

async function save(scopes: CacheScope[], key: string, text: string): Promise<Response> {
  const reserve = await fetch(api('caches'), {
    method: 'POST',
    headers: { ...(await auth(scopes)), 'content-type': 'application/json' },
    body: JSON.stringify({ key, version: 'v' }),
  });
  if (reserve.status !== 201) return reserve;
  const { cacheId } = (await reserve.json()) as { cacheId: number };
  const body = Buffer.from(text);
  const patch = await fetch(api(`caches/${cacheId}`), {
    method: 'PATCH',
    headers: {
      ...(await auth(scopes)),
      'content-range': `bytes 0-${body.length - 1}/*`,
      'content-type': 'application/octet-stream',
    },
    body,
  });
  expect(patch.status).toBe(204);
  return fetch(api(`caches/${cacheId}`), {
    method: 'POST',
    headers: { ...(await auth(scopes)), 'content-type': 'application/json' },
    body: JSON.stringify({ size: body.length }),
  });
}

/** What a restore with `keys` (key, then restore keys) gets: the matched key, its scope and its bytes. */
async function restore(
  scopes: CacheScope[],
  ...keys: string[]
): Promise<{ key: string; scope: string; text: string } | undefined> {
  const res = await fetch(api(`cache?keys=${encodeURIComponent(keys.join(','))}&version=v`), { headers: await auth(scopes) });
  if (res.status === 204) return undefined;
  const hit = (await res.json()) as { cacheKey: string; scope: string; archiveLocation: string };
  return { key: hit.cacheKey, scope: hit.scope, text: await (await fetch(hit.archiveLocation)).text() };
}

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cdl-results-scopes-'));
  server = await startResultsServer({ root: path.join(tmp, 'root'), runId: '1', repository: 'acme/models' });
  expect((await save(MAIN, 'deps-1', 'main')).status).toBe(204);
  expect((await save(FEATURE, 'deps-2', 'feature')).status).toBe(204);
  // The same key on two branches is two entries (key, version and scope make an entry).
  expect((await save(FEATURE, 'deps-1', 'feature-1')).status).toBe(204);
  expect((await save(RELEASE, 'deps-3', 'release')).status).toBe(204);
});

afterAll(async () => {
  await server?.close();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

describe('cache scopes under cdl run', () => {
  it('the scopes of a run: its ref (saved to), then the base branch, then the default branch (restored from)', () => {
    expect(PR).toEqual([
      { scope: 'refs/pull/7/merge', write: true },
      { scope: 'refs/heads/release', write: false },
      { scope: 'refs/heads/main', write: false },
    ]);
    expect(MAIN).toEqual([{ scope: 'refs/heads/main', write: true }]);
  });

  it.each([
    [
      'a branch restores its own entry before the default branch’s',
      FEATURE,
      ['deps-1'],
      { key: 'deps-1', scope: 'refs/heads/feature', text: 'feature-1' },
    ],
    [
      'a branch restores by prefix in its own scope first',
      FEATURE,
      ['deps-'],
      { key: 'deps-1', scope: 'refs/heads/feature', text: 'feature-1' },
    ],
    ['another branch never sees the feature branch’s entry', OTHER, ['deps-2'], undefined],
    [
      'another branch falls back to the default branch',
      OTHER,
      ['deps-2', 'deps-'],
      { key: 'deps-1', scope: 'refs/heads/main', text: 'main' },
    ],
    ['the default branch never sees a feature branch’s entry', MAIN, ['deps-2'], undefined],
    [
      'a pull request restores from its base branch',
      PR,
      ['deps-3'],
      { key: 'deps-3', scope: 'refs/heads/release', text: 'release' },
    ],
    [
      'a pull request restores from the default branch',
      PR,
      ['deps-1'],
      { key: 'deps-1', scope: 'refs/heads/main', text: 'main' },
    ],
    ['a pull request does not see other feature branches', PR, ['deps-2'], undefined],
  ] as const)('%s', async (_what, scopes, keys, expected) => {
    expect(await restore([...scopes], ...keys)).toEqual(expected);
  });

  it('lists only the entries of scopes the run may read', async () => {
    const res = await fetch(api('caches?key=deps-1'), { headers: await auth(OTHER) });
    const list = (await res.json()) as { artifactCaches: { scope: string }[] };
    expect(list.artifactCaches.map((c) => c.scope)).toEqual(['refs/heads/main']);
  });

  it('a token that may only restore cannot save: 403 JSON naming its scopes', async () => {
    const res = await save([{ scope: 'refs/heads/main', write: false }], 'deps-9', 'x');
    expect(res.status).toBe(403);
    expect((await res.json()) as { msg?: string; message?: string }).toMatchObject({
      message: expect.stringMatching(/may only restore caches \(scopes refs\/heads\/main\), not save them/),
    });
  });

  it('a cache upload reserved on one branch cannot be written or committed from another', async () => {
    const reserve = await fetch(api('caches'), {
      method: 'POST',
      headers: { ...(await auth(FEATURE)), 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'deps-5', version: 'v' }),
    });
    const { cacheId } = (await reserve.json()) as { cacheId: number };
    const patch = await fetch(api(`caches/${cacheId}`), {
      method: 'PATCH',
      headers: { ...(await auth(OTHER)), 'content-range': 'bytes 0-0/*' },
      body: 'x',
    });
    expect(patch.status).toBe(404);
    expect(await patch.text()).toMatch(/no cache upload is open for id \d+ in scope refs\/heads\/other/);
  });

  it('refuses a cache scope that is not a git ref', async () => {
    await expect(
      startResultsServer({ root: path.join(tmp, 'bad'), cacheScopes: [{ scope: 'main\nx', write: true }] }),
    ).rejects.toThrow(/cache scope must be a git ref such as refs\/heads\/main \(got "main\\nx"\)/);
  });
});
