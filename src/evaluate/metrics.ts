/**
 * Metrics computed from model outputs and labels. Pure functions: the same code scores the
 * candidate and the baseline, and the significance tests re-score resampled examples with it.
 */

import type { ClassMetrics, Task } from '../model-dir/records.js';

export interface ClassificationScores {
  accuracy: number;
  macro_f1: number;
  log_loss: number;
  /** Expected calibration error over 15 equal-width confidence bins. */
  ece: number;
  /** top_k[k] = fraction of examples whose label is among the k highest scores. */
  top_k: Record<string, number>;
  per_class: ClassMetrics[];
  /** confusion[true][predicted] = count. */
  confusion: number[][];
}

export interface RegressionScores {
  mae: number;
  rmse: number;
  r2: number;
}

/** Softmax of each row in place when the outputs are logits. */
export function softmaxRows(a: Float32Array, k: number): Float32Array {
  for (let r = 0; r < a.length; r += k) {
    let max = -Infinity;
    for (let c = 0; c < k; c++) if (a[r + c]! > max) max = a[r + c]!;
    let sum = 0;
    for (let c = 0; c < k; c++) {
      const e = Math.exp(a[r + c]! - max);
      a[r + c] = e;
      sum += e;
    }
    for (let c = 0; c < k; c++) a[r + c] = a[r + c]! / sum;
  }
  return a;
}

/** Whether rows look like probabilities already (non-negative, each summing to 1). */
export function looksLikeProbabilities(a: Float32Array, k: number, rows = 64): boolean {
  const n = Math.min(rows, a.length / k);
  for (let r = 0; r < n; r++) {
    let sum = 0;
    for (let c = 0; c < k; c++) {
      const v = a[r * k + c]!;
      if (v < 0 || v > 1 + 1e-4) return false;
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-3) return false;
  }
  return true;
}

export function confusionMatrix(pred: Int32Array, labels: Int32Array, k: number, idx?: ArrayLike<number>): number[][] {
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const n = idx ? idx.length : pred.length;
  for (let j = 0; j < n; j++) {
    const i = idx ? idx[j]! : j;
    m[labels[i]!]![pred[i]!]!++;
  }
  return m;
}

/** Per-class precision/recall/F1 and their macro average, from a confusion matrix. */
export function perClass(confusion: number[][], classes: readonly string[]): { perClass: ClassMetrics[]; macroF1: number } {
  const k = confusion.length;
  const out: ClassMetrics[] = [];
  let f1Sum = 0;
  for (let c = 0; c < k; c++) {
    const tp = confusion[c]![c]!;
    let predicted = 0;
    let support = 0;
    for (let j = 0; j < k; j++) {
      predicted += confusion[j]![c]!;
      support += confusion[c]![j]!;
    }
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    f1Sum += f1;
    out.push({ class: classes[c] ?? String(c), precision, recall, f1, support });
  }
  return { perClass: out, macroF1: k ? f1Sum / k : 0 };
}

/** Macro-F1 of a subset of examples (the bootstrap re-scores resamples with it). */
export function macroF1(pred: Int32Array, labels: Int32Array, k: number, idx?: ArrayLike<number>): number {
  return perClass(confusionMatrix(pred, labels, k, idx), []).macroF1;
}

export interface ClassificationDetail extends ClassificationScores {
  pred: Int32Array;
  correct: Uint8Array;
  /** Classes scored strictly above the label (0: top-1). */
  rank: Int32Array;
  /** Negative log-likelihood of each label. */
  logLoss: Float64Array;
}

/**
 * Classification metrics accumulated batch by batch, so that scoring one batch overlaps with the
 * inference of the next.
 */
export class ClassificationAccumulator {
  readonly pred: Int32Array;
  readonly correct: Uint8Array;
  readonly rank: Int32Array;
  readonly logLoss: Float64Array;
  private readonly k: number;
  private readonly ks: number[];
  private readonly hits: number[];
  private readonly binConf = new Float64Array(15);
  private readonly binAcc = new Float64Array(15);
  private llSum = 0;
  private right = 0;

  constructor(
    private readonly labels: Int32Array,
    private readonly classes: readonly string[],
  ) {
    const n = labels.length;
    this.k = classes.length;
    this.pred = new Int32Array(n);
    this.correct = new Uint8Array(n);
    this.rank = new Int32Array(n);
    this.logLoss = new Float64Array(n);
    this.ks = [1, 3, 5].filter((t) => t <= this.k);
    this.hits = new Array<number>(this.ks.length).fill(0);
  }

