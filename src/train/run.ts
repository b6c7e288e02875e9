/**
 * `cdl train` and the train action share this: config → data → trainer (tfjs or command) →
 * ONNX export checked against onnxruntime → model directory (written atomically).
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { CdlConfig } from '../config/schema/cdl-config.js';
import type { LoadedConfig } from '../config/index.js';
import { trainLauncher } from '../config/schema/train.js';
import { loadDataset, type Dataset } from '../data/index.js';
import { REFERENCE_FILE, referenceStats } from '../data/stats.js';
import { renderModelCard } from '../model-dir/card.js';
import {
  MODEL_FILES,
  newLineage,
  newMetrics,
  writeModelDir,
  type Lineage,
  type Metrics,
  type OpenedModelDir,
} from '../model-dir/index.js';
import { assertReplaceableModelDir, projectPaths } from '../model-dir/out-dir.js';
import { ciInfo, gitInfo, hardwareInfo } from '../model-dir/lineage.js';
import { exportOnnx } from '../onnx/export.js';
import { loadOrt } from '../runtime/onnxruntime.js';
import { ConfigError, DataError, TrainError } from '../util/errors.js';
import { CDL_VERSION } from '../version.js';
import { loadBackend, type BackendInfo } from './backend.js';
import { collectCommandOutputs, commandEnv, runCommand } from './command.js';
import { jobName, onSharedVolume, runPyTorchJob } from './kubernetes.js';
import { startGpuTelemetry, type GpuTelemetry } from './gpu-telemetry.js';
import { assertRanksSucceeded, collectRanks, torchrunPlan, type RankRecord } from './torchrun.js';
import { installKernels, kernelChoices, type KernelLayerInfo } from './kernels/index.js';
import { buildModel, describeModel, loadModelModule } from './model.js';
import { weightDecay } from './optimizer.js';
import { evaluateSplit, outputsProbabilities, predictSplit, trainLoop, type SplitMetrics } from './trainer.js';
import type { LayersModel, Tf } from './tf.js';

export interface TrainOptions {
  loaded: LoadedConfig;
  /** Overrides already applied to `loaded`, recorded in the lineage. */
  overrides?: string[];
  outDir: string;
  resume?: boolean;
  log?: (line: string) => void;
  progress?: boolean;
  /** Where the per-epoch checkpoint lives; default `<outDir>.checkpoint`. */
  checkpointDir?: string;
  /** Tests: stop after N epochs in this process, as if the run was killed. */
  stopAfterEpochs?: number;
  /** A release trains this model because its commit had no blessed one: recorded in the lineage. */
  retrainedAtRelease?: { commit: string; reason: string };
}

export interface TrainOutcome {
  outDir: string;
  metrics: Metrics;
  lineage: Lineage;
  /** The model directory as written (bytes and hashes), for a next stage in this process. */
  model: OpenedModelDir;
  /** The dataset trained on (built-in trainer), for a next stage in this process. */
  dataset?: Dataset;
  /** SHA-256 of the model.onnx written. */
  sha256?: string;
}

function mainMetric(cfg: CdlConfig): { name: string; higherIsBetter: boolean } {
  return cfg.model.task === 'classification'
    ? { name: 'accuracy', higherIsBetter: true }
    : { name: 'rmse', higherIsBetter: false };
}

