/**
 * The model repository: `<root>/<model>/<version>/` model directories (versions are positive
 * integers, as in Triton), with an optional `<root>/<model>/config.yaml`. The repository is
 * polled: a new version loads while the old one serves, and the switch happens only once the new
 * one has loaded; the old one then drains (its queued and running requests finish) and is freed.
 * A version that fails to load (corrupt file, SHA256SUMS mismatch, bad config) leaves what was
 * serving in place, and the repository index reports why.
 *
 * Kept as one file (about 400 lines) because polling, loading, switching and draining all act on
 * one state per model; split, each part would need that state's invariants restated.
 */
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { CHECKSUMS_FILE } from '../model-dir/checksums.js';
import { MODEL_FILES } from '../model-dir/index.js';
import type { Ort } from '../runtime/onnxruntime.js';
import { messageOf } from '../util/errors.js';
import { readModelConfig, type ServeModelConfig } from './config.js';
import { versionDirs } from './repository-layout.js';
import type { Logger } from './log.js';
import type { ServeMetrics } from './metrics.js';
import { ModelVersion } from './model-version.js';
import { ModelLoadError, ModelNotFoundError } from './errors.js';
import type { ShadowComparison, ShadowReport } from './shadow.js';
import {
  canaryOf,
  comparisonOf,
  newModelState,
  reasonSuffix,
  routeRequest,
  shadowVersion,
  takeShadow,
  type ModelState,
} from './version-routing.js';

export type VersionState = 'READY' | 'LOADING' | 'UNAVAILABLE';

export interface IndexEntry {
  name: string;
  version?: string;
  state: VersionState;
  reason: string;
  /** SHA-256 of the model.onnx a READY version serves. */
  sha256?: string;
}

export interface RepositoryOptions {
  root: string;
  ort: Ort;
  metrics: ServeMetrics;
  log: Logger;
  /** Poll interval in ms for new versions; 0 turns polling off. */
  pollMs?: number;
}

async function fingerprint(dir: string): Promise<string> {
  const parts: string[] = [];
  for (const f of [MODEL_FILES.onnx, CHECKSUMS_FILE]) {
    try {
      const s = await stat(path.join(dir, f));
      parts.push(`${f}:${s.ino}:${s.size}:${s.mtimeMs}`);
    } catch {
      parts.push(`${f}:-`);
    }
  }
  return parts.join('|');
}

export class ModelRepository {
  private models = new Map<string, ModelState>();
  private timer: NodeJS.Timeout | undefined;
  private draining = new Set<Promise<void>>();
  private polling: Promise<void> | undefined;

  constructor(private readonly o: RepositoryOptions) {
    o.metrics.collectQueueDepth(() => this.allServed().map((v) => [v.labels, v.batcher.depth]));
  }

  get root(): string {
    return this.o.root;
  }

