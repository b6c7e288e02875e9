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
import { jsonLogger, type Logger } from './log.js';
import { ServeMetrics } from './metrics.js';
import { JsonSyntaxError, parseJsonBytes } from './json.js';
import { HttpError, inferResponse, parseInferRequest, tensorMetadata } from './protocol.js';
import { ModelRepository } from './repository.js';

export interface ServeOptions {
  repository: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Poll the repository for new versions every this many ms (0: only at start and on the load API). */
  pollMs?: number;
  log?: Logger;
  /** Largest request body in bytes (413 past it). */
  maxBodyBytes?: number;
  /** How long shutdown waits for in-flight requests before closing their connections. */
  drainTimeoutMs?: number;
}

export const SERVER_NAME = 'cdl';
export const EXTENSIONS = ['model_repository', 'statistics', 'metrics', 'binary_tensor_data'];

const JSON_TYPE = 'application/json';

function send(res: http.ServerResponse, status: number, body: string, type = JSON_TYPE): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const sendJson = (res: http.ServerResponse, status: number, value: unknown) => send(res, status, JSON.stringify(value));
const sendError = (res: http.ServerResponse, status: number, message: string) => sendJson(res, status, { error: message });

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new HttpError(413, `request body over ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `malformed JSON in the request body: ${(e as Error).message}`);
  }
}

/** An inference request's JSON, read from the body's bytes (its arrays of numbers stay NumberArray until checked). */
function parseInferJson(raw: Buffer, end: number): unknown {
  try {
    return parseJsonBytes(raw, 0, end);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new HttpError(400, `malformed JSON in the request body: ${e.message}`);
    throw e;
  }
}

export class ModelServer {
  private inflight = 0;
  private draining = false;
  private closing: Promise<void> | undefined;
  private drainWaiters: Array<() => void> = [];
  private listeningUrl = '';

  private constructor(
    readonly server: http.Server,
    readonly repository: ModelRepository,
    readonly metrics: ServeMetrics,
    readonly log: Logger,
    private readonly opts: Required<Pick<ServeOptions, 'maxBodyBytes' | 'drainTimeoutMs'>>,
  ) {}

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
    const server = http.createServer({ keepAliveTimeout: 65_000 });
    const ms = new ModelServer(server, repository, metrics, log, {
      maxBodyBytes: o.maxBodyBytes ?? 64 * 1024 * 1024,
      drainTimeoutMs: o.drainTimeoutMs ?? 30_000,
    });
    server.on('request', (req, res) => void ms.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 8000, o.host ?? '127.0.0.1', () => resolve());
    });
    const a = server.address() as AddressInfo;
    ms.listeningUrl = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    repository.startPolling();
    log.info('listening', {
      url: ms.url,
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

  get isReady(): boolean {
    return !this.draining && this.repository.ready();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.inflight++;
    if (this.draining) res.setHeader('connection', 'close');
    try {
      await this.route(req, res);
    } catch (e) {
      if (e instanceof HttpError) sendError(res, e.status, e.message);
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
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? 'GET';
    const want = (m: string) => {
      if (method !== m) throw new HttpError(405, `${method} ${url.pathname}: method not allowed; expected ${m}`);
    };
    if (url.pathname === '/metrics') {
      want('GET');
      return send(res, 200, this.metrics.render(), 'text/plain; version=0.0.4; charset=utf-8');
    }
    if (parts[0] !== 'v2') throw new HttpError(404, `no such endpoint: ${url.pathname}; the API is under /v2 (and /metrics)`);
    if (parts.length === 1) {
      want('GET');
      return sendJson(res, 200, { name: SERVER_NAME, version: CDL_VERSION, extensions: EXTENSIONS });
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
        let ready = false;
        try {
          this.repository.resolveForMetadata(name, version);
          ready = !this.draining;
        } catch (e) {
          if (e instanceof HttpError && !this.repository.isKnown(name)) throw e;
        }
        return sendJson(res, ready ? 200 : 503, { name, ...(version ? { version } : {}), ready });
      }
      if (action === 'stats') return sendJson(res, 200, this.repository.stats(name));
      if (action === 'monitor') {
        const mv = this.repository.resolveForMetadata(name, version);
        const stats = mv.monitorStats();
        if (!stats) {
          throw new HttpError(
            404,
            `model "${name}" version ${mv.version} has no reference.json, so no production statistics are kept; retrain it with cdl train`,
          );
        }
        return sendJson(res, 200, stats);
      }
    }
    throw new HttpError(404, `no such endpoint: ${method} ${url.pathname}`);
  }

  private modelMetadata(name: string, version: string | undefined): unknown {
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
      const name = parts[3]!;
      if (parts[4] === 'load') await this.repository.load(name);
      else await this.repository.unload(name);
      return sendJson(res, 200, {});
    }
    throw new HttpError(
      404,
      `no such endpoint: POST /${parts.join('/')}; expected /v2/repository/index or /v2/repository/models/<name>/load|unload`,
    );
  }

  private async jsonBody(req: http.IncomingMessage, optional = false): Promise<unknown> {
    const text = (await readBody(req, this.opts.maxBodyBytes)).toString('utf8');
    if (optional && !text.trim()) return undefined;
    return parseJson(text);
  }

  /** The request body: JSON, or a JSON header and binary tensor data (Inference-Header-Content-Length). */
  private async inferBody(req: http.IncomingMessage): Promise<{ json: unknown; binary?: Uint8Array }> {
    const raw = await readBody(req, this.opts.maxBodyBytes);
    const h = req.headers['inference-header-content-length'];
    if (h === undefined) return { json: parseInferJson(raw, raw.length) };
    const n = Number(h);
    if (!/^[0-9]+$/.test(String(h)) || n > raw.length) {
      throw new HttpError(
        400,
        `Inference-Header-Content-Length: ${JSON.stringify(h)}: expected the JSON header's length in bytes, at most the body's ${raw.length}`,
      );
    }
    return { json: parseInferJson(raw, n), binary: raw.subarray(n) };
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
    // Body first, then choosing the version and queueing in the same tick: a version swapped out
    // meanwhile never sees a request it would have to refuse.
    const body = await this.inferBody(req);
    const mv = this.repository.resolve(name, version);
    let status = 200;
    try {
      const parsed = parseInferRequest(body.json, mv.signature, {
        maxRows: mv.signature.batched ? mv.config.max_batch_size : undefined,
        binary: body.binary,
      });
      const outputs = await mv.infer(parsed);
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
      status = e instanceof HttpError ? e.status : 500;
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
    const t0 = performance.now();
    this.log.info('draining', { reason, inflight: this.inflight });
    const closed = new Promise<void>((r) => this.server.close(() => r()));
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
    await closed;
    await this.repository.close();
    this.log.info('stopped', { ms: Math.round(performance.now() - t0) });
  }
}
