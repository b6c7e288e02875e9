/**
 * A fake GitHub REST API on 127.0.0.1 for the forge tests: it keeps pull-request comments, commit
 * statuses and releases with assets, records every request, and checks each recorded request
 * against GitHub's OpenAPI description (@octokit/openapi, api.github.com): the operation exists
 * (method + path template), path and query parameters are declared and well-typed, required ones
 * are present, and the JSON body satisfies the operation's request-body schema.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

type Json = Record<string, any>;

let spec: Json | undefined;

/** GitHub's OpenAPI description of api.github.com (the non-dereferenced file, 13 MB), loaded once. */
export function githubOpenApi(): Json {
  if (!spec) {
    const require = createRequire(import.meta.url);
    const dir = path.dirname(require.resolve('@octokit/openapi/package.json'));
    spec = JSON.parse(readFileSync(path.join(dir, 'generated', 'api.github.com.json'), 'utf8')) as Json;
  }
  return spec;
}

function deref(node: any, doc: Json): any {
  let n = node;
  for (let i = 0; n && typeof n === 'object' && typeof n.$ref === 'string' && i < 20; i++) {
    n = n.$ref
      .slice(2)
      .split('/')
      .reduce((o: any, k: string) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  }
  return n;
}

/** Problems of `value` against a JSON Schema (the subset GitHub's description uses). */
export function validateSchema(value: unknown, schemaIn: any, doc: Json, at = 'body'): string[] {
  const schema = deref(schemaIn, doc);
  if (!schema || typeof schema !== 'object') return [];
  const errors: string[] = [];
  if (value === null) return schema.nullable || schema.type === 'null' ? [] : [`${at}: null is not allowed`];
  if (schema.allOf) for (const s of schema.allOf) errors.push(...validateSchema(value, s, doc, at));
  for (const key of ['oneOf', 'anyOf'] as const) {
    if (schema[key]) {
      const ok = (schema[key] as unknown[]).some((s) => validateSchema(value, s, doc, at).length === 0);
      if (!ok) errors.push(`${at}: matches none of the ${key} alternatives`);
    }
  }
  const type = schema.type as string | string[] | undefined;
  const types = Array.isArray(type) ? type : type ? [type] : [];
  const actual = Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  if (types.length && !types.some((t) => t === actual || (t === 'number' && actual === 'integer'))) {
    return [...errors, `${at}: expected ${types.join(' or ')}, got ${actual}`];
  }
  if (schema.enum && !(schema.enum as unknown[]).includes(value))
    errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'string') {
    if (schema.maxLength !== undefined && value.length > schema.maxLength) errors.push(`${at}: longer than ${schema.maxLength}`);
    if (schema.minLength !== undefined && value.length < schema.minLength) errors.push(`${at}: shorter than ${schema.minLength}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${at}: below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${at}: above ${schema.maximum}`);
  }
  if (Array.isArray(value) && schema.items)
    value.forEach((v, i) => errors.push(...validateSchema(v, schema.items, doc, `${at}[${i}]`)));
  if (actual === 'object' && value) {
    const obj = value as Record<string, unknown>;
    for (const r of (schema.required as string[] | undefined) ?? [])
      if (!(r in obj)) errors.push(`${at}: missing required property "${r}"`);
    const props = (schema.properties ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) errors.push(...validateSchema(v, props[k], doc, `${at}.${k}`));
      else if (schema.properties && schema.additionalProperties !== true && typeof schema.additionalProperties !== 'object') {
        errors.push(`${at}: property "${k}" is not in the schema`);
      } else if (typeof schema.additionalProperties === 'object')
        errors.push(...validateSchema(v, schema.additionalProperties, doc, `${at}.${k}`));
    }
  }
  return errors;
}

function templateRegex(tpl: string): RegExp {
  return new RegExp(`^${tpl.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '([^/]+)')}$`);
}

