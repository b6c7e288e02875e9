// The steps of a job, in order: each one's label and if:, its env, continue-on-error and
// timeout-minutes, then the step run by its kind (a script, or an action) and its result logged.
import { resolveAction } from './actions.js';
import { runAction } from './action-step.js';
import type { Result } from './context.js';
import { formatWhere, truthy, type Contexts } from './expr.js';
import type { StepCall, StepRecord } from './job-spec.js';
import type { JobState } from './job-state.js';
import { runScript } from './script-step.js';
import { evalString, evalStringMap, evalToken, type StepDef } from './workflow.js';

export async function runSteps(job: JobState, steps: StepDef[], display: string): Promise<void> {
  for (const step of steps) {
    const env = job.envForContext({});
    const ctx = job.stepContexts(env);
    const label = stepLabel(job, step, ctx, display);
    if (job.controller.signal.aborted && job.status !== 'cancelled') job.status = 'cancelled';
    const run = job.evalCondition(step.if, ctx, step.where);
    if (!run) {
      job.steps[step.id] = { outcome: 'skipped', conclusion: 'skipped', outputs: {} };
      job.log(label, '(skipped)');
      continue;
    }
    const record = await runStep(job, { step, label, display, scope: {} });
    job.steps[step.id] = record;
    if (record.conclusion === 'failure' && job.status === 'success') job.status = 'failure';
  }
}

function stepLabel(job: JobState, step: StepDef, ctx: Contexts, display: string): string {
  if (step.name) {
    try {
      return evalString(step.name, ctx, job.evalState(), display) ?? step.id;
    } catch {
      // a name that does not evaluate yet is shown as written
    }
  }
  if (step.uses) return `Run ${step.uses}`;
  const run = step.run as unknown as { value?: unknown; source?: string } | undefined;
  const first = run ? String(run.source ?? run.value ?? '').trim() : '';
  return `Run ${first.split('\n')[0]?.slice(0, 60) || step.id}`;
}

/** Runs one step (of the job, or of a composite action when `scope` says so). */
async function runStep(job: JobState, { step, label, display, scope }: StepCall): Promise<StepRecord> {
  const started = Date.now();
  job.log(label, `▶ ${label}`);
  const contextExtra = scope.contexts ?? {};
  let stepEnv: Record<string, string> = {};
  let outputs: Record<string, string> = {};
  let ok = false;
  let continueOnError = false;
  try {
    const ctx0 = { ...job.stepContexts(job.envForContext(scope.env ?? {})), ...contextExtra };
    stepEnv = { ...(scope.env ?? {}), ...job.evalOrFail(() => evalStringMap(step.env, ctx0, job.evalState(), display)) };
    const ctx = { ...job.stepContexts(job.envForContext(stepEnv)), ...contextExtra };
    continueOnError = truthy(job.evalOrFail(() => evalToken(step.continueOnError, ctx, job.evalState(), display)));
    const minutes = Number(job.evalOrFail(() => evalToken(step.timeoutMinutes, ctx, job.evalState(), display)) ?? 0);
    const timeoutMs = minutes > 0 ? minutes * 60_000 : undefined;
    const run = { step, label, display, ctx, env: stepEnv, timeoutMs };
    if (step.run) {
      ({ ok, outputs } = await runScript(job, run, scope));
    } else if (step.uses) {
      const action = await resolveAction(step.uses, {
        workspace: job.workspace,
        actionsDir: job.run.actionsDir,
        where: step.where,
        fromAction: scope.actionPath,
      });
      ({ ok, outputs } = await runAction(job, action, run, (call) => runStep(job, call)));
    } else {
      throw new Error(`${formatWhere(step.where)}: a step needs run: or uses:`);
    }
  } catch (error) {
    job.log(label, `error: ${job.masker.mask((error as Error).message)}`);
    ok = false;
  }
  const outcome: Result = ok ? 'success' : job.controller.signal.aborted ? 'cancelled' : 'failure';
  const conclusion: Result = !ok && continueOnError ? 'success' : outcome;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  job.log(
    label,
    `${ok ? '✓' : continueOnError ? '⚠' : '✗'} ${label} (${outcome}${conclusion !== outcome ? ', continue-on-error' : ''}, ${seconds}s)`,
  );
  return { outcome, conclusion, outputs };
}
