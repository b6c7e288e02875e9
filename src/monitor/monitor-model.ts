/**
 * `cdl monitor` and the monitor action share this: read the model's reference statistics and the
 * server's production statistics, compare them, write the report, open or update one issue with
 * the findings and, when configured, dispatch the retraining workflow (the feedback loop).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { monitorSection, type MonitorSection } from '../config/schema/monitor.js';
import { REFERENCE_FILE, type ReferenceStats } from '../data/stats.js';
import { monitorMarker } from '../forge/issues.js';
import { isRegistryForge, type DispatchResult, type Forge, type IssueResult } from '../forge/types.js';
import { resolveProduction } from '../registry/production.js';
import { Registry } from '../registry/registry.js';
import type { ProductionStats } from '../serve/input-stats.js';
import { readReference } from '../model-dir/index.js';
import { CdlError, messageOf, UsageError } from '../util/errors.js';
import { compareDrift, type DriftReport } from './drift.js';
import { driftMarkdown } from './report.js';
import { defaultPaths } from '../util/state-paths.js';

export class MonitorError extends CdlError {}

export async function readReferenceFile(modelDir: string): Promise<ReferenceStats> {
  const file = path.join(modelDir, REFERENCE_FILE);
  let reference: ReferenceStats | undefined;
  try {
    reference = await readReference(modelDir);
  } catch (e) {
    throw new MonitorError(messageOf(e));
  }
  if (!reference)
    throw new MonitorError(
      `${file}: no reference statistics; expected the ${REFERENCE_FILE} that cdl train writes into the model directory (retrain with this version of cdl)`,
    );
  return reference;
}

/** The URL of a model server's production statistics for a model (and version). */
export function statsUrl(server: string, model: string, version?: string): string {
  const base = server.replace(/\/+$/, '');
  return `${base}/v2/models/${encodeURIComponent(model)}${version ? `/versions/${encodeURIComponent(version)}` : ''}/monitor`;
}

/** Production statistics from a model server (http[s] URL) or a JSON file. */
export async function readProductionStats(source: string, model: string, version?: string): Promise<ProductionStats> {
  let text: string;
  let where = source;
  if (/^https?:\/\//i.test(source)) {
    where = /\/monitor$/.test(source) ? source : statsUrl(source, model, version);
    let res: Response;
    try {
      res = await fetch(where, { signal: AbortSignal.timeout(30_000) });
    } catch (e) {
      throw new MonitorError(`${where}: cannot reach the model server (${(e as Error).message})`);
    }
    text = await res.text();
    if (!res.ok) throw new MonitorError(`${where}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  } else {
    try {
      text = await readFile(source, 'utf8');
    } catch {
      throw new MonitorError(
        `${source}: no such file; expected production statistics (JSON from the model server's /monitor endpoint)`,
      );
    }
  }
  try {
    const stats = JSON.parse(text) as ProductionStats;
    if (typeof stats.examples !== 'number' || !stats.predictions) throw new Error('no examples or predictions');
    return stats;
  } catch (e) {
    throw new MonitorError(
      `${where}: expected production statistics (schema_version, examples, predictions, inputs), got ${(e as Error).message}`,
    );
  }
}

/**
 * The model directory whose reference statistics monitoring compares production traffic with:
 * the one named, else production (the version deployed to the production environment, or the
 * latest release), fetched and verified as deploy fetches it, else the locally trained model.
 */
export async function monitoredModelDir(o: {
  given?: string;
  forge: Forge;
  model: string;
  tagTemplate?: string;
  workDir: string;
  log?: (line: string) => void;
}): Promise<string> {
  if (o.given) return path.resolve(o.given);
  if (isRegistryForge(o.forge)) {
    const registry = new Registry({ forge: o.forge, model: o.model, tagTemplate: o.tagTemplate, log: o.log });
    const prod = await resolveProduction(o.forge, o.model, { registry });
    if (prod) {
      o.log?.(`monitoring production: ${prod.description}`);
      return (await registry.fetch(prod.tag, path.join(o.workDir, 'production'))).dir;
    }
  }
  const local = path.resolve(defaultPaths.model(o.model));
  o.log?.(`nothing in production yet (${o.forge.describe()}): monitoring the model in ${local}`);
  return local;
}

export interface MonitorOptions {
  /** The deployed model's directory (holding reference.json). */
  modelDir: string;
  /** Server URL or stats file; default monitor.source. */
  source?: string;
  /** The monitor section; defaults when absent. */
  monitor?: MonitorSection;
  forge?: Forge;
  /** Open/update the issue (default monitor.issue.enabled). */
  issue?: boolean;
  /** Dispatch retraining when configured (default true). */
  retrain?: boolean;
  runUrl?: string;
  log?: (line: string) => void;
}

export interface MonitorOutcome {
  report: DriftReport;
  markdown: string;
  issue?: IssueResult;
  dispatch?: DispatchResult;
}

export async function runMonitor(opts: MonitorOptions): Promise<MonitorOutcome> {
  const log = opts.log ?? (() => {});
  const m = opts.monitor ?? monitorSection.parse({});
  const source = opts.source ?? m.source;
  if (!source)
    throw new UsageError('monitor: no source of production statistics; set monitor.source in cdl.yaml or pass --source URL|FILE');
  const reference = await readReferenceFile(opts.modelDir);
  const production = await readProductionStats(source, reference.model, m.version);
  const report = compareDrift(reference, production, { psi: m.psi, ks_p_value: m.ks_p_value, min_samples: m.min_samples });
  const out: MonitorOutcome = { report, markdown: driftMarkdown(report, { source, runUrl: opts.runUrl }) };
  log(`${report.model} ${report.version}: ${report.status} (${report.examples} examples)`);

  const drift = report.status === 'warn' || report.status === 'alert';
  if (opts.forge && (opts.issue ?? m.issue.enabled)) {
    out.issue = await opts.forge.upsertIssue({
      marker: monitorMarker(report.model),
      title: m.issue.title ?? `Drift detected: ${report.model}`,
      body: out.markdown,
      labels: m.issue.labels,
      create: drift,
    });
    if (out.issue.action !== 'none') log(`issue ${out.issue.action}: ${out.issue.url ?? out.issue.file ?? out.issue.number}`);
  }
  const trigger = m.retrain && (report.status === 'alert' || (m.retrain.on === 'warn' && report.status === 'warn'));
  if (opts.forge && m.retrain && trigger && opts.retrain !== false) {
    out.dispatch = await opts.forge.dispatchWorkflow({
      workflow: m.retrain.workflow,
      ref: m.retrain.ref,
      inputs: m.retrain.inputs,
    });
    log(
      `retraining dispatched: ${out.dispatch.workflow} on ${out.dispatch.ref}${out.dispatch.file ? ` (recorded in ${out.dispatch.file})` : ''}`,
    );
  }
  return out;
}
