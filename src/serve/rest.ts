/**
 * The REST endpoints of the model server: the Open Inference Protocol v2 (health, metadata,
 * infer with JSON or binary tensor data), the model repository extension, per-model statistics,
 * the production monitor and Prometheus /metrics. Request bodies are read with their limits here;
 * large ones are parsed on parser threads.
 */
import type http from 'node:http';
import { messageOf } from '../util/errors.js';
import { JSON_TYPE, JsonBodyError, parseJsonText, sendJson, sendText } from '../util/http.js';
import type { InferenceBackend } from './backend.js';
import { BodyReader, closeAfterResponse, LARGE_BODY_BYTES } from './body.js';
import { HttpError, httpStatus } from './errors.js';
import { signatureKey } from './model-version.js';
import { inferResponse } from './protocol.js';
import { parseInferBody, RequestParsers } from './request-parser.js';
import type { InferRequest } from './tensors.js';

/** Largest body of the repository API's requests (a small JSON object). */
const MAX_API_BODY_BYTES = 64 * 1024;

const sendError = (res: http.ServerResponse, status: number, message: string) => sendJson(res, status, { error: message });

function parseJson(text: string): unknown {
  try {
    return parseJsonText(text);
  } catch (e) {
    if (e instanceof JsonBodyError) throw new HttpError(400, `malformed JSON in the request body: ${e.message}`);
    throw e;
  }
}

/**
 * A path without query, %-escapes, dot segments, empty segments or characters a URL would escape:
 * the common case, whose segments are the path split on "/" (as the URL parser would give them).
 */
const PLAIN_PATH = /^(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9_.~-]+)+\/?$/;

/** The request target's path and its segments, %-escapes decoded; the URL parser only where a path needs it. */
function splitPath(target: string): { pathname: string; parts: string[] } {
  if (PLAIN_PATH.test(target)) return { pathname: target, parts: target.split('/').filter(Boolean) };
  const pathname = new URL(target, 'http://x').pathname;
  return {
    pathname,
    parts: pathname
      .split('/')
      .filter(Boolean)
      .map((p) => decodeSegment(p, pathname)),
  };
}

/** A path segment, %-escapes decoded. */
function decodeSegment(s: string, pathname: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, `malformed %-escape in the URL path ${JSON.stringify(pathname)}; expected %XX of UTF-8 bytes`);
  }
}

export class RestEndpoint {
  private readonly body: BodyReader;
  private readonly parsers = new RequestParsers();

  constructor(
    private readonly backend: InferenceBackend,
    private readonly opts: { maxBodyBytes: number; bodyTimeoutMs: number },
  ) {
    this.body = new BodyReader({ maxBytes: opts.maxBodyBytes, timeoutMs: opts.bodyTimeoutMs });
  }

  /** Refuse the bodies still arriving after `graceMs` (at shutdown); returns a function that cancels the refusal. */
  abortBodies(message: string, graceMs: number): () => void {
    return this.body.abortAll(message, graceMs);
  }

  /** Stop the parser threads. */
  close(): Promise<void> {
    return this.parsers.close();
  }

