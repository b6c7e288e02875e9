// A local results server: speaks the protocol the unmodified @actions/artifact
// and @actions/cache clients talk to (the Twirp JSON results service, Azure
// blob storage for the signed URLs, and a few api.github.com artifact routes),
// storing everything on disk under `root`.
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { bearerToken, readSmallBody, sendJson } from '../../src/util/http.js';
import { TwirpError, invalidArgument, readJsonObject, sendTwirpError } from './http.js';
import { ResultsService } from './service.js';
import { BlobError, Storage, isBlobName, isContainer, type BlobProperties, type Container } from './storage.js';
import {
  assertId,
  checkBlobSignature,
  mintApiToken,
  mintRuntimeToken,
  REPOSITORY_PATTERN,
  verifyApiToken,
  verifyRuntimeToken,
  type CacheScope,
  type TokenClaims,
} from './token.js';

export interface ResultsServerOptions {
  /** Directory where artifacts and cache entries are stored. */
  root: string;
  /** Interface to bind; 127.0.0.1 unless told otherwise. */
  host?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  /** Default workflow run id put into the runtime token by env(). */
  runId?: string;
  /** Default job id put into the runtime token by env(). */
  jobId?: string;
  /** Default repository (owner/repo) put into the API token by githubToken(). */
  repository?: string;
  /**
   * Cache scopes put into runtime tokens by env()/token(), in restore order: the run's own ref
   * (saved to) first, then the refs it may restore from (a pull request's base branch, the
   * default branch). Unset: one scope, refs/heads/main.
   */
  cacheScopes?: CacheScope[];
  /** Request log: true writes to stderr, or pass a function that gets each line. */
  log?: boolean | ((line: string) => void);
  /** Largest blob (artifact, cache entry) accepted, in bytes; 10 GiB unless told. */
  maxUploadBytes?: number;
  /** A connection that sends nothing for this long is closed; 60 s unless told. */
  idleTimeoutMs?: number;
  /** No request (an upload included) may take longer than this; 30 min unless told. */
  requestTimeoutMs?: number;
}

export interface ResultsServer {
  /** Base URL, with a trailing slash, e.g. http://127.0.0.1:PORT/ */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly root: string;
  /**
   * Environment a step needs so that @actions/artifact and @actions/cache
   * talk to this server. `runId`/`jobId` default to the server's options.
   */
  env(ids?: { runId?: string; jobId?: string }): Record<string, string>;
  /** A runtime token (the ACTIONS_RUNTIME_TOKEN value) for a run and job; `scopes` default to the server's cacheScopes. */
  token(ids?: { runId?: string; jobId?: string; scopes?: CacheScope[] }): string;
  /**
   * An API token (the run's GITHUB_TOKEN) for the /repos/{owner}/{repo}/actions routes: it reads
   * the artifacts of its repository and deletes only those of its own run.
   */
  githubToken(ids?: { runId?: string; repository?: string }): string;
  /** Ends a run: its runtime and API tokens are refused from now on. */
  endRun(runId: string): void;
  /** Copies the artifacts a run kept to `dest`, one file each (zip files keep their .zip name). */
  copyRunArtifacts(runId: string, dest: string): Promise<void>;
  close(): Promise<void>;
}

const TWIRP_PREFIX = '/twirp/github.actions.results.api.v1.';
const CACHE_V1_PREFIX = '/_apis/artifactcache/';
const MAX_JSON_BODY = 1024 * 1024;
const MAX_BLOCK_LIST_BODY = 16 * 1024 * 1024;
const MAX_BLOCK_ID_BYTES = 64;
const STORAGE_VERSION = '2025-01-05';

type TwirpMethod = (claims: TokenClaims, body: Record<string, unknown>) => Promise<Record<string, unknown>>;

