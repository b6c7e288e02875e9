/**
 * `cdl tune` in one job: trials run in worker processes (tfjs backends are process-global), N at
 * a time; the sampler proposes configurations, the scheduler decides what each free slot runs, and
 * the study is saved after every change.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { LoadedConfig } from '../config/index.js';
import { ConfigError, TrainError } from '../util/errors.js';
import { writeOutputs, type TuneOutputs } from './output.js';
import { createSampler } from './sampler.js';
import { Scheduler, schedulerSettings } from './scheduler.js';
import { assignmentOverrides, resolveSpace, type SearchSpace } from './space.js';
import { newStudy, observations, readStudy, resumeStudy, saveStudy, views, type Study, type TrialRecord } from './study.js';
import { defaultWorker, TrialWorker, type WorkerEntry } from './trial-worker.js';
import { runSegment, type SegmentJob, type SegmentResult } from './trial.js';
import { recordTuneTrials } from '../runs/record.js';

export interface TuneOptions {
  loaded: LoadedConfig;
  /** The user's overrides (already applied to `loaded`), passed on to every trial. */
  overrides?: string[];
  /** Study directory: study.json, trial checkpoints, best.json, reports. */
  outDir: string;
  log?: (line: string) => void;
  /** Trials at a time (default tune.parallel). */
  parallel?: number;
  /** Start over instead of resuming a saved study. */
  fresh?: boolean;
  /** Train the final model with the best configuration (default tune.final_model). */
  finalModel?: boolean;
  /** Worker processes; default `node bin/cdl.js tune --worker`. "inline" runs trials in this process. */
  worker?: WorkerEntry | 'inline';
  /** Show the trials' own epoch lines. */
  verbose?: boolean;
  /** Results a rung needs before ASHA/Hyperband promote from it (default tune.scheduler.grace, else η²). */
  grace?: number;
  /** Tests: stop (as if killed) after this many segments have finished. */
  stopAfterSegments?: number;
}

export interface TuneOutcome extends TuneOutputs {
  study: Study;
  studyFile: string;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}

