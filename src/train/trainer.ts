/**
 * The TF.js training loop: batches built from typed arrays (never sliced out of a big tensor),
 * a seeded shuffle per epoch, seeded augmentation and dropout per step, label smoothing,
 * learning-rate schedules, early stopping and a checkpoint per epoch so `--resume` continues a
 * killed run.
 */
import type { TrainSection } from '../config/schema/train.js';
import type { Dataset, Split } from '../data/index.js';
import { mulberry32 } from '../data/index.js';
import { TrainError } from '../util/errors.js';
import { Augmenter, augmentsAnything, mixSeed } from './augment.js';
import {
  loadCheckpoint,
  modelArrays,
  optimizerArrays,
  saveCheckpoint,
  setModelArrays,
  setOptimizerArrays,
  type CheckpointState,
  type NamedArray,
} from './checkpoint.js';
import { createOptimizer, learningRateAt } from './optimizer.js';
import { Progress } from './progress.js';
import type { EpochRecord } from './epoch-record.js';
import { evaluateSplit, exampleSize, outputsProbabilities } from './split-evaluation.js';
import type { LayersModel, Tensor, Tf } from './tf.js';

export interface TrainLoopResult {
  history: EpochRecord[];
  epochsRun: number;
  stoppedEarly: boolean;
  bestEpoch?: number;
  resumedFrom?: number;
  trainSeconds: number;
  samplesPerSecond: number;
}

export interface TrainLoopOptions {
  tf: Tf;
  model: LayersModel;
  dataset: Dataset;
  train: TrainSection;
  task: 'classification' | 'regression';
  configHash: string;
  checkpointDir?: string;
  resume?: boolean;
  log?: (line: string) => void;
  progress?: boolean;
  /** Stop after this many epochs in this process (tests use it to simulate a killed run). */
  stopAfterEpochs?: number;
  /** Called after each optimizer step (compress's pruning re-applies its masks here). */
  afterStep?: () => void;
}

/**
 * Fill `xb`/`yb` with the rows `idx[from..to)` of a split. Class targets are one-hot, or with
 * label smoothing `e` (1 - e) * one-hot + e / classes.
 */
function gather(
  split: Split,
  idx: Int32Array,
  from: number,
  to: number,
  rowSize: number,
  numClasses: number,
  xb: Float32Array,
  yb: Float32Array,
  labelSmoothing = 0,
): void {
  const off = numClasses > 0 ? labelSmoothing / numClasses : 0;
  yb.fill(off, 0, (to - from) * Math.max(1, numClasses));
  for (let i = from; i < to; i++) {
    const r = idx[i]!;
    xb.set(split.x.subarray(r * rowSize, (r + 1) * rowSize), (i - from) * rowSize);
    if (numClasses > 0) yb[(i - from) * numClasses + (split.y[r] as number)] = 1 - labelSmoothing + off;
    else yb[i - from] = split.y[r] as number;
  }
}

interface SeededLayer {
  seed?: number;
}

/**
 * The model's dropout layers. TF.js draws their masks from an unseeded generator, or, given a
 * seed, the same mask at every step; the loop gives each layer a seed of its own per step instead.
 */
function dropoutLayers(model: LayersModel): SeededLayer[] {
  return model.layers.filter((l) => /Dropout/.test(l.getClassName()) && 'rate' in l) as unknown as SeededLayer[];
}

