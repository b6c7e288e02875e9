/**
 * The model server: loads the repository, listens for REST (rest.ts) and optionally gRPC
 * (grpc.ts), answers for both what they share (readiness, metadata, one inference with its
 * metrics, shadow copies), and shuts down by refusing new work, reporting not ready, draining
 * what is in flight and freeing every session.
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
import { HttpError, ModelNotFoundError, httpStatus } from './errors.js';
import type { InferRequest, OutputTensor } from './tensors.js';
import { tensorMetadata } from './protocol.js';
import type { InferenceBackend, ModelMetadata } from './backend.js';
import { GrpcEndpoint } from './grpc.js';
import { signatureKey, type ModelVersion } from './model-version.js';
import { ModelRepository } from './repository.js';
import { compareOutputs } from './shadow.js';
import { RestEndpoint } from './rest.js';

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

export const SERVER_NAME = 'cdl';
export const EXTENSIONS = ['model_repository', 'statistics', 'metrics', 'binary_tensor_data'];

export class ModelServer implements InferenceBackend {
  private inflight = 0;
  private draining = false;
  private closing: Promise<void> | undefined;
  private drainWaiters: Array<() => void> = [];
  private listeningUrl = '';
  private grpc: GrpcEndpoint | undefined;
  private readonly rest: RestEndpoint;

  private constructor(
    readonly server: http.Server,
    readonly repository: ModelRepository,
    readonly metrics: ServeMetrics,
    readonly log: Logger,
    private readonly opts: Required<Pick<ServeOptions, 'maxBodyBytes' | 'bodyTimeoutMs' | 'drainTimeoutMs'>>,
  ) {
    this.rest = new RestEndpoint(this, { maxBodyBytes: opts.maxBodyBytes, bodyTimeoutMs: opts.bodyTimeoutMs });
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
    server.on('request', (req, res) => void ms.rest.handle(req, res));
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
      await ms.rest.close();
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
        await ms.rest.close();
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
      this.metrics.rejected.inc({ model: name, reason: 'shutting_down', version: version ?? '' });
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
      this.metrics.requests.inc({ code: String(status), ...mv.labels });
      this.metrics.latency.observe(mv.labels, (performance.now() - t0) / 1000);
    }
  }

  /**
   * Shadow traffic: when the model's shadow version is due a copy of this request, run it there
   * in the background and compare its answer with production's. Nothing of it reaches the client.
   */
  mirror(name: string, mv: ModelVersion, parsed: InferRequest, outputs: OutputTensor[], productionMs: number): void {
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
    const cancelRefusal = this.rest.abortBodies(
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
    await this.rest.close();
    this.metrics.close();
    await this.repository.close();
    this.log.info('stopped', { ms: Math.round(performance.now() - t0) });
  }
}