function splitRecord(m: SplitMetrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

export function hyperparameters(cfg: CdlConfig): Record<string, unknown> {
  const t = cfg.train;
  return {
    epochs: t.epochs,
    batch_size: t.batch_size,
    optimizer: t.optimizer.name,
    learning_rate: t.optimizer.learning_rate,
    ...(t.optimizer.name === 'momentum' ? { momentum: t.optimizer.momentum } : {}),
    ...(weightDecay(t.optimizer) > 0 ? { weight_decay: weightDecay(t.optimizer) } : {}),
    ...(t.label_smoothing > 0 ? { label_smoothing: t.label_smoothing } : {}),
    ...(t.augment ? { augment: t.augment } : {}),
    schedule: t.schedule.type,
    ...(t.early_stopping ? { early_stopping: `${t.early_stopping.metric}, patience ${t.early_stopping.patience}` } : {}),
    seed: t.seed,
    deterministic: t.deterministic,
    ...t.hyperparameters,
  };
}

function dataLineage(ds: Dataset, cfg: CdlConfig): Record<string, unknown> {
  return {
    version: ds.version,
    source: ds.source,
    format: cfg.data.format,
    files: ds.files.length,
    shape: ds.shape,
    classes: ds.classes,
    examples: { train: ds.train.n, validation: ds.validation.n, test: ds.test.n },
    validation: cfg.data.validation,
  };
}

/** The model's tfjs/ files: model.json (topology and weights manifest) and weights.bin. */
export async function tfjsArtifacts(tf: Tf, model: LayersModel): Promise<{ modelJson: unknown; weights: Uint8Array }> {
  let out: { modelJson: unknown; weights: Uint8Array } | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const data = a.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(a.weightData);
      out = {
        modelJson: {
          format: 'layers-model',
          generatedBy: `cdl ${CDL_VERSION}`,
          convertedBy: null,
          modelTopology: a.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
        },
        weights: new Uint8Array(data),
      };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return out!;
}

/** Run the exported model in onnxruntime on the first test examples and compare with TF.js. */
async function onnxParity(
  tf: Tf,
  model: LayersModel,
  onnx: Uint8Array,
  ds: Dataset,
  log: (s: string) => void,
): Promise<{ examples: number; max_abs_diff: number; runtime: string }> {
  const { ort } = await loadOrt({ log });
  const n = Math.min(100, ds.test.n || ds.validation.n);
  const split = ds.test.n ? ds.test : ds.validation;
  const rowSize = ds.shape.reduce((a, b) => a * b, 1);
  const sub = { x: split.x.subarray(0, n * rowSize), y: split.y.subarray(0, n), n };
  const expected = predictSplit(tf, model, sub, ds.shape);
  const session = await ort.InferenceSession.create(onnx);
  try {
    const input = new ort.Tensor('float32', Float32Array.from(sub.x), [n, ...ds.shape]);
    const res = await session.run({ [session.inputNames[0]!]: input });
    const got = res[session.outputNames[0]!]!.data as Float32Array;
    let maxDiff = 0;
    for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs(expected[i]! - got[i]!));
    if (got.length !== expected.length || !(maxDiff <= 1e-3)) {
      throw new TrainError(
        `the exported model.onnx disagrees with the trained TF.js model on ${n} test examples (max difference ${maxDiff}); ` +
          `expected agreement within 1e-3. This is a bug in cdl's ONNX export.`,
      );
    }
    return { examples: n, max_abs_diff: maxDiff, runtime: `onnxruntime-node ${ort.env?.versions?.node ?? ''}`.trim() };
  } finally {
    await session.release?.();
  }
}

/** The model of cdl.yaml (layers or a module), its input shape checked against the data. */
export async function buildFromConfig(tf: Tf, loaded: LoadedConfig, ds: Dataset): Promise<LayersModel> {
  const cfg = loaded.config;
  const inputShape = cfg.model.input_shape ?? ds.shape;
  if (cfg.model.input_shape && cfg.model.input_shape.join(',') !== ds.shape.join(',')) {
    const sameSize = cfg.model.input_shape.reduce((a, b) => a * b, 1) === ds.shape.reduce((a, b) => a * b, 1);
    throw new DataError(
      `${loaded.file}: model.input_shape is [${cfg.model.input_shape.join(', ')}] but the data (${ds.source}) has examples of shape [${ds.shape.join(', ')}]; ` +
        `expected them to match${sameSize ? ' (same size: put a flatten layer first and set input_shape to the data shape)' : ''}`,
    );
  }
  if (cfg.model.module) {
    return loadModelModule(path.resolve(loaded.dir, cfg.model.module), cfg.train.hyperparameters, tf, {
      inputShape,
      numClasses: ds.classes.length,
    });
  }
  if (!cfg.model.layers) throw new ConfigError(`${loaded.file}: model: expected either "layers" or "module"`);
  return buildModel(tf, { input_shape: inputShape, layers: cfg.model.layers }, { seed: cfg.train.seed, name: cfg.model.name });
}