/** The operation a request calls, with its path template, or problems when it fits none. */
export function validateRequest(req: RecordedRequest): { operationId?: string; template?: string; errors: string[] } {
  const doc = githubOpenApi();
  const method = req.method.toLowerCase();
  const candidates = Object.keys(doc.paths as Json)
    .map((tpl) => ({ tpl, m: templateRegex(tpl).exec(req.path) }))
    .filter((c) => c.m && (doc.paths as Json)[c.tpl][method])
    // The most literal template wins (/releases/latest before /releases/{release_id}).
    .sort((a, b) => (a.tpl.match(/\{/g)?.length ?? 0) - (b.tpl.match(/\{/g)?.length ?? 0));
  const found = candidates[0];
  if (!found) return { errors: [`${req.method} ${req.path}: no such operation in GitHub's REST API`] };
  const op = (doc.paths as Json)[found.tpl][method] as Json;
  const errors: string[] = [];
  const names = [...found.tpl.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const params = ([...((doc.paths as Json)[found.tpl].parameters ?? []), ...(op.parameters ?? [])] as unknown[]).map(
    (p) => deref(p, doc) as Json,
  );
  names.forEach((name, i) => {
    const p = params.find((x) => x.in === 'path' && x.name === name);
    if (!p) errors.push(`${found.tpl}: path parameter {${name}} is not declared`);
    else errors.push(...validateSchema(coerce(decodeURIComponent(found.m![i + 1]!), p.schema), p.schema, doc, `path.${name}`));
  });
  for (const p of params.filter((x) => x.in === 'query')) {
    if (p.required && !(p.name in req.query)) errors.push(`query parameter "${p.name}" is required`);
  }
  for (const [k, v] of Object.entries(req.query)) {
    const p = params.find((x) => x.in === 'query' && x.name === k);
    if (!p) errors.push(`query parameter "${k}" is not declared for ${op.operationId}`);
    else errors.push(...validateSchema(coerce(v, p.schema), p.schema, doc, `query.${k}`));
  }
  const body = deref(op.requestBody, doc) as Json | undefined;
  if (body) {
    const schema = body.content?.['application/json']?.schema;
    if (req.body === undefined) {
      if (body.required) errors.push(`${op.operationId}: a JSON body is required`);
    } else if (schema) errors.push(...validateSchema(req.body, schema, doc));
  } else if (req.body !== undefined && ['post', 'patch', 'put'].includes(method)) {
    errors.push(`${op.operationId}: takes no body`);
  }
  return { operationId: op.operationId as string, template: found.tpl, errors };
}

function coerce(v: string, schema: any): unknown {
  const t = schema?.type;
  if ((t === 'integer' || t === 'number') && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  if (t === 'boolean' && (v === 'true' || v === 'false')) return v === 'true';
  return v;
}

export interface FakeAsset {
  id: number;
  name: string;
  data: Uint8Array;
}

export interface FakeRelease {
  id: number;
  tag_name: string;
  name: string;
  draft: boolean;
  prerelease: boolean;
  published_at: string;
  target_commitish: string;
  assets: FakeAsset[];
}

export interface FakeComment {
  id: number;
  issue: number;
  body: string;
}

export interface FakeGitHub {
  url: string;
  requests: RecordedRequest[];
  comments: FakeComment[];
  statuses: Array<{ sha: string; body: Json }>;
  releases: FakeRelease[];
  addRelease(tag: string, files: Record<string, Uint8Array | string>, opts?: Partial<FakeRelease>): FakeRelease;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startFakeGitHub(opts: { owner?: string; repo?: string } = {}): Promise<FakeGitHub> {
  const owner = opts.owner ?? 'octo';
  const repo = opts.repo ?? 'models';
  const prefix = `/repos/${owner}/${repo}`;
  const state: Omit<FakeGitHub, 'url' | 'close' | 'addRelease'> = { requests: [], comments: [], statuses: [], releases: [] };
  let nextId = 1000;
  let url = '';
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
  const releaseJson = (r: FakeRelease) => ({
    id: r.id,
    tag_name: r.tag_name,
    name: r.name,
    draft: r.draft,
    prerelease: r.prerelease,
    published_at: r.published_at,
    created_at: r.published_at,
    target_commitish: r.target_commitish,
    html_url: `https://github.com/${owner}/${repo}/releases/tag/${r.tag_name}`,
    assets: r.assets.map(assetJson),
  });
  const assetJson = (a: FakeAsset) => ({
    id: a.id,
    name: a.name,
    size: a.data.length,
    url: `${url}${prefix}/releases/assets/${a.id}`,
    content_type: 'application/octet-stream',
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const raw = await readBody(req);
    let body: unknown;
    if (raw.length) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        body = raw.toString('utf8');
      }
    }
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
    const p = u.pathname;
    let m: RegExpExecArray | null;
    if (!p.startsWith(prefix + '/')) return send(404, { message: 'Not Found' });
    const rest = p.slice(prefix.length);
    if (req.method === 'GET' && (m = /^\/issues\/(\d+)\/comments$/.exec(rest))) {
      const perPage = Number(u.searchParams.get('per_page') ?? 30);
      const page = Number(u.searchParams.get('page') ?? 1);
      const all = state.comments.filter((c) => c.issue === Number(m![1]));
      const slice = all.slice((page - 1) * perPage, page * perPage);
      if (page * perPage < all.length) {
        res.setHeader('link', `<${url}${prefix}/issues/${m[1]}/comments?per_page=${perPage}&page=${page + 1}>; rel="next"`);
      }
      return send(200, slice.map(commentJson));
    }
    if (req.method === 'POST' && (m = /^\/issues\/(\d+)\/comments$/.exec(rest))) {
      const c = { id: nextId++, issue: Number(m[1]), body: (body as Json).body as string };
      state.comments.push(c);
      return send(201, commentJson(c));
    }
    if (req.method === 'PATCH' && (m = /^\/issues\/comments\/(\d+)$/.exec(rest))) {
      const c = state.comments.find((x) => x.id === Number(m![1]));
      if (!c) return send(404, { message: 'Not Found' });
      c.body = (body as Json).body as string;
      return send(200, commentJson(c));
    }
    if (req.method === 'POST' && (m = /^\/statuses\/([^/]+)$/.exec(rest))) {
      state.statuses.push({ sha: m[1]!, body: body as Json });
      return send(201, { id: nextId++, state: (body as Json).state, context: (body as Json).context });
    }
    // Nothing was ever deployed in this repository: production is the latest release.
    if (req.method === 'GET' && rest === '/deployments') return send(200, []);
    if (req.method === 'GET' && rest === '/releases') {
      const perPage = Number(u.searchParams.get('per_page') ?? 30);
      const page = Number(u.searchParams.get('page') ?? 1);
      const sorted = [...state.releases].sort((a, b) => b.published_at.localeCompare(a.published_at));
      return send(200, sorted.slice((page - 1) * perPage, page * perPage).map(releaseJson));
    }
    if (req.method === 'GET' && (m = /^\/releases\/tags\/(.+)$/.exec(rest))) {
      const r = state.releases.find((x) => x.tag_name === decodeURIComponent(m![1]!));
      return r ? send(200, releaseJson(r)) : send(404, { message: 'Not Found' });
    }
    if (req.method === 'GET' && (m = /^\/releases\/(\d+)\/assets$/.exec(rest))) {
      const r = state.releases.find((x) => x.id === Number(m![1]));
      return r ? send(200, r.assets.map(assetJson)) : send(404, { message: 'Not Found' });
    }
    if (req.method === 'GET' && (m = /^\/releases\/assets\/(\d+)$/.exec(rest))) {
      const a = state.releases.flatMap((r) => r.assets).find((x) => x.id === Number(m![1]));
      if (!a) return send(404, { message: 'Not Found' });
      if (String(req.headers.accept).includes('application/octet-stream')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': a.data.length });
        return res.end(Buffer.from(a.data));
      }
      return send(200, assetJson(a));
    }
    return send(404, { message: 'Not Found' });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => {
      res.writeHead(500);
      res.end(e.message);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    ...state,
    addRelease(tag, files, o = {}) {
      const r: FakeRelease = {
        id: nextId++,
        tag_name: tag,
        name: tag,
        draft: false,
        prerelease: false,
        published_at: new Date(Date.UTC(2026, 0, 1) + state.releases.length * 86_400_000).toISOString(),
        target_commitish: 'main',
        assets: Object.entries(files).map(([name, data]) => ({
          id: nextId++,
          name,
          data: typeof data === 'string' ? new TextEncoder().encode(data) : data,
        })),
        ...o,
      };
      state.releases.push(r);
      return r;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
