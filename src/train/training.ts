/**
 * `cdl train` and the train action share this: config → data → trainer (tfjs, or the project's
 * train.command in command-training.ts) → ONNX export checked against onnxruntime → model
 * directory (written atomically).
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { loadDataset } from '../data/index.js';
import { REFERENCE_FILE, referenceStats } from '../data/stats.js';
import { renderModelCard } from '../model-dir/card.js';
import { MODEL_FILES, newLineage, newMetrics, writeModelDir } from '../model-dir/index.js';
import { assertReplaceableModelDir, projectPaths } from '../model-dir/out-dir.js';
import { exportOnnx } from '../onnx/export.js';
import { CDL_VERSION } from '../version.js';
import { loadBackend, type BackendInfo } from './backend.js';
import { trainWithCommand } from './command-training.js';
import { startGpuTelemetry } from './gpu-telemetry.js';
import { installKernels, kernelChoices, type KernelLayerInfo } from './kernels/index.js';
import { onnxParity, tfjsArtifacts } from './model-artifacts.js';
import { buildFromConfig } from './model-module.js';
import { describeModel } from './model-summary.js';
import { evaluateSplit, outputsProbabilities, predictSplit, type SplitMetrics } from './split-evaluation.js';
import type { TrainOptions, TrainOutcome } from './train-options.js';
import { dataLineage, lineageBase, mainMetric } from './train-record.js';
import { trainLoop } from './trainer.js';

function splitRecord(m: SplitMetrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

export async function train(opts: TrainOptions): Promise<TrainOutcome> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const { loaded } = opts;
  const cfg = loaded.config;
  assertReplaceableModelDir(opts.outDir, '--out', projectPaths(loaded));
  for (const w of loaded.warnings) log(`warning: ${loaded.file}: ${w.path}: ${w.message}`);
  if (cfg.train.command) return trainWithCommand(opts, log);

  const t0 = performance.now();
  const dataset = await loadDataset(cfg.data, { baseDir: loaded.dir, task: cfg.model.task });
  const tData = performance.now();
  log(
    `data: ${dataset.source} (${dataset.version.slice(0, 19)}…): ${dataset.train.n} train, ${dataset.validation.n} validation, ${dataset.test.n} test, shape [${dataset.shape.join(', ')}]`,
  );

  const { tf, info: backend } = await loadBackend(cfg.train.backend, { deterministic: cfg.train.deterministic });
  let kernels: KernelLayerInfo = { name: 'none', kernels: [], notes: [] };
  if (backend.name === 'wasm') {
    kernels = await installKernels(cfg.train.kernels, { deterministic: cfg.train.deterministic });
  }
  log(
    `backend: ${backend.kind} (${backend.package} ${backend.version}${backend.simd !== undefined ? `, simd ${backend.simd ? 'on' : 'off'}` : ''})` +
      (kernels.name !== 'none' ? `, kernels: ${kernels.name}` : ''),
  );
  for (const n of backend.notes) log(`  skipped ${n}`);

  const model = await buildFromConfig(tf, loaded, dataset);
  log(describeModel(model));
  const checkpointDir = opts.checkpointDir ?? `${path.resolve(opts.outDir)}.checkpoint`;
  // GPU use while training (null without a GPU: the wasm and CPU backends, or no driver).
  const sampler = startGpuTelemetry();
  const loop = await trainLoop({
    tf,
    model,
    dataset,
    train: cfg.train,
    task: cfg.model.task,
    configHash: loaded.hash,
    checkpointDir,
    resume: opts.resume,
    log,
    progress: opts.progress,
    stopAfterEpochs: opts.stopAfterEpochs,
  }).catch(async (e: unknown) => {
    await sampler.stop();
    throw e;
  });
  const gpuTelemetry = await sampler.stop();
  const tTrain = performance.now();

  const numClasses = dataset.classes.length;
  const testM = evaluateSplit(tf, model, dataset.test, dataset.shape, cfg.model.task, numClasses);
  const valM = evaluateSplit(tf, model, dataset.validation, dataset.shape, cfg.model.task, numClasses);
  const last = loop.history[loop.history.length - 1];
  const main = mainMetric(cfg);
  const onnx = exportOnnx(model, {
    modelName: cfg.model.name,
    docString: `${cfg.model.name} trained by cdl ${CDL_VERSION}`,
    metadata: { cdl_version: CDL_VERSION, dataset_version: dataset.version, config_hash: loaded.hash },
  });
  const parity = await onnxParity(tf, model, onnx, dataset, log);
  // Reference statistics for monitoring: input summaries and predictions on the test split.
  const reference = dataset.test.n
    ? referenceStats({
        model: cfg.model.name,
        task: cfg.model.task,
        datasetVersion: dataset.version,
        shape: dataset.shape,
        classes: dataset.classes,
        split: dataset.test,
        outputs: predictSplit(tf, model, dataset.test, dataset.shape),
      })
    : undefined;
  const tfjs = await tfjsArtifacts(tf, model);
  const tExport = performance.now();

  const metrics = newMetrics({
    model: cfg.model.name,
    task: cfg.model.task,
    main_metric: main.name,
    main_metric_value: (testM as unknown as Record<string, number | undefined>)[main.name] ?? null,
    higher_is_better: main.higherIsBetter,
    outputs: cfg.model.task === 'regression' ? 'values' : outputsProbabilities(model) ? 'probabilities' : 'logits',
    classes: dataset.classes,
    splits: {
      train: last
        ? {
            loss: last.loss,
            ...(last.accuracy !== undefined ? { accuracy: last.accuracy } : {}),
            ...(last.mae !== undefined ? { mae: last.mae } : {}),
          }
        : {},
      validation: splitRecord(valM),
      test: splitRecord(testM),
    },
    history: loop.history as unknown as Array<Record<string, number>>,
    training: {
      epochs_run: loop.epochsRun,
      epochs: cfg.train.epochs,
      stopped_early: loop.stoppedEarly,
      best_epoch: loop.bestEpoch ?? null,
      resumed_from_epoch: loop.resumedFrom ?? null,
      seconds: loop.trainSeconds,
      samples_per_second: loop.samplesPerSecond,
      gpu_telemetry: gpuTelemetry,
    },
    onnx: { opset: 13, parity },
  });
  const base = await lineageBase(loaded, opts.overrides ?? [], opts.retrainedAtRelease);
  const lineage = newLineage({
    ...base,
    hardware: { ...base.hardware, gpu_telemetry: gpuTelemetry },
    data: dataLineage(dataset, cfg),
    trainer: {
      kind: 'tfjs',
      backend: backend satisfies BackendInfo,
      kernels: kernels.name === 'none' ? kernels : { ...kernels, choices: kernelChoices() },
      tfjs_version: tf.version_core,
    },
    durations: {
      total_seconds: (tExport - t0) / 1000,
      data_seconds: (tData - t0) / 1000,
      train_seconds: loop.trainSeconds,
      export_seconds: (tExport - tTrain) / 1000,
    },
  });
  const written = await writeModelDir(opts.outDir, {
    onnx,
    metrics,
    lineage,
    card: renderModelCard(metrics, lineage, { architecture: describeModel(model) }),
    tfjs,
    extra: reference ? { [REFERENCE_FILE]: JSON.stringify(reference) + '\n' } : undefined,
  });
  model.dispose();
  if (existsSync(checkpointDir)) await rm(checkpointDir, { recursive: true, force: true });
  log(
    `test ${main.name} ${metrics.main_metric_value?.toFixed(4)}; model directory written to ${opts.outDir} ` +
      `(${MODEL_FILES.onnx}, ${MODEL_FILES.tfjs}/, ${MODEL_FILES.metrics}, ${MODEL_FILES.lineage}, ${MODEL_FILES.card})`,
  );
  return { outDir: opts.outDir, metrics, lineage, model: written, dataset, sha256: written.sha256 };
}
