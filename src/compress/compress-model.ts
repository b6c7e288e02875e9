/**
 * `cdl compress` and actions/compress: each method of compress.methods is applied to the parent
 * model, the result is evaluated against the parent on the test split (the evaluation code of
 * evaluate-gate), and the guard refuses any that loses more than max_accuracy_drop. The chosen
 * model is written as a model directory whose lineage names the parent's hash and the method.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { LoadedConfig } from '../config/index.js';
import { compressSection, type CompressMethod, type CompressSection } from '../config/schema/compress.js';
import { loadDataset, type Dataset } from '../data/index.js';
import { evaluateModel, type EvaluatedModel } from '../evaluate/evaluate-model.js';
import { renderModelCard } from '../model-dir/card.js';
import {
  addToModelDir,
  MODEL_FILES,
  newLineage,
  newMetrics,
  openModelDir,
  readEvaluation,
  replaceDir,
  SCHEMA_VERSIONS,
  writeModelDir,
  type Lineage,
  type Evaluation,
  type Metrics,
  type ModelDir,
  type OpenedModelDir,
} from '../model-dir/index.js';
import { inheritedFiles } from '../model-dir/blessing.js';
import { assertReplaceableModelDir, projectPaths } from '../model-dir/out-dir.js';
import { OnnxGraph } from '../onnx/graph.js';
import { loadOrt } from '../runtime/onnxruntime.js';
import { CdlError, messageOf } from '../util/errors.js';
import { interleavedMeasure, objectiveReason, type MeasureObjective, type ObjectiveResult } from './measure.js';
import type { CompressionRecord, MethodResult } from './compression-record.js';
import { renderCompressionReport } from './report.js';
import { guard, pick } from './guard.js';
import { applyMethod, methodSettings, type Candidate } from './methods.js';

export const COMPRESSION_FILE = MODEL_FILES.compression;
export const COMPRESSION_REPORT = MODEL_FILES.compressionReport;

export interface CompressOptions {
  loaded: LoadedConfig;
  /** The parent model directory. */
  model: string;
  /** Where the chosen model directory goes. */
  outDir: string;
  /** Overrides compress.methods. */
  methods?: CompressMethod[];
  /** Overrides compress.max_accuracy_drop (points). */
  maxAccuracyDrop?: number;
  /** Also keep every candidate under this folder, one model directory per method. */
  candidatesDir?: string;
  dataset?: Dataset;
  log?: (line: string) => void;
  /** How a variant is measured against the parent on the objective (default: interleaved onnxruntime runs). */
  measure?: MeasureObjective;
}

export interface CompressOutcome {
  record: CompressionRecord;
  outDir: string;
  markdown: string;
}

function compressOf(loaded: LoadedConfig): CompressSection {
  return loaded.config.compress ?? compressSection.parse({});
}

function candidateFiles(
  parent: ModelDir,
  cand: Candidate,
  method: CompressMethod,
  settings: Record<string, unknown>,
  parentSha: string,
  seconds: number,
  loaded: LoadedConfig,
): { metrics: Metrics; lineage: Lineage } {
  const cfg = loaded.config;
  const pm = parent.metrics;
  const metrics = newMetrics({
    model: pm?.model ?? cfg.model.name,
    task: pm?.task ?? cfg.model.task,
    main_metric: pm?.main_metric ?? (cfg.model.task === 'classification' ? 'accuracy' : 'rmse'),
    main_metric_value: null,
    higher_is_better: pm?.higher_is_better ?? cfg.model.task === 'classification',
    ...(pm?.outputs ? { outputs: pm.outputs } : {}),
    ...(pm?.classes ? { classes: pm.classes } : {}),
    splits: {},
    onnx: { compression: method },
  });
  const pl = parent.lineage;
  const lineage = newLineage({
    model: pl?.model ?? { name: cfg.model.name, task: cfg.model.task },
    git: pl?.git ?? null,
    data: pl?.data ?? null,
    config: pl?.config ?? { file: null, hash: loaded.hash, overrides: [] },
    hyperparameters: pl?.hyperparameters ?? {},
    trainer: pl?.trainer ?? {},
    hardware: pl?.hardware ?? {},
    durations: { compress_seconds: seconds },
    ci: pl?.ci ?? null,
    parent: {
      sha256: parentSha,
      dir: parent.dir,
      commit: pl?.git?.commit ?? null,
      created_at: pl?.created_at ?? null,
      method,
      settings,
    },
  });
  return { metrics, lineage };
}

/**
 * The parent's evaluation on this test split: the evaluation.json the gate wrote when it is of
 * exactly this model.onnx and dataset version (and has the benchmark figures compress compares),
 * else a fresh one.
 */