export async function startResultsServer(opts: ResultsServerOptions): Promise<ResultsServer> {
  if (!opts.root) throw new Error('startResultsServer: root is required');
  const host = opts.host ?? '127.0.0.1';
  const defaultRunId = opts.runId ?? '1';
  const defaultJobId = opts.jobId ?? 'job';
  assertId('runId', defaultRunId);
  assertId('jobId', defaultJobId);

  const defaultRepository = opts.repository ?? 'local/repository';
  if (!REPOSITORY_PATTERN.test(defaultRepository)) {
    throw new Error(`startResultsServer: repository must be owner/repo (got ${JSON.stringify(defaultRepository)})`);
  }
  for (const s of opts.cacheScopes ?? []) {
    if (!/^refs\/(heads|tags|pull)\/[^\s\0]{1,250}$/.test(s.scope)) {
      throw new Error(
        `startResultsServer: cache scope must be a git ref such as refs/heads/main (got ${JSON.stringify(s.scope)})`,
      );
    }
  }
  const storage = new Storage(opts.root, opts.maxUploadBytes);
  const secret = await storage.init();
  const endedRuns = new Set<string>();
  const runEnded = (runId: string) =>
    endedRuns.has(runId) ? `run ${JSON.stringify(runId)} has ended; its tokens no longer work` : undefined;
  let baseUrl = '';
  const service = new ResultsService({ storage, secret, baseUrl: () => baseUrl });
  try {
    await service.load();
  } catch (error) {
    await storage.unlock();
    throw error;
  }

  const logLine =
    opts.log === true
      ? (line: string) => process.stderr.write(`${line}\n`)
      : typeof opts.log === 'function'
        ? opts.log
        : undefined;

  const twirp: Record<string, Record<string, TwirpMethod>> = {
    ArtifactService: {
      CreateArtifact: (c, b) => service.createArtifact(c, b),
      FinalizeArtifact: (c, b) => service.finalizeArtifact(c, b),
      ListArtifacts: (c, b) => service.listArtifacts(c, b),
      GetSignedArtifactURL: (c, b) => service.getSignedArtifactUrl(c, b),
      DeleteArtifact: (c, b) => service.deleteArtifact(c, b),
    },
    CacheService: {
      CreateCacheEntry: (c, b) => service.createCacheEntry(c, b),
      FinalizeCacheEntryUpload: (c, b) => service.finalizeCacheEntryUpload(c, b),
      GetCacheEntryDownloadURL: (c, b) => service.getCacheEntryDownloadUrl(c, b),
    },
  };

  /** The claims of a valid runtime token of a live run; a TwirpError (401) otherwise. */
  async function runtimeClaims(req: IncomingMessage): Promise<TokenClaims> {
    const presented = bearerToken(req);
    if (!presented) throw new TwirpError('unauthenticated', 'missing Authorization: Bearer <ACTIONS_RUNTIME_TOKEN>');
    const claims = await verifyRuntimeToken(secret, presented);
    if (typeof claims === 'string') throw new TwirpError('unauthenticated', `invalid runtime token: ${claims}`);
    const ended = runEnded(claims.runId);
    if (ended) throw new TwirpError('unauthenticated', `invalid runtime token: ${ended}`);
    return claims;
  }

  async function handleTwirp(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    try {
      const [serviceName, method, ...rest] = pathname.slice(TWIRP_PREFIX.length).split('/');
      const fn = serviceName && method && rest.length === 0 ? twirp[serviceName]?.[method] : undefined;
      if (!fn) throw new TwirpError('bad_route', `no handler for path ${pathname}`);
      if (req.method !== 'POST') throw new TwirpError('bad_route', `unsupported method ${req.method} (only POST is allowed)`);
      const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (contentType !== 'application/json') {
        throw new TwirpError(
          'bad_route',
          `unexpected Content-Type ${JSON.stringify(contentType ?? '')}: only application/json is supported`,
        );
      }
      const claims = await runtimeClaims(req);
      const body = await readJsonObject(req, MAX_JSON_BODY);
      sendJson(res, 200, await fn(claims, body));
    } catch (error) {
      if (error instanceof TwirpError) {
        req.resume();
        sendTwirpError(res, error);
      } else {
        sendTwirpError(res, new TwirpError('internal', (error as Error).message));
      }
    }
  }

  // ---- blob storage ----------------------------------------------------------

  function blobHeaders(extra: Record<string, string> = {}): Record<string, string> {
    return { 'x-ms-request-id': randomUUID(), 'x-ms-version': STORAGE_VERSION, ...extra };
  }

  function sendBlobError(req: IncomingMessage, res: ServerResponse, err: BlobError): void {
    req.resume();
    const xml =
      `<?xml version="1.0" encoding="utf-8"?><Error><Code>${err.code}</Code>` +
      `<Message>${escapeXml(err.message)}</Message></Error>`;
    res.writeHead(
      err.status,
      blobHeaders({
        'Content-Type': 'application/xml',
        'Content-Length': String(Buffer.byteLength(xml)),
        'x-ms-error-code': err.code,
      }),
    );
    res.end(req.method === 'HEAD' ? undefined : xml);
  }

  function putResponse(res: ServerResponse, props: BlobProperties | undefined, md5?: string): void {
    const headers = blobHeaders({ 'Content-Length': '0', 'x-ms-request-server-encrypted': 'false' });
    if (props) {
      headers['ETag'] = props.etag;
      headers['Last-Modified'] = new Date(props.lastModified).toUTCString();
    }
    if (md5) headers['Content-MD5'] = md5;
    res.writeHead(201, headers);
    res.end();
  }

  async function handleBlob(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    try {
      const parts = url.pathname.split('/').slice(2); // ['', 'blob', container, blob]
      const [container, blob] = parts.map((p) => decodeURIComponent(p));
      if (parts.length !== 2 || !container || !blob || !isContainer(container) || !isBlobName(blob)) {
        throw new BlobError(400, 'InvalidUri', `${url.pathname} is not /blob/<container>/<blob>`);
      }
      const method = req.method ?? 'GET';
      const needed = method === 'PUT' ? 'w' : method === 'GET' || method === 'HEAD' ? 'r' : undefined;
      if (!needed) throw new BlobError(405, 'UnsupportedHttpVerb', `method ${method} is not supported`);
      const sig = checkBlobSignature(secret, container, blob, url.searchParams, needed);
      if (typeof sig === 'string') throw new BlobError(403, 'AuthenticationFailed', sig);
      if (needed === 'w') await handleBlobPut(req, res, url, container, blob);
      else await handleBlobGet(req, res, container, blob, sig.contentDisposition);
    } catch (error) {
      if (error instanceof BlobError) sendBlobError(req, res, error);
      else sendBlobError(req, res, new BlobError(500, 'InternalError', (error as Error).message));
    }
  }

  async function handleBlobPut(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    container: Container,
    blob: string,
  ): Promise<void> {
    if (!service.canWrite(container, blob)) {
      throw new BlobError(409, 'BlobImmutable', 'this blob is not open for upload (already finalized, or never created)');
    }
    const length = contentLength(req);
    const headers = {
      contentType: header(req, 'x-ms-blob-content-type'),
      contentEncoding: header(req, 'x-ms-blob-content-encoding'),
      contentDisposition: header(req, 'x-ms-blob-content-disposition'),
    };
    const comp = url.searchParams.get('comp');
    if (comp === 'block') {
      const blockId = url.searchParams.get('blockid');
      if (!blockId) throw new BlobError(400, 'MissingRequiredQueryParameter', 'blockid is required with comp=block');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(blockId) || Buffer.from(blockId, 'base64').length > MAX_BLOCK_ID_BYTES) {
        throw new BlobError(400, 'InvalidQueryParameterValue', `blockid must be base64 of at most ${MAX_BLOCK_ID_BYTES} bytes`);
      }
      const md5 = await storage.putBlock(container, blob, blockId, req, length);
      putResponse(res, undefined, md5);
    } else if (comp === 'blocklist') {
      const xml = (
        await readSmallBody(req, MAX_BLOCK_LIST_BODY).catch(() => {
          throw new BlobError(413, 'RequestBodyTooLarge', `block list is larger than ${MAX_BLOCK_LIST_BODY} bytes`);
        })
      ).toString('utf8');
      const ids = parseBlockList(xml);
      const props = await storage.putBlockList(container, blob, ids, headers);
      putResponse(res, props);
    } else if (comp === null) {
      const blobType = header(req, 'x-ms-blob-type');
      if (blobType !== 'BlockBlob') {
        throw new BlobError(400, 'MissingRequiredHeader', 'x-ms-blob-type: BlockBlob is required for Put Blob');
      }
      if (!headers.contentType) headers.contentType = header(req, 'content-type');
      const props = await storage.putBlob(container, blob, req, length, headers);
      putResponse(res, props, props.md5);
    } else {
      throw new BlobError(400, 'UnsupportedQueryParameter', `comp=${comp} is not supported`);
    }
  }

  async function handleBlobGet(
    req: IncomingMessage,
    res: ServerResponse,
    container: Container,
    blob: string,
    disposition: string | undefined,
  ): Promise<void> {
    const props = await storage.blobProperties(container, blob);
    if (!props) throw new BlobError(404, 'BlobNotFound', 'The specified blob does not exist.');
    const headers = blobHeaders({
      'Content-Type': props.contentType,
      ETag: props.etag,
      'Last-Modified': new Date(props.lastModified).toUTCString(),
      'Accept-Ranges': 'bytes',
      'x-ms-blob-type': 'BlockBlob',
      'x-ms-creation-time': new Date(props.lastModified).toUTCString(),
      'x-ms-server-encrypted': 'false',
    });
    if (props.contentEncoding) headers['Content-Encoding'] = props.contentEncoding;
    const cd = disposition ?? props.contentDisposition;
    if (cd) headers['Content-Disposition'] = cd;

    let start = 0;
    let end = props.size - 1;
    let status = 200;
    const range = header(req, 'x-ms-range') ?? header(req, 'range');
    if (range !== undefined) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range.trim());
      if (!m) throw new BlobError(400, 'InvalidRange', `unsupported range ${JSON.stringify(range)}`);
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), props.size - 1) : props.size - 1;
      if (start >= props.size || end < start) {
        res.writeHead(416, blobHeaders({ 'Content-Range': `bytes */${props.size}`, 'x-ms-error-code': 'InvalidRange' }));
        res.end();
        return;
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${props.size}`;
    } else {
      headers['Content-MD5'] = props.md5;
    }
    headers['Content-Length'] = String(props.size === 0 ? 0 : end - start + 1);
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || props.size === 0) {
      res.end();
      return;
    }
    await pipeline(createReadStream(storage.blobPath(container, blob), { start, end }), res);
  }

  // ---- REST (api.github.com subset) ----------------------------------------

  /**
   * The run an API token was issued for, when it is valid, of a live run and for this
   * repository; otherwise the refusal has been sent and undefined is returned.
   */
  async function restClaims(req: IncomingMessage, res: ServerResponse, owner: string, repo: string) {
    const refuse = (status: number, message: string) => {
      sendJson(res, status, { message, documentation_url: 'https://docs.github.com/rest/authentication' });
      return undefined;
    };
    const presented = bearerToken(req, ['Bearer', 'token']);
    if (!presented) return refuse(401, 'Requires authentication: send Authorization: token <GITHUB_TOKEN of the run>');
    const claims = await verifyApiToken(secret, presented);
    if (typeof claims === 'string') return refuse(401, `Bad credentials: ${claims}`);
    const ended = runEnded(claims.runId);
    if (ended) return refuse(401, `Bad credentials: ${ended}`);
    if (claims.repository.toLowerCase() !== `${owner}/${repo}`.toLowerCase()) {
      return refuse(403, `the token is for ${claims.repository}, not ${owner}/${repo}`);
    }
    return claims;
  }

  async function handleRest(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    let p: string[];
    try {
      p = url.pathname.split('/').map((s) => decodeURIComponent(s));
    } catch {
      req.resume();
      sendJson(res, 400, { message: `the path ${url.pathname} has a malformed %-escape` });
      return true;
    }
    // ['', 'repos', owner, repo, 'actions', ...]
    if (p[1] !== 'repos' || p[4] !== 'actions' || !p[2] || !p[3]) return false;
    const owner = p[2];
    const repo = p[3];
    const tail = p.slice(5);
    const notFound = () =>
      sendJson(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/actions/artifacts' });
    req.resume();
    const claims = await restClaims(req, res, owner, repo);
    if (!claims) return true;
    if (req.method === 'GET' && tail.length === 3 && tail[0] === 'runs' && tail[2] === 'artifacts') {
      sendJson(res, 200, service.listRunArtifactsRest(owner, repo, tail[1] as string, url.searchParams));
      return true;
    }
    if (req.method === 'GET' && tail.length === 1 && tail[0] === 'artifacts') {
      sendJson(res, 200, service.listAllArtifactsRest(owner, repo, url.searchParams));
      return true;
    }
    if (tail[0] === 'artifacts' && tail.length >= 2) {
      if (!/^\d+$/.test(tail[1] as string)) {
        sendJson(res, 422, { message: `artifact_id ${JSON.stringify(tail[1])} is not a number` });
        return true;
      }
      const id = Number(tail[1]);
      if (req.method === 'GET' && tail.length === 2) {
        const artifact = service.getArtifactRest(owner, repo, id);
        if (artifact) sendJson(res, 200, artifact);
        else notFound();
        return true;
      }
      if (req.method === 'GET' && tail.length === 3) {
        if (tail[2] !== 'zip') {
          sendJson(res, 422, { message: `archive_format must be zip (got ${JSON.stringify(tail[2])})` });
          return true;
        }
        const location = service.artifactDownloadRedirect(id);
        if (!location) {
          notFound();
          return true;
        }
        res.writeHead(302, { Location: location, 'Content-Length': '0' });
        res.end();
        return true;
      }
      if (req.method === 'DELETE' && tail.length === 2) {
        const run = service.artifactRun(id);
        if (run !== undefined && run !== claims.runId) {
          sendJson(res, 403, {
            message: `artifact ${id} belongs to run ${run}; the token of run ${claims.runId} deletes only its own run's artifacts`,
          });
          return true;
        }
        if (await service.deleteArtifactById(id)) {
          res.writeHead(204);
          res.end();
        } else notFound();
        return true;
      }
    }
    return false;
  }

  // ---- cache service v1 (_apis/artifactcache) -----------------------------------

  async function handleCacheV1(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const status = (error: TwirpError) =>
      error.code === 'already_exists'
        ? 409
        : error.code === 'not_found'
          ? 404
          : error.code === 'unauthenticated'
            ? 401
            : error.status;
    try {
      const claims = await runtimeClaims(req);
      const resource = url.pathname.slice(CACHE_V1_PREFIX.length);
      const method = req.method ?? 'GET';
      if (method === 'GET' && resource === 'cache') {
        req.resume();
        const keys = (url.searchParams.get('keys') ?? '').split(',').filter(Boolean);
        const found = service.lookupCacheV1(claims, keys, url.searchParams.get('version') ?? '');
        if (found) sendJson(res, 200, found);
        else {
          res.writeHead(204);
          res.end();
        }
        return;
      }
      if (method === 'GET' && resource === 'caches') {
        req.resume();
        sendJson(res, 200, service.listCacheV1(claims, url.searchParams.get('key') ?? ''));
        return;
      }
      if (method === 'POST' && resource === 'caches') {
        sendJson(res, 201, await service.reserveCacheV1(claims, await readJsonObject(req, MAX_JSON_BODY)));
        return;
      }
      const idMatch = /^caches\/(\d+)$/.exec(resource);
      if (idMatch && method === 'PATCH') {
        const range = /^bytes (\d{1,16})-(\d{1,16})\/(\*|\d{1,16})$/.exec(header(req, 'content-range') ?? '');
        if (!range) throw invalidArgument('Content-Range', 'must be bytes START-END/* (decimal, END >= START)');
        const start = Number(range[1]);
        const end = Number(range[2]);
        if (end < start) throw invalidArgument('Content-Range', `ends (${end}) before it starts (${start})`);
        if (end + 1 > storage.maxBlobBytes) {
          throw new BlobError(
            413,
            'RequestBodyTooLarge',
            `Content-Range bytes ${start}-${end} reaches past ${storage.maxBlobBytes} bytes, the largest cache entry this server takes`,
          );
        }
        const declared = contentLength(req);
        if (declared !== undefined && declared !== end - start + 1) {
          throw invalidArgument(
            'Content-Length',
            `is ${declared} but Content-Range bytes ${start}-${end} is ${end - start + 1} bytes`,
          );
        }
        const claim = service.claimRangeV1(claims, Number(idMatch[1]), start, end);
        try {
          await storage.writeRange('cache', claim.blob, start, req, end - start + 1);
        } catch (error) {
          claim.release();
          throw error;
        }
        res.writeHead(204);
        res.end();
        return;
      }
      if (idMatch && method === 'POST') {
        await service.commitCacheV1(claims, Number(idMatch[1]), await readJsonObject(req, MAX_JSON_BODY));
        res.writeHead(204);
        res.end();
        return;
      }
      throw new TwirpError('bad_route', `no handler for ${method} ${url.pathname}`);
    } catch (error) {
      req.resume();
      if (error instanceof TwirpError) {
        const body: Record<string, unknown> = { message: error.message, typeKey: error.code };
        if (error.meta?.['argument']) body['argument'] = error.meta['argument'];
        sendJson(res, status(error), body);
      } else if (error instanceof BlobError) sendJson(res, error.status, { message: error.message, typeKey: error.code });
      else sendJson(res, 500, { message: (error as Error).message });
    }
  }

  // ---- dispatch --------------------------------------------------------------

  const server = http.createServer((req, res) => {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (logLine) {
      res.on('finish', () => {
        const shown = new URL(url.href);
        if (shown.searchParams.has('sig')) shown.searchParams.set('sig', '***');
        logLine(
          `${new Date().toISOString()} ${req.method} ${shown.pathname}${shown.search} ${res.statusCode} ${Date.now() - started}ms`,
        );
      });
    }
    const done = (error?: unknown) => {
      if (error === undefined) return;
      if (!res.headersSent) sendJson(res, 500, { message: (error as Error).message });
      else res.destroy(error as Error);
    };
    if (url.pathname.startsWith(TWIRP_PREFIX)) {
      handleTwirp(req, res, url.pathname).then(() => done(), done);
    } else if (url.pathname.startsWith(CACHE_V1_PREFIX)) {
      handleCacheV1(req, res, url).then(() => done(), done);
    } else if (url.pathname.startsWith('/blob/')) {
      handleBlob(req, res, url).then(() => done(), done);
    } else if (url.pathname.startsWith('/repos/')) {
      handleRest(req, res, url).then((handled) => {
        if (!handled) sendJson(res, 404, { message: `Not Found: ${req.method} ${url.pathname}` });
      }, done);
    } else if (url.pathname === '/' && req.method === 'GET') {
      sendJson(res, 200, { service: 'cdl-results-server', ok: true });
    } else {
      req.resume();
      if (url.pathname.startsWith('/twirp/')) {
        sendTwirpError(res, new TwirpError('bad_route', `no handler for path ${url.pathname}`));
      } else {
        sendJson(res, 404, { message: `Not Found: ${req.method} ${url.pathname}` });
      }
    }
  });
  // Every wait is bounded: headers must arrive within 30 s, a connection that goes quiet is
  // closed, and no request (a large upload included) runs longer than requestTimeoutMs.
  server.headersTimeout = Math.min(30_000, opts.requestTimeoutMs ?? 30_000);
  server.requestTimeout = opts.requestTimeoutMs ?? 30 * 60_000;
  server.timeout = opts.idleTimeoutMs ?? 60_000;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await storage.unlock();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  baseUrl = `http://${urlHost}:${port}/`;

  const token = (ids: { runId?: string; jobId?: string; scopes?: CacheScope[] } = {}) => {
    const scopes = ids.scopes ?? opts.cacheScopes;
    return mintRuntimeToken(secret, {
      runId: ids.runId ?? defaultRunId,
      jobId: ids.jobId ?? defaultJobId,
      ...(scopes ? { scopes } : {}),
    });
  };

  let closed: Promise<void> | undefined;
  return {
    url: baseUrl,
    host,
    port,
    root: storage.root,
    token,
    githubToken(ids = {}) {
      return mintApiToken(secret, { runId: ids.runId ?? defaultRunId, repository: ids.repository ?? defaultRepository });
    },
    copyRunArtifacts: (runId, dest) => storage.copyRunArtifacts(runId, dest),
    endRun(runId) {
      endedRuns.add(runId);
    },
    env(ids = {}) {
      return {
        ACTIONS_RUNTIME_TOKEN: token(ids),
        ACTIONS_RESULTS_URL: baseUrl,
        ACTIONS_CACHE_URL: baseUrl,
        ACTIONS_CACHE_SERVICE_V2: 'True',
        // Must be github.com, *.ghe.com or *.localhost, or the toolkit assumes GHES
        // and refuses artifacts (and falls back to cache service v1).
        GITHUB_SERVER_URL: `http://cdl.localhost:${port}`,
        // For the findBy (other run) paths, which use the REST API through octokit.
        GITHUB_API_URL: baseUrl.replace(/\/$/, ''),
      };
    },
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }).finally(() => storage.unlock());
      return closed;
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function contentLength(req: IncomingMessage): number | undefined {
  const value = header(req, 'content-length');
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new BlobError(400, 'InvalidHeaderValue', 'Content-Length is not a number');
  return Number(value);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_m, d: string) => String.fromCharCode(Number(d)))
    .replace(/&amp;/g, '&');
}

/** Block ids from a Put Block List body, in document order (Committed, Uncommitted or Latest). */
export function parseBlockList(xml: string): string[] {
  if (!/<BlockList[\s>/]/.test(xml)) throw new BlobError(400, 'InvalidXmlDocument', 'body is not a <BlockList> document');
  const ids: string[] = [];
  const re = /<(Committed|Uncommitted|Latest)>([^<]*)<\/\1>/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) ids.push(unescapeXml((m[2] as string).trim()));
  return ids;
}

export { cacheScopesFor, type CacheScope, type TokenClaims } from './token.js';
