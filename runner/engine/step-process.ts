// One process of a step (a script, or a phase of a JavaScript action): its output read for workflow
// commands, its file commands (GITHUB_ENV, GITHUB_PATH, GITHUB_OUTPUT, GITHUB_STATE, the job
// summary) taken on when it exits, and its exit told in the log.
import { appendFile } from 'node:fs/promises';
import { createFileCommandFiles, readFileCommands, type FileCommandFiles } from './file-commands.js';
import type { JobState } from './job-state.js';
import { execLines } from './process.js';
import { WorkflowCommandReader } from './workflow-commands.js';

interface StepProcess {
  label: string;
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  timeoutMs?: number;
}

interface ProcessResult {
  ok: boolean;
  outputs: Record<string, string>;
  state: Record<string, string>;
}

/** Takes on what a process wrote to its file commands. */
async function applyFileCommands(job: JobState, files: FileCommandFiles, label: string) {
  const r = await readFileCommands(files);
  for (const k of r.refused) job.log(label, `warning: ignoring GITHUB_ENV ${k}: the runner sets it`);
  Object.assign(job.addedEnv, r.env);
  job.addedPath.push(...r.path);
  if (r.summary.trim())
    await appendFile(job.summaryFile, job.masker.mask(r.summary.endsWith('\n') ? r.summary : `${r.summary}\n`));
  return { outputs: r.outputs, state: r.state };
}

/** Runs one process with workflow commands handled; returns its exit and file-command results. */
export async function runStepProcess(
  job: JobState,
  { label, command, args, cwd, env, timeoutMs }: StepProcess,
): Promise<ProcessResult> {
  const files = await createFileCommandFiles(job.dir, job.nextProcess());
  const commands = new WorkflowCommandReader({
    log: (line) => job.log(label, line),
    masker: job.masker,
    verbose: job.run.verbose,
    annotate: ({ level, ...rest }) => job.run.annotations.push({ level, job: job.spec.key, ...rest }),
  });
  const result = await execLines(command, args, {
    cwd,
    env: await job.processEnv(env, files),
    timeoutMs,
    signal: job.controller.signal,
    onLine: (line) => commands.read(line),
  });
  let collected: { outputs: Record<string, string>; state: Record<string, string> };
  try {
    collected = await applyFileCommands(job, files, label);
  } catch (error) {
    job.log(label, `error: ${(error as Error).message}`);
    return { ok: false, outputs: {}, state: {} };
  }
  if (result.error) job.log(label, `error: ${result.error}`);
  if (result.timedOut) job.log(label, `error: the step has timed out`);
  else if (result.cancelled) job.log(label, 'the step was cancelled');
  else if (result.code !== 0) job.log(label, `error: process completed with exit code ${result.code}`);
  return {
    ok: result.code === 0 && !result.timedOut && !result.cancelled && !result.error,
    outputs: { ...commands.outputs, ...collected.outputs },
    state: { ...commands.state, ...collected.state },
  };
}
