/**
 * The records evaluation writes and the gate decides: the shapes of evaluation.json and
 * blessing.json and their parts. Types only, imported by the model directory that stores them
 * and by the modules that make them, so none of those imports another through them.
 */
import type { GateSection } from '../config/schema.js';
import type { Layout } from './layout.js';
import type { ClassMetrics } from './metrics.js';

export type Task = 'classification' | 'regression';

/** Per-example results kept for the significance tests (not written to JSON). */
export interface PerExample {
  labels: Int32Array | Float32Array;
  /** Predicted class (classification) or value (regression). */
  pred: Int32Array | Float32Array;
  /** 1 when the predicted class is the label. */
  correct?: Uint8Array;
  /** Negative log-likelihood of the label. */
  logLoss?: Float64Array;
  /** Number of classes scored above the label (0: top-1). */
  rank?: Int32Array;
  classes: number;
}

export interface Evaluation {
  schema_version: number;
  model: {
    dir: string;
    name: string | null;
    sha256: string;
    size_bytes: number;
    input: { name: string; shape: Array<number | string>; layout: Layout['kind']; fed: number[] };
    outputs: 'probabilities' | 'logits' | 'values';
    producer: string;
    commit: string | null;
  };
  task: Task;
  data: { split: 'test'; examples: number; version: string; source: string };
  /** Flat metric values: accuracy, macro_f1, log_loss, ece, top_3, top_5 or mae, rmse, r2; latency_*, throughput, size_bytes. */
  metrics: Record<string, number>;
  classes?: string[];
  per_class?: ClassMetrics[];
  confusion?: number[][];
  timing: { predict_seconds: number; examples_per_second: number; latency_runs: number; throughput_batches: number };
  created_at: string;
}

export interface Significance {
  method: 'bootstrap' | 'mcnemar';
  confidence: number;
  /** Confidence interval of candidate − baseline (bootstrap). */
  ci?: [number, number];
  p_value?: number;
  /** Whether the change differs from zero at the confidence level. */
  significant: boolean;
}

export interface MetricComparison {
  metric: string;
  candidate: number | null;
  baseline: number | null;
  /** candidate − baseline. */
  delta: number | null;
  higher_is_better: boolean;
  significance?: Significance;
}

export interface Verdict extends MetricComparison {
  /** The thresholds in words, e.g. ">= 0.8; at most 0.01 below the baseline". */
  threshold: string;
  verdict: 'pass' | 'fail';
  reasons: string[];
}

export interface BaselineIdentity {
  /** How it was found: the latest release, a path, an artifact, or a release tag. */
  kind: 'release' | 'path' | 'artifact' | 'tag';
  ref: string;
  tag?: string;
  /** The model directory, for a baseline given as a path (downloads are temporary). */
  dir?: string;
  sha256?: string;
  commit?: string | null;
  /** For production: deployed to the production environment, or the latest release (nothing deployed yet). */
  production?: 'deployed' | 'latest-release';
}

export interface Blessing {
  schema_version: number;
  decision: 'blessed' | 'rejected';
  reason: string;
  model: string;
  candidate: { dir: string; sha256: string; commit: string | null };
  baseline: BaselineIdentity | null;
  /** Why there is no baseline, when there is none. */
  baseline_note?: string;
  forced?: { reason: string; by: string | null; decision_without_override: 'rejected' };
  thresholds: GateSection['metrics'];
  significance: GateSection['significance'];
  verdicts: Verdict[];
  /** Every metric side by side (including those without thresholds). */
  comparison: MetricComparison[];
  time: string;
}
