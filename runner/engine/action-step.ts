// A `uses:` step: the action's inputs (given, defaulted, or warned about), the GITHUB_ACTION*
// variables, then the action run by its kind (composite or JavaScript).
import { type ActionDef } from './actions.js';
import { runComposite } from './composite-action.js';
import { interpolate, stringify } from './expr.js';
import { runJavaScriptAction } from './javascript-action.js';
import type { StepCall, StepRecord, StepResult, StepRun } from './job-spec.js';
import type { JobState } from './job-state.js';
import { evalStringMap } from './workflow.js';

/** The inputs an action gets: given by `with:` (names case-insensitive), else its defaults. */
function actionInputs(job: JobState, action: ActionDef, { step, ctx, display, label }: StepRun): Record<string, string> {
  const given = job.evalOrFail(() => evalStringMap(step.with, ctx, job.evalState(), display));
  const inputs: Record<string, string> = {};
  const declared = action.inputs;
  for (const [name, spec] of Object.entries(declared)) {
    const key = Object.keys(given).find((k) => k.toLowerCase() === name.toLowerCase());
    if (key !== undefined) inputs[name] = given[key] as string;
    else if (spec.default !== undefined) {
      inputs[name] = stringify(
        job.evalOrFail(() => interpolate(String(spec.default), ctx, job.evalState(), { file: action.metadataFile })),
      );
    } else if (spec.required) {
      job.log(label, `warning: input required and not supplied: ${name}`);
    }
  }
  for (const k of Object.keys(given)) {
    if (!Object.keys(declared).some((n) => n.toLowerCase() === k.toLowerCase())) {
      job.log(label, `warning: unexpected input '${k}', valid inputs are [${Object.keys(declared).join(', ')}]`);
      inputs[k] = given[k] as string;
    }
  }
  return inputs;
}

/** Runs an action's step; a composite action runs its own steps through `runStep`. */
export async function runAction(
  job: JobState,
  action: ActionDef,
  run: StepRun,
  runStep: (call: StepCall) => Promise<StepRecord>,
): Promise<StepResult> {
  const inputs = actionInputs(job, action, run);
  const actionEnv = {
    ...run.env,
    GITHUB_ACTION: run.step.id,
    GITHUB_ACTION_PATH: action.dir,
    GITHUB_ACTION_REPOSITORY: action.repository ?? '',
  };
  if (action.using === 'composite') return runComposite(job, { action, run, inputs, actionEnv, runStep });
  return runJavaScriptAction(job, { action, run, inputs, actionEnv });
}