  /** Answer one HTTP request (counted in flight while it runs, so that shutdown waits for it). */
  handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    return this.backend.track(async () => {
      if (this.backend.isDraining) res.setHeader('connection', 'close');
      try {
        await this.route(req, res);
      } catch (e) {
        // A body still arriving is refused without reading it: the answer goes out, then the connection closes.
        if (!req.complete && !res.headersSent) closeAfterResponse(req, res, this.opts.bodyTimeoutMs);
        const status = httpStatus(e);
        if (status !== undefined) sendError(res, status, messageOf(e));
        else {
          this.backend.log.error('request failed', { method: req.method, url: req.url, error: messageOf(e) });
          if (!res.headersSent) sendError(res, 500, `internal error: ${messageOf(e)}`);
        }
      }
    });
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { pathname, parts } = splitPath(req.url ?? '/');
    const method = req.method ?? 'GET';
    const want = (m: string) => {
      if (method !== m) throw new HttpError(405, `${method} ${pathname}: method not allowed; expected ${m}`);
    };
    if (pathname === '/metrics') {
      want('GET');
      return sendText(res, 200, await this.backend.metrics.exposition(), 'text/plain; version=0.0.4; charset=utf-8');
    }
    if (parts[0] !== 'v2') throw new HttpError(404, `no such endpoint: ${pathname}; the API is under /v2 (and /metrics)`);
    if (parts.length === 1) {
      want('GET');
      return sendJson(res, 200, this.backend.serverMetadata());
    }
    if (parts[1] === 'health' && parts.length === 3) {
      want('GET');
      if (parts[2] === 'live') return sendJson(res, 200, { live: true });
      if (parts[2] === 'ready') return sendJson(res, this.backend.isReady ? 200 : 503, { ready: this.backend.isReady });
    }
    if (parts[1] === 'repository') return this.routeRepository(req, res, parts, want);
    if (parts[1] === 'models' && parts.length >= 3) {
      const name = parts[2]!;
      let rest = parts.slice(3);
      let version: string | undefined;
      if (rest[0] === 'versions') {
        if (rest.length < 2)
          throw new HttpError(404, `no such endpoint: ${pathname}; expected /v2/models/${name}/versions/<version>`);
        version = rest[1];
        rest = rest.slice(2);
      }
      const action = rest[0];
      if (rest.length > 1) throw new HttpError(404, `no such endpoint: ${pathname}`);
      if (action === 'infer') {
        want('POST');
        return this.infer(req, res, name, version);
      }
      if (action === undefined || action === 'ready' || action === 'stats' || action === 'monitor') want('GET');
      if (action === undefined) return sendJson(res, 200, this.backend.modelMetadata(name, version));
      if (action === 'ready') {
        const ready = this.backend.modelReady(name, version);
        return sendJson(res, ready ? 200 : 503, { name, ...(version ? { version } : {}), ready });
      }
      if (action === 'stats') return sendJson(res, 200, this.backend.repository.stats(name));
      if (action === 'monitor') {
        const mv = this.backend.repository.resolveForMetadata(name, version);
        const stats = mv.monitorStats();
        const shadow = this.backend.repository.shadowReports(name);
        if (stats) return sendJson(res, 200, shadow.length ? { ...stats, shadow } : stats);
        if (shadow.length) return sendJson(res, 200, { shadow });
        throw new HttpError(
          404,
          `model "${name}" version ${mv.version} has no reference.json, so no production statistics are kept; retrain it with cdl train`,
        );
      }
    }
    throw new HttpError(404, `no such endpoint: ${method} ${pathname}`);
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
      return sendJson(res, 200, this.backend.repository.index(readyOnly));
    }
    if (parts.length === 5 && parts[2] === 'models' && (parts[4] === 'load' || parts[4] === 'unload')) {
      if (this.backend.isDraining) throw new HttpError(503, 'the server is shutting down');
      await this.jsonBody(req, true);
      await this.backend.loadModel(parts[3]!, parts[4] as 'load' | 'unload');
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
    if (this.backend.isDraining) {
      this.backend.metrics.rejected.inc({ model: name, reason: 'shutting_down', version: version ?? '' });
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
    let mv = this.backend.repository.resolve(name, version);
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
        mv = this.backend.repository.resolve(name, version);
        if (signatureKey(mv) !== key)
          throw new HttpError(503, `model "${name}" changed its inputs while the request was parsed; retry`);
      }
      const ti = performance.now();
      const outputs = await mv.infer(parsed);
      this.backend.mirror(name, mv, parsed, outputs, performance.now() - ti);
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
      this.backend.metrics.requests.inc({ code: String(status), ...mv.labels });
      this.backend.metrics.latency.observe(mv.labels, (performance.now() - t0) / 1000);
      if (this.backend.log.enabled('debug'))
        this.backend.log.debug('infer', { model: name, version: mv.version, status, ms: +(performance.now() - t0).toFixed(2) });
    }
  }
}
