/**
 * A fake GitHub REST API on 127.0.0.1, the one every test that talks to GitHub uses. It keeps
 * issues and pull-request comments, commit statuses, releases (drafts, asset uploads through the
 * uploads endpoint, publication with immutable releases: a published immutable release takes no
 * more assets and no edits, 422), deployments with statuses, workflow dispatches and runner
 * registration tokens. It records every request; `validateRequest` (test/helpers/github-openapi.ts)
 * checks one against GitHub's OpenAPI description.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RecordedRequest } from './github-openapi.js';

export { validateRequest, type RecordedRequest } from './github-openapi.js';

type Json = Record<string, any>;

export interface FakeAsset {
  id: number;
  name: string;
  data: Buffer;
  /** As GitHub reports it; set at upload, so bytes changed afterwards no longer match it. */
  digest: string;
}

export interface FakeRelease {
  id: number;
  tag_name: string;
  name: string;
  body: string;
  draft: boolean;
  prerelease: boolean;
  immutable: boolean;
  target_commitish: string;
  published_at: string | null;
  created_at: string;
  assets: FakeAsset[];
}

export interface FakeComment {
  id: number;
  issue: number;
  body: string;
}

export interface FakeIssue {
  number: number;
  title: string;
  body: string;
  state?: 'open' | 'closed';
  labels?: string[];
  /** Set on a pull request, which GitHub lists among the issues. */
  pull_request?: unknown;
}