  /** Rows of probabilities for the examples starting at `start`. */
  add(prob: Float32Array, start: number): void {
    const { k, labels, ks, hits, binConf, binAcc } = this;
    const rows = prob.length / k;
    const bins = binConf.length;
    for (let r = 0; r < rows; r++) {
      const i = start + r;
      const o = r * k;
      const y = labels[i]!;
      const py = prob[o + y]!;
      let best = 0;
      let bv = prob[o]!;
      let above = 0;
      for (let c = 0; c < k; c++) {
        const v = prob[o + c]!;
        if (v > bv) {
          bv = v;
          best = c;
        }
        if (v > py) above++;
      }
      this.pred[i] = best;
      const ok = best === y ? 1 : 0;
      this.correct[i] = ok;
      this.right += ok;
      this.rank[i] = above;
      const ll = -Math.log(Math.max(py, 1e-7));
      this.logLoss[i] = ll;
      this.llSum += ll;
      const b = Math.min(bins - 1, Math.max(0, Math.floor(bv * bins)));
      binConf[b] += bv;
      binAcc[b] += ok;
      for (let j = 0; j < ks.length; j++) if (above < ks[j]!) hits[j]!++;
    }
  }

  finish(): ClassificationDetail {
    const n = this.labels.length;
    let ece = 0;
    for (let b = 0; b < this.binConf.length; b++) ece += Math.abs(this.binAcc[b]! - this.binConf[b]!);
    const confusion = confusionMatrix(this.pred, this.labels, this.k);
    const pc = perClass(confusion, this.classes);
    const top_k: Record<string, number> = {};
    this.ks.forEach((t, j) => (top_k[String(t)] = n ? this.hits[j]! / n : 0));
    return {
      accuracy: n ? this.right / n : 0,
      macro_f1: pc.macroF1,
      log_loss: n ? this.llSum / n : 0,
      ece: n ? ece / n : 0,
      top_k,
      per_class: pc.perClass,
      confusion,
      pred: this.pred,
      correct: this.correct,
      rank: this.rank,
      logLoss: this.logLoss,
    };
  }
}

/** Every classification metric in one pass over the probabilities. */
export function classificationScores(prob: Float32Array, labels: Int32Array, classes: readonly string[]): ClassificationDetail {
  const acc = new ClassificationAccumulator(labels, classes);
  acc.add(prob, 0);
  return acc.finish();
}

export function regressionScores(pred: Float32Array, y: Float32Array, idx?: ArrayLike<number>): RegressionScores {
  const n = idx ? idx.length : y.length;
  if (!n) return { mae: 0, rmse: 0, r2: 0 };
  let mean = 0;
  for (let j = 0; j < n; j++) mean += y[idx ? idx[j]! : j]!;
  mean /= n;
  let ae = 0;
  let se = 0;
  let tot = 0;
  for (let j = 0; j < n; j++) {
    const i = idx ? idx[j]! : j;
    const d = pred[i]! - y[i]!;
    ae += Math.abs(d);
    se += d * d;
    tot += (y[i]! - mean) ** 2;
  }
  return { mae: ae / n, rmse: Math.sqrt(se / n), r2: tot > 0 ? 1 - se / tot : 0 };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/**
 * The one main-metric rule: what a model is judged by when nothing else is configured (training's
 * headline, the default gate, the report's history). Accuracy for classification, rmse for regression.
 */
export function mainMetric(task: Task): 'accuracy' | 'rmse' {
  return task === 'regression' ? 'rmse' : 'accuracy';
}

/** Metric names, whether higher is better, and whether a per-example significance test applies. */
export const METRIC_INFO: Record<string, { higherIsBetter: boolean; perExample: boolean; label: string }> = {
  accuracy: { higherIsBetter: true, perExample: true, label: 'accuracy' },
  macro_f1: { higherIsBetter: true, perExample: true, label: 'macro-F1' },
  log_loss: { higherIsBetter: false, perExample: true, label: 'log loss' },
  ece: { higherIsBetter: false, perExample: false, label: 'calibration error (ECE)' },
  top_3: { higherIsBetter: true, perExample: true, label: 'top-3 accuracy' },
  top_5: { higherIsBetter: true, perExample: true, label: 'top-5 accuracy' },
  mae: { higherIsBetter: false, perExample: true, label: 'MAE' },
  rmse: { higherIsBetter: false, perExample: true, label: 'RMSE' },
  r2: { higherIsBetter: true, perExample: true, label: 'R²' },
  latency_p50_ms: { higherIsBetter: false, perExample: false, label: 'latency p50 (ms, batch 1)' },
  latency_p95_ms: { higherIsBetter: false, perExample: false, label: 'latency p95 (ms, batch 1)' },
  latency_p99_ms: { higherIsBetter: false, perExample: false, label: 'latency p99 (ms, batch 1)' },
  throughput: { higherIsBetter: true, perExample: false, label: 'throughput (examples/s, batch 64)' },
  size_bytes: { higherIsBetter: false, perExample: false, label: 'file size (bytes)' },
};
