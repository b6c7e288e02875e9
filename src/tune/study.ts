/**
 * The study: every trial, its configuration, its results rung by rung, saved as JSON after each
 * change (written to a temporary file and renamed), so a killed tuning job resumes where it stopped.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { canonicalJson } from '../config/index.js';
import type { CdlConfig } from '../config/schema/cdl-config.js';
import type { TuneSection } from '../config/schema/tune.js';
import { ConfigError } from '../util/errors.js';
import { writeJsonAtomic } from '../util/fs.js';
import type { Observation } from './sampler.js';
import type { SchedulerSettings, TrialView } from './scheduler.js';
import type { Assignment } from './space.js';
import { createHash } from 'node:crypto';

export const STUDY_FORMAT = 'cdl-study/1';

export interface RungResult {
  rung: number;
  epochs: number;
  value: number;
  test?: Record<string, number>;
  seconds: number;
}

export interface TrialRecord extends Omit<TrialView, 'losses'> {
  params: Assignment;
  results: RungResult[];
  /** Epochs trained in all (what this trial cost). */
  epochs: number;
  error?: string;
}

export interface Study {
  format: typeof STUDY_FORMAT;
  model: string;
  /** Identifies the search: base configuration, space, sampler and scheduler. A changed one starts a new study. */
  key: string;
  metric: string;
  direction: 'maximize' | 'minimize';
  trials_total: number;
  sampler: TuneSection['sampler'];
  scheduler: SchedulerSettings & { budgets: number[] };
  trials: TrialRecord[];
  created_at: string;
  updated_at: string;
}

export function objectiveOf(config: CdlConfig): { metric: string; direction: 'maximize' | 'minimize' } {
  const metric = config.tune?.metric ?? (config.model.task === 'classification' ? 'val_accuracy' : 'val_loss');
  return { metric, direction: metric === 'val_accuracy' ? 'maximize' : 'minimize' };
}

/** A hash of everything that makes two studies the same search (trials count and parallelism excluded). */
export function studyKey(config: CdlConfig, scheduler: SchedulerSettings): string {
  const { tune, ...rest } = config;
  const base = { ...rest, train: { ...rest.train, epochs: 0 } };
  const search = { space: tune?.space, sampler: tune?.sampler, metric: tune?.metric, scheduler };
  return createHash('sha256').update(canonicalJson({ base, search })).digest('hex').slice(0, 16);
}

export function newStudy(config: CdlConfig, scheduler: SchedulerSettings & { budgets: number[] }): Study {
  const tune = config.tune!;
  const now = new Date().toISOString();
  return {
    format: STUDY_FORMAT,
    model: config.model.name,
    key: studyKey(config, scheduler),
    ...objectiveOf(config),
    trials_total: tune.trials,
    sampler: tune.sampler,
    scheduler,
    trials: [],
    created_at: now,
    updated_at: now,
  };
}

export function lossOf(study: Pick<Study, 'direction'>, value: number): number {
  return study.direction === 'maximize' ? -value : value;
}

/** What the sampler learns: each trial's latest result and the budget it reached. */
export function observations(study: Study): Observation[] {
  return study.trials
    .filter((t) => t.results.length > 0)
    .map((t) => {
      const last = t.results[t.results.length - 1]!;
      return { trial: t.number, params: t.params, loss: lossOf(study, last.value), budget: last.epochs };
    });
}

/** The loss per rung index, as the scheduler reads it. */
export function trialLosses(study: Study, t: TrialRecord): Array<number | undefined> {
  const out: Array<number | undefined> = [];
  for (const r of t.results) out[r.rung] = lossOf(study, r.value);
  return out;
}

export function views(study: Study): TrialView[] {
  return study.trials.map((t) => ({
    number: t.number,
    bracket: t.bracket,
    rung: t.rung,
    status: t.status,
    losses: trialLosses(study, t),
  }));
}

/** The best trial: the largest budget reached first, then the best value there. */
export function bestTrial(study: Study): TrialRecord | undefined {
  let best: TrialRecord | undefined;
  let bestKey: [number, number] | undefined;
  for (const t of study.trials) {
    const last = t.results[t.results.length - 1];
    if (!last) continue;
    const key: [number, number] = [-last.epochs, lossOf(study, last.value)];
    if (!bestKey || key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) {
      best = t;
      bestKey = key;
    }
  }
  return best;
}

export function totalEpochs(study: Study): number {
  return study.trials.reduce((a, t) => a + t.epochs, 0);
}

export async function saveStudy(file: string, study: Study): Promise<void> {
  study.updated_at = new Date().toISOString();
  await writeJsonAtomic(file, study);
}

export async function readStudy(file: string): Promise<Study | undefined> {
  if (!existsSync(file)) return undefined;
  let s: Study;
  try {
    s = JSON.parse(await readFile(file, 'utf8')) as Study;
  } catch (e) {
    throw new ConfigError(`${file}: not a readable study (${(e as Error).message}); delete it to start over`);
  }
  if (s.format !== STUDY_FORMAT) throw new ConfigError(`${file}: format ${String(s.format)}; expected ${STUDY_FORMAT}`);
  return s;
}

/**
 * Continue a saved study if it is the same search, else start a new one. Trials that were running
 * when the job was killed stay "running": the runner runs their segment again first, from the
 * trial's last per-epoch checkpoint, so no finished epoch and no finished trial is repeated.
 */
export function resumeStudy(saved: Study | undefined, fresh: Study, log: (s: string) => void): Study {
  if (!saved) return fresh;
  if (saved.key !== fresh.key) {
    log(`the saved study was made for another configuration or search space (${saved.key} ≠ ${fresh.key}); starting a new study`);
    return fresh;
  }
  saved.trials_total = fresh.trials_total;
  const done = saved.trials.filter((t) => t.status === 'completed' || t.status === 'paused' || t.status === 'stopped').length;
  const running = saved.trials.filter((t) => t.status === 'running').length;
  log(`resuming the study: ${done} trial(s) with results, ${running} interrupted trial(s) continue from their checkpoints`);
  return saved;
}
