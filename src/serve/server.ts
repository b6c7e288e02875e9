/**
 * The HTTP server: the Open Inference Protocol v2 REST endpoints, the model repository extension,
 * per-model statistics, Prometheus /metrics, and a shutdown that stops accepting, reports not
 * ready, drains what is in flight, and frees every session.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { loadOrt } from '../runtime/onnxruntime.js';
import { CdlError, messageOf } from '../util/errors.js';
import { CDL_VERSION } from '../version.js';
import { JSON_TYPE, JsonBodyError, parseJsonText, sendJson, sendText } from '../util/http.js';
import { jsonLogger, type Logger } from './log.js';
import { ServeMetrics } from './metrics.js';
import { BodyReader, closeAfterResponse, LARGE_BODY_BYTES } from './body.js';
import { ModelNotFoundError, httpStatus } from './errors.js';
import { HttpError, inferResponse, tensorMetadata, type InferRequest } from './protocol.js';
import type { InferenceBackend, ModelMetadata } from './backend.js';
import { GrpcEndpoint } from './grpc.js';
import type { ModelVersion } from './model.js';
import type { OutputTensor } from './protocol.js';
import { ModelRepository } from './repository.js';
import { compareOutputs } from './shadow.js';
import { parseInferBody, RequestParsers } from './request-parser.js';

export interface ServeOptions {
  repository: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Also answer the Open Inference Protocol over gRPC on this port (0: a free one; absent: no gRPC). */
  grpcPort?: number;
  /** Poll the repository for new versions every this many ms (0: only at start and on the load API). */
  pollMs?: number;
  log?: Logger;
  /** Largest request body in bytes (413 past it, refused before it is read). */
  maxBodyBytes?: number;
  /** The whole body must arrive within this many ms (408 past it). */
  bodyTimeoutMs?: number;
  /** The request's headers must arrive within this many ms (the connection is closed past it). */
  headersTimeoutMs?: number;
  /** How long shutdown waits for in-flight requests before closing their connections. */
  drainTimeoutMs?: number;
}

/** Defaults, and the ranges `cdl serve` accepts, of the request limits. */
export const SERVE_LIMITS = {
  maxBodyBytes: { default: 32 * 1024 * 1024, min: 1024, max: 1024 * 1024 * 1024 },
  bodyTimeoutMs: { default: 30_000, min: 100, max: 600_000 },
  headersTimeoutMs: { default: 10_000, min: 100, max: 600_000 },
  drainTimeoutMs: { default: 30_000, min: 0, max: 600_000 },
} as const;

/** At shutdown, how long a request body still arriving may take to finish before it is refused. */
const BODY_GRACE_MS = 2000;

/** Largest body of the repository API's requests (a small JSON object). */
const MAX_API_BODY_BYTES = 64 * 1024;

export const SERVER_NAME = 'cdl';
export const EXTENSIONS = ['model_repository', 'statistics', 'metrics', 'binary_tensor_data'];

const sendError = (res: http.ServerResponse, status: number, message: string) => sendJson(res, status, { error: message });

function parseJson(text: string): unknown {
  try {
    return parseJsonText(text);
  } catch (e) {
    if (e instanceof JsonBodyError) throw new HttpError(400, `malformed JSON in the request body: ${e.message}`);
    throw e;
  }
}

/** What a model version's requests are checked against: equal keys parse a body the same way. */
const signatureKey = (mv: { signature: unknown; config: { max_batch_size: number } }) =>
  JSON.stringify([mv.signature, mv.config.max_batch_size]);

/** A path segment, %-escapes decoded. */
function decodeSegment(s: string, pathname: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, `malformed %-escape in the URL path ${JSON.stringify(pathname)}; expected %XX of UTF-8 bytes`);
  }
}

export class ModelServer implements InferenceBackend {
  private inflight = 0;
  private draining = false;
  private closing: Promise<void> | undefined;
  private drainWaiters: Array<() => void> = [];
  private listeningUrl = '';
  private grpc: GrpcEndpoint | undefined;
  private readonly body: BodyReader;
  private readonly parsers = new RequestParsers();

  private constructor(
    readonly server: http.Server,
    readonly repository: ModelRepository,
    readonly metrics: ServeMetrics,
    readonly log: Logger,
    private readonly opts: Required<Pick<ServeOptions, 'maxBodyBytes' | 'bodyTimeoutMs' | 'drainTimeoutMs'>>,
  ) {
    this.body = new BodyReader({ maxBytes: opts.maxBodyBytes, timeoutMs: opts.bodyTimeoutMs });
  }

