/**
 * The compression methods that train: magnitude pruning fine-tuned with the masks kept, and
 * distillation of a smaller student on the teacher's soft targets (the teacher runs in
 * onnxruntime-node). Both end in an ONNX export and the student's/pruned model's tfjs/ files.
 */
import { tfjsArtifacts } from '../train/model-artifacts.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CompressSection } from '../config/schema/compress.js';
import type { TrainSection } from '../config/schema/train.js';
import type { Dataset } from '../data/index.js';
import { mulberry32 } from '../data/index.js';
import { MODEL_FILES } from '../model-dir/index.js';
import { exportOnnx } from '../onnx/export.js';
import { applyMask, magnitudeMasks, sparsityOf } from '../onnx/prune.js';
import type { Ort } from '../runtime/onnxruntime.js';
import { loadBackend } from '../train/backend.js';
import { installKernels } from '../train/kernels/index.js';
import { buildModel } from '../train/model-layers.js';
import { evaluateSplit, outputsProbabilities } from '../train/split-evaluation.js';
import { trainLoop } from '../train/trainer.js';
import type { LayersModel, Tensor, Tf } from '../train/tf.js';
import { CdlError, TrainError } from '../util/errors.js';
import { CDL_VERSION } from '../version.js';
import { runOnnx } from './data.js';

export interface TfjsFiles {
  modelJson: unknown;
  weights: Uint8Array;
}

export interface TrainedCandidate {
  onnx: Uint8Array;
  tfjs: TfjsFiles;
  details: Record<string, unknown>;
}

async function tfFor(train: TrainSection): Promise<Tf> {
  const { tf, info } = await loadBackend(train.backend, { deterministic: train.deterministic });
  if (info.name === 'wasm') await installKernels(train.kernels, { deterministic: train.deterministic });
  return tf;
}

/** Loads tfjs/model.json and weights.bin of a model directory. */
export async function loadTfjsModel(tf: Tf, dir: string): Promise<LayersModel> {
  const base = path.join(dir, MODEL_FILES.tfjs);
  const json = JSON.parse(await readFile(path.join(base, 'model.json'), 'utf8')) as {
    modelTopology: object;
    weightsManifest: Array<{ weights: unknown[] }>;
  };
  const weights = await readFile(path.join(base, 'weights.bin'));
  const data = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((m) => m.weights) as never,
      weightData: data,
    }),
  );
}

/** The model's tfjs/ files, as the trainer writes them. */
export const tfjsFiles = tfjsArtifacts;

interface Variable {
  read(): Tensor;
  write(t: Tensor): void;
  shape: number[];
  name: string;
}

/** The kernels of Conv2D and Dense layers: what pruning works on. */
function prunableKernels(model: LayersModel): Variable[] {
  const out: Variable[] = [];
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls !== 'Conv2D' && cls !== 'Dense') continue;
    const k = (layer as unknown as { kernel?: Variable }).kernel;
    if (k) out.push(k);
  }
  return out;
}

export interface PruneTrainOptions {
  dir: string;
  dataset: Dataset;
  train: TrainSection;
  settings: CompressSection['prune'];
  task: 'classification' | 'regression';
  modelName: string;
  metadata: Record<string, string>;
  log: (line: string) => void;
}

/** Magnitude pruning of the tfjs model, fine-tuned with the masks re-applied after every step. */
export async function pruneAndFineTune(opts: PruneTrainOptions): Promise<TrainedCandidate> {
  const tf = await tfFor(opts.train);
  const model = await loadTfjsModel(tf, opts.dir);
  try {
    const kernels = prunableKernels(model);
    if (!kernels.length) throw new CdlError('prune: the model has no Conv2D or Dense kernels to prune');
    const values = kernels.map((k) => Float32Array.from(k.read().dataSync() as Float32Array));
    const masks = magnitudeMasks(values, opts.settings.sparsity, opts.settings.scope);
    const maskTensors = masks.map((m, i) => tf.tensor(Float32Array.from(m), kernels[i]!.shape));
    const reapply = () =>
      tf.tidy(() => {
        kernels.forEach((k, i) => k.write(tf.mul(k.read(), maskTensors[i]!)));
      });
    kernels.forEach((k, i) => k.write(tf.tensor(applyMask(values[i]!, masks[i]!), k.shape)));
    const numClasses = opts.task === 'classification' ? opts.dataset.classes.length : 0;
    const before = evaluateSplit(tf, model, opts.dataset.validation, opts.dataset.shape, opts.task, numClasses);
    let history: unknown[] = [];
    if (opts.settings.fine_tune_epochs > 0) {
      const train: TrainSection = {
        ...opts.train,
        epochs: opts.settings.fine_tune_epochs,
        optimizer: { ...opts.train.optimizer, learning_rate: opts.settings.learning_rate },
        schedule: { ...opts.train.schedule, type: 'constant', warmup_epochs: 0 },
        early_stopping: undefined,
      };
      const loop = await trainLoop({
        tf,
        model,
        dataset: opts.dataset,
        train,
        task: opts.task,
        configHash: 'compress-prune',
        log: (l) => opts.log(`  prune fine-tune: ${l}`),
        afterStep: reapply,
      });
      history = loop.history;
    }
    reapply();
    const layers: Record<string, number> = {};
    kernels.forEach((k) => (layers[k.name] = sparsityOf(k.read().dataSync() as Float32Array)));
    maskTensors.forEach((t) => t.dispose());
    const after = evaluateSplit(tf, model, opts.dataset.validation, opts.dataset.shape, opts.task, numClasses);
    const onnx = exportOnnx(model, {
      modelName: opts.modelName,
      docString: `${opts.modelName} pruned by cdl ${CDL_VERSION}`,
      metadata: opts.metadata,
    });
    return {
      onnx,
      tfjs: await tfjsFiles(tf, model),
      details: {
        sparsity_per_layer: layers,
        validation_before_fine_tune: before,
        validation_after_fine_tune: after,
        fine_tune_history: history,
      },
    };
  } finally {
    model.dispose();
  }
}