export interface FakeDeployment {
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

export interface FakeGitHub {
  url: string;
  requests: RecordedRequest[];
  issues: FakeIssue[];
  comments: FakeComment[];
  statuses: Array<{ sha: string; body: Json }>;
  releases: FakeRelease[];
  deployments: FakeDeployment[];
  dispatches: Array<{ workflow: string; body: Json }>;
  /** Immutable releases on for the repository (the default): published releases lock their assets. */
  immutable: boolean;
  /** A published release (or what `o` says) holding `files` as assets. */
  addRelease(tag: string, files: Record<string, Uint8Array | string>, o?: Partial<FakeRelease>): FakeRelease;
  close(): Promise<void>;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function startFakeGitHub(
  o: {
    owner?: string;
    repo?: string;
    /** The commit a new deployment is made for. */
    sha?: string;
    defaultBranch?: string;
  } = {},
): Promise<FakeGitHub> {
  const owner = o.owner ?? 'octo';
  const repo = o.repo ?? 'models';
  const prefix = `/repos/${owner}/${repo}`;
  let nextId = 1000;
  let clock = 0;
  let registrations = 0;
  const time = () => new Date(Date.UTC(2026, 0, 1) + clock++ * 60_000).toISOString();
  const state = {
    requests: [] as RecordedRequest[],
    issues: [] as FakeIssue[],
    comments: [] as FakeComment[],
    statuses: [] as Array<{ sha: string; body: Json }>,
    releases: [] as FakeRelease[],
    deployments: [] as FakeDeployment[],
    dispatches: [] as Array<{ workflow: string; body: Json }>,
    immutable: true,
  };
  let url = '';

  const issueJson = (i: FakeIssue) => ({
    id: i.number,
    number: i.number,
    title: i.title,
    body: i.body,
    state: i.state ?? 'open',
    labels: (i.labels ?? []).map((name) => ({ name })),
    html_url: `https://github.com/${owner}/${repo}/issues/${i.number}`,
    ...(i.pull_request ? { pull_request: i.pull_request } : {}),
  });
  const commentJson = (c: FakeComment) => ({
    id: c.id,
    node_id: `IC_${c.id}`,
    url: `${url}${prefix}/issues/comments/${c.id}`,
    html_url: `https://github.com/${owner}/${repo}/pull/${c.issue}#issuecomment-${c.id}`,
    body: c.body,
    user: { login: 'github-actions[bot]', id: 41898282 },
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
  });
  const assetJson = (a: FakeAsset) => ({
    id: a.id,
    name: a.name,
    size: a.data.length,
    digest: a.digest,
    state: 'uploaded',
    url: `${url}${prefix}/releases/assets/${a.id}`,
    browser_download_url: `https://github.com/${owner}/${repo}/releases/download/x/${a.name}`,
    content_type: 'application/octet-stream',
  });
  const releaseJson = (r: FakeRelease) => ({
    id: r.id,
    tag_name: r.tag_name,
    name: r.name,
    body: r.body,
    draft: r.draft,
    prerelease: r.prerelease,
    immutable: r.immutable,
    target_commitish: r.target_commitish,
    published_at: r.published_at,
    created_at: r.created_at,
    html_url: `https://github.com/${owner}/${repo}/releases/tag/${r.tag_name}`,
    upload_url: `${url}${prefix}/releases/${r.id}/assets{?name,label}`,
    assets: r.assets.map(assetJson),
  });
  const deploymentJson = (d: FakeDeployment) => ({
    id: d.id,
    ref: d.ref,
    sha: d.sha,
    task: d.task,
    environment: d.environment,
    description: d.description,
    payload: d.payload,
    created_at: d.created_at,
  });
  const alreadyExists = (field: string) => ({
    message: 'Validation Failed',
    errors: [{ code: 'already_exists', field }],
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    let body: any;
    if (raw.length && String(req.headers['content-type'] ?? '').includes('json')) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        body = raw.toString('utf8');
      }
    } else if (raw.length) body = raw.toString('latin1');
    state.requests.push({
      method: req.method ?? 'GET',
      path: u.pathname,
      query: Object.fromEntries(u.searchParams),
      headers: req.headers,
      body,
    });
    const send = (status: number, value?: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(value === undefined ? '' : JSON.stringify(value));
    };
    const notFound = () => send(404, { message: 'Not Found' });
    const perPage = Number(u.searchParams.get('per_page') ?? 30);
    const page = Number(u.searchParams.get('page') ?? 1);
    /** One page of `all`, with GitHub's Link header when there is a next one. */
    const paged = <T>(all: T[]): T[] => {
      if (page * perPage < all.length) {
        const next = new URL(u.pathname, url);
        for (const [k, v] of u.searchParams) next.searchParams.set(k, v);
        next.searchParams.set('per_page', String(perPage));
        next.searchParams.set('page', String(page + 1));
        res.setHeader('link', `<${next.href}>; rel="next"`);
      }
      return all.slice((page - 1) * perPage, page * perPage);
    };
    const M = req.method;
    if (u.pathname !== prefix && !u.pathname.startsWith(prefix + '/'))
      return send(404, { message: `Not Found: ${M} ${u.pathname}` });
    const rest = u.pathname.slice(prefix.length);
    const rel = (id: string) => state.releases.find((r) => r.id === Number(id));
    let m: RegExpExecArray | null;

    // The repository, issues and pull-request comments.
    if (M === 'GET' && rest === '')
      return send(200, { id: 1, name: repo, full_name: `${owner}/${repo}`, default_branch: o.defaultBranch ?? 'main' });
    if (M === 'GET' && rest === '/issues') {
      const want = u.searchParams.get('state') ?? 'open';
      return send(200, paged(state.issues.filter((i) => want === 'all' || (i.state ?? 'open') === want)).map(issueJson));
    }
    if (M === 'POST' && rest === '/issues') {
      const i: FakeIssue = {
        number: Math.max(0, ...state.issues.map((x) => x.number)) + 1,
        title: body.title,
        body: body.body ?? '',
        ...(body.labels ? { labels: body.labels } : {}),
      };
      state.issues.push(i);
      return send(201, issueJson(i));
    }
    if (M === 'PATCH' && (m = /^\/issues\/(\d+)$/.exec(rest))) {
      const i = state.issues.find((x) => x.number === Number(m![1]));
      if (!i) return notFound();
      for (const k of ['title', 'body', 'state'] as const) if (body?.[k] !== undefined) i[k] = body[k];
      return send(200, issueJson(i));
    }
    if (M === 'GET' && (m = /^\/issues\/(\d+)\/comments$/.exec(rest))) {
      return send(200, paged(state.comments.filter((c) => c.issue === Number(m![1]))).map(commentJson));
    }
    if (M === 'POST' && (m = /^\/issues\/(\d+)\/comments$/.exec(rest))) {
      const c = { id: nextId++, issue: Number(m[1]), body: body.body as string };
      state.comments.push(c);
      return send(201, commentJson(c));
    }
    if (M === 'PATCH' && (m = /^\/issues\/comments\/(\d+)$/.exec(rest))) {
      const c = state.comments.find((x) => x.id === Number(m![1]));
      if (!c) return notFound();
      c.body = body.body as string;
      return send(200, commentJson(c));
    }
    if (M === 'POST' && (m = /^\/statuses\/([^/]+)$/.exec(rest))) {
      state.statuses.push({ sha: m[1]!, body });
      return send(201, { id: nextId++, state: body.state, context: body.context });
    }

    // Actions: workflow dispatch and runner registration.
    if (M === 'POST' && (m = /^\/actions\/workflows\/([^/]+)\/dispatches$/.exec(rest))) {
      state.dispatches.push({ workflow: decodeURIComponent(m[1]!), body });
      return send(204);
    }
    if (M === 'POST' && rest === '/actions/runners/registration-token') {
      return send(201, { token: `reg-${++registrations}`, expires_at: '2026-01-01T01:00:00Z' });
    }

    // Releases and their assets.
    if (M === 'GET' && rest === '/releases') {
      const sorted = [...state.releases].sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id);
      return send(200, paged(sorted).map(releaseJson));
    }
    if (M === 'POST' && rest === '/releases') {
      if (state.releases.some((r) => r.tag_name === body.tag_name && !r.draft)) return send(422, alreadyExists('tag_name'));
      const r: FakeRelease = {
        id: nextId++,
        tag_name: body.tag_name,
        name: body.name ?? body.tag_name,
        body: body.body ?? '',
        draft: Boolean(body.draft),
        prerelease: Boolean(body.prerelease),
        immutable: false,
        target_commitish: body.target_commitish ?? 'main',
        published_at: body.draft ? null : time(),
        created_at: time(),
        assets: [],
      };
      state.releases.push(r);
      return send(201, releaseJson(r));
    }
    // As GitHub: a draft makes no tag, so it is not found by one.
    if (M === 'GET' && (m = /^\/releases\/tags\/(.+)$/.exec(rest))) {
      const r = state.releases.find((x) => x.tag_name === decodeURIComponent(m![1]!) && !x.draft);
      return r ? send(200, releaseJson(r)) : notFound();
    }
    if (M === 'PATCH' && (m = /^\/releases\/(\d+)$/.exec(rest))) {
      const r = rel(m[1]!);
      if (!r) return notFound();
      if (r.immutable) return send(422, { message: 'Cannot modify an immutable release' });
      if (typeof body.body === 'string') r.body = body.body;
      if (body.draft === false && r.draft) {
        // As GitHub: publishing a second release of a tag that a published release holds is refused.
        if (state.releases.some((x) => x !== r && x.tag_name === r.tag_name && !x.draft))
          return send(422, alreadyExists('tag_name'));
        r.draft = false;
        r.published_at = time();
        r.immutable = state.immutable;
      }
      return send(200, releaseJson(r));
    }
    if (M === 'DELETE' && (m = /^\/releases\/(\d+)$/.exec(rest))) {
      const i = state.releases.findIndex((x) => x.id === Number(m![1]));
      if (i < 0) return notFound();
      state.releases.splice(i, 1);
      return send(204);
    }
    if (M === 'POST' && (m = /^\/releases\/(\d+)\/assets$/.exec(rest))) {
      const r = rel(m[1]!);
      if (!r) return notFound();
      if (r.immutable) return send(422, { message: 'Cannot upload assets to an immutable release.' });
      const name = u.searchParams.get('name')!;
      if (r.assets.some((a) => a.name === name)) return send(422, alreadyExists('name'));
      const a: FakeAsset = { id: nextId++, name, data: raw, digest: sha256(raw) };
      r.assets.push(a);
      return send(201, assetJson(a));
    }
    if (M === 'GET' && (m = /^\/releases\/(\d+)\/assets$/.exec(rest))) {
      const r = rel(m[1]!);
      return r ? send(200, paged(r.assets).map(assetJson)) : notFound();
    }
    if (M === 'GET' && (m = /^\/releases\/assets\/(\d+)$/.exec(rest))) {
      const a = state.releases.flatMap((r) => r.assets).find((x) => x.id === Number(m![1]));
      if (!a) return notFound();
      // The bytes when asked for them, the asset's description otherwise.
      if (!String(req.headers.accept).includes('application/octet-stream')) return send(200, assetJson(a));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': a.data.length });
      return res.end(a.data);
    }

