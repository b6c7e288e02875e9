/**
 * A trained model on a data split: its outputs in batches built from typed arrays, and the loss
 * and main metrics computed from them in JS.
 */
import type { Split } from '../data/index.js';
import type { LayersModel, Tensor, Tf } from './tf.js';

export interface SplitMetrics {
  loss: number;
  accuracy?: number;
  mae?: number;
  rmse?: number;
  examples: number;
}

/** Whether the model's last layer applies softmax (probabilities) or not (logits). */
export function outputsProbabilities(model: LayersModel): boolean {
  const last = model.layers[model.layers.length - 1] as unknown as { activation?: { getClassName(): string } };
  return last.activation?.getClassName?.().toLowerCase() === 'softmax';
}

export function exampleSize(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Model outputs for a whole split, in batches built from typed arrays. */
export function predictSplit(tf: Tf, model: LayersModel, split: Split, shape: number[], batchSize = 512): Float32Array {
  const rowSize = exampleSize(shape);
  const outWidth = (model.outputs[0]!.shape[1] as number | null) ?? 1;
  const out = new Float32Array(split.n * outWidth);
  for (let from = 0; from < split.n; from += batchSize) {
    const to = Math.min(split.n, from + batchSize);
    const xs = tf.tensor(split.x.subarray(from * rowSize, to * rowSize), [to - from, ...shape]);
    const pred = model.predict(xs) as Tensor;
    out.set(pred.dataSync() as Float32Array, from * outWidth);
    xs.dispose();
    pred.dispose();
  }
  return out;
}

function softmaxRow(row: Float32Array): Float32Array {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let sum = 0;
  const out = new Float32Array(row.length);
  for (let i = 0; i < row.length; i++) sum += out[i] = Math.exp(row[i]! - max);
  for (let i = 0; i < row.length; i++) out[i]! /= sum;
  return out;
}

/** Loss and main metrics of a split, computed in JS from the model's outputs. */
export function evaluateSplit(
  tf: Tf,
  model: LayersModel,
  split: Split,
  shape: number[],
  task: 'classification' | 'regression',
  numClasses: number,
): SplitMetrics {
  if (split.n === 0) return { loss: NaN, examples: 0 };
  const out = predictSplit(tf, model, split, shape);
  if (task === 'regression') {
    let se = 0;
    let ae = 0;
    for (let i = 0; i < split.n; i++) {
      const d = out[i]! - (split.y[i] as number);
      se += d * d;
      ae += Math.abs(d);
    }
    return { loss: se / split.n, mae: ae / split.n, rmse: Math.sqrt(se / split.n), examples: split.n };
  }
  const probs = outputsProbabilities(model);
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < split.n; i++) {
    let row = out.subarray(i * numClasses, (i + 1) * numClasses);
    if (!probs) row = softmaxRow(row);
    let arg = 0;
    for (let c = 1; c < numClasses; c++) if (row[c]! > row[arg]!) arg = c;
    const label = split.y[i] as number;
    if (arg === label) correct++;
    loss -= Math.log(Math.max(row[label]!, 1e-7));
  }
  return { loss: loss / split.n, accuracy: correct / split.n, examples: split.n };
}
