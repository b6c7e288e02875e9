// One job's state while it runs: its directories, masker and log, its status and steps so far,
// what its steps added through GITHUB_ENV and GITHUB_PATH, its post steps and its cancellation.
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import type { Masker } from './commands.js';
import { recordingExpressionErrors, type RunContext } from './context.js';
import { evaluate, truthy, type Contexts, type EvalState, type Where } from './expr.js';
import { jobContexts, stepContexts } from './job-contexts.js';
import type { JobSpec, StepRecord } from './job-spec.js';
import { safeName, stepProcessEnv } from './runner-env.js';

/** A post step of a JavaScript action, run after the job's steps when its condition holds. */
interface PostStep {
  label: string;
  condition: string;
  run: () => Promise<boolean>;
}

export class JobState {
  status: 'success' | 'failure' | 'cancelled' = 'success';
  readonly steps: Record<string, StepRecord> = {};
  readonly posts: PostStep[] = [];
  readonly addedEnv: Record<string, string> = {};
  readonly addedPath: string[] = [];
  /** The job's own directory (file commands). */
  readonly dir: string;
  /** RUNNER_TEMP, removed when the job ends. */
  readonly temp: string;
  readonly masker: Masker;
  readonly logFile: string;
  readonly summaryFile: string;
  jobEnv: Record<string, string> = {};
  defaults: { shell?: string; 'working-directory'?: string } = {};
  readonly controller = new AbortController();
  private processes = 0;
  private logQueue: Promise<void> = Promise.resolve();

  constructor(
    readonly run: RunContext,
    readonly spec: JobSpec,
  ) {
    this.dir = path.join(run.runDir, 'jobs', safeName(spec.key));
    this.temp = path.join(run.runDir, 'tmp', safeName(spec.key));
    this.logFile = path.join(run.runDir, 'logs', `${safeName(spec.key)}.log`);
    this.summaryFile = path.join(run.runDir, 'summaries', `${safeName(spec.key)}.md`);
    this.masker = run.masker.child();
    for (const v of Object.values(spec.secrets)) this.masker.add(v);
    spec.signal.addEventListener('abort', () => this.controller.abort(), { once: true });
    run.signal.addEventListener('abort', () => this.controller.abort(), { once: true });
  }

  get workspace(): string {
    return this.run.repoRoot;
  }

  /** Writes masked lines to the live output (prefixed with the job and step) and to the job's log file. */
  log(step: string | undefined, text: string): void {
    const masked = this.masker.mask(text);
    const prefix = step ? `[${this.spec.key}] ${step} | ` : `[${this.spec.key}] `;
    const lines = masked.split('\n').map((l) => prefix + l);
    this.run.write(lines.join('\n') + '\n');
    const fileLines = masked.split('\n').map((l) => (step ? `${step} | ${l}` : l));
    this.logQueue = this.logQueue.then(() => appendFile(this.logFile, fileLines.join('\n') + '\n')).catch(() => undefined);
  }

  /** Resolves once every line logged so far is in the log file. */
  flushLog(): Promise<void> {
    return this.logQueue;
  }

  /** A number for the next process's file-command files, unique in the job. */
  nextProcess(): number {
    return ++this.processes;
  }

  evalState(): EvalState {
    return { status: () => this.status, workspace: this.workspace };
  }

  jobContexts(): Contexts {
    return jobContexts(this);
  }

  stepContexts(env: Record<string, string>): Contexts {
    return stepContexts(this, env);
  }

  evalOrFail<T>(fn: () => T): T {
    return recordingExpressionErrors(this.run, fn);
  }

  evalCondition(condition: string, ctx: Contexts, where: Where): boolean {
    return this.evalOrFail(() => truthy(evaluate(condition, ctx, this.evalState(), where)));
  }

  /** The env context of a step: the job's, what steps added, the step's own. */
  envForContext(stepEnv: Record<string, string>): Record<string, string> {
    return { ...this.jobEnv, ...this.addedEnv, ...stepEnv };
  }

  /** The environment of a step's process. */
  processEnv(stepEnv: Record<string, string>, extra: Record<string, string>): Promise<Record<string, string>> {
    const { jobEnv, addedEnv, addedPath, temp } = this;
    return stepProcessEnv({
      run: this.run,
      wf: this.spec.wf,
      jobId: this.spec.jobId,
      temp,
      jobEnv,
      addedEnv,
      addedPath,
      stepEnv,
      extra,
    });
  }
}