    // Deployments and their statuses.
    if (M === 'POST' && rest === '/deployments') {
      const d: FakeDeployment = {
        id: nextId++,
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
      return send(200, paged(list).map(deploymentJson));
    }
    if ((m = /^\/deployments\/(\d+)\/statuses$/.exec(rest))) {
      const d = state.deployments.find((x) => x.id === Number(m![1]));
      if (!d) return notFound();
      if (M === 'GET') return send(200, paged([...d.statuses].reverse()));
      const s = {
        id: nextId++,
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
            other.statuses.push({ id: nextId++, state: 'inactive', created_at: time() });
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
    requests: state.requests,
    issues: state.issues,
    comments: state.comments,
    statuses: state.statuses,
    releases: state.releases,
    deployments: state.deployments,
    dispatches: state.dispatches,
    get immutable() {
      return state.immutable;
    },
    set immutable(v: boolean) {
      state.immutable = v;
    },
    addRelease(tag, files, x = {}) {
      const published = time();
      const r: FakeRelease = {
        id: nextId++,
        tag_name: tag,
        name: tag,
        body: '',
        draft: false,
        prerelease: false,
        immutable: state.immutable,
        target_commitish: 'main',
        published_at: published,
        created_at: published,
        assets: Object.entries(files).map(([name, d]) => {
          const data = Buffer.from(d);
          return { id: nextId++, name, data, digest: sha256(data) };
        }),
        ...x,
      };
      state.releases.push(r);
      return r;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