  /** Load the repository, then listen. */
  static async start(o: ServeOptions): Promise<ModelServer> {
    const root = path.resolve(o.repository);
    if (!existsSync(root) || !statSync(root).isDirectory()) {
      throw new CdlError(`${root}: no such directory; expected a model repository (<model>/<version>/model.onnx)`);
    }
    const log = o.log ?? jsonLogger();
    const { ort, info } = await loadOrt({ log: (m) => log.info(m) });
    const metrics = new ServeMetrics();
    const repository = new ModelRepository({ root, ort, metrics, log, pollMs: o.pollMs ?? 2000 });
    await repository.loadAll();
    const bodyTimeoutMs = o.bodyTimeoutMs ?? SERVE_LIMITS.bodyTimeoutMs.default;
    const headersTimeout = o.headersTimeoutMs ?? SERVE_LIMITS.headersTimeoutMs.default;
    const server = http.createServer({
      keepAliveTimeout: 65_000,
      headersTimeout,
      // Node's own backstop past the body timeout the handlers enforce (which answers with JSON).
      requestTimeout: headersTimeout + bodyTimeoutMs + 5000,
      connectionsCheckingInterval: Math.min(1000, headersTimeout),
    });
    const ms = new ModelServer(server, repository, metrics, log, {
      maxBodyBytes: o.maxBodyBytes ?? SERVE_LIMITS.maxBodyBytes.default,
      bodyTimeoutMs,
      drainTimeoutMs: o.drainTimeoutMs ?? SERVE_LIMITS.drainTimeoutMs.default,
    });
    server.on('request', (req, res) => void ms.handle(req, res));
    const host = o.host ?? '127.0.0.1';
    const port = o.port ?? 8000;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
    } catch (e) {
      // Nothing may keep the process alive after this: the models' workers and the pollers go.
      await repository.close();
      await ms.parsers.close();
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === 'EADDRINUSE'
          ? 'the address is already in use (another server on that port?)'
          : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN'
            ? 'no such local address; expected an address of this machine, e.g. 127.0.0.1 or 0.0.0.0'
            : code === 'EACCES'
              ? 'permission denied (ports below 1024 need privileges)'
              : messageOf(e);
      throw new CdlError(`cannot listen on ${host}:${port}: ${why}`, { cause: e });
    }
    if (o.grpcPort !== undefined) {
      try {
        ms.grpc = await GrpcEndpoint.start(ms, host, o.grpcPort, ms.opts.maxBodyBytes);
      } catch (e) {
        server.close();
        await repository.close();
        await ms.parsers.close();
        metrics.close();
        throw new CdlError(`cannot listen for gRPC on ${host}:${o.grpcPort}: ${messageOf(e)}`, { cause: e });
      }
    }
    const a = server.address() as AddressInfo;
    ms.listeningUrl = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    repository.startPolling();
    log.info('listening', {
      url: ms.url,
      ...(ms.grpc ? { grpc: `${host}:${ms.grpc.port}` } : {}),
      repository: root,
      onnxruntime: info.version,
      models: repository.index().map((e) => `${e.name}${e.version ? '/' + e.version : ''}:${e.state}`),
    });
    return ms;
  }

  /** The address it listens on (kept after shutdown, for messages). */
  get url(): string {
    return this.listeningUrl;
  }

  get port(): number {
    return Number(new URL(this.listeningUrl).port);
  }

  /** The gRPC port, when gRPC is on. */
  get grpcPort(): number | undefined {
    return this.grpc?.port;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Count a request in flight while `fn` runs (shutdown waits for it). */
  async track<T>(fn: () => Promise<T>): Promise<T> {
    this.inflight++;
    try {
      return await fn();
    } finally {
      if (--this.inflight === 0) for (const w of this.drainWaiters.splice(0)) w();
    }
  }

  serverMetadata(): { name: string; version: string; extensions: string[] } {
    return { name: SERVER_NAME, version: CDL_VERSION, extensions: EXTENSIONS };
  }

  /** Whether the model (version) can take requests; an unknown model is an error (404). */
  modelReady(name: string, version: string | undefined): boolean {
    try {
      this.repository.resolveForMetadata(name, version);
      return !this.draining;
    } catch (e) {
      if (e instanceof ModelNotFoundError && !this.repository.isKnown(name)) throw e;
      return false;
    }
  }

  /** The repository extension's load and unload. */
  async loadModel(name: string, action: 'load' | 'unload'): Promise<void> {
    if (this.draining) throw new HttpError(503, 'the server is shutting down');
    if (action === 'load') await this.repository.load(name);
    else await this.repository.unload(name);
  }

  /**
   * One inference for a protocol other than REST's: choose the version, check the request
   * against it, queue it, and answer; counted in the same metrics as REST.
   */
  async inferOnce<T>(
    name: string,
    version: string | undefined,
    parse: (mv: ModelVersion) => InferRequest,
    answer: (mv: ModelVersion, parsed: InferRequest, outputs: OutputTensor[]) => T,
  ): Promise<T> {
    const t0 = performance.now();
    if (this.draining) {
      this.metrics.rejected.inc({ model: name, version: version ?? '', reason: 'shutting_down' });
      throw new HttpError(503, 'the server is shutting down; retry on another replica');
    }
    const mv = this.repository.resolve(name, version);
    let status = 200;
    try {
      const parsed = parse(mv);
      const ti = performance.now();
      const outputs = await mv.infer(parsed);
      this.mirror(name, mv, parsed, outputs, performance.now() - ti);
      return answer(mv, parsed, outputs);
    } catch (e) {
      status = httpStatus(e) ?? 500;
      throw e;
    } finally {
      this.metrics.requests.inc({ ...mv.labels, code: String(status) });
      this.metrics.latency.observe(mv.labels, (performance.now() - t0) / 1000);
    }
  }

  /**
   * Shadow traffic: when the model's shadow version is due a copy of this request, run it there
   * in the background and compare its answer with production's. Nothing of it reaches the client.
   */
  private mirror(name: string, mv: ModelVersion, parsed: InferRequest, outputs: OutputTensor[], productionMs: number): void {
    const shadow = this.repository.shadowFor(name, mv);
    if (!shadow) return;
    const { comparison } = shadow;
    comparison.started();
    if (signatureKey(shadow.mv) !== signatureKey(mv)) {
      comparison.failed(`version ${shadow.mv.version} takes other inputs than version ${mv.version}`);
      return;
    }
    const t = performance.now();
    shadow.mv.infer(parsed).then(
      (out) => comparison.answered(compareOutputs(outputs, out), productionMs, performance.now() - t),
      (e: unknown) => comparison.failed(messageOf(e)),
    );
  }

  get isReady(): boolean {
    return !this.draining && this.repository.ready();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.inflight++;
    if (this.draining) res.setHeader('connection', 'close');
    try {
      await this.route(req, res);
    } catch (e) {
      // A body still arriving is refused without reading it: the answer goes out, then the connection closes.
      if (!req.complete && !res.headersSent) closeAfterResponse(req, res, this.opts.bodyTimeoutMs);
      const status = httpStatus(e);
      if (status !== undefined) sendError(res, status, messageOf(e));
      else {
        this.log.error('request failed', { method: req.method, url: req.url, error: messageOf(e) });
        if (!res.headersSent) sendError(res, 500, `internal error: ${messageOf(e)}`);
      }
    } finally {
      if (--this.inflight === 0) for (const w of this.drainWaiters.splice(0)) w();
    }
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const parts = url.pathname
      .split('/')
      .filter(Boolean)
      .map((p) => decodeSegment(p, url.pathname));
    const method = req.method ?? 'GET';
    const want = (m: string) => {
      if (method !== m) throw new HttpError(405, `${method} ${url.pathname}: method not allowed; expected ${m}`);
    };
    if (url.pathname === '/metrics') {
      want('GET');
      return sendText(res, 200, await this.metrics.exposition(), 'text/plain; version=0.0.4; charset=utf-8');
    }
    if (parts[0] !== 'v2') throw new HttpError(404, `no such endpoint: ${url.pathname}; the API is under /v2 (and /metrics)`);
    if (parts.length === 1) {
      want('GET');
      return sendJson(res, 200, this.serverMetadata());
    }
    if (parts[1] === 'health' && parts.length === 3) {
      want('GET');
      if (parts[2] === 'live') return sendJson(res, 200, { live: true });
      if (parts[2] === 'ready') return sendJson(res, this.isReady ? 200 : 503, { ready: this.isReady });
    }
    if (parts[1] === 'repository') return this.routeRepository(req, res, parts, want);
    if (parts[1] === 'models' && parts.length >= 3) {
      const name = parts[2]!;
      let rest = parts.slice(3);
      let version: string | undefined;
      if (rest[0] === 'versions') {
        if (rest.length < 2)
          throw new HttpError(404, `no such endpoint: ${url.pathname}; expected /v2/models/${name}/versions/<version>`);
        version = rest[1];
        rest = rest.slice(2);
      }
      const action = rest[0];
      if (rest.length > 1) throw new HttpError(404, `no such endpoint: ${url.pathname}`);
      if (action === 'infer') {
        want('POST');
        return this.infer(req, res, name, version);
      }
      if (action === undefined || action === 'ready' || action === 'stats' || action === 'monitor') want('GET');
      if (action === undefined) return sendJson(res, 200, this.modelMetadata(name, version));
      if (action === 'ready') {
        const ready = this.modelReady(name, version);
        return sendJson(res, ready ? 200 : 503, { name, ...(version ? { version } : {}), ready });
      }
      if (action === 'stats') return sendJson(res, 200, this.repository.stats(name));
      if (action === 'monitor') {
        const mv = this.repository.resolveForMetadata(name, version);
        const stats = mv.monitorStats();
        const shadow = this.repository.shadowReports(name);
        if (stats) return sendJson(res, 200, shadow.length ? { ...stats, shadow } : stats);
        if (shadow.length) return sendJson(res, 200, { shadow });
        throw new HttpError(
          404,
          `model "${name}" version ${mv.version} has no reference.json, so no production statistics are kept; retrain it with cdl train`,
        );
      }
    }
    throw new HttpError(404, `no such endpoint: ${method} ${url.pathname}`);
  }

  modelMetadata(name: string, version: string | undefined): ModelMetadata {
    const mv = this.repository.resolveForMetadata(name, version);
    const versions = (this.repository.versions(name) ?? []).map((v) => String(v.version));
    return {
      name,
      versions: version ? [version] : versions,
      platform: 'onnxruntime_onnx',
      inputs: tensorMetadata(mv.signature.inputs),
      outputs: tensorMetadata(mv.signature.outputs),
      parameters: {
        sha256: mv.sha256,
        max_batch_size: mv.config.max_batch_size,
        dynamic_batching: mv.config.dynamic_batching && mv.signature.batched,
        ...(mv.modelMetrics?.classes ? { classes: mv.modelMetrics.classes } : {}),
        ...(mv.modelMetrics?.outputs ? { outputs: mv.modelMetrics.outputs } : {}),
      },
    };
  }

  private async routeRepository(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    parts: string[],
    want: (m: string) => void,
  ): Promise<void> {
    want('POST');
    if (parts.length === 3 && parts[2] === 'index') {
      const body = await this.jsonBody(req, true);
      const readyOnly = typeof body === 'object' && body !== null && (body as { ready?: unknown }).ready === true;
      return sendJson(res, 200, this.repository.index(readyOnly));
    }
    if (parts.length === 5 && parts[2] === 'models' && (parts[4] === 'load' || parts[4] === 'unload')) {
      if (this.draining) throw new HttpError(503, 'the server is shutting down');
      await this.jsonBody(req, true);
      await this.loadModel(parts[3]!, parts[4] as 'load' | 'unload');
      return sendJson(res, 200, {});
    }
    throw new HttpError(
      404,
      `no such endpoint: POST /${parts.join('/')}; expected /v2/repository/index or /v2/repository/models/<name>/load|unload`,
    );
  }

  private async jsonBody(req: http.IncomingMessage, optional = false): Promise<unknown> {
    const text = (await this.body.read(req, MAX_API_BODY_BYTES)).toString('utf8');
    if (optional && !text.trim()) return undefined;
    return parseJson(text);
  }

  /** The length of the JSON header before binary tensor data (Inference-Header-Content-Length), if any. */
  private headerLength(req: http.IncomingMessage, bodyLength: number): number | undefined {
    const h = req.headers['inference-header-content-length'];
    if (h === undefined) return undefined;
    const n = Number(h);
    if (!/^[0-9]+$/.test(String(h)) || n > bodyLength) {
      throw new HttpError(
        400,
        `Inference-Header-Content-Length: ${JSON.stringify(h)}: expected the JSON header's length in bytes, at most the body's ${bodyLength}`,
      );
    }
    return n;
  }

  private async infer(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    name: string,
    version: string | undefined,
  ): Promise<void> {
    const t0 = performance.now();
    if (this.draining) {
      this.metrics.rejected.inc({ model: name, version: version ?? '', reason: 'shutting_down' });
      throw new HttpError(503, 'the server is shutting down; retry on another replica');
    }
    // Large bodies are read a few at a time (a slot each, held until parsed) and parsed off this thread.
    const release = this.body.isLarge(req) ? await this.body.slot() : undefined;
    try {
      await this.inferRead(req, res, name, version, t0, release);
    } finally {
      release?.();
    }
  }

  private async inferRead(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    name: string,
    version: string | undefined,
    t0: number,
    release: (() => void) | undefined,
  ): Promise<void> {
    // Body first, then choosing the version and queueing in the same tick: a version swapped out
    // meanwhile never sees a request it would have to refuse.
    const raw = await this.body.read(req);
    const headerLength = this.headerLength(req, raw.length);
    let mv = this.repository.resolve(name, version);
    let status = 200;
    try {
      const job = () => ({
        bytes: raw,
        headerLength,
        signature: mv.signature,
        maxRows: mv.signature.batched ? mv.config.max_batch_size : undefined,
      });
      let parsed: InferRequest;
      if (raw.length < LARGE_BODY_BYTES) parsed = parseInferBody(job());
      else {
        const key = signatureKey(mv);
        parsed = await this.parsers.parse(job(), { ownsBuffer: true });
        release?.();
        // Parsing took a while: the version that takes the request is chosen now, and must take it as parsed.
        mv = this.repository.resolve(name, version);
        if (signatureKey(mv) !== key)
          throw new HttpError(503, `model "${name}" changed its inputs while the request was parsed; retry`);
      }
      const ti = performance.now();
      const outputs = await mv.infer(parsed);
      this.mirror(name, mv, parsed, outputs, performance.now() - ti);
      const answer = inferResponse(name, String(mv.version), parsed.id, outputs, parsed.binary);
      const headers: http.OutgoingHttpHeaders = { 'content-length': answer.length };
      if (answer.headerLength === undefined) headers['content-type'] = JSON_TYPE;
      else {
        headers['content-type'] = 'application/octet-stream';
        headers['inference-header-content-length'] = answer.headerLength;
      }
      res.writeHead(200, headers);
      if (answer.chunks.length === 1) res.end(answer.chunks[0]);
      else {
        for (const c of answer.chunks.slice(0, -1)) res.write(c);
        res.end(answer.chunks.at(-1));
      }
    } catch (e) {
      status = httpStatus(e) ?? 500;
      throw e;
    } finally {
      this.metrics.requests.inc({ ...mv.labels, code: String(status) });
      this.metrics.latency.observe(mv.labels, (performance.now() - t0) / 1000);
      if (this.log.enabled('debug'))
        this.log.debug('infer', { model: name, version: mv.version, status, ms: +(performance.now() - t0).toFixed(2) });
    }
  }

  /**
   * Stop accepting connections, answer 503 (and not ready) on the ones still open, wait for the
   * requests in flight, then free every model. Safe to call more than once.
   */
  shutdown(reason = 'shutdown'): Promise<void> {
    this.closing ??= this.doShutdown(reason);
    return this.closing;
  }

  private async doShutdown(reason: string): Promise<void> {
    this.draining = true;
    // A request whose body has not arrived is not in flight: it gets a short grace to finish
    // uploading, then is refused, never waited for up to the drain timeout.
    const cancelRefusal = this.body.abortAll(
      'the server is shutting down before the request body arrived; retry on another replica',
      Math.min(BODY_GRACE_MS, this.opts.drainTimeoutMs),
    );
    const t0 = performance.now();
    this.log.info('draining', { reason, inflight: this.inflight });
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    // gRPC stops taking calls now too; the calls in flight are counted in `inflight`.
    const grpcClosed = this.grpc?.close(this.opts.drainTimeoutMs + BODY_GRACE_MS);
    await this.repository.stopPolling();
    for (const mv of this.repository.allServed()) mv.batcher.flush();
    if (this.inflight > 0) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        new Promise<boolean>((r) => this.drainWaiters.push(() => r(false))),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), this.opts.drainTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) this.log.warn('drain timed out; closing the remaining connections', { inflight: this.inflight });
    }
    this.server.closeIdleConnections();
    this.server.closeAllConnections();
    cancelRefusal();
    await closed;
    await grpcClosed;
    await this.parsers.close();
    this.metrics.close();
    await this.repository.close();
    this.log.info('stopped', { ms: Math.round(performance.now() - t0) });
  }
}
