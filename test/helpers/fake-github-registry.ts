/**
 * A fake GitHub REST API on 127.0.0.1 for the registry: releases with drafts, asset uploads (the
 * uploads endpoint), publication with immutable releases (assets of a published immutable release
 * are refused with 422), deletion of drafts, and deployments with statuses. Every request is kept
 * for checking against GitHub's OpenAPI description (validateRequest in test/forge-fake-github.ts).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RecordedRequest } from '../forge-fake-github.js';

type Json = Record<string, any>;

export interface RegAsset {
  id: number;
  name: string;
  data: Buffer;
  digest: string;
}

export interface RegRelease {
  id: number;
  tag_name: string;
  name: string;
  body: string;
  draft: boolean;
  immutable: boolean;
  target_commitish: string;
  published_at: string | null;
  created_at: string;
  assets: RegAsset[];
}

export interface RegDeployment {
  id: number;
  ref: string;
  sha: string;
  task: string;
  environment: string;
  description: string;
  payload: unknown;
  created_at: string;
  statuses: Json[];
}

export interface FakeRegistryGitHub {
  url: string;
  requests: RecordedRequest[];
  releases: RegRelease[];
  deployments: RegDeployment[];
  /** Immutable releases on for the repository: published releases lock their assets. */
  immutable: boolean;
  addRelease(tag: string, files: Record<string, Buffer | string>, o?: Partial<RegRelease>): RegRelease;
  close(): Promise<void>;
}

