/**
 * Tuning over many runners: `plan` proposes the trials and emits a job matrix, matrix jobs run one
 * `trial` segment each, `select` collects their results, keeps the best 1/η of the rung
 * (synchronous successive halving) and emits the next rung's matrix, or picks the best when the
 * last rung is done. Files only: the workflow moves study.json, results and checkpoints between
 * jobs as artifacts.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LoadedConfig } from '../config/index.js';
import { recordTuneTrials } from '../runs/record.js';
import { ConfigError, UsageError } from '../util/errors.js';
import { writeOutputs, type TuneOutputs } from './output.js';
import { createSampler } from './sampler.js';
import { Scheduler, schedulerSettings } from './scheduler.js';
import { assignmentOverrides, resolveSpace } from './space.js';
import { lossOf, newStudy, observations, readStudy, resumeStudy, saveStudy, type Study } from './study.js';
import { runSegment, type SegmentResult } from './trial.js';

export interface MatrixEntry {
  trial: number;
  rung: number;
  /** Name of the artifact holding the checkpoint to continue from ('' for a trial's first rung). */
  checkpoint: string;
}

export interface Matrix {
  include: MatrixEntry[];
}

export interface DistributedOptions {
  loaded: LoadedConfig;
  overrides?: string[];
  /** Holds study.json (and the outputs once done). */
  outDir: string;
  log?: (s: string) => void;
}

/** Artifact names shared by the action and the workflow template. */
export const checkpointArtifact = (rung: number, trial: number) => `tune-checkpoint-r${rung}-t${trial}`;
export const resultArtifact = (rung: number, trial: number) => `tune-result-r${rung}-t${trial}`;

function setup(o: DistributedOptions) {
  const cfg = o.loaded.config;
  if (!cfg.tune) throw new ConfigError(`${o.loaded.file}: tune: expected a tune section with a search space`);
  const space = resolveSpace(cfg, o.loaded.file);
  // Over runners the rungs are synchronous: Hyperband's brackets run as one successive halving.
  const settings = { ...schedulerSettings(cfg.tune, cfg.train.epochs) };
  if (settings.type === 'hyperband') settings.type = 'asha';
  const scheduler = new Scheduler(settings);
  return { cfg, space, settings, scheduler, studyFile: path.join(path.resolve(o.outDir), 'study.json') };
}

function entry(study: Study, trial: number, rung: number): MatrixEntry {
  const t = study.trials[trial]!;
  const hasCheckpoint = t.results.length > 0;
  return { trial, rung, checkpoint: hasCheckpoint ? checkpointArtifact(t.results[t.results.length - 1]!.rung, trial) : '' };
}

/** Propose every trial of rung 0 (continuing a saved study) and return their matrix. */
export async function plan(o: DistributedOptions): Promise<{ study: Study; matrix: Matrix }> {
  const log = o.log ?? (() => {});
  const { cfg, space, settings, scheduler, studyFile } = setup(o);
  const sampler = createSampler(space, cfg.tune!.sampler);
  const study = resumeStudy(await readStudy(studyFile), newStudy(cfg, { ...settings, budgets: scheduler.budgets }), log);
  while (study.trials.length < study.trials_total) {
    const number = study.trials.length;
    const params = sampler.suggest(number, observations(study));
    if (!params) break;
    study.trials.push({ number, bracket: 0, rung: 0, status: 'running', params, results: [], epochs: 0 });
  }
  // Checkpoints do not outlive a workflow run: unfinished trials of an earlier run start over.
  const running = study.trials.filter((t) => t.status === 'running' || t.status === 'paused');
  for (const t of running) Object.assign(t, { status: 'running', rung: 0, results: [], epochs: 0 });
  await saveStudy(studyFile, study);
  const include = running.map((t) => entry(study, t.number, t.rung));
  log(
    `planned ${include.length} trial(s) at rung ${include.map((e) => e.rung).join(',') || '-'} (${scheduler.budgets.join(', ')} epochs)`,
  );
  return { study, matrix: { include } };
}

