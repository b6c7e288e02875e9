/**
 * Building run records from what each kind of run already holds, and writing them where they
 * belong: the local repository for `cdl train` and `cdl run`, the origin's runs branch (pushed with
 * the workflow's token) on GitHub. Every call site is one call: `recordTrainRun`,
 * `recordTuneTrials` or `recordRelease`. Recording never fails the run it records: a run that
 * cannot be recorded (a fork's read-only token, no repository) says so and goes on.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, type LoadedConfig } from '../config/index.js';
import { CHECKSUMS_FILE, parseChecksums } from '../model-dir/checksums.js';
import {
  MODEL_FILES,
  readBlessing,
  readModelDir,
  type Blessing,
  type Lineage,
  type Metrics,
  type OpenedModelDir,
} from '../model-dir/index.js';
import { RUN_RECORD_SCHEMA_VERSION, checkRunRecord, type RunKind, type RunRecord } from '../model-dir/run-record.js';
import type { TrainOutcome } from '../train/train-options.js';
import { assignmentOverrides, type SearchSpace } from '../tune/space.js';
import type { Study } from '../tune/study.js';
import { messageOf } from '../util/errors.js';
import { CDL_VERSION } from '../version.js';
import { RunPermissionError, appendRecord, newRunId, repoRootOf, type AppendResult } from './store.js';

type Env = Record<string, string | undefined>;

/** CDL_RUNS=off (or 0, false, no): nothing is recorded. */
export function recordingOff(env: Env = process.env): boolean {
  return /^(off|0|false|no)$/i.test(env.CDL_RUNS ?? '');
}

/** push, pull_request, other inside a workflow; local outside one. */
export function runKindFromEnv(env: Env = process.env): RunKind {
  if (env.GITHUB_ACTIONS !== 'true') return 'local';
  const e = env.GITHUB_EVENT_NAME;
  if (e === 'push') return 'push';
  if (e === 'pull_request' || e === 'pull_request_target') return 'pull_request';
  return 'other';
}

interface EventFacts {
  pullRequest: number | null;
  /** The pull request comes from another repository (a fork): its token cannot write. */
  fromFork: boolean;
}

function eventFacts(env: Env = process.env): EventFacts {
  const file = env.GITHUB_EVENT_PATH;
  if (!file || !existsSync(file)) return { pullRequest: null, fromFork: false };
  try {
    const p = JSON.parse(readFileSync(file, 'utf8')) as {
      pull_request?: { number?: number; head?: { repo?: { full_name?: string } | null } };
    };
    const pr = p.pull_request;
    const head = pr?.head?.repo?.full_name;
    return {
      pullRequest: typeof pr?.number === 'number' ? pr.number : null,
      fromFork: Boolean(pr && head !== undefined && env.GITHUB_REPOSITORY && head !== env.GITHUB_REPOSITORY),
    };
  } catch {
    return { pullRequest: null, fromFork: false };
  }
}

function ciFacts(env: Env = process.env): Record<string, unknown> | null {
  if (env.GITHUB_ACTIONS !== 'true') return null;
  return {
    repository: env.GITHUB_REPOSITORY ?? null,
    workflow: env.GITHUB_WORKFLOW ?? null,
    run_id: env.GITHUB_RUN_ID ?? null,
    run_attempt: env.GITHUB_RUN_ATTEMPT ?? null,
    job: env.GITHUB_JOB ?? null,
    event: env.GITHUB_EVENT_NAME ?? null,
    ref: env.GITHUB_REF ?? null,
    server_url: env.GITHUB_SERVER_URL ?? null,
  };
}

function numbersOf(o: Record<string, unknown> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o ?? {})) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

function gateOf(b: Blessing | undefined): RunRecord['gate'] {
  if (!b) return null;
  const base = b.baseline as { tag?: string; name?: string; dir?: string } | null;
  return {
    decision: b.forced ? `${b.decision} (forced)` : b.decision,
    reason: b.forced ? b.forced.reason : b.reason,
    baseline: base ? (base.tag ?? base.name ?? base.dir ?? null) : null,
  };
}

export interface ModelRunFacts {
  kind: RunKind;
  metrics: Metrics;
  lineage: Lineage;
  loaded?: LoadedConfig;
  blessing?: Blessing;
  modelSha256?: string | null;
  artifact?: string | null;
  releaseTag?: string | null;
  env?: Env;
}