const digest = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function startFakeRegistryGitHub(
  o: { owner?: string; repo?: string; sha?: string } = {},
): Promise<FakeRegistryGitHub> {
  const owner = o.owner ?? 'octo';
  const repo = o.repo ?? 'models';
  const prefix = `/repos/${owner}/${repo}`;
  let next = 100;
  let clock = 0;
  const time = () => new Date(Date.UTC(2026, 0, 1) + clock++ * 60_000).toISOString();
  const state = {
    requests: [] as RecordedRequest[],
    releases: [] as RegRelease[],
    deployments: [] as RegDeployment[],
    immutable: true,
  };
  let url = '';
  const assetJson = (a: RegAsset) => ({
    id: a.id,
    name: a.name,
    size: a.data.length,
    digest: a.digest,
    state: 'uploaded',
    url: `${url}${prefix}/releases/assets/${a.id}`,
    browser_download_url: `https://github.com/${owner}/${repo}/releases/download/x/${a.name}`,
    content_type: 'application/octet-stream',
  });
  const releaseJson = (r: RegRelease) => ({
    id: r.id,
    tag_name: r.tag_name,
    name: r.name,
    body: r.body,
    draft: r.draft,
    prerelease: false,
    immutable: r.immutable,
    target_commitish: r.target_commitish,
    published_at: r.published_at,
    created_at: r.created_at,
    html_url: `https://github.com/${owner}/${repo}/releases/tag/${r.tag_name}`,
    upload_url: `${url}${prefix}/releases/${r.id}/assets{?name,label}`,
    assets: r.assets.map(assetJson),
  });
  const deploymentJson = (d: RegDeployment) => ({
    id: d.id,
    ref: d.ref,
    sha: d.sha,
    task: d.task,
    environment: d.environment,
    description: d.description,
    payload: d.payload,
    created_at: d.created_at,
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const isJson = String(req.headers['content-type'] ?? '').includes('json');
    let body: any;
    if (raw.length) body = isJson ? JSON.parse(raw.toString('utf8')) : raw.toString('latin1');
    state.requests.push({
      method: req.method ?? 'GET',
      path: u.pathname,
      query: Object.fromEntries(u.searchParams),
      headers: req.headers,
      body,
    });
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(value));
    };
    const rest = u.pathname.startsWith(prefix) ? u.pathname.slice(prefix.length) : '';
    let m: RegExpExecArray | null;
    const M = req.method;
    const rel = (id: string) => state.releases.find((r) => r.id === Number(id));
    if (M === 'GET' && rest === '/releases') {
      const sorted = [...state.releases].sort((a, b) => b.created_at.localeCompare(a.created_at));
      return send(200, sorted.slice(0, Number(u.searchParams.get('per_page') ?? 30)).map(releaseJson));
    }
    if (M === 'POST' && rest === '/releases') {
      if (state.releases.some((r) => r.tag_name === body.tag_name && !r.draft))
        return send(422, { message: 'Validation Failed', errors: [{ code: 'already_exists', field: 'tag_name' }] });
      const r: RegRelease = {
        id: next++,
        tag_name: body.tag_name,
        name: body.name ?? body.tag_name,
        body: body.body ?? '',
        draft: Boolean(body.draft),
        immutable: false,
        target_commitish: body.target_commitish ?? 'main',
        published_at: body.draft ? null : time(),
        created_at: time(),
        assets: [],
      };
      state.releases.push(r);
      return send(201, releaseJson(r));
    }
    if (M === 'GET' && (m = /^\/releases\/tags\/(.+)$/.exec(rest))) {
      const r = state.releases.find((x) => x.tag_name === decodeURIComponent(m![1]!) && !x.draft);
      return r ? send(200, releaseJson(r)) : send(404, { message: 'Not Found' });
    }
    if (M === 'PATCH' && (m = /^\/releases\/(\d+)$/.exec(rest))) {
      const r = rel(m[1]!);
      if (!r) return send(404, { message: 'Not Found' });
      if (r.immutable) return send(422, { message: 'Cannot modify an immutable release' });
      if (typeof body.body === 'string') r.body = body.body;
      if (body.draft === false && r.draft) {
        // As GitHub: publishing a second release of a tag that a published release holds is refused.
        if (state.releases.some((x) => x !== r && x.tag_name === r.tag_name && !x.draft))
          return send(422, { message: 'Validation Failed', errors: [{ code: 'already_exists', field: 'tag_name' }] });
        r.draft = false;
        r.published_at = time();
        r.immutable = state.immutable;
      }
      return send(200, releaseJson(r));
    }
    if (M === 'DELETE' && (m = /^\/releases\/(\d+)$/.exec(rest))) {
      const i = state.releases.findIndex((x) => x.id === Number(m![1]));
      if (i < 0) return send(404, { message: 'Not Found' });
      state.releases.splice(i, 1);
      res.writeHead(204);
      return res.end();
    }
    if (M === 'POST' && (m = /^\/releases\/(\d+)\/assets$/.exec(rest))) {
      const r = rel(m[1]!);
      if (!r) return send(404, { message: 'Not Found' });
      if (r.immutable) return send(422, { message: 'Cannot upload assets to an immutable release.' });
      const name = u.searchParams.get('name')!;
      if (r.assets.some((a) => a.name === name))
        return send(422, { message: 'Validation Failed', errors: [{ code: 'already_exists', field: 'name' }] });
      const a: RegAsset = { id: next++, name, data: raw, digest: digest(raw) };
      r.assets.push(a);
      return send(201, assetJson(a));
    }
    if (M === 'GET' && (m = /^\/releases\/(\d+)\/assets$/.exec(rest))) {
      const r = rel(m[1]!);
      return r ? send(200, r.assets.map(assetJson)) : send(404, { message: 'Not Found' });
    }
    if (M === 'GET' && (m = /^\/releases\/assets\/(\d+)$/.exec(rest))) {
      const a = state.releases.flatMap((r) => r.assets).find((x) => x.id === Number(m![1]));
      if (!a) return send(404, { message: 'Not Found' });
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': a.data.length });
      return res.end(a.data);
    }
    if (M === 'POST' && rest === '/deployments') {
      const d: RegDeployment = {
        id: next++,
        ref: body.ref,
        sha: o.sha ?? 'f'.repeat(40),
        task: body.task ?? 'deploy',
        environment: body.environment ?? 'production',
        description: body.description ?? '',
        payload: body.payload ?? {},
        created_at: time(),
        statuses: [],
      };
      state.deployments.push(d);
      return send(201, deploymentJson(d));
    }
    if (M === 'GET' && rest === '/deployments') {
      const task = u.searchParams.get('task');
      const env = u.searchParams.get('environment');
      const list = state.deployments
        .filter((d) => (!task || d.task === task) && (!env || d.environment === env))
        .sort((a, b) => b.id - a.id);
      return send(200, list.slice(0, Number(u.searchParams.get('per_page') ?? 30)).map(deploymentJson));
    }
    if ((m = /^\/deployments\/(\d+)\/statuses$/.exec(rest))) {
      const d = state.deployments.find((x) => x.id === Number(m![1]));
      if (!d) return send(404, { message: 'Not Found' });
      if (M === 'GET') return send(200, [...d.statuses].reverse().slice(0, Number(u.searchParams.get('per_page') ?? 30)));
      const s = {
        id: next++,
        state: body.state,
        description: body.description ?? '',
        environment_url: body.environment_url ?? '',
        log_url: body.log_url ?? '',
        created_at: time(),
      };
      d.statuses.push(s);
      if (body.state === 'success' && body.auto_inactive !== false) {
        for (const other of state.deployments) {
          if (other !== d && other.environment === d.environment && other.statuses.at(-1)?.state === 'success')
            other.statuses.push({ id: next++, state: 'inactive', created_at: time() });
        }
      }
      return send(201, s);
    }
    return send(404, { message: `Not Found: ${M} ${u.pathname}` });
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => {
      res.writeHead(500);
      res.end(e.message);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    get immutable() {
      return state.immutable;
    },
    set immutable(v: boolean) {
      state.immutable = v;
    },
    requests: state.requests,
    releases: state.releases,
    deployments: state.deployments,
    addRelease(tag, files, x = {}) {
      const r: RegRelease = {
        id: next++,
        tag_name: tag,
        name: tag,
        body: '',
        draft: false,
        immutable: state.immutable,
        target_commitish: 'main',
        published_at: time(),
        created_at: time(),
        assets: Object.entries(files).map(([name, d]) => {
          const data = Buffer.from(d);
          return { id: next++, name, data, digest: digest(data) };
        }),
        ...x,
      };
      state.releases.push(r);
      return r;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
