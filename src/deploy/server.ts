/**
 * The `server` target: a running `cdl serve`. The version is written into its model repository
 * as the next integer version (the release tag recorded beside it), loaded through the repository
 * API while the old version keeps serving, checked ready and with a smoke inference, and only
 * then made the one that answers. With a canary, the new version first takes a share of the
 * traffic while the server's metrics are watched; it is promoted to 100% or rolled back.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { addToModelDir, MODEL_FILES, type OpenedModelDir } from '../model-dir/index.js';
import { CdlError, messageOf } from '../util/errors.js';
import { histogramQuantile, parsePrometheus, trafficDelta, versionTraffic, type VersionTraffic } from './prometheus.js';
import { configFileOf, readConfigFile, versionDirs, writeConfigFile } from '../serve/repository-layout.js';
import type { ShadowReport } from '../serve/shadow.js';
import type { CanarySettings, ServerTarget, ShadowSettings } from './types.js';

export const VERSION_RELEASE_FILE = MODEL_FILES.release;

export interface ServerDeployInput {
  model: string;
  tag: string;
  /** The verified model directory (from the registry's fetch). */
  dir: OpenedModelDir;
  commit: string | null;
  target: ServerTarget;
  canary?: CanarySettings;
  /** Start the version in shadow (fraction > 0): production stays, the comparison is reported. */
  shadow?: ShadowSettings;
  log?: (line: string) => void;
  /** Stop waiting early (tests). */
  signal?: AbortSignal;
}

export interface CanaryReport {
  percent: number;
  decision: 'promoted' | 'rolled_back';
  reason: string;
  requests: number;
  errors: number;
  error_rate: number | null;
  p95_ms: number | null;
  window_s: number;
}

