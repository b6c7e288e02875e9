/**
 * Evaluate → compare → decide → report → publish: what `cdl gate` and actions/evaluate-gate do.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LoadedConfig } from '../config/index.js';
import { gateSection, type GateSection } from '../config/schema/gate.js';
import { loadDataset, type Dataset } from '../data/index.js';
import type { Forge, PublishResult } from '../forge/types.js';
import { buildReport, type HistoryPoint } from '../report/report-content.js';
import { renderMarkdown } from '../report/markdown.js';
import { renderHtml } from '../report/html.js';
import { thumbnailUris } from '../report/thumbnails.js';
import {
  addToModelDir,
  BLESSING_FILE,
  EVALUATION_FILE,
  type BaselineIdentity,
  type Blessing,
  type Evaluation,
  type OpenedModelDir,
} from '../model-dir/index.js';
import { messageOf } from '../util/errors.js';
import { BaselineError, resolveBaseline } from './baseline.js';
import { fmtValue } from './format.js';
import { mainMetric as mainMetricOf } from './metrics.js';
import { decide } from './gate.js';
import { predictionChanges, type PredictionChanges } from './prediction-changes.js';
import { evaluateModel, type EvaluatedModel } from './evaluate-model.js';
import { defaultPaths } from '../util/state-paths.js';

export function gateOf(loaded: LoadedConfig): GateSection {
  return loaded.config.gate ?? gateSection.parse({});
}

export async function loadTestData(loaded: LoadedConfig): Promise<Dataset> {
  // The test split is all evaluation needs; keep the training split from being copied twice.
  const data = { ...loaded.config.data, validation: { ...loaded.config.data.validation, fraction: 0 } };
  return loadDataset(data, { baseDir: loaded.dir, task: loaded.config.model.task });
}

export interface EvaluateWithBaselineOptions {
  loaded: LoadedConfig;
  /** The candidate's directory, or the directory as opened or written earlier in this process. */
  candidate: string | OpenedModelDir;
  /** A baseline spec (production, none, a directory, artifact:<name>, a tag); default gate.baseline. */
  baseline?: string;
  forge: Forge;
  dataset?: Dataset;
  log?: (line: string) => void;
  /** Where downloaded baselines go; default a temporary folder, removed afterwards. */
  workDir?: string;
}

export interface EvaluatedPair {
  dataset: Dataset;
  gate: GateSection;
  candidate: EvaluatedModel;
  baseline?: EvaluatedModel;
  baselineIdentity?: BaselineIdentity;
  baselineNote?: string;
}

/** Evaluate the candidate and (when one is found) the baseline on the same test examples. */
export async function evaluateWithBaseline(opts: EvaluateWithBaselineOptions): Promise<EvaluatedPair> {
  const log = opts.log ?? (() => {});
  const gate = gateOf(opts.loaded);
  const task = opts.loaded.config.model.task;
  const dataset = opts.dataset ?? (await loadTestData(opts.loaded));
  const evalOpts = { task, log, latencyRuns: gate.benchmark.latency_runs, throughputBatches: gate.benchmark.throughput_batches };
  const candidate = await evaluateModel(opts.candidate, dataset, evalOpts);
  const workDir = opts.workDir ?? (await mkdtemp(path.join(os.tmpdir(), 'cdl-baseline-')));
  try {
    const spec = opts.baseline ?? gate.baseline;
    const found = await resolveBaseline(spec, {
      forge: opts.forge,
      model: opts.loaded.config.model.name,
      workDir,
      baseDir: process.cwd(),
      tagTemplate: opts.loaded.config.deploy?.tag,
      log,
    });
    if (!found.dir) {
      log(`baseline: ${found.note}; only absolute bounds apply`);
      return { dataset, gate, candidate, baselineNote: found.note };
    }
    try {
      const baseline = await evaluateModel(found.model ?? found.dir, dataset, evalOpts);
      return { dataset, gate, candidate, baseline, baselineIdentity: found.identity };
    } catch (e) {
      // A baseline that exists but cannot be evaluated is not a reason to gate on less.
      const name = found.identity?.tag ?? found.identity?.ref ?? found.dir;
      throw new BaselineError(`baseline ${name} could not be evaluated: ${messageOf(e)}`, { cause: e });
    }
  } finally {
    if (!opts.workDir) await rm(workDir, { recursive: true, force: true });
  }
}

export interface GateRunOptions extends EvaluateWithBaselineOptions {
  forceBless?: { reason: string; by?: string | null };
  /** Keep a pull-request comment (GitHub) / comment.md (local). */
  comment?: boolean;
  /** Publish through the forge (comment, status, summary); default true. */
  publish?: boolean;
  /** Where report.md and report.html go; default .cdl/reports/<model>. */
  reportDir?: string;
  runUrl?: string;
}

export interface GateRun extends EvaluatedPair {
  blessing: Blessing;
  /** What changed example by example against the baseline (recorded in evaluation.json). */
  changes?: PredictionChanges;
  markdown: string;
  html: string;
  reportDir: string;
  blessingPath: string;
  evaluationPath: string;
  published?: PublishResult;
}

