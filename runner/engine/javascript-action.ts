// A JavaScript action: its pre, main and post phases run by this Node, inputs as INPUT_*, state
// (GITHUB_STATE) flowing from each phase to the next; the post phase runs after the job's steps.
import path from 'node:path';
import type { ActionDef } from './actions.js';
import { ifCondition } from './expr.js';
import type { StepResult, StepRun } from './job-spec.js';
import type { JobState } from './job-state.js';
import { runStepProcess } from './step-process.js';

interface JavaScriptActionRun {
  action: ActionDef;
  run: StepRun;
  inputs: Record<string, string>;
  /** The step's env with the GITHUB_ACTION* variables. */
  actionEnv: Record<string, string>;
}

export async function runJavaScriptAction(
  job: JobState,
  { action, run: { label, ctx, timeoutMs }, inputs, actionEnv }: JavaScriptActionRun,
): Promise<StepResult> {
  const inputEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(inputs)) inputEnv[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v;
  const state: Record<string, string> = {};
  const runPhase = async (file: string, phaseLabel: string) => {
    const stateEnv = Object.fromEntries(Object.entries(state).map(([k, v]) => [`STATE_${k}`, v]));
    const r = await runStepProcess(job, {
      label: phaseLabel,
      command: process.execPath,
      args: [path.join(action.dir, file)],
      cwd: job.workspace,
      env: { ...actionEnv, ...inputEnv, ...stateEnv },
      timeoutMs,
    });
    Object.assign(state, r.state);
    return r;
  };
  if (action.pre) {
    const preCond = ifCondition(action.preIf ?? 'always()');
    if (job.evalCondition(preCond, ctx, { file: action.metadataFile })) {
      const r = await runPhase(action.pre, `Pre ${label}`);
      if (!r.ok) return { ok: false, outputs: {} };
    }
  }
  const main = await runPhase(action.main as string, label);
  if (action.post) {
    const post = action.post;
    job.posts.push({
      label: `Post ${label}`,
      condition: ifCondition(action.postIf ?? 'always()'),
      run: async () => (await runPhase(post, `Post ${label}`)).ok,
    });
  }
  return { ok: main.ok, outputs: main.outputs };
}