function permutation(n: number, seed: number): Int32Array {
  const rand = mulberry32(seed);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

function compile(tf: Tf, model: LayersModel, task: 'classification' | 'regression', optimizer: unknown): void {
  if (task === 'regression') {
    model.compile({ optimizer: optimizer as never, loss: 'meanSquaredError', metrics: ['mae'] });
    return;
  }
  const loss = outputsProbabilities(model)
    ? 'categoricalCrossentropy'
    : (yTrue: Tensor, yPred: Tensor) => tf.losses.softmaxCrossEntropy(yTrue, yPred);
  model.compile({ optimizer: optimizer as never, loss: loss as never, metrics: ['accuracy'] });
}

function monitorValue(rec: EpochRecord, metric: string): number | undefined {
  return (rec as unknown as Record<string, number | undefined>)[metric];
}

function improved(metric: string, value: number, best: number, minDelta: number): boolean {
  return metric === 'val_accuracy' ? value > best + minDelta : value < best - minDelta;
}

export async function trainLoop(opts: TrainLoopOptions): Promise<TrainLoopResult> {
  const { tf, model, dataset, train, task } = opts;
  const log = opts.log ?? (() => {});
  const numClasses = task === 'classification' ? dataset.classes.length : 0;
  const shape = dataset.shape;
  const rowSize = exampleSize(shape);
  const outWidth = (model.outputs[0]!.shape[1] as number | null) ?? 1;
  if (task === 'classification' && outWidth !== numClasses) {
    throw new TrainError(
      `the model's last layer has ${outWidth} outputs but the data has ${numClasses} classes; ` +
        `expected the last dense layer to have units: ${numClasses}`,
    );
  }
  if (dataset.train.n === 0) throw new TrainError('the training split is empty; expected at least one example');

  const opt = createOptimizer(tf, train.optimizer);
  compile(tf, model, task, opt.optimizer);

  let history: EpochRecord[] = [];
  let best: CheckpointState['best'] = null;
  let bestWeights: NamedArray[] | undefined;
  let badEpochs = 0;
  let startEpoch = 0;
  let trainSeconds = 0;
  let resumedFrom: number | undefined;
  let stoppedEarly = false;

  if (opts.resume && opts.checkpointDir) {
    const ckpt = await loadCheckpoint(opts.checkpointDir);
    if (!ckpt) {
      log(`no checkpoint in ${opts.checkpointDir}; starting from the first epoch`);
    } else {
      if (ckpt.state.configHash !== opts.configHash) {
        throw new TrainError(
          `${opts.checkpointDir}: the checkpoint was made with another configuration; ` +
            `run without --resume to start over, or restore the configuration it was made with`,
        );
      }
      if (ckpt.state.datasetVersion !== dataset.version) {
        throw new TrainError(
          `${opts.checkpointDir}: the checkpoint was made on dataset ${ckpt.state.datasetVersion}, not ${dataset.version}; run without --resume to start over`,
        );
      }
      setModelArrays(tf, model, ckpt.weights);
      await setOptimizerArrays(tf, opt.optimizer, ckpt.optimizer);
      history = ckpt.state.history;
      best = ckpt.state.best;
      bestWeights = ckpt.best;
      badEpochs = ckpt.state.badEpochs;
      startEpoch = ckpt.state.epoch;
      trainSeconds = ckpt.state.trainSeconds;
      stoppedEarly = ckpt.state.stopped;
      resumedFrom = startEpoch;
      log(`resuming after epoch ${startEpoch}/${train.epochs} from ${opts.checkpointDir}`);
    }
  }

  const labelSmoothing = task === 'classification' ? train.label_smoothing : 0;
  const augmenter = augmentsAnything(train.augment) ? new Augmenter(train.augment, shape) : null;
  const dropouts = dropoutLayers(model);
  const dropoutSeeds = dropouts.map((l) => l.seed);
  const batchSize = Math.min(train.batch_size, dataset.train.n);
  const xb = new Float32Array(batchSize * rowSize);
  const yb = new Float32Array(batchSize * Math.max(1, numClasses));
  const es = train.early_stopping;
  let epochsThisProcess = 0;

  for (let epoch = startEpoch; epoch < train.epochs && !stoppedEarly; epoch++) {
    const lr = learningRateAt(train.optimizer.learning_rate, train.schedule, epoch, train.epochs);
    opt.setLearningRate(lr);
    const order = permutation(dataset.train.n, (train.seed * 1_000_003 + epoch) >>> 0);
    const steps = Math.ceil(dataset.train.n / batchSize);
    const progress = new Progress(`epoch ${epoch + 1}/${train.epochs}`, steps, opts.progress ?? false);
    const t0 = performance.now();
    let lossSum = 0;
    let metricSum = 0;
    let seen = 0;
    for (let s = 0; s < steps; s++) {
      const from = s * batchSize;
      const to = Math.min(dataset.train.n, from + batchSize);
      const b = to - from;
      gather(dataset.train, order, from, to, rowSize, numClasses, xb, yb, labelSmoothing);
      augmenter?.apply(xb, b, mixSeed(train.seed, epoch, s, 0x617567));
      dropouts.forEach((l, i) => (l.seed = mixSeed(train.seed, epoch, s, i + 1)));
      const xs = tf.tensor(b === batchSize ? xb : xb.subarray(0, b * rowSize), [b, ...shape]);
      const ys = tf.tensor(
        b === batchSize ? yb : yb.subarray(0, b * Math.max(1, numClasses)),
        task === 'classification' ? [b, numClasses] : [b, 1],
      );
      const r = (await model.trainOnBatch(xs, ys)) as number | number[];
      xs.dispose();
      ys.dispose();
      opt.afterStep(model, lr);
      opts.afterStep?.();
      const [l, m] = Array.isArray(r) ? r : [r, NaN];
      if (!Number.isFinite(l!)) {
        throw new TrainError(
          `training diverged at epoch ${epoch + 1}, step ${s + 1}: loss is ${l}; ` +
            `expected a finite loss (try a lower train.optimizer.learning_rate, now ${lr})`,
        );
      }
      lossSum += l! * b;
      metricSum += (m ?? 0) * b;
      seen += b;
      progress.tick(s + 1, `loss ${(lossSum / seen).toFixed(4)}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    progress.done();
    trainSeconds += seconds;
    const val = evaluateSplit(tf, model, dataset.validation, shape, task, numClasses);
    const rec: EpochRecord = {
      epoch: epoch + 1,
      loss: lossSum / seen,
      learning_rate: lr,
      seconds,
      samples_per_second: seen / seconds,
    };
    if (task === 'classification') {
      rec.accuracy = metricSum / seen;
      if (val.examples) {
        rec.val_loss = val.loss;
        rec.val_accuracy = val.accuracy;
      }
    } else {
      rec.mae = metricSum / seen;
      if (val.examples) {
        rec.val_loss = val.loss;
        rec.val_mae = val.mae;
      }
    }
    history.push(rec);
    log(formatEpoch(rec, train.epochs));

    if (es && val.examples) {
      const v = monitorValue(rec, es.metric);
      if (v !== undefined) {
        if (!best || improved(es.metric, v, best.value, es.min_delta)) {
          best = { epoch: rec.epoch, value: v };
          badEpochs = 0;
          if (es.restore_best) bestWeights = modelArrays(model);
        } else if (++badEpochs >= es.patience) {
          stoppedEarly = true;
          log(
            `early stopping: ${es.metric} has not improved for ${es.patience} epoch(s); best ${v === best.value ? '' : ''}${best.value.toFixed(4)} at epoch ${best.epoch}`,
          );
        }
      }
    }

    if (opts.checkpointDir) {
      await saveCheckpoint(opts.checkpointDir, {
        state: {
          format: 'cdl-checkpoint/1',
          epoch: epoch + 1,
          configHash: opts.configHash,
          datasetVersion: dataset.version,
          history,
          best,
          badEpochs,
          stopped: stoppedEarly,
          trainSeconds,
        },
        weights: modelArrays(model),
        optimizer: await optimizerArrays(opt.optimizer),
        best: bestWeights,
      });
    }
    epochsThisProcess++;
    if (opts.stopAfterEpochs !== undefined && epochsThisProcess >= opts.stopAfterEpochs && epoch + 1 < train.epochs) {
      throw new TrainError(`stopped after ${epochsThisProcess} epoch(s) as asked`);
    }
  }

  dropouts.forEach((l, i) => (l.seed = dropoutSeeds[i]));
  if (es?.restore_best && bestWeights && best && best.epoch !== history[history.length - 1]?.epoch) {
    setModelArrays(tf, model, bestWeights);
    log(`restored the weights of epoch ${best.epoch} (best ${es.metric} ${best.value.toFixed(4)})`);
  }
  const samples = history.reduce((a, h) => a + h.samples_per_second * h.seconds, 0);
  return {
    history,
    epochsRun: history.length,
    stoppedEarly,
    bestEpoch: best?.epoch,
    resumedFrom,
    trainSeconds,
    samplesPerSecond: trainSeconds > 0 ? samples / trainSeconds : 0,
  };
}

function formatEpoch(r: EpochRecord, epochs: number): string {
  const parts = [`epoch ${String(r.epoch).padStart(String(epochs).length)}/${epochs}`, `loss ${r.loss.toFixed(4)}`];
  if (r.accuracy !== undefined) parts.push(`acc ${r.accuracy.toFixed(4)}`);
  if (r.mae !== undefined) parts.push(`mae ${r.mae.toFixed(4)}`);
  if (r.val_loss !== undefined) parts.push(`val_loss ${r.val_loss.toFixed(4)}`);
  if (r.val_accuracy !== undefined) parts.push(`val_acc ${r.val_accuracy.toFixed(4)}`);
  if (r.val_mae !== undefined) parts.push(`val_mae ${r.val_mae.toFixed(4)}`);
  parts.push(`lr ${r.learning_rate.toPrecision(3)}`, `${r.seconds.toFixed(1)}s`, `${Math.round(r.samples_per_second)} samples/s`);
  return parts.join('  ');
}