async function lineageBase(
  loaded: LoadedConfig,
  overrides: string[],
  release?: TrainOptions['retrainedAtRelease'],
): Promise<Omit<Lineage, 'schema_version' | 'cdl_version' | 'created_at' | 'data' | 'trainer' | 'durations'>> {
  const cfg = loaded.config;
  return {
    model: { name: cfg.model.name, task: cfg.model.task },
    git: await gitInfo(loaded.dir),
    config: { file: path.relative(process.cwd(), loaded.file) || loaded.file, hash: loaded.hash, overrides },
    hyperparameters: hyperparameters(cfg),
    hardware: await hardwareInfo(),
    ci: ciInfo(),
    parent: null,
    ...(release ? { release: { retrained_at_release: true as const, ...release } } : {}),
  };
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
}

async function trainWithCommand(opts: TrainOptions, log: (s: string) => void): Promise<TrainOutcome> {
  const { loaded } = opts;
  const cfg = loaded.config;
  const command = cfg.train.command!;
  const launcher = trainLauncher(cfg.train);
  const t0 = performance.now();
  const work = `${path.resolve(opts.outDir)}.partial-${process.pid}`;
  const ranksDir = `${work}.ranks`;
  // The script's own checkpoints: kept when it fails (the train action caches them for the
  // retried job), passed on to it with CDL_RESUME=1, removed once the model directory is written.
  const checkpointDir = opts.checkpointDir ?? `${path.resolve(opts.outDir)}.checkpoint`;
  const cleanUp = async () => {
    await Promise.all([work, ranksDir].map((d) => rm(d, { recursive: true, force: true })));
    // An empty checkpoint folder (the script saved nothing) is not worth keeping.
    if (existsSync(checkpointDir) && (await readdir(checkpointDir)).length === 0) await rm(checkpointDir, { recursive: true });
  };
  await cleanUp();
  await mkdir(work, { recursive: true });
  if (!opts.resume) await rm(checkpointDir, { recursive: true, force: true });
  await mkdir(checkpointDir, { recursive: true });
  const env = {
    ...commandEnv(cfg, loaded.dir, work, loaded.file),
    CDL_CONFIG_HASH: loaded.hash,
    CDL_CHECKPOINT_DIR: checkpointDir,
    CDL_RESUME: opts.resume ? '1' : '0',
  };
  let ranks: RankRecord[] | undefined;
  let launched: Record<string, unknown> | undefined;
  const runLauncher = async (): Promise<void> => {
    if (launcher?.type === 'torchrun') {
      await mkdir(ranksDir, { recursive: true });
      const plan = torchrunPlan(launcher, command, ranksDir);
      launched = { type: 'torchrun', nproc_per_node: plan.nproc };
      log(`running train.command under torchrun, ${plan.nproc} process${plan.nproc === 1 ? '' : 'es'}: ${command}`);
      const code = await runCommand(plan.command, {
        cwd: loaded.dir,
        env: { ...env, ...plan.env },
        log: (l) => log(`  | ${l}`),
        timeoutMinutes: cfg.train.timeout_minutes,
      });
      ranks = await collectRanks(ranksDir, plan.nproc);
      try {
        assertRanksSucceeded(command, code, ranks);
      } catch (e) {
        await cleanUp();
        throw e;
      }
    } else if (launcher?.type === 'kubernetes') {
      // The project and its data must be on the shared volume; rank 0 writes the model there.
      const name = jobName(cfg.model.name, (await gitInfo(loaded.dir))?.commit ?? null);
      const shared = path.join(launcher.storage.local_path ?? '', '.cdl-jobs', name);
      const pod = (p: string, what: string) => onSharedVolume(launcher, p, what);
      const podDir = pod(loaded.dir, 'the project folder (the directory of cdl.yaml)');
      const podEnv = {
        ...commandEnv(cfg, podDir, pod(path.join(shared, 'model'), 'the job folder'), pod(loaded.file, 'cdl.yaml')),
        CDL_CONFIG_HASH: loaded.hash,
        CDL_CHECKPOINT_DIR: pod(path.join(shared, 'checkpoint'), 'the job folder'),
        CDL_RESUME: opts.resume ? '1' : '0',
        CDL_WORKDIR: podDir,
      };
      if (!/^https?:\/\//.test(cfg.data.path)) pod(path.resolve(loaded.dir, cfg.data.path), 'data.path');
      await rm(shared, { recursive: true, force: true });
      await mkdir(path.join(shared, 'model'), { recursive: true });
      await mkdir(path.join(shared, 'checkpoint'), { recursive: true });
      launched = {
        type: 'kubernetes',
        job: name,
        namespace: launcher.namespace,
        nodes: launcher.nodes,
        nproc_per_node: launcher.nproc_per_node,
      };
      log(
        `running train.command as PyTorchJob ${launcher.namespace}/${name}, ${launcher.nodes} pods × ${launcher.nproc_per_node}: ${command}`,
      );
      try {
        await runPyTorchJob({
          name,
          launcher,
          command,
          env: podEnv,
          manifestFile: `${path.resolve(opts.outDir)}.pytorchjob.yaml`,
          log: (l) => log(`  | ${l}`),
        });
      } catch (e) {
        await cleanUp();
        throw e;
      }
      await cp(path.join(shared, 'model'), work, { recursive: true });
      await rm(shared, { recursive: true, force: true });
    } else {
      log(`running train.command: ${command}`);
      const code = await runCommand(command, {
        cwd: loaded.dir,
        env,
        log: (l) => log(`  | ${l}`),
        timeoutMinutes: cfg.train.timeout_minutes,
      });
      if (code !== 0) {
        await cleanUp();
        throw new TrainError(`train.command "${command}" exited with code ${code}`);
      }
    }
  };
  // GPU use while the command runs (null without a GPU).
  const sampler = startGpuTelemetry();
  let gpuTelemetry: GpuTelemetry | null;
  try {
    await runLauncher();
  } finally {
    gpuTelemetry = await sampler.stop();
  }
  const out = await collectCommandOutputs(work, command).catch(async (e) => {
    await cleanUp();
    throw e;
  });
  const seconds = (performance.now() - t0) / 1000;
  const main = mainMetric(cfg);
  const metrics = newMetrics({
    model: cfg.model.name,
    task: cfg.model.task,
    main_metric: main.name,
    main_metric_value: out.splits.test?.[main.name] ?? null,
    higher_is_better: main.higherIsBetter,
    classes: cfg.data.classes,
    splits: out.splits,
    training: { seconds, reported: out.raw, ...(ranks ? { ranks } : {}), gpu_telemetry: gpuTelemetry },
  });
  const base = await lineageBase(loaded, opts.overrides ?? [], opts.retrainedAtRelease);
  const lineage = newLineage({
    ...base,
    hardware: { ...base.hardware, gpu_telemetry: gpuTelemetry },
    data: { source: cfg.data.path, format: cfg.data.format, version: null },
    trainer: { kind: 'command', command, ...(launched ? { launcher: launched } : {}) },
    durations: { total_seconds: seconds, train_seconds: seconds },
  });
  // The script's other files (plots, logs, framework checkpoints) stay in the model directory.
  const extra: Record<string, Uint8Array> = {};
  for (const rel of await listFiles(work)) {
    if (rel === MODEL_FILES.onnx || rel === MODEL_FILES.metrics) continue;
    extra[rel] = new Uint8Array(await readFile(path.join(work, rel)));
  }
  const model = await writeModelDir(opts.outDir, {
    onnx: out.onnx,
    metrics,
    lineage,
    card: renderModelCard(metrics, lineage),
    extra,
  });
  await cleanUp();
  await rm(checkpointDir, { recursive: true, force: true });
  log(`model directory written to ${opts.outDir}`);
  return { outDir: opts.outDir, metrics, lineage, model, sha256: model.sha256 };
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