/** The record of a run that produced a model directory (its metrics.json and lineage.json). */
export function modelRunRecord(f: ModelRunFacts): RunRecord {
  const { metrics: m, lineage: l } = f;
  const env = f.env ?? process.env;
  const commit = l.git?.commit ?? env.GITHUB_SHA ?? null;
  const data = l.data as { version?: string | null } | null;
  const parent = l.parent as { sha256?: string } | null | undefined;
  const now = new Date();
  return checkRunRecord({
    schema_version: RUN_RECORD_SCHEMA_VERSION,
    id: newRunId(f.kind, commit, now),
    kind: f.kind,
    model: m.model,
    task: m.task,
    created_at: now.toISOString(),
    cdl_version: CDL_VERSION,
    config: {
      file: l.config.file,
      hash: l.config.hash,
      overrides: l.config.overrides,
      resolved: (f.loaded?.config as unknown as Record<string, unknown> | undefined) ?? null,
    },
    hyperparameters: l.hyperparameters,
    history: (m.history ?? []).map((h) => numbersOf(h)),
    metrics: {
      main_metric: m.main_metric,
      main_metric_value: m.main_metric_value,
      higher_is_better: m.higher_is_better,
      splits: Object.fromEntries(Object.entries(m.splits).map(([k, v]) => [k, numbersOf(v)])),
    },
    gate: gateOf(f.blessing),
    lineage: {
      commit,
      branch: l.git?.branch ?? (env.GITHUB_HEAD_REF || env.GITHUB_REF_NAME || null),
      pull_request: eventFacts(env).pullRequest,
      dataset_version: data?.version ?? null,
      config_hash: l.config.hash,
      parent: parent?.sha256 ?? null,
      ci: ciFacts(env),
    },
    hardware: l.hardware,
    durations: numbersOf(l.durations),
    output: { model_sha256: f.modelSha256 ?? null, artifact: f.artifact ?? null, release_tag: f.releaseTag ?? null },
    tune: null,
  });
}

export interface RecordOptions {
  /** A directory inside the repository to record in (default: $GITHUB_WORKSPACE, else the current one). */
  dir?: string;
  /** The token that pushes on GitHub (the action's `token` input); else $CDL_RUNS_TOKEN, $GITHUB_TOKEN. */
  token?: string | null;
  log?: (line: string) => void;
  env?: Env;
}

/**
 * Write records to the runs branch, or say why not. Off with CDL_RUNS=off. On GitHub (not under
 * `cdl run`, whose forge is local) they are pushed to origin with the token; a fork's pull request
 * or a token without `contents: write` does not record.
 */
export async function writeRuns(records: RunRecord[], o: RecordOptions = {}): Promise<AppendResult[]> {
  const env = o.env ?? process.env;
  const log = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  if (records.length === 0) return [];
  if (recordingOff(env)) return [];
  const repo = await repoRootOf(o.dir ?? env.GITHUB_WORKSPACE ?? process.cwd());
  if (!repo) {
    log(`run not recorded: ${o.dir ?? process.cwd()} is not in a git repository`);
    return [];
  }
  const onGitHub = env.GITHUB_ACTIONS === 'true' && env.CDL_FORGE !== 'local';
  let remote: string | null = env.CDL_RUNS_REMOTE || null;
  let token: string | null = null;
  if (onGitHub) {
    if (eventFacts(env).fromFork) {
      log('run not recorded: a pull request from a fork has a read-only token');
      return [];
    }
    token = o.token || env.CDL_RUNS_TOKEN || env.GITHUB_TOKEN || null;
    remote ??= 'origin';
  }
  const done: AppendResult[] = [];
  for (const r of records) {
    try {
      const res = await appendRecord(repo, r, { remote, token });
      done.push(res);
      log(`run recorded: ${res.target}:${res.path}`);
    } catch (e) {
      if (e instanceof RunPermissionError) {
        log(`run not recorded: ${e.message} (the job needs permissions: contents: write to record runs)`);
        return done;
      }
      log(`warning: run not recorded: ${messageOf(e)}`);
    }
  }
  return done;
}

/** `cdl train` and the train action: one record of the trained model. */
export async function recordTrainRun(
  loaded: LoadedConfig,
  outcome: TrainOutcome,
  o: RecordOptions & { artifact?: string | null } = {},
): Promise<AppendResult[]> {
  if (recordingOff(o.env)) return [];
  try {
    const record = modelRunRecord({
      kind: runKindFromEnv(o.env),
      metrics: outcome.metrics,
      lineage: outcome.lineage,
      loaded,
      artifact: o.artifact ?? null,
      modelSha256: outcome.sha256 ?? null,
      env: o.env,
    });
    return await writeRuns([record], { dir: loaded.dir, ...o });
  } catch (e) {
    (o.log ?? console.error)(`warning: run not recorded: ${messageOf(e)}`);
    return [];
  }
}

