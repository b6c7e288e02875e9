/**
 * One segment of one trial: train the configuration up to a budget in epochs, continuing from the
 * trial's checkpoint when it has one (an ASHA promotion continues rather than retrains). The
 * learning-rate schedule always spans the largest budget, so the configuration (and its hash, which
 * the checkpoint checks) stays the same from rung to rung.
 *
 * The dataset and the backend are loaded once per process and reused by every segment it runs.
 */
import { loadConfig, type LoadedConfig } from '../config/index.js';
import { loadDataset, type Dataset } from '../data/index.js';
import { loadBackend } from '../train/backend.js';
import { loadCheckpoint, setModelArrays } from '../train/checkpoint.js';
import { installKernels } from '../train/kernels/index.js';
import { buildFromConfig } from '../train/model-module.js';
import type { Tf } from '../train/tf.js';
import type { EpochRecord } from '../train/epoch-record.js';
import { evaluateSplit } from '../train/split-evaluation.js';
import { trainLoop } from '../train/trainer.js';
import { ConfigError, DataError, TrainError } from '../util/errors.js';

export interface SegmentJob {
  trial: number;
  /** Index of the rung this segment ends at. */
  rung: number;
  /** Train until this many epochs in total. */
  epochs: number;
  /** The schedule's length: the scheduler's largest budget. */
  maxEpochs: number;
  configFile: string;
  /** Base overrides (the user's --set) followed by the trial's assignment. */
  overrides: string[];
  checkpointDir: string;
  metric: string;
}

export interface SegmentResult {
  trial: number;
  rung: number;
  epochs: number;
  /** The objective (tune.metric) after the last epoch. */
  value: number;
  /** Metrics on the test split after the segment (reported, never used to choose). */
  test: Record<string, number>;
  history: EpochRecord[];
  seconds: number;
}

const datasets = new Map<string, Promise<Dataset>>();
let backend: Promise<{ tf: Tf }> | undefined;
let backendName: string | undefined;

async function datasetFor(loaded: LoadedConfig): Promise<Dataset> {
  const cfg = loaded.config;
  const key = JSON.stringify([loaded.dir, cfg.data, cfg.model.task]);
  let ds = datasets.get(key);
  if (!ds) {
    ds = loadDataset(cfg.data, { baseDir: loaded.dir, task: cfg.model.task });
    datasets.set(key, ds);
    ds.catch(() => datasets.delete(key));
  }
  return ds;
}

async function tfFor(loaded: LoadedConfig): Promise<Tf> {
  const want = loaded.config.train.backend;
  if (backend && backendName !== want) {
    throw new ConfigError(
      `${loaded.file}: train.backend differs between trials (${backendName}, ${want}); expected one backend per tuning process`,
    );
  }
  if (!backend) {
    backendName = want;
    backend = (async () => {
      const { deterministic, kernels } = loaded.config.train;
      const { tf, info } = await loadBackend(want, { deterministic });
      if (info.name === 'wasm') await installKernels(kernels, { deterministic });
      return { tf };
    })();
  }
  return (await backend).tf;
}

function metricOf(rec: EpochRecord | undefined, metric: string): number {
  const v = rec ? (rec as unknown as Record<string, number | undefined>)[metric] : undefined;
  if (v === undefined || !Number.isFinite(v)) {
    throw new DataError(`tune.metric ${metric} was not measured; expected a validation split (data.validation.fraction > 0)`);
  }
  return v;
}

/** Train one segment in this process. */
export async function runSegment(job: SegmentJob, log: (line: string) => void = () => {}): Promise<SegmentResult> {
  const t0 = performance.now();
  const loaded = await loadConfig(job.configFile, [...job.overrides, `train.epochs=${job.maxEpochs}`]);
  const cfg = loaded.config;
  if (cfg.train.command) {
    throw new ConfigError(`${loaded.file}: tune trains with the built-in trainer; train.command is not supported by tune yet`);
  }
  const ds = await datasetFor(loaded);
  const tf = await tfFor(loaded);
  const model = await buildFromConfig(tf, loaded, ds);
  try {
    const ckpt = await loadCheckpoint(job.checkpointDir).catch(() => undefined);
    const done = ckpt && ckpt.state.configHash === loaded.hash ? ckpt.state.epoch : 0;
    let history: EpochRecord[];
    if (ckpt && done >= job.epochs) {
      // The segment finished before the process was stopped: its checkpoint is the result.
      setModelArrays(tf, model, ckpt.weights);
      history = ckpt.state.history;
    } else {
      try {
        const loop = await trainLoop({
          tf,
          model,
          dataset: ds,
          train: cfg.train,
          task: cfg.model.task,
          configHash: loaded.hash,
          checkpointDir: job.checkpointDir,
          resume: done > 0,
          log,
          stopAfterEpochs: job.epochs < job.maxEpochs ? job.epochs - done : undefined,
        });
        history = loop.history;
      } catch (e) {
        // Stopping at a budget below the schedule's end is how a rung ends: the checkpoint holds it.
        const after = e instanceof TrainError ? await loadCheckpoint(job.checkpointDir).catch(() => undefined) : undefined;
        if (!after || after.state.epoch !== job.epochs || !/^stopped after/.test((e as Error).message)) throw e;
        history = after.state.history;
      }
    }
    const numClasses = cfg.model.task === 'classification' ? ds.classes.length : 0;
    const testM = evaluateSplit(tf, model, ds.test, ds.shape, cfg.model.task, numClasses);
    const test: Record<string, number> = {};
    for (const [k, v] of Object.entries(testM)) if (typeof v === 'number' && Number.isFinite(v)) test[k] = v;
    return {
      trial: job.trial,
      rung: job.rung,
      epochs: history.length,
      value: metricOf(history[history.length - 1], job.metric),
      test,
      history,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    model.dispose();
  }
}
