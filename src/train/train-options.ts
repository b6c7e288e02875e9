/**
 * What `train()` takes and gives back, shared by the built-in trainer (training.ts) and the
 * train.command trainer (command-training.ts).
 */
import type { LoadedConfig } from '../config/index.js';
import type { Dataset } from '../data/index.js';
import type { Lineage, Metrics, OpenedModelDir } from '../model-dir/index.js';

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
  retrainedAtRelease?: RetrainedAtRelease;
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

/** Why a release trained this model (its commit had no blessed one). */
export interface RetrainedAtRelease {
  commit: string;
  reason: string;
}