async function parentEvaluation(
  parent: OpenedModelDir,
  dataset: Dataset,
  evalOpts: { task: 'classification' | 'regression'; latencyRuns: number; throughputBatches: number; log: (l: string) => void },
  log: (l: string) => void,
): Promise<Evaluation> {
  const saved = await readEvaluation(parent.dir).catch(() => undefined);
  const main = evalOpts.task === 'classification' ? 'accuracy' : 'rmse';
  if (
    saved?.schema_version === SCHEMA_VERSIONS.evaluation &&
    saved.model?.sha256 === parent.sha256 &&
    saved.data?.version === dataset.version &&
    saved.data.examples === dataset.test.n &&
    typeof saved.metrics?.[main] === 'number' &&
    typeof saved.metrics.size_bytes === 'number' &&
    (evalOpts.throughputBatches === 0 || typeof saved.metrics.throughput === 'number')
  ) {
    log(`parent: reusing ${path.join(parent.dir, MODEL_FILES.evaluation)} (same model.onnx and dataset version)`);
    const { baseline: _baseline, ...evaluation } = saved;
    return evaluation;
  }
  return (await evaluateModel(parent, dataset, evalOpts)).evaluation;
}

/** Run every method, guard each against the parent, and write the chosen model directory. */
export async function compressModel(opts: CompressOptions): Promise<CompressOutcome> {
  const log = opts.log ?? (() => {});
  const { loaded } = opts;
  const cfg = loaded.config;
  const c = compressOf(loaded);
  const methods = opts.methods ?? c.methods;
  const maxDrop = opts.maxAccuracyDrop ?? c.max_accuracy_drop;
  const protect = [...projectPaths(loaded), { path: opts.model, what: 'the parent model (--model)' }];
  assertReplaceableModelDir(opts.outDir, '--out', protect);
  if (opts.candidatesDir) {
    for (const m of methods) {
      assertReplaceableModelDir(path.join(opts.candidatesDir, m), '--keep-candidates', [
        ...protect,
        { path: opts.outDir, what: 'the output model (--out)' },
      ]);
    }
  }
  // The one integrity check of the parent: SHA256SUMS, when present, covers every file and matches.
  const parent = await openModelDir(opts.model);
  const bytes = parent.onnx;
  OnnxGraph.fromBytes(bytes, { source: parent.onnxPath });
  const parentSha = parent.sha256;
  const dataset = opts.dataset ?? (await loadDataset(cfg.data, { baseDir: loaded.dir, task: cfg.model.task }));
  const objective = c.objective;
  const minGain = c.min_gain;
  let measure = opts.measure;
  const measureObjective: MeasureObjective = async (req) => {
    if (!measure) {
      const { ort } = await loadOrt({ log });
      const examples = dataset.test.n > 0 ? dataset.test : dataset.train;
      if (examples.n === 0)
        throw new CdlError('compress: the test and training splits are empty; expected examples to measure on');
      measure = interleavedMeasure({
        ort,
        x: examples.x,
        available: examples.n,
        dataShape: dataset.shape,
        rounds: c.benchmark.rounds,
      });
    }
    return measure(req);
  };
  const task = cfg.model.task;
  const evalOpts = { task, log, latencyRuns: c.benchmark.latency_runs, throughputBatches: c.benchmark.throughput_batches };
  const work = await mkdtemp(path.join(os.tmpdir(), 'cdl-compress-'));
  try {
    const parentEval = await parentEvaluation(parent, dataset, evalOpts, log);
    const pMetrics = parentEval.metrics;
    // What the next stages need from the parent: reference statistics and its blessing.
    const inherited = await inheritedFiles(parent);
    const parentGzip = gzipSync(bytes).length;
    log(
      `parent ${parent.dir}: ${task === 'classification' ? `accuracy ${pMetrics.accuracy!.toFixed(4)}` : `rmse ${pMetrics.rmse!.toFixed(4)}`}, ${bytes.length} bytes`,
    );
    const results: MethodResult[] = [];
    const dirs = new Map<CompressMethod, OpenedModelDir>();
    for (const method of methods) {
      const settings = methodSettings(method, c);
      const t0 = performance.now();
      log(`${method}: compressing`);
      let cand: Candidate;
      try {
        cand = await applyMethod(method, parent, bytes, { loaded, c, dataset, log });
      } catch (e) {
        const error = messageOf(e);
        log(`${method}: failed: ${error}`);
        results.push({
          method,
          settings,
          ok: false,
          error,
          accepted: false,
          reason: `failed: ${error}`,
          seconds: (performance.now() - t0) / 1000,
        });
        continue;
      }
      const seconds = (performance.now() - t0) / 1000;
      const dir = path.join(work, method);
      const { metrics, lineage } = candidateFiles(parent, cand, method, settings, parentSha, seconds, loaded);
      const written = await writeModelDir(dir, { onnx: cand.onnx, metrics, lineage, card: '', tfjs: cand.tfjs });
      let ev: EvaluatedModel;
      try {
        ev = await evaluateModel(written, dataset, evalOpts);
      } catch (e) {
        const error = `the compressed model does not run: ${messageOf(e)}`;
        log(`${method}: ${error}`);
        results.push({ method, settings, ok: false, error, accepted: false, reason: error, seconds });
        continue;
      }
      const m = ev.evaluation.metrics;
      const g = guard(parentEval, ev.evaluation, maxDrop, task);
      // Within the guard, the variant must also beat the parent on the objective by min_gain.
      let obj: ObjectiveResult | undefined;
      let accepted = g.accepted;
      let reason = g.reason;
      if (g.accepted) {
        const meas = await measureObjective({ objective, method, parent: bytes, candidate: cand.onnx });
        const passed = meas.ratio >= 1 + minGain - 1e-9;
        obj = {
          name: objective,
          ratio: meas.ratio,
          min_gain: minGain,
          passed,
          how: meas.how,
          ...(meas.rounds ? { rounds: meas.rounds } : {}),
        };
        accepted = passed;
        reason = `${g.reason}; ${objectiveReason(obj)}`;
      }
      const result: MethodResult = {
        method,
        settings,
        ok: true,
        ...g,
        accepted,
        reason,
        guard_passed: g.accepted,
        ...(obj ? { objective: obj } : {}),
        metrics: m,
        size_ratio: m.size_bytes! / pMetrics.size_bytes!,
        gzip_size_ratio: gzipSync(cand.onnx).length / parentGzip,
        throughput_ratio: pMetrics.throughput ? (m.throughput ?? 0) / pMetrics.throughput : undefined,
        seconds,
        details: cand.details,
        sha256: written.sha256,
      };
      results.push(result);
      log(
        `${method}: ${accepted ? 'kept' : 'refused'}: ${reason}; size ×${result.size_ratio!.toFixed(3)}, throughput ×${(result.throughput_ratio ?? 0).toFixed(2)}`,
      );
      // Finish the candidate's files with its own evaluation.
      metrics.main_metric_value = m[metrics.main_metric] ?? null;
      metrics.splits = {
        test: Object.fromEntries(
          Object.entries(m).filter(([k]) => !k.startsWith('latency') && k !== 'throughput' && k !== 'size_bytes'),
        ),
      };
      metrics.onnx = {
        compression: method,
        benchmark: {
          latency_p50_ms: m.latency_p50_ms,
          latency_p95_ms: m.latency_p95_ms,
          throughput: m.throughput,
          size_bytes: m.size_bytes,
        },
      };
      const final = await writeModelDir(dir, {
        onnx: cand.onnx,
        onnxSha256: written.sha256,
        metrics,
        lineage,
        card: renderModelCard(metrics, lineage),
        tfjs: cand.tfjs,
        extra: { ...inherited, [MODEL_FILES.evaluation]: JSON.stringify({ ...ev.evaluation, baseline: null }, null, 2) + '\n' },
      });
      dirs.set(method, final);
    }

    const select = c.select ?? 'objective';
    const chosen = pick(results, select);
    const kept = results.filter((r) => r.accepted).length;
    const decision = chosen
      ? `${chosen.method} kept (${chosen.reason}; ${select === 'objective' ? `largest ${objective} gain` : select} of ${kept} qualifying)`
      : `parent kept: no method stayed within max_accuracy_drop ${maxDrop} and beat the parent's ${objective} by ${+(minGain * 100).toFixed(2)}%${results.some((r) => !r.ok) ? ' (some failed)' : ''}`;
    const record: CompressionRecord = {
      schema_version: SCHEMA_VERSIONS.compression,
      created_at: new Date().toISOString(),
      parent: { dir: parent.dir, sha256: parentSha, metrics: pMetrics, gzip_size_bytes: parentGzip },
      max_accuracy_drop: maxDrop,
      objective,
      min_gain: minGain,
      select,
      results,
      chosen: chosen?.method ?? null,
      decision,
    };
    const markdown = renderCompressionReport(record, task);
    const extra = { [COMPRESSION_FILE]: JSON.stringify(record, null, 2) + '\n', [COMPRESSION_REPORT]: markdown };
    const target = path.resolve(opts.outDir);
    const staging = `${target}.partial-${process.pid}`;
    await rm(staging, { recursive: true, force: true });
    await mkdir(path.dirname(target), { recursive: true });
    const keptDir = chosen ? dirs.get(chosen.method)! : parent;
    await cp(keptDir.dir, staging, { recursive: true });
    // SHA256SUMS keeps covering every file: the copy's sums are known (the parent's were verified
    // when it was opened), only the new files are hashed.
    await addToModelDir({ ...keptDir, dir: staging }, extra);
    await replaceDir(staging, target);
    if (opts.candidatesDir) {
      for (const [method, { dir }] of dirs) {
        const dest = path.resolve(opts.candidatesDir, method);
        if (existsSync(dest)) await rm(dest, { recursive: true, force: true });
        await cp(dir, dest, { recursive: true });
      }
    }
    log(decision);
    log(`model directory written to ${target} (${MODEL_FILES.onnx}, ${COMPRESSION_FILE}, ${COMPRESSION_REPORT})`);
    return { record, outDir: target, markdown };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