  /** Model names on disk: directories of the root. */
  async scanNames(): Promise<string[]> {
    const entries = await readdir(this.o.root, { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
  }

  /** Load every model on disk (per its policy); resolves when all are done. */
  async loadAll(): Promise<void> {
    const names = new Set([...(await this.scanNames()), ...this.models.keys()]);
    await Promise.all([...names].map((n) => this.reconcile(n)));
  }

  startPolling(): void {
    const ms = this.o.pollMs ?? 0;
    if (!ms || this.timer) return;
    const tick = () => {
      this.polling = this.loadAll()
        .catch((e) => this.o.log.error('repository poll failed', { root: this.o.root, error: messageOf(e) }))
        .finally(() => {
          this.polling = undefined;
          if (this.timer) this.timer = setTimeout(tick, ms);
        });
    };
    this.timer = setTimeout(tick, ms);
  }

  async stopPolling(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  private state(name: string): ModelState {
    let s = this.models.get(name);
    if (!s) {
      s = newModelState(name);
      this.models.set(name, s);
    }
    return s;
  }

  /** Bring one model in line with the disk and its policy. `force` retries versions that failed before. */
  reconcile(name: string, force = false): Promise<void> {
    const s = this.state(name);
    const next = s.chain.then(() => this.doReconcile(s, force));
    s.chain = next.catch(() => {});
    return next;
  }

  private async doReconcile(s: ModelState, force: boolean): Promise<void> {
    if (s.unloaded && !force) return;
    const dir = path.join(this.o.root, s.name);
    if (!existsSync(dir)) {
      if (s.served.size) this.o.log.warn('model removed from the repository; unloading', { model: s.name });
      s.error = `${dir} is gone`;
      s.onDisk = [];
      this.swap(s, new Map());
      return;
    }
    const onDisk = await versionDirs(dir);
    let config: ServeModelConfig;
    try {
      config = (await readModelConfig(dir)).config;
      s.error = null;
    } catch (e) {
      const msg = messageOf(e);
      if (s.error !== msg) this.o.log.error('model config invalid; keeping what is served', { model: s.name, error: msg });
      s.error = msg;
      s.onDisk = onDisk;
      if (!s.config) return;
      config = s.config;
    }
    const configKey = JSON.stringify(config);
    const configChanged = s.configKey !== '' && s.configKey !== configKey;
    s.config = config;
    s.configKey = configKey;
    const policy = config.version_policy;
    let desired: number[];
    if ('latest' in policy) desired = onDisk.slice(0, policy.latest);
    else if ('specific' in policy) desired = onDisk.filter((v) => policy.specific.includes(v));
    else desired = [...onDisk];
    // From here until the swap, the index reports new desired versions as LOADING.
    s.onDisk = onDisk;
    s.pending = new Set(desired);

    const next = new Map<number, ModelVersion>();
    const loads = desired.map(async (v) => {
      const vdir = path.join(dir, String(v));
      const fp = await fingerprint(vdir);
      const current = s.served.get(v);
      if (current && s.fingerprints.get(v) === fp && !configChanged) {
        next.set(v, current);
        return;
      }
      const failed = s.failures.get(v);
      if (!force && failed && failed.fingerprint === `${fp}|${configKey}`) {
        if (current) next.set(v, current);
        return;
      }
      s.loading.add(v);
      const t0 = performance.now();
      try {
        const mv = await ModelVersion.load({
          name: s.name,
          version: v,
          dir: vdir,
          config,
          metrics: this.o.metrics,
          onCrash: (crashed, reason) => this.crashed(s, crashed, reason),
        });
        next.set(v, mv);
        s.fingerprints.set(v, fp);
        s.failures.delete(v);
        this.o.log.info('model version loaded', {
          model: s.name,
          version: v,
          dir: vdir,
          workers: mv.workers,
          threads: mv.threads,
          ms: Math.round(performance.now() - t0),
        });
      } catch (e) {
        const reason = messageOf(e);
        s.failures.set(v, { fingerprint: `${fp}|${configKey}`, reason });
        this.o.metrics.loadFailures.inc({ model: s.name, version: String(v) });
        this.o.log.error('model version failed to load', {
          model: s.name,
          version: v,
          dir: vdir,
          error: reason,
          serving: current ? [v] : [...s.served.keys()],
        });
        if (current) next.set(v, current);
      } finally {
        s.loading.delete(v);
      }
    });
    await Promise.all(loads);
    s.pending.clear();
    // latest N: when a new version failed, the versions serving before keep serving in its place.
    if ('latest' in policy && next.size < policy.latest) {
      const old = [...s.served.keys()].filter((v) => !next.has(v) && s.onDisk.includes(v)).sort((a, b) => b - a);
      for (const v of old) {
        if (next.size >= policy.latest) break;
        next.set(v, s.served.get(v)!);
      }
    }
    this.swap(s, next);
  }

  /**
   * An inference worker of a served version died: the version stops serving at once (its queued
   * requests fail with the reason), is reported UNAVAILABLE with the reason, and stays out until
   * its files change or the load API is called.
   */
  private crashed(s: ModelState, mv: ModelVersion, reason: string): void {
    this.o.log.error('inference worker died; the version is unavailable', { model: s.name, version: mv.version, error: reason });
    this.o.metrics.workerCrashes.inc({ model: s.name, version: String(mv.version) });
    const next = s.chain.then(() => {
      if (s.served.get(mv.version) !== mv) return;
      s.failures.set(mv.version, { fingerprint: `${s.fingerprints.get(mv.version) ?? ''}|${s.configKey}`, reason });
      const rest = new Map(s.served);
      rest.delete(mv.version);
      this.swap(s, rest);
    });
    s.chain = next.catch(() => {});
  }

  /** Switch to the new set of versions; those left out drain and are freed in the background. */
  private swap(s: ModelState, next: Map<number, ModelVersion>): void {
    const before = s.served;
    s.served = new Map([...next].sort((a, b) => b[0] - a[0]));
    for (const [v, mv] of before) {
      if (s.served.get(v) === mv) continue;
      this.o.metrics.loaded.remove(mv.labels);
      const p = mv
        .drainAndRelease()
        .then(() => this.o.log.info('model version unloaded', { model: s.name, version: v }))
        .catch((e) => this.o.log.error('model version release failed', { model: s.name, version: v, error: messageOf(e) }))
        .finally(() => this.draining.delete(p));
      this.draining.add(p);
      if (!s.served.has(v)) s.fingerprints.delete(v);
    }
    for (const mv of s.served.values()) this.o.metrics.loaded.set(mv.labels, 1);
    const canary = canaryOf(s);
    if (canary) this.o.metrics.canaryWeight.set({ model: s.name, version: String(canary.version) }, canary.weight);
    else for (const v of s.onDisk) this.o.metrics.canaryWeight.remove({ model: s.name, version: String(v) });
    const changed =
      [...before.keys()].join(',') !== [...s.served.keys()].join(',') || [...before].some(([v, mv]) => s.served.get(v) !== mv);
    if (changed) this.o.log.info('serving', { model: s.name, versions: [...s.served.keys()], canary: canary ?? null });
  }

  /** The shadow that gets a copy of this production answer, when one is due (version-routing.ts). */
  shadowFor(name: string, mv: ModelVersion): { mv: ModelVersion; comparison: ShadowComparison } | undefined {
    const s = this.models.get(name);
    return s && takeShadow(s, mv, this.o.metrics);
  }

  /** The comparison of the model's shadow version(s) with production so far (empty: none). */
  shadowReports(name: string): ShadowReport[] {
    const s = this.models.get(name);
    if (!s) return [];
    comparisonOf(s, this.o.metrics);
    return [...s.shadows.values()].map((c) => c.report());
  }

  /** The version that answers a request: the one named, else the canary split, else the latest. */
  resolve(name: string, version?: string): ModelVersion {
    return routeRequest(this.models.get(name), name, version, () => [...this.models.keys()]);
  }

  /** The version metadata describes: the one named, else the latest served (no routing counted). */
  resolveForMetadata(name: string, version?: string): ModelVersion {
    const s = this.models.get(name);
    if (s && version === undefined && s.served.size) {
      const shadowV = shadowVersion(s);
      const production = [...s.served.values()].find((mv) => mv.version !== shadowV);
      if (production) return production;
    }
    if (s && version !== undefined && /^[0-9]+$/.test(version) && s.served.has(Number(version)))
      return s.served.get(Number(version))!;
    return this.resolve(name, version);
  }

  /** Served versions of a model (highest first), or undefined when the model is unknown. */
  versions(name: string): ModelVersion[] | undefined {
    const s = this.models.get(name);
    return s ? [...s.served.values()] : undefined;
  }

  allServed(): ModelVersion[] {
    return [...this.models.values()].flatMap((s) => [...s.served.values()]);
  }

  /** Whether every model on disk has something serving (or was unloaded on purpose). */
  ready(): boolean {
    for (const s of this.models.values()) if (!s.unloaded && s.onDisk.length && !s.served.size) return false;
    return true;
  }

  isKnown(name: string): boolean {
    return this.models.has(name);
  }

  /** The repository index extension: every model and version with its state and the reason. */
  index(readyOnly = false): IndexEntry[] {
    const out: IndexEntry[] = [];
    for (const s of [...this.models.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      const versions = new Set([...s.onDisk, ...s.served.keys()]);
      if (!versions.size)
        out.push({ name: s.name, state: 'UNAVAILABLE', reason: s.error ?? (s.unloaded ? 'unloaded' : 'no version directories') });
      const policy = s.config?.version_policy;
      for (const v of [...versions].sort((a, b) => b - a)) {
        let state: VersionState = 'UNAVAILABLE';
        let reason = '';
        if (s.served.has(v)) {
          state = 'READY';
          const f = s.failures.get(v);
          if (f) reason = `serving the copy loaded before; the new files failed: ${f.reason}`;
          else if (s.error) reason = `serving with the last valid config: ${s.error}`;
        } else if (s.loading.has(v) || (s.pending.has(v) && !s.failures.has(v))) state = 'LOADING';
        else if (s.unloaded) reason = 'unloaded';
        else if (s.failures.has(v)) reason = s.failures.get(v)!.reason;
        else if (s.error) reason = s.error;
        else reason = `not selected by version_policy ${JSON.stringify(policy)}`;
        const sha256 = s.served.get(v)?.sha256;
        out.push({ name: s.name, version: String(v), state, reason, ...(sha256 ? { sha256 } : {}) });
      }
    }
    return readyOnly ? out.filter((e) => e.state === 'READY') : out;
  }

  /** Per-version statistics: requests routed, predicted classes, queue depth, canary weight. */
  stats(name: string): Record<string, unknown> {
    const s = this.models.get(name);
    if (!s) throw new ModelNotFoundError(`unknown model "${name}"`);
    const canary = canaryOf(s);
    return {
      name,
      canary: canary ? { version: String(canary.version), weight: canary.weight, primary: String(canary.primary) } : null,
      shadow_version: shadowVersion(s) === undefined ? null : String(shadowVersion(s)),
      shadow: this.shadowReports(name),
      versions: [...s.served.values()].map((mv) => ({
        version: String(mv.version),
        routed_requests: s.routed.get(mv.version) ?? 0,
        queue_depth: mv.batcher.depth,
        workers: mv.workers,
        threads: mv.threads,
        batch_stats: mv.batchStats(),
        predicted_classes: mv.predictedClasses(),
      })),
    };
  }

  /** Explicit load (the repository API): reload from disk, retrying failed versions. */
  async load(name: string): Promise<void> {
    const dir = path.join(this.o.root, name);
    if (!/^[^/\\.][^/\\]*$/.test(name) || !existsSync(dir)) {
      throw new ModelNotFoundError(`no model "${name}" in the repository ${this.o.root}`);
    }
    const s = this.state(name);
    s.unloaded = false;
    await this.reconcile(name, true);
    if (!s.served.size) {
      throw new ModelLoadError(`model "${name}" failed to load${reasonSuffix(s) || ': no version directories'}`);
    }
    if (s.error) throw new ModelLoadError(`model "${name}": ${s.error}`);
  }

  /** Explicit unload: in-flight requests finish, then the sessions are freed. */
  async unload(name: string): Promise<void> {
    const s = this.models.get(name);
    if (!s) throw new ModelNotFoundError(`unknown model "${name}"`);
    const next = s.chain.then(() => {
      s.unloaded = true;
      this.swap(s, new Map());
      this.o.log.info('model unloaded through the repository API', { model: name });
    });
    s.chain = next.catch(() => {});
    await next;
  }

  /** Stop polling, drain every version, free every session. */
  async close(): Promise<void> {
    await this.stopPolling();
    for (const s of this.models.values()) {
      await s.chain;
      this.swap(s, new Map());
    }
    await Promise.all([...this.draining]);
  }
}
