// The expression contexts of a job and of its steps (github, needs, strategy, matrix, vars,
// secrets, inputs, env, runner, job, steps), as GitHub offers them at each point.
import type { RunContext } from './context.js';
import type { Contexts } from './expr.js';
import type { JobSpec, StepRecord } from './job-spec.js';
import { runnerContext } from './runner-env.js';

/** What the contexts are read from: the run, the job's spec, its temp directory, status and steps so far. */
interface ContextSource {
  run: RunContext;
  spec: JobSpec;
  temp: string;
  status: string;
  steps: Record<string, StepRecord>;
}

/** Contexts available before steps run (job env, runs-on, strategy...). */
export function jobContexts({ run, spec, temp, status }: ContextSource): Contexts {
  return {
    github: { ...run.github, job: spec.jobId, workspace: run.repoRoot, action_path: '' },
    needs: spec.needs,
    strategy: spec.strategy,
    matrix: spec.matrix ?? {},
    vars: run.vars,
    secrets: spec.secrets,
    inputs: spec.inputs,
    env: { ...spec.workflowEnv },
    runner: runnerContext(run, temp),
    job: { status },
  };
}

/** Contexts of a step: the job's, with the step's env and the steps so far. */
export function stepContexts(source: ContextSource, env: Record<string, string>): Contexts {
  return {
    ...jobContexts(source),
    env,
    steps: source.steps,
    job: { status: source.status },
  };
}
