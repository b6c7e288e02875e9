/**
 * Metrics computed from model outputs and labels. Pure functions: the same code scores the
 * candidate and the baseline, and the significance tests re-score resampled examples with it.
 */

export interface ClassMetrics {
  class: string;
  precision: number;
  recall: number;
  f1: number;
  /** Test examples of this class. */
  support: number;
}

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

export function argmaxRows(p: Float32Array, k: number): Int32Array {
  const n = p.length / k;
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    const o = r * k;
    for (let c = 1; c < k; c++) if (p[o + c]! > p[o + best]!) best = c;
    out[r] = best;
  }
  return out;
}

/** 1 where the prediction equals the label. */
export function correctness(pred: Int32Array, labels: Int32Array): Uint8Array {
  const out = new Uint8Array(pred.length);
  for (let i = 0; i < pred.length; i++) out[i] = pred[i] === labels[i] ? 1 : 0;
  return out;
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

/** Mean negative log-likelihood of the labels; probabilities clipped at 1e-7 as in training. */
export function logLossTerms(prob: Float32Array, labels: Int32Array, k: number): Float64Array {
  const out = new Float64Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = -Math.log(Math.max(prob[i * k + labels[i]!]!, 1e-7));
  return out;
}

export function expectedCalibrationError(prob: Float32Array, pred: Int32Array, correct: Uint8Array, k: number, bins = 15): number {
  const n = pred.length;
  if (!n) return 0;
  const conf = new Float64Array(bins);
  const acc = new Float64Array(bins);
  const count = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const p = prob[i * k + pred[i]!]!;
    const b = Math.min(bins - 1, Math.floor(p * bins));
    conf[b] += p;
    acc[b] += correct[i]!;
    count[b]++;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) if (count[b]) ece += Math.abs(acc[b]! - conf[b]!) / n;
  return ece;
}

/** Fraction of examples whose label is among the k highest scores, for each k in `ks`. */
export function topK(prob: Float32Array, labels: Int32Array, k: number, ks: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  const valid = ks.filter((t) => t >= 1 && t <= k);
  const hits = new Array<number>(valid.length).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const o = i * k;
    const p = prob[o + labels[i]!]!;
    // Rank of the label = number of classes scoring strictly higher.
    let rank = 0;
    for (let c = 0; c < k; c++) if (prob[o + c]! > p) rank++;
    for (let j = 0; j < valid.length; j++) if (rank < valid[j]!) hits[j]!++;
  }
  valid.forEach((t, j) => (out[String(t)] = labels.length ? hits[j]! / labels.length : 0));
  return out;
}

export function classificationScores(prob: Float32Array, labels: Int32Array, classes: readonly string[]): ClassificationScores & { pred: Int32Array; correct: Uint8Array } {
  const k = classes.length;
  const pred = argmaxRows(prob, k);
  const correct = correctness(pred, labels);
  let hits = 0;
  for (let i = 0; i < correct.length; i++) hits += correct[i]!;
  const confusion = confusionMatrix(pred, labels, k);
  const pc = perClass(confusion, classes);
  const ll = logLossTerms(prob, labels, k);
  let llSum = 0;
  for (let i = 0; i < ll.length; i++) llSum += ll[i]!;
  const n = labels.length;
  return {
    accuracy: n ? hits / n : 0,
    macro_f1: pc.macroF1,
    log_loss: n ? llSum / n : 0,
    ece: expectedCalibrationError(prob, pred, correct, k),
    top_k: topK(prob, labels, k, [1, 3, 5]),
    per_class: pc.perClass,
    confusion,
    pred,
    correct,
  };
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
