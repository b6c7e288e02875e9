// Runs one job (one matrix combination): checks runs-on, sets up its env, defaults and time limit,
// runs its steps, then the post steps of its actions, and evaluates its outputs.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Result, RunContext } from './context.js';
import { ExpressionFailure } from './expr.js';
import type { JobOutcome, JobSpec } from './job-spec.js';
import { JobState } from './job-state.js';
import { runSteps } from './job-steps.js';
import { runsOnMismatch } from './labels.js';
import { evalStringMap, evalToken } from './workflow.js';

export async function runJob(run: RunContext, spec: JobSpec): Promise<JobOutcome> {
  const job = new JobState(run, spec);
  const started = Date.now();
  await mkdir(job.dir, { recursive: true });
  await mkdir(job.temp, { recursive: true });
  await mkdir(path.dirname(job.logFile), { recursive: true });
  await mkdir(path.dirname(job.summaryFile), { recursive: true });
  const { def, wf } = spec;
  let message: string | undefined;
  let timedOut = false;
  try {
    const jobCtx = job.jobContexts();
    const runsOn = evalToken(def.runsOn, jobCtx, job.evalState(), wf.display);
    const refused = run.runsOnAny ? undefined : runsOnMismatch(runsOn, run.labels, spec.key);
    if (refused) {
      job.log(undefined, `error: ${refused}`);
      return { result: 'failure', outputs: {}, durationMs: Date.now() - started, message: refused };
    }
    job.jobEnv = { ...spec.workflowEnv, ...evalStringMap(def.env, jobCtx, job.evalState(), wf.display) };
    const wfDefaults = ((evalToken(wf.defaults, jobCtx, job.evalState(), wf.display) ?? {}) as { run?: object }).run ?? {};
    const jobDefaults = ((evalToken(def.defaults, jobCtx, job.evalState(), wf.display) ?? {}) as { run?: object }).run ?? {};
    job.defaults = { ...wfDefaults, ...jobDefaults } as typeof job.defaults;
    const minutes = Number(evalToken(def.timeoutMinutes, jobCtx, job.evalState(), wf.display) ?? 360);
    const timer = setTimeout(() => {
      timedOut = true;
      job.log(undefined, `error: the job has exceeded the maximum execution time of ${minutes} minutes`);
      job.controller.abort();
    }, minutes * 60_000);
    try {
      await runSteps(job, def.steps, wf.display);
    } finally {
      clearTimeout(timer);
    }
    for (const post of job.posts.reverse()) {
      const ok = job.evalCondition(post.condition, job.stepContexts(job.envForContext({})), {
        file: wf.display,
      });
      if (!ok) continue;
      job.log(post.label, `▶ ${post.label}`);
      if (!(await post.run()) && job.status === 'success') job.status = 'failure';
    }
  } catch (error) {
    message = error instanceof ExpressionFailure ? error.message : (error as Error).message;
    job.log(undefined, `error: ${message}`);
    job.status = 'failure';
  }
  let outputs: Record<string, string> = {};
  try {
    outputs = jobOutputs(job);
  } catch (error) {
    message ??= (error as Error).message;
    job.log(undefined, `error: ${(error as Error).message}`);
    job.status = 'failure';
  }
  await job.flushLog();
  await rm(job.temp, { recursive: true, force: true }).catch(() => undefined);
  const result: Result = timedOut ? 'failure' : job.status;
  return { result, outputs, durationMs: Date.now() - started, message };
}

/** The job's outputs; one that holds a secret is left out, as GitHub does. */
function jobOutputs(job: JobState): Record<string, string> {
  const { def, wf } = job.spec;
  if (!def.outputs) return {};
  const ctx = job.stepContexts(job.envForContext({}));
  const values = job.evalOrFail(() => evalStringMap(def.outputs, ctx, job.evalState(), wf.display));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    if (job.masker.mask(v) !== v) {
      job.log(undefined, `warning: skip output '${k}' since it may contain a secret`);
      continue;
    }
    out[k] = v;
  }
  return out;
}
