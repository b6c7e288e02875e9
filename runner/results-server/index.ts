// A local results server: speaks the protocol the unmodified @actions/artifact
// and @actions/cache clients talk to (the Twirp JSON results service, Azure
// blob storage for the signed URLs, and a few api.github.com artifact routes),
// storing everything on disk under `root`. This file starts it, routes each request to its
// protocol's handler (twirp-routes, blob-routes, rest-routes, cache-v1-routes) and mints tokens.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendJson } from '../../src/util/http.js';
import { ArtifactService } from './artifact-service.js';
import { RunAuth } from './auth.js';
import { blobHandler } from './blob-routes.js';
import { BlobUrls } from './blob-url.js';
import { CACHE_V1_PREFIX, cacheV1Handler } from './cache-v1-routes.js';
import { CacheService } from './cache-service.js';
import { restHandler } from './rest-routes.js';
import { openStorage } from './storage.js';
import { assertId, mintApiToken, mintRuntimeToken, REPOSITORY_PATTERN, type CacheScope } from './token.js';
import { TWIRP_PREFIX, twirpHandler } from './twirp-routes.js';
import { TwirpError, sendTwirpError } from './twirp.js';

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
  env(ids?: { runId?: string; jobId?: string }): Promise<Record<string, string>>;
  /** A runtime token (the ACTIONS_RUNTIME_TOKEN value) for a run and job; `scopes` default to the server's cacheScopes. */
  token(ids?: { runId?: string; jobId?: string; scopes?: CacheScope[] }): Promise<string>;
  /**
   * An API token (the run's GITHUB_TOKEN) for the /repos/{owner}/{repo}/actions routes: it reads
   * the artifacts of its repository and deletes only those of its own run.
   */
  githubToken(ids?: { runId?: string; repository?: string }): Promise<string>;
  /** Ends a run: its runtime and API tokens are refused from now on. */
  endRun(runId: string): void;
  /** Copies the artifacts a run kept to `dest`, one file each (zip files keep their .zip name). */
  copyRunArtifacts(runId: string, dest: string): Promise<void>;
  close(): Promise<void>;
}

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
  const storage = await openStorage(opts.root, opts.maxUploadBytes);
  const { secret } = storage;
  const auth = new RunAuth(secret);
  let baseUrl = '';
  const urls = new BlobUrls(secret, () => baseUrl);
  const artifacts = new ArtifactService(storage, urls, () => baseUrl);
  const cache = new CacheService(storage, urls);
  try {
    await artifacts.load();
    await cache.load();
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

  const handleTwirp = twirpHandler({ auth, artifacts, cache });
  const handleBlob = blobHandler({ storage, artifacts, cache });
  const handleRest = restHandler({ auth, artifacts });
  const handleCacheV1 = cacheV1Handler({ auth, storage, cache });

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
    copyRunArtifacts: (runId, dest) => storage.records.copyRunArtifacts(runId, dest),
    endRun(runId) {
      auth.endRun(runId);
    },
    async env(ids = {}) {
      return {
        ACTIONS_RUNTIME_TOKEN: await token(ids),
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