/** A finished study: one record per trial that gave a result. */
export async function recordTuneTrials(
  study: Study,
  space: SearchSpace,
  loaded: LoadedConfig,
  overrides: string[],
  o: RecordOptions = {},
): Promise<AppendResult[]> {
  if (recordingOff(o.env)) return [];
  try {
    const env = o.env ?? process.env;
    const records: RunRecord[] = [];
    // Loaded here only: the gate and release paths need none of the trainer.
    const { hyperparameters } = await import('../train/train-record.js');
    for (const t of study.trials) {
      const last = t.results[t.results.length - 1];
      if (!last) continue;
      const trialOverrides = [...overrides, ...assignmentOverrides(space, t.params)];
      const cfg = await loadConfig(loaded.file, trialOverrides);
      const now = new Date();
      const seconds = t.results.reduce((a, r) => a + r.seconds, 0);
      const test = numbersOf(last.test);
      records.push(
        checkRunRecord({
          schema_version: RUN_RECORD_SCHEMA_VERSION,
          id: newRunId('tune_trial', env.GITHUB_SHA ?? null, now),
          kind: 'tune_trial',
          model: study.model,
          task: cfg.config.model.task,
          created_at: now.toISOString(),
          cdl_version: CDL_VERSION,
          config: {
            file: path.relative(process.cwd(), loaded.file) || loaded.file,
            hash: cfg.hash,
            overrides: trialOverrides,
            resolved: cfg.config as unknown as Record<string, unknown>,
          },
          hyperparameters: { ...hyperparameters(cfg.config), epochs: t.epochs },
          history: t.results.map((r) => ({ epoch: r.epochs, [study.metric]: r.value })),
          metrics: {
            main_metric: study.metric,
            main_metric_value: last.value,
            higher_is_better: study.direction === 'maximize',
            splits: { validation: { [study.metric.replace(/^val_/, '')]: last.value }, ...(last.test ? { test } : {}) },
          },
          gate: null,
          lineage: {
            commit: await commitOf(loaded.dir, env),
            branch: env.GITHUB_HEAD_REF || env.GITHUB_REF_NAME || null,
            pull_request: eventFacts(env).pullRequest,
            dataset_version: null,
            config_hash: cfg.hash,
            parent: null,
            ci: ciFacts(env),
          },
          hardware: {},
          durations: { total_seconds: seconds },
          output: { model_sha256: null, artifact: null, release_tag: null },
          tune: { study: study.key, trial: t.number, status: t.status, epochs: t.epochs },
        }),
      );
    }
    return await writeRuns(records, { dir: loaded.dir, ...o });
  } catch (e) {
    (o.log ?? console.error)(`warning: tuning trials not recorded: ${messageOf(e)}`);
    return [];
  }
}

/**
 * The configuration a model was trained with, when the file its lineage names still gives the same
 * hash with the same overrides (so the record's resolved configuration is exactly what trained it).
 */
async function sameConfig(l: Lineage): Promise<LoadedConfig | undefined> {
  if (!l.config.file) return undefined;
  try {
    const loaded = await loadConfig(path.resolve(l.config.file), l.config.overrides);
    return loaded.hash === l.config.hash ? loaded : undefined;
  } catch {
    return undefined;
  }
}

async function commitOf(dir: string, env: Env): Promise<string | null> {
  if (env.GITHUB_SHA) return env.GITHUB_SHA;
  const { gitInfo } = await import('../model-dir/lineage.js');
  return (await gitInfo(dir))?.commit ?? null;
}

/** The gate's decision on a candidate: a `gate` record that readers attach to the run of the same model. */
export async function recordGate(
  run: { blessing: Blessing; candidate: { modelDir: OpenedModelDir } },
  loaded: LoadedConfig,
  o: RecordOptions = {},
): Promise<AppendResult[]> {
  if (recordingOff(o.env)) return [];
  try {
    const md = run.candidate.modelDir;
    if (!md.metrics || !md.lineage) return [];
    const record = modelRunRecord({
      kind: 'gate',
      metrics: md.metrics,
      lineage: md.lineage,
      loaded,
      blessing: run.blessing,
      modelSha256: md.sha256,
      env: o.env,
    });
    return await writeRuns([record], { dir: loaded.dir, ...o });
  } catch (e) {
    (o.log ?? console.error)(`warning: gate decision not recorded: ${messageOf(e)}`);
    return [];
  }
}

/** A release: the record of the released model directory, with its gate decision and tag. */
export async function recordRelease(modelDir: string, tag: string, o: RecordOptions = {}): Promise<AppendResult[]> {
  if (recordingOff(o.env)) return [];
  try {
    // Promotion verified every file against SHA256SUMS just now: take the model's hash from there.
    const md = await readModelDir(modelDir);
    const sumsFile = path.join(modelDir, CHECKSUMS_FILE);
    const sums = existsSync(sumsFile) ? parseChecksums(readFileSync(sumsFile, 'utf8'), sumsFile) : undefined;
    if (!md.metrics || !md.lineage) {
      (o.log ?? console.error)(`run not recorded: ${modelDir} has no metrics.json or lineage.json`);
      return [];
    }
    const record = modelRunRecord({
      kind: 'release',
      metrics: md.metrics,
      lineage: md.lineage,
      loaded: await sameConfig(md.lineage),
      blessing: await readBlessing(modelDir),
      modelSha256: sums?.get(MODEL_FILES.onnx) ?? null,
      releaseTag: tag,
      artifact: md.lineage.git?.commit ? `model-${md.lineage.git.commit}` : null,
      env: o.env,
    });
    return await writeRuns([record], o);
  } catch (e) {
    (o.log ?? console.error)(`warning: release not recorded: ${messageOf(e)}`);
    return [];
  }
}
