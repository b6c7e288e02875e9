/**
 * The gate's records in a model directory: blessing.json (the decision for exactly one
 * model.onnx) and evaluation.json (its evaluation on the test split). The evaluate module writes
 * them; every stage that reads a model directory (compress, promote, deploy, serve) reads them
 * through these types.
 */
import type { GateSection } from '../config/schema/gate.js';
import { MODEL_FILES, SCHEMA_VERSIONS } from './files.js';

export const BLESSING_FILE = MODEL_FILES.blessing;
export const BLESSING_SCHEMA_VERSION = SCHEMA_VERSIONS.blessing;
export const EVALUATION_FILE = MODEL_FILES.evaluation;
export const EVALUATION_SCHEMA_VERSION = SCHEMA_VERSIONS.evaluation;

export type Task = 'classification' | 'regression';

/** How the test examples were fed to the model: as they are, transposed to NCHW, or reshaped. */
export type LayoutKind = 'as-is' | 'nchw' | 'reshape';

export interface ClassMetrics {
  class: string;
  precision: number;
  recall: number;
  f1: number;
  /** Test examples of this class. */
  support: number;
}

export interface Evaluation {
  schema_version: number;
  model: {
    dir: string;
    name: string | null;
    sha256: string;
    size_bytes: number;
    input: { name: string; shape: Array<number | string>; layout: LayoutKind; fed: number[] };
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