export interface DistillOptions {
  teacher: Uint8Array;
  ort: Ort;
  dataset: Dataset;
  train: TrainSection;
  settings: CompressSection['distill'];
  modelName: string;
  metadata: Record<string, string>;
  log: (line: string) => void;
}

/**
 * Trains the student of compress.distill.layers on
 *   alpha · T² · KL(teacher_T ‖ student_T) + (1 − alpha) · cross-entropy(labels, student),
 * where x_T is the softmax at temperature T. The student's log-probabilities stand in for its
 * logits (they differ by a constant per example, which the softmax ignores).
 */
export async function distill(opts: DistillOptions): Promise<TrainedCandidate> {
  const { dataset, settings } = opts;
  if (!settings.layers) throw new CdlError("distill: compress.distill.layers is missing; expected the student model's layers");
  const k = dataset.classes.length;
  if (k < 2) throw new CdlError('distill: needs a classification task (the soft targets are class probabilities)');
  const tf = await tfFor(opts.train);
  const t0 = performance.now();
  const teacher = await runOnnx(opts.ort, opts.teacher, dataset.train.x, dataset.train.n, dataset.shape, {
    probabilities: true,
    classes: k,
  });
  const T = settings.temperature;
  const soft = new Float32Array(teacher.length);
  for (let i = 0; i < dataset.train.n; i++) {
    let sum = 0;
    for (let c = 0; c < k; c++) sum += soft[i * k + c] = Math.pow(Math.max(teacher[i * k + c]!, 1e-12), 1 / T);
    for (let c = 0; c < k; c++) soft[i * k + c]! /= sum;
  }
  opts.log(
    `  distill: teacher soft targets for ${dataset.train.n} examples in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const student = buildModel(
    tf,
    { input_shape: dataset.shape, layers: settings.layers },
    { seed: opts.train.seed, name: `${opts.modelName}-student` },
  );
  try {
    const outWidth = student.outputs[0]!.shape[1];
    if (outWidth !== k)
      throw new TrainError(`distill: the student's last layer has ${String(outWidth)} outputs; expected ${k} (one per class)`);
    const probs = outputsProbabilities(student);
    const optimizer = tf.train.adam(settings.learning_rate);
    const row = dataset.shape.reduce((a, b) => a * b, 1);
    const n = dataset.train.n;
    const bs = Math.min(settings.batch_size, n);
    const xb = new Float32Array(bs * row);
    const sb = new Float32Array(bs * k);
    const yb = new Float32Array(bs * k);
    const alpha = settings.alpha;
    const history: Array<{ epoch: number; loss: number; seconds: number }> = [];
    for (let epoch = 0; epoch < settings.epochs; epoch++) {
      const rand = mulberry32((opts.train.seed * 7919 + epoch) >>> 0);
      const order = Int32Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const te = performance.now();
      let lossSum = 0;
      let seen = 0;
      for (let from = 0; from < n; from += bs) {
        const b = Math.min(bs, n - from);
        yb.fill(0);
        for (let e = 0; e < b; e++) {
          const r = order[from + e]!;
          xb.set(dataset.train.x.subarray(r * row, (r + 1) * row), e * row);
          sb.set(soft.subarray(r * k, (r + 1) * k), e * k);
          yb[e * k + (dataset.train.y[r] as number)] = 1;
        }
        const xs = tf.tensor(xb.subarray(0, b * row), [b, ...dataset.shape]);
        const ss = tf.tensor(sb.subarray(0, b * k), [b, k]);
        const ys = tf.tensor(yb.subarray(0, b * k), [b, k]);
        const loss = optimizer.minimize(
          () =>
            tf.tidy(() => {
              const out = student.apply(xs, { training: true }) as Tensor;
              const logp = probs ? tf.log(tf.clipByValue(out, 1e-7, 1)) : tf.logSoftmax(out);
              const logpT = tf.logSoftmax(tf.div(logp, T));
              const kl = tf.mean(tf.sum(tf.mul(ss, tf.sub(tf.log(tf.clipByValue(ss, 1e-12, 1)), logpT)), -1));
              const ce = tf.mean(tf.neg(tf.sum(tf.mul(ys, logp), -1)));
              return tf.add(tf.mul(kl, alpha * T * T), tf.mul(ce, 1 - alpha)) as never;
            }),
          true,
        );
        lossSum += (loss!.dataSync()[0] ?? 0) * b;
        seen += b;
        loss!.dispose();
        xs.dispose();
        ss.dispose();
        ys.dispose();
      }
      const seconds = (performance.now() - te) / 1000;
      history.push({ epoch: epoch + 1, loss: lossSum / seen, seconds });
      opts.log(`  distill: epoch ${epoch + 1}/${settings.epochs}  loss ${(lossSum / seen).toFixed(4)}  ${seconds.toFixed(1)}s`);
    }
    optimizer.dispose();
    const val = evaluateSplit(tf, student, dataset.validation, dataset.shape, 'classification', k);
    const onnx = exportOnnx(student, {
      modelName: opts.modelName,
      docString: `${opts.modelName} distilled by cdl ${CDL_VERSION}`,
      metadata: opts.metadata,
    });
    return {
      onnx,
      tfjs: await tfjsFiles(tf, student),
      details: { student_parameters: student.countParams(), validation: val, history },
    };
  } finally {
    student.dispose();
  }
}