function describeParams(p: Record<string, unknown>): string {
  return Object.entries(p)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : String(v)}`)
    .join(' ');
}

export async function tune(opts: TuneOptions): Promise<TuneOutcome> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const { loaded } = opts;
  const cfg = loaded.config;
  if (!cfg.tune) throw new ConfigError(`${loaded.file}: tune: expected a tune section with a search space`);
  if (cfg.train.command) {
    throw new ConfigError(`${loaded.file}: tune trains with the built-in trainer; train.command is not supported by tune yet`);
  }
  const space: SearchSpace = resolveSpace(cfg, loaded.file);
  const settings = schedulerSettings(cfg.tune, cfg.train.epochs, opts.grace);
  const scheduler = new Scheduler(settings);
  const sampler = createSampler(space, cfg.tune.sampler);
  const parallel = Math.max(1, opts.parallel ?? cfg.tune.parallel);
  const outDir = path.resolve(opts.outDir);
  const studyFile = path.join(outDir, 'study.json');
  const fresh = newStudy(cfg, { ...settings, budgets: scheduler.budgets });
  const study = opts.fresh ? fresh : resumeStudy(await readStudy(studyFile), fresh, log);
  if (study === fresh) await rm(path.join(outDir, 'trials'), { recursive: true, force: true });
  await saveStudy(studyFile, study);
  log(
    `tuning ${cfg.model.name}: ${space.length} hyperparameter(s), ${study.trials_total} trials, sampler ${sampler.name}, ` +
      `scheduler ${settings.type}${settings.type === 'none' ? '' : ` (rungs ${scheduler.budgets.join(', ')} epochs, η ${settings.reductionFactor}, grace ${settings.grace})`}, ` +
      `${parallel} at a time; objective ${study.direction} ${study.metric}`,
  );

  const workers: TrialWorker[] = [];
  const idle: TrialWorker[] = [];
  const inline = opts.worker === 'inline';
  const entry = inline ? undefined : ((opts.worker as WorkerEntry | undefined) ?? defaultWorker());
  const checkpointDir = (n: number) => path.join(outDir, 'trials', String(n), 'checkpoint');
  const jobFor = (t: TrialRecord): SegmentJob => ({
    trial: t.number,
    rung: t.rung,
    epochs: scheduler.budget(t.rung),
    maxEpochs: settings.maxEpochs,
    configFile: loaded.file,
    overrides: [...(opts.overrides ?? []), ...assignmentOverrides(space, t.params)],
    checkpointDir: checkpointDir(t.number),
    metric: study.metric,
  });

  const inflight = new Map<number, Promise<{ t: TrialRecord; result?: SegmentResult; error?: Error }>>();
  const dispatch = (t: TrialRecord) => {
    const job = jobFor(t);
    const trialLog = (line: string) => {
      if (opts.verbose) log(`  [trial ${t.number}] ${line}`);
    };
    let p: Promise<SegmentResult>;
    if (inline) p = runSegment(job, trialLog);
    else {
      const w = idle.pop() ?? new TrialWorker(entry!);
      if (!workers.includes(w)) workers.push(w);
      p = w.run(job, trialLog).finally(() => idle.push(w));
    }
    inflight.set(
      t.number,
      p.then(
        (result) => ({ t, result }),
        (error: Error) => ({ t, error }),
      ),
    );
  };

  const resumeQueue = study.trials.filter((t) => t.status === 'running');
  let canStart = true;
  let segments = 0;
  let failures = 0;
  try {
    for (;;) {
      while (inflight.size < parallel) {
        const again = resumeQueue.shift();
        if (again) {
          log(`trial ${again.number}: continuing toward ${scheduler.budget(again.rung)} epochs`);
          dispatch(again);
          continue;
        }
        if (resumeQueue.length) break;
        const d = scheduler.decide(views(study), study.trials_total, canStart);
        if (d.kind === 'new') {
          const number = study.trials.length;
          const params = sampler.suggest(number, observations(study));
          if (!params) {
            canStart = false;
            continue;
          }
          const start = scheduler.bracketStarts[d.bracket]!;
          const t: TrialRecord = { number, bracket: d.bracket, rung: start, status: 'running', params, results: [], epochs: 0 };
          study.trials.push(t);
          await saveStudy(studyFile, study);
          log(`trial ${number}: ${describeParams(params)} → ${scheduler.budget(start)} epochs`);
          dispatch(t);
        } else if (d.kind === 'promote') {
          const t = study.trials[d.trial]!;
          t.rung = d.rung;
          t.status = 'running';
          await saveStudy(studyFile, study);
          log(`trial ${t.number}: promoted to rung ${d.rung} (${scheduler.budget(d.rung)} epochs)`);
          dispatch(t);
        } else break;
      }
      if (inflight.size === 0) break;
      const { t, result, error } = await Promise.race(inflight.values());
      inflight.delete(t.number);
      if (error) {
        if (error instanceof ConfigError) throw error;
        t.status = 'failed';
        t.error = error.message;
        failures++;
        log(`trial ${t.number}: failed: ${error.message.split('\n')[0]}`);
        await rm(path.dirname(checkpointDir(t.number)), { recursive: true, force: true });
        if (failures >= 3 && !study.trials.some((x) => x.results.length > 0)) {
          throw new TrainError(`the first ${failures} trials failed; the last with: ${error.message}`);
        }
      } else if (result) {
        t.results.push({
          rung: result.rung,
          epochs: result.epochs,
          value: result.value,
          test: result.test,
          seconds: result.seconds,
        });
        t.epochs = result.epochs;
        // A trial stopped by its own early stopping has nothing more to train: it is complete.
        const complete = result.rung >= scheduler.topRung || result.epochs < scheduler.budget(result.rung);
        t.status = complete ? 'completed' : 'paused';
        log(
          `trial ${t.number}: ${study.metric} ${result.value.toFixed(4)} after ${result.epochs} epochs (${result.seconds.toFixed(1)} s)${complete ? '' : ', paused'}`,
        );
        if (complete) await rm(path.dirname(checkpointDir(t.number)), { recursive: true, force: true });
      }
      await saveStudy(studyFile, study);
      segments++;
      if (opts.stopAfterSegments !== undefined && segments >= opts.stopAfterSegments) {
        throw new TrainError(`stopped after ${segments} segment(s) as asked`);
      }
    }
  } finally {
    for (const w of workers) w.close();
    // Let in-flight segments of an aborted study settle before returning (their results are lost).
    await Promise.allSettled(inflight.values());
  }

  for (const t of study.trials) {
    if (t.status === 'paused') {
      t.status = 'stopped';
      await rm(path.dirname(checkpointDir(t.number)), { recursive: true, force: true });
    }
  }
  await saveStudy(studyFile, study);
  if (existsSync(path.join(outDir, 'trials'))) await rm(path.join(outDir, 'trials'), { recursive: true, force: true });
  const outputs = await writeOutputs({
    study,
    space,
    loaded,
    overrides: opts.overrides ?? [],
    outDir,
    finalModel: opts.finalModel ?? cfg.tune.final_model,
    log,
  });
  await recordTuneTrials(study, space, loaded, opts.overrides ?? [], { log });
  return { ...outputs, study, studyFile };
}