/** Run one matrix entry: train the trial to its rung's budget; writes results/<name>.json. */
export async function runTrial(
  o: DistributedOptions & { trial: number; rung: number; checkpointDir: string; resultsDir: string },
): Promise<SegmentResult> {
  const { space, settings, scheduler, studyFile } = setup(o);
  const study = await readStudy(studyFile);
  if (!study) throw new UsageError(`${studyFile}: no study; expected the study written by mode plan`);
  const t = study.trials[o.trial];
  if (!t) throw new UsageError(`trial ${o.trial}: the study has ${study.trials.length} trials`);
  if (o.rung < 0 || o.rung > scheduler.topRung) throw new UsageError(`rung ${o.rung}: expected 0 to ${scheduler.topRung}`);
  const result = await runSegment(
    {
      trial: o.trial,
      rung: o.rung,
      epochs: scheduler.budget(o.rung),
      maxEpochs: settings.maxEpochs,
      configFile: o.loaded.file,
      overrides: [...(o.overrides ?? []), ...assignmentOverrides(space, t.params)],
      checkpointDir: o.checkpointDir,
      metric: study.metric,
    },
    o.log,
  );
  await mkdir(o.resultsDir, { recursive: true });
  await writeFile(path.join(o.resultsDir, `${resultArtifact(o.rung, o.trial)}.json`), JSON.stringify(result) + '\n');
  return result;
}

/**
 * Record a rung's results and promote its best 1/η (at least one) to the next rung; after the last
 * rung (or with nothing to promote) pick the best and write the outputs.
 */
export async function select(
  o: DistributedOptions & { rung: number; resultsDir: string; finalModel?: boolean },
): Promise<{ study: Study; matrix: Matrix; done: boolean; outputs?: TuneOutputs }> {
  const log = o.log ?? (() => {});
  const { space, settings, scheduler, studyFile } = setup(o);
  const study = await readStudy(studyFile);
  if (!study) throw new UsageError(`${studyFile}: no study; expected the study written by mode plan`);
  const files = existsSync(o.resultsDir)
    ? (await readdir(o.resultsDir, { recursive: true })).filter((f) => f.endsWith('.json'))
    : [];
  for (const f of files) {
    const r = JSON.parse(await readFile(path.join(o.resultsDir, f), 'utf8')) as SegmentResult;
    const t = study.trials[r.trial];
    if (!t || r.rung !== o.rung || t.results.some((x) => x.rung === r.rung)) continue;
    t.results.push({ rung: r.rung, epochs: r.epochs, value: r.value, test: r.test, seconds: r.seconds });
    t.epochs = r.epochs;
    t.rung = r.rung;
    t.status = r.rung >= scheduler.topRung || r.epochs < scheduler.budget(r.rung) ? 'completed' : 'paused';
  }
  for (const t of study.trials) {
    if (t.status === 'running' && t.rung === o.rung) {
      t.status = 'failed';
      t.error = `no result for rung ${o.rung}`;
    }
  }
  const finished = study.trials
    .filter((t) => t.results.some((r) => r.rung === o.rung))
    .sort((a, b) => {
      const va = lossOf(study, a.results.find((r) => r.rung === o.rung)!.value);
      const vb = lossOf(study, b.results.find((r) => r.rung === o.rung)!.value);
      return va - vb || a.number - b.number;
    });
  log(`rung ${o.rung}: ${finished.length} result(s)`);
  const include: MatrixEntry[] = [];
  if (o.rung < scheduler.topRung) {
    // The best 1/η of every result at this rung, those of earlier runs included (a continued
    // study): a new trial goes on only if it ranks there, as in ASHA.
    const keep = finished
      .slice(0, Math.max(1, Math.floor(finished.length / settings.reductionFactor)))
      .filter((t) => t.status === 'paused');
    for (const t of keep) {
      t.status = 'running';
      include.push({ trial: t.number, rung: o.rung + 1, checkpoint: checkpointArtifact(o.rung, t.number) });
      t.rung = o.rung + 1;
    }
  }
  for (const t of study.trials) if (t.status === 'paused') t.status = 'stopped';
  await saveStudy(studyFile, study);
  if (include.length) {
    log(
      `promoted to rung ${o.rung + 1} (${scheduler.budget(o.rung + 1)} epochs): trial(s) ${include.map((e) => e.trial).join(', ')}`,
    );
    return { study, matrix: { include }, done: false };
  }
  const outputs = await writeOutputs({
    study,
    space,
    loaded: o.loaded,
    overrides: o.overrides ?? [],
    outDir: path.dirname(studyFile),
    finalModel: o.finalModel ?? o.loaded.config.tune!.final_model,
    log,
  });
  await recordTuneTrials(study, space, o.loaded, o.overrides ?? [], { log });
  return { study, matrix: { include }, done: true, outputs };
}