export interface ServerDeployResult {
  /** The integer version in the model repository. */
  serverVersion: number;
  previous: number | null;
  url: string;
  outcome: 'deployed' | 'promoted' | 'rolled_back' | 'unchanged' | 'shadow';
  canary?: CanaryReport;
  /** The shadow's comparison with production after the window (outcome shadow). */
  shadow?: ShadowReport;
  shadowSummary?: string;
  smoke: { model_version: string; outputs: string[] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function http(url: string, init: RequestInit = {}): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(url, {
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers ?? {}) },
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

/** Versions in the repository and the tag each holds. */
export async function repositoryVersions(modelDir: string): Promise<Array<{ version: number; tag: string | null }>> {
  if (!existsSync(modelDir)) return [];
  const out: Array<{ version: number; tag: string | null }> = [];
  for (const version of (await versionDirs(modelDir)).reverse()) {
    let tag: string | null = null;
    try {
      tag =
        (JSON.parse(await readFile(path.join(modelDir, String(version), VERSION_RELEASE_FILE), 'utf8')) as { tag?: string })
          .tag ?? null;
    } catch {
      tag = null;
    }
    out.push({ version, tag });
  }
  return out;
}

export class ServerClient {
  constructor(
    readonly url: string,
    readonly name: string,
  ) {}

  async load(): Promise<void> {
    const r = await http(`${this.url}/v2/repository/models/${encodeURIComponent(this.name)}/load`, {
      method: 'POST',
      body: '{}',
    });
    if (r.status !== 200) throw new CdlError(`loading ${this.name} on ${this.url}: HTTP ${r.status} ${r.json?.error ?? r.text}`);
  }

  /** The version served to unversioned requests (the primary when a canary runs), or null. */
  async serving(): Promise<{ primary: number | null; canary: number | null; versions: number[] }> {
    const r = await http(`${this.url}/v2/models/${encodeURIComponent(this.name)}/stats`);
    if (r.status !== 200) return { primary: null, canary: null, versions: [] };
    const versions = ((r.json?.versions ?? []) as Array<{ version: string }>).map((v) => Number(v.version));
    const canary = r.json?.canary ? Number(r.json.canary.version) : null;
    // A shadow version answers no client: production is the highest other one.
    const shadow = r.json?.shadow_version ? Number(r.json.shadow_version) : null;
    const primary = r.json?.canary
      ? Number(r.json.canary.primary)
      : (versions.filter((v) => v !== shadow).sort((a, b) => b - a)[0] ?? null);
    return { primary, canary, versions };
  }

  async waitReady(version: number, timeoutS: number): Promise<void> {
    const deadline = Date.now() + timeoutS * 1000;
    let last = '';
    for (let i = 0; Date.now() < deadline && i < 10_000; i++) {
      const r = await http(`${this.url}/v2/models/${encodeURIComponent(this.name)}/versions/${version}/ready`).catch(
        (e: unknown) => ({ status: 0, json: undefined, text: messageOf(e) }),
      );
      if (r.status === 200 && r.json?.ready) return;
      last = `HTTP ${r.status} ${r.text.slice(0, 200)}`;
      await sleep(200);
    }
    throw new CdlError(`version ${version} of ${this.name} not ready on ${this.url} within ${timeoutS}s (${last})`);
  }

  /**
   * Check that the server serves exactly `sha256` as `version`: the SHA-256 it reports in the
   * version's metadata (parameters.sha256) must be the one deployed. Anything else is an error.
   */
  async confirmHash(version: number, sha256: string): Promise<void> {
    const r = await http(`${this.url}/v2/models/${encodeURIComponent(this.name)}/versions/${version}`);
    if (r.status !== 200)
      throw new CdlError(`metadata of ${this.name} version ${version}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
    const reported: unknown = r.json?.parameters?.sha256;
    if (typeof reported !== 'string')
      throw new CdlError(
        `${this.url} does not report the SHA-256 of ${this.name} version ${version} (parameters.sha256 in its metadata), so what it serves cannot be checked`,
      );
    if (reported !== sha256)
      throw new CdlError(
        `${this.url} serves ${this.name} version ${version} with model.onnx ${reported}, not the deployed ${sha256}`,
      );
  }

  /** One inference of zeros shaped from the version's own metadata. */
  async smoke(version: number): Promise<{ model_version: string; outputs: string[] }> {
    const base = `${this.url}/v2/models/${encodeURIComponent(this.name)}/versions/${version}`;
    const meta = await http(base);
    if (meta.status !== 200)
      throw new CdlError(`metadata of ${this.name} version ${version}: HTTP ${meta.status} ${meta.text.slice(0, 200)}`);
    const inputs = (meta.json.inputs as Array<{ name: string; datatype: string; shape: number[] }>).map((t) => {
      const shape = t.shape.map((d) => (d < 0 ? 1 : d));
      const n = shape.reduce((a, b) => a * b, 1);
      return {
        name: t.name,
        datatype: t.datatype,
        shape,
        data: t.datatype === 'BOOL' ? new Array(n).fill(false) : new Array(n).fill(0),
      };
    });
    const r = await http(`${base}/infer`, { method: 'POST', body: JSON.stringify({ id: 'cdl-deploy-smoke', inputs }) });
    if (r.status !== 200)
      throw new CdlError(
        `smoke inference on ${this.name} version ${version}: HTTP ${r.status} ${r.json?.error ?? r.text.slice(0, 200)}`,
      );
    if (String(r.json.model_version) !== String(version))
      throw new CdlError(`smoke inference answered by version ${r.json.model_version}, not ${version}`);
    return {
      model_version: String(r.json.model_version),
      outputs: (r.json.outputs as Array<{ name: string }>).map((o) => o.name),
    };
  }

  /** The server's comparison of `version` in shadow with production, or null before it has one. */
  async shadow(version: number): Promise<ShadowReport | null> {
    const r = await http(`${this.url}/v2/models/${encodeURIComponent(this.name)}/stats`);
    if (r.status !== 200) throw new CdlError(`statistics of ${this.name}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
    return ((r.json?.shadow ?? []) as ShadowReport[]).find((s) => s.version === String(version)) ?? null;
  }

  async traffic(version: number): Promise<VersionTraffic> {
    const r = await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
    if (!r.ok) throw new CdlError(`${this.url}/metrics: HTTP ${r.status}`);
    return versionTraffic(parsePrometheus(await r.text()), this.name, String(version));
  }
}

/** Judge a canary window. */
export function judgeCanary(t: VersionTraffic, c: CanarySettings, final: boolean): { breach?: string; ok?: string } {
  const rate = t.requests ? t.errors / t.requests : null;
  const p95 = histogramQuantile(0.95, t.buckets);
  if (t.requests >= c.min_requests || (final && t.requests > 0)) {
    if (rate !== null && rate > c.max_error_rate)
      return {
        breach: `error rate ${(rate * 100).toFixed(1)}% over ${t.requests} requests > ${(c.max_error_rate * 100).toFixed(1)}%`,
      };
    if (c.max_latency_ms !== undefined && p95 !== null && p95 * 1000 > c.max_latency_ms) {
      return { breach: `p95 latency ${(p95 * 1000).toFixed(1)} ms > ${c.max_latency_ms} ms` };
    }
  }
  if (!final) return {};
  if (t.requests < c.min_requests)
    return {
      breach: `only ${t.requests} canary requests in ${c.window_s}s (min_requests ${c.min_requests}): nothing shows it works`,
    };
  return {
    ok: `error rate ${((rate ?? 0) * 100).toFixed(2)}% over ${t.requests} requests${p95 !== null ? `, p95 ${(p95 * 1000).toFixed(1)} ms` : ''}`,
  };
}

export async function deployToServer(i: ServerDeployInput): Promise<ServerDeployResult> {
  const log = i.log ?? (() => {});
  const name = i.target.model_name ?? i.model;
  const url = i.target.url.replace(/\/+$/, '');
  const client = new ServerClient(url, name);
  const modelDir = path.join(path.resolve(i.target.repository), name);
  await mkdir(modelDir, { recursive: true });
  const versions = await repositoryVersions(modelDir);
  const now = await client.serving();
  const previous = now.primary;
  let version = versions.find((v) => v.tag === i.tag)?.version;
  if (version === undefined) {
    version = (versions.at(-1)?.version ?? 0) + 1;
    const tmp = path.join(modelDir, `.${version}.partial-${process.pid}`);
    await rm(tmp, { recursive: true, force: true });
    await cp(i.dir.dir, tmp, { recursive: true });
    // Through the model directory, so SHA256SUMS covers this file too (the server requires it).
    await addToModelDir(
      { ...i.dir, dir: tmp },
      {
        [VERSION_RELEASE_FILE]:
          JSON.stringify({ tag: i.tag, model: i.model, commit: i.commit, written_at: new Date().toISOString() }, null, 2) + '\n',
      },
    );
    await rename(tmp, path.join(modelDir, String(version)));
    log(`${i.tag} written to ${path.join(modelDir, String(version))}`);
  } else log(`${i.tag} is already version ${version} of ${name} in the repository`);
  const envUrl = `${url}/v2/models/${encodeURIComponent(name)}`;
  if (previous === version && now.canary === null) {
    await client.confirmHash(version, i.dir.sha256);
    const smoke = await client.smoke(version);
    return { serverVersion: version, previous, url: envUrl, outcome: 'unchanged', smoke };
  }

  const found = await readConfigFile(modelDir);
  const file = configFileOf(modelDir, found.file);
  const config = (found.raw ?? {}) as Record<string, unknown>;
  const apply = async (
    versionsServed: number[],
    canary?: { version: number; weight: number },
    shadow?: { version: number; fraction: number },
  ) => {
    const next: Record<string, unknown> = { ...config, version_policy: { specific: versionsServed } };
    if (canary) next.canary = canary;
    else delete next.canary;
    if (shadow) next.shadow = shadow;
    else delete next.shadow;
    await writeConfigFile(file, next);
    await client.load();
  };
  const keep = previous !== null ? [previous] : [];
  // 1. Load the new version beside the old one; the old one keeps answering unversioned requests.
  let smoke: ServerDeployResult['smoke'];
  try {
    // Weight 0: loaded and addressable by version, but no unversioned request reaches it yet.
    await apply(
      [...new Set([...keep, version])].sort((a, b) => a - b),
      keep.length ? { version, weight: 0 } : undefined,
    );
    await client.waitReady(version, i.target.ready_timeout_s);
    await client.confirmHash(version, i.dir.sha256);
    smoke = await client.smoke(version);
    log(`version ${version} of ${name} is ready and answered a smoke inference`);
  } catch (e) {
    if (keep.length) await apply(keep).catch((e2: unknown) => log(`restoring version ${previous} failed: ${messageOf(e2)}`));
    throw new CdlError(
      `${i.tag} was not deployed to ${url}: ${messageOf(e)}${previous !== null ? `; version ${previous} keeps serving` : ''}`,
    );
  }
  if (i.shadow && i.shadow.fraction > 0 && previous !== null)
    return shadowRollout(i, client, apply, { version, previous, envUrl, smoke });
  const c = i.canary;
  if (!c || c.percent <= 0 || previous === null || c.percent >= 100) {
    await apply([version]);
    return { serverVersion: version, previous, url: envUrl, outcome: 'deployed', smoke };
  }
  // 2. Canary: a share of the traffic, watched through the server's metrics.
  await apply(
    [previous, version].sort((a, b) => a - b),
    { version, weight: c.percent },
  );
  log(`canary: version ${version} takes ${c.percent}% of ${name}'s traffic for ${c.window_s}s`);
  const start = await client.traffic(version);
  const t0 = Date.now();
  let verdict: { breach?: string; ok?: string } = {};
  let delta: VersionTraffic = { requests: 0, errors: 0, buckets: [], latencySum: 0 };
  const steps = Math.max(1, Math.ceil(c.window_s / c.interval_s));
  for (let s = 0; s < steps && !i.signal?.aborted; s++) {
    await sleep(Math.max(0, Math.min(c.interval_s * 1000, t0 + c.window_s * 1000 - Date.now())));
    delta = trafficDelta(await client.traffic(version), start);
    verdict = judgeCanary(delta, c, s === steps - 1 || Date.now() - t0 >= c.window_s * 1000);
    if (verdict.breach || verdict.ok) break;
  }
  if (!verdict.breach && !verdict.ok) verdict = judgeCanary(delta, c, true);
  const report: CanaryReport = {
    percent: c.percent,
    decision: verdict.breach ? 'rolled_back' : 'promoted',
    reason: verdict.breach ?? verdict.ok ?? '',
    requests: delta.requests,
    errors: delta.errors,
    error_rate: delta.requests ? delta.errors / delta.requests : null,
    p95_ms: (() => {
      const q = histogramQuantile(0.95, delta.buckets);
      return q === null ? null : q * 1000;
    })(),
    window_s: Math.round((Date.now() - t0) / 100) / 10,
  };
  if (verdict.breach) {
    await apply([previous]);
    log(`canary rolled back: ${verdict.breach}; version ${previous} serves all traffic`);
    return { serverVersion: version, previous, url: envUrl, outcome: 'rolled_back', canary: report, smoke };
  }
  await apply([version]);
  log(`canary promoted to 100%: ${verdict.ok}`);
  return { serverVersion: version, previous, url: envUrl, outcome: 'promoted', canary: report, smoke };
}

/**
 * Shadow: the new version gets a copy of `fraction` of production requests while `previous`
 * keeps answering every client; after the window the server's comparison (agreement, latency)
 * is reported and the version stays in shadow. Promoting it is a later deploy.
 */
async function shadowRollout(
  i: ServerDeployInput,
  client: ServerClient,
  apply: (v: number[], c?: { version: number; weight: number }, s?: { version: number; fraction: number }) => Promise<void>,
  o: { version: number; previous: number; envUrl: string; smoke: ServerDeployResult['smoke'] },
): Promise<ServerDeployResult> {
  const log = i.log ?? (() => {});
  const sh = i.shadow!;
  await apply(
    [o.previous, o.version].sort((a, b) => a - b),
    undefined,
    { version: o.version, fraction: sh.fraction },
  );
  log(
    `shadow: version ${o.version} gets a copy of ${+(sh.fraction * 100).toFixed(2)}% of ${client.name}'s requests for ${sh.window_s}s; version ${o.previous} answers them`,
  );
  const t0 = Date.now();
  let report = await client.shadow(o.version);
  while (!i.signal?.aborted && Date.now() - t0 < sh.window_s * 1000) {
    await sleep(Math.max(0, Math.min(sh.interval_s * 1000, t0 + sh.window_s * 1000 - Date.now())));
    report = await client.shadow(o.version);
  }
  if (!report) throw new CdlError(`${client.url} reports no shadow comparison for version ${o.version} of ${client.name}`);
  const summary =
    report.agreement_rate === null
      ? `no production request was copied to version ${o.version} in ${sh.window_s}s`
      : `version ${o.version} agrees with production on ${(report.agreement_rate * 100).toFixed(2)}% of ${report.rows} rows (${report.requests} requests, ${report.errors} errors); mean inference ${report.latency_ms.shadow} ms vs production's ${report.latency_ms.production} ms`;
  log(`shadow: ${summary}`);
  return {
    serverVersion: o.version,
    previous: o.previous,
    url: o.envUrl,
    outcome: 'shadow',
    shadow: report,
    shadowSummary: summary,
    smoke: o.smoke,
  };
}
