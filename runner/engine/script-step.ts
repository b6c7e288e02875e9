// A `run:` step: its script written to a file in RUNNER_TEMP and run by its shell, in its working
// directory (the job's defaults apply; a composite action's run steps must name their shell).
import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatWhere } from './expr.js';
import type { CompositeScope, StepResult, StepRun } from './job-spec.js';
import type { JobState } from './job-state.js';
import { shellCommand } from './shell.js';
import { runStepProcess } from './step-process.js';
import { evalString } from './workflow.js';

export async function runScript(
  job: JobState,
  { step, label, display, ctx, env: stepEnv, timeoutMs }: StepRun,
  scope: CompositeScope,
): Promise<StepResult> {
  const script = job.evalOrFail(() => evalString(step.run, ctx, job.evalState(), display)) ?? '';
  let shell = job.evalOrFail(() => evalString(step.shell, ctx, job.evalState(), display));
  if (!shell && scope.actionPath) throw new Error(`${formatWhere(step.where)}: a run step in a composite action needs shell:`);
  shell ||= job.defaults.shell;
  const wd =
    job.evalOrFail(() => evalString(step.workingDirectory, ctx, job.evalState(), display)) || job.defaults['working-directory'];
  const cwd = wd ? path.resolve(job.workspace, wd) : job.workspace;
  const { command, args, ext } = shellCommand(shell);
  const file = path.join(job.temp, `${randomUUID()}${ext}`);
  await writeFile(file, script);
  const argv = args.map((a) => a.replace('{0}', file));
  try {
    const r = await runStepProcess(job, {
      label,
      command,
      args: argv,
      cwd,
      env: { ...stepEnv, ...(scope.processEnv ?? {}) },
      timeoutMs,
    });
    return { ok: r.ok, outputs: r.outputs };
  } finally {
    await rm(file, { force: true });
  }
}
