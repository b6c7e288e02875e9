// A composite action: its steps run in order with the action's inputs and its own steps context
// (their status is the action's, not the job's), then its outputs evaluated from them.
import type { ActionDef } from './actions.js';
import { evaluate, interpolate, stringify, truthy, type Contexts, type EvalState } from './expr.js';
import type { StepCall, StepRecord, StepResult, StepRun } from './job-spec.js';
import type { JobState } from './job-state.js';
import { evalString } from './workflow.js';

interface CompositeRun {
  action: ActionDef;
  run: StepRun;
  inputs: Record<string, string>;
  /** The step's env with the GITHUB_ACTION* variables, for the processes of its steps. */
  actionEnv: Record<string, string>;
  /** Runs one of its steps as a step of the job is run. */
  runStep: (call: StepCall) => Promise<StepRecord>;
}

export async function runComposite(
  job: JobState,
  { action, run: { label, ctx: callerCtx, env: stepEnv }, inputs, actionEnv, runStep }: CompositeRun,
): Promise<StepResult> {
  const steps = action.steps ?? [];
  const record: Record<string, StepRecord> = {};
  let status: 'success' | 'failure' = 'success';
  const display = action.metadataFile;
  for (const s of steps) {
    const ctx: Contexts = {
      ...callerCtx,
      env: job.envForContext(stepEnv),
      inputs,
      steps: record,
      github: { ...(callerCtx['github'] as object), action_path: action.dir },
    };
    const state: EvalState = { status: () => status, workspace: job.workspace };
    const cond = job.evalOrFail(() => truthy(evaluate(s.if, ctx, state, s.where)));
    let stepLabel = `${label} › ${s.id.startsWith('__') ? (s.uses ?? 'run') : s.id}`;
    if (s.name) stepLabel = `${label} › ${String(job.evalOrFail(() => evalString(s.name, ctx, state, display)))}`;
    if (!cond) {
      record[s.id] = { outcome: 'skipped', conclusion: 'skipped', outputs: {} };
      continue;
    }
    const saved = job.status;
    job.status = status;
    const r = await runStep({
      step: s,
      label: stepLabel,
      display,
      scope: {
        contexts: { inputs, steps: record, github: ctx['github'] },
        env: stepEnv,
        processEnv: actionEnv,
        actionPath: action.dir,
      },
    });
    job.status = saved;
    record[s.id] = r;
    if (r.conclusion === 'failure') status = 'failure';
  }
  const outCtx: Contexts = { ...callerCtx, inputs, steps: record, env: job.envForContext(stepEnv) };
  const outputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.outputs)) {
    if (spec.value === undefined) continue;
    outputs[name] = stringify(
      job.evalOrFail(() =>
        interpolate(String(spec.value), outCtx, { status: () => status, workspace: job.workspace }, { file: display }),
      ),
    );
  }
  return { ok: status === 'success', outputs };
}
