/**
 * What a training run records besides its model: the main metric, the hyperparameters and the
 * lineage fields both trainers share.
 */
import path from 'node:path';
import type { LoadedConfig } from '../config/index.js';
import type { CdlConfig } from '../config/schema/cdl-config.js';
import type { Dataset } from '../data/index.js';
import { mainMetric as mainMetricOfTask, METRIC_INFO } from '../evaluate/metrics.js';
import type { Lineage } from '../model-dir/index.js';
import { ciInfo, gitInfo, hardwareInfo } from '../model-dir/lineage.js';
import { weightDecay } from './optimizer.js';
import type { RetrainedAtRelease } from './train-options.js';

/** The main metric of a training run (the rule is evaluate/metrics.ts's), with its direction. */
export function mainMetric(cfg: CdlConfig): { name: string; higherIsBetter: boolean } {
  const name = mainMetricOfTask(cfg.model.task);
  return { name, higherIsBetter: METRIC_INFO[name]!.higherIsBetter };
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

export function dataLineage(ds: Dataset, cfg: CdlConfig): Record<string, unknown> {
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

export async function lineageBase(
  loaded: LoadedConfig,
  overrides: string[],
  release?: RetrainedAtRelease,
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