async function releaseHistory(forge: Forge, model: string, metric: string, log: (l: string) => void): Promise<HistoryPoint[]> {
  try {
    const releases = (await forge.listReleases(model)).slice(0, 10).reverse();
    const points: HistoryPoint[] = [];
    for (const r of releases) {
      const m = (await forge.releaseMetrics(r)) as
        { main_metric?: string; main_metric_value?: number; splits?: { test?: Record<string, number> } } | undefined;
      const v =
        m?.main_metric === metric && typeof m.main_metric_value === 'number' ? m.main_metric_value : m?.splits?.test?.[metric];
      if (typeof v === 'number' && Number.isFinite(v)) points.push({ label: r.tag, value: v });
    }
    return points;
  } catch (e) {
    log(`release history unavailable: ${messageOf(e)}`);
    return [];
  }
}

/**
 * The evaluation record written beside the model: the candidate's, with the baseline's for
 * comparison and, against a baseline, what changed example by example (a bounded list).
 */
export function evaluationRecord(
  pair: Pick<EvaluatedPair, 'candidate' | 'baseline'>,
  changes?: PredictionChanges,
): Evaluation & { baseline: Evaluation | null; changes?: PredictionChanges } {
  return { ...pair.candidate.evaluation, baseline: pair.baseline?.evaluation ?? null, ...(changes ? { changes } : {}) };
}

/** The prediction changes of a pair scored on the same test examples (classification with a baseline). */
export function changesOf(
  pair: Pick<EvaluatedPair, 'candidate' | 'baseline' | 'dataset' | 'gate'>,
): PredictionChanges | undefined {
  if (!pair.baseline) return undefined;
  return predictionChanges(pair.candidate.perExample, pair.baseline.perExample, pair.dataset.classes, {
    confidence: pair.gate.significance.confidence,
  });
}

export async function runGate(opts: GateRunOptions): Promise<GateRun> {
  const log = opts.log ?? (() => {});
  const pair = await evaluateWithBaseline(opts);
  const model = opts.loaded.config.model.name;
  const blessing = decide(pair.candidate, {
    gate: pair.gate,
    model,
    baseline: { evaluated: pair.baseline, identity: pair.baselineIdentity, note: pair.baselineNote },
    forceBless: opts.forceBless,
  });
  const mainMetric = mainMetricOf(opts.loaded.config.model.task);
  const history = await releaseHistory(opts.forge, model, mainMetric, log);
  const changes = changesOf(pair);
  const listed = changes ? [...changes.examples.broken, ...changes.examples.fixed].map((e) => e.index) : [];
  const content = buildReport({
    blessing,
    candidate: pair.candidate.evaluation,
    baseline: pair.baseline?.evaluation,
    history,
    mainMetric,
    runUrl: opts.runUrl,
    changes,
    thumbnails: thumbnailUris(pair.dataset.test.x, pair.dataset.shape, listed),
    curves: { candidate: pair.candidate.modelDir.metrics?.history, baseline: pair.baseline?.modelDir.metrics?.history },
  });
  const markdown = renderMarkdown(content);
  const html = await renderHtml(content);
  const reportDir = path.resolve(opts.reportDir ?? defaultPaths.reports(model));
  await mkdir(reportDir, { recursive: true });
  await writeFile(path.join(reportDir, 'report.md'), markdown);
  await writeFile(path.join(reportDir, 'report.html'), html);
  const evaluationPath = path.join(pair.candidate.modelDir.dir, EVALUATION_FILE);
  const blessingPath = path.join(pair.candidate.modelDir.dir, BLESSING_FILE);
  // Written through the model directory, so its SHA256SUMS keeps covering every file.
  await addToModelDir(pair.candidate.modelDir, {
    [EVALUATION_FILE]: JSON.stringify(evaluationRecord(pair, changes), null, 2) + '\n',
    [BLESSING_FILE]: JSON.stringify(blessing, null, 2) + '\n',
  });
  const main = blessing.comparison.find((r) => r.metric === mainMetric);
  const description =
    `${blessing.decision}: ${mainMetric} ${fmtValue(main?.candidate, mainMetric)}` +
    (main?.baseline !== null && main?.baseline !== undefined ? ` (baseline ${fmtValue(main.baseline, mainMetric)})` : '') +
    (blessing.forced ? ' — forced' : '');
  let published: PublishResult | undefined;
  if (opts.publish !== false) {
    published = await opts.forge.publish({
      model,
      markdown,
      html,
      decision: blessing.decision,
      description,
      comment: opts.comment ?? true,
    });
    for (const n of published.notes) log(n);
    if (published.comment) log(`report comment ${published.comment.action}: ${published.comment.url ?? published.comment.id}`);
  }
  log(`${blessing.decision}: ${blessing.reason}`);
  return { ...pair, blessing, changes, markdown, html, reportDir, blessingPath, evaluationPath, published };
}
