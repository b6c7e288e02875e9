// Runs one job (one matrix combination): its steps, the actions they use, post steps, outputs.
import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Masker } from './commands.js';
import type { Result, RunContext } from './context.js';
import {
  ExpressionFailure,
  evaluate,
  formatWhere,
  ifCondition,
  interpolate,
  stringify,
  truthy,
  type Contexts,
  type EvalState,
  type Where,
} from './expr.js';
import { createFileCommandFiles, readFileCommands, type FileCommandFiles } from './file-commands.js';
import { runsOnMismatch } from './labels.js';
import { execLines } from './process.js';
import { runnerContext, safeName, stepProcessEnv } from './runner-env.js';
import { shellCommand } from './shell.js';
import { WorkflowCommandReader } from './workflow-commands.js';
import { evalString, evalStringMap, evalToken, type JobDef, type StepDef, type WorkflowDef } from './workflow.js';
import { resolveAction, type ActionDef } from './actions.js';

export interface JobSpec {
  /** Unique display name: `build (1, a)`, `call / inner`. */
  key: string;
  /** GITHUB_JOB. */
  jobId: string;
  def: JobDef;
  wf: WorkflowDef;
  matrix: Record<string, unknown> | null;
  strategy: Record<string, unknown>;
  needs: Record<string, { result: string; outputs: Record<string, string> }>;
  inputs: Record<string, unknown>;
  secrets: Record<string, string>;
  workflowEnv: Record<string, string>;
  signal: AbortSignal;
}

export interface JobOutcome {
  result: Result;
  outputs: Record<string, string>;
  durationMs: number;
  message?: string;
}

interface StepRecord {
  outcome: Result;
  conclusion: Result;
  outputs: Record<string, string>;
}

interface PostStep {
  label: string;
  condition: string;
  run: () => Promise<boolean>;
}

/** One job's state while it runs. */
export class JobRunner {
  private status: 'success' | 'failure' | 'cancelled' = 'success';
  private readonly steps: Record<string, StepRecord> = {};
  private readonly posts: PostStep[] = [];
  private readonly addedEnv: Record<string, string> = {};
  private readonly addedPath: string[] = [];
  private readonly dir: string;
  private readonly temp: string;
  private readonly masker: Masker;
  private readonly logFile: string;
  private readonly summaryFile: string;
  private jobEnv: Record<string, string> = {};
  private defaults: { shell?: string; 'working-directory'?: string } = {};
  private counter = 0;
  private timedOut = false;
  private readonly controller = new AbortController();
  private logQueue: Promise<void> = Promise.resolve();

  constructor(
    private readonly run: RunContext,
    private readonly spec: JobSpec,
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

  private get workspace(): string {
    return this.run.repoRoot;
  }

  // ---- logging ---------------------------------------------------------------

  log(step: string | undefined, text: string): void {
    const masked = this.masker.mask(text);
    const prefix = step ? `[${this.spec.key}] ${step} | ` : `[${this.spec.key}] `;
    const lines = masked.split('\n').map((l) => prefix + l);
    this.run.write(lines.join('\n') + '\n');
    const fileLines = masked.split('\n').map((l) => (step ? `${step} | ${l}` : l));
    this.logQueue = this.logQueue.then(() => appendFile(this.logFile, fileLines.join('\n') + '\n')).catch(() => undefined);
  }

  // ---- contexts --------------------------------------------------------------

  private state(): EvalState {
    return { status: () => this.status, workspace: this.workspace };
  }

  private github(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...this.run.github, job: this.spec.jobId, workspace: this.workspace, action_path: '', ...extra };
  }

  /** Contexts available before steps run (job env, runs-on, strategy...). */
  private jobContexts(): Contexts {
    return {
      github: this.github(),
      needs: this.spec.needs,
      strategy: this.spec.strategy,
      matrix: this.spec.matrix ?? {},
      vars: this.run.vars,
      secrets: this.spec.secrets,
      inputs: this.spec.inputs,
      env: { ...this.spec.workflowEnv },
      runner: runnerContext(this.run, this.temp),
      job: { status: this.status },
    };
  }

  private stepContexts(env: Record<string, string>, extra: Contexts = {}): Contexts {
    return {
      ...this.jobContexts(),
      env,
      steps: this.steps,
      job: { status: this.status },
      ...extra,
    };
  }

  private evalOrFail<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      if (error instanceof ExpressionFailure) this.run.expressionErrors.push(error.message);
      throw error;
    }
  }

  // ---- the job ---------------------------------------------------------------

  async execute(): Promise<JobOutcome> {
    const started = Date.now();
    await mkdir(this.dir, { recursive: true });
    await mkdir(this.temp, { recursive: true });
    await mkdir(path.dirname(this.logFile), { recursive: true });
    await mkdir(path.dirname(this.summaryFile), { recursive: true });
    const { def, wf } = this.spec;
    let message: string | undefined;
    try {
      const jobCtx = this.jobContexts();
      const runsOn = evalToken(def.runsOn, jobCtx, this.state(), wf.display);
      const refused = this.checkRunsOn(runsOn);
      if (refused) {
        this.log(undefined, `error: ${refused}`);
        return { result: 'failure', outputs: {}, durationMs: Date.now() - started, message: refused };
      }
      this.jobEnv = { ...this.spec.workflowEnv, ...evalStringMap(def.env, jobCtx, this.state(), wf.display) };
      const wfDefaults = ((evalToken(wf.defaults, jobCtx, this.state(), wf.display) ?? {}) as { run?: object }).run ?? {};
      const jobDefaults = ((evalToken(def.defaults, jobCtx, this.state(), wf.display) ?? {}) as { run?: object }).run ?? {};
      this.defaults = { ...wfDefaults, ...jobDefaults } as typeof this.defaults;
      const minutes = Number(evalToken(def.timeoutMinutes, jobCtx, this.state(), wf.display) ?? 360);
      const timer = setTimeout(() => {
        this.timedOut = true;
        this.log(undefined, `error: the job has exceeded the maximum execution time of ${minutes} minutes`);
        this.controller.abort();
      }, minutes * 60_000);
      try {
        await this.runSteps(def.steps, wf.display);
      } finally {
        clearTimeout(timer);
      }
      for (const post of this.posts.reverse()) {
        const ok = this.evalCondition(post.condition, this.stepContexts(this.envForContext({})), {
          file: wf.display,
        });
        if (!ok) continue;
        this.log(post.label, `▶ ${post.label}`);
        if (!(await post.run()) && this.status === 'success') this.status = 'failure';
      }
    } catch (error) {
      message = error instanceof ExpressionFailure ? error.message : (error as Error).message;
      this.log(undefined, `error: ${message}`);
      this.status = 'failure';
    }
    let outputs: Record<string, string> = {};
    try {
      outputs = this.jobOutputs();
    } catch (error) {
      message ??= (error as Error).message;
      this.log(undefined, `error: ${(error as Error).message}`);
      this.status = 'failure';
    }
    await this.logQueue;
    await rm(this.temp, { recursive: true, force: true }).catch(() => undefined);
    const result: Result = this.timedOut ? 'failure' : this.status;
    return { result, outputs, durationMs: Date.now() - started, message };
  }

  private checkRunsOn(value: unknown): string | undefined {
    return this.run.runsOnAny ? undefined : runsOnMismatch(value, this.run.labels, this.spec.key);
  }

  private jobOutputs(): Record<string, string> {
    const { def, wf } = this.spec;
    if (!def.outputs) return {};
    const ctx = this.stepContexts(this.envForContext({}));
    const values = this.evalOrFail(() => evalStringMap(def.outputs, ctx, this.state(), wf.display));
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) {
      if (this.masker.mask(v) !== v) {
        this.log(undefined, `warning: skip output '${k}' since it may contain a secret`);
        continue;
      }
      out[k] = v;
    }
    return out;
  }

  private evalCondition(condition: string, ctx: Contexts, where: Where): boolean {
    return this.evalOrFail(() => truthy(evaluate(condition, ctx, this.state(), where)));
  }

  private envForContext(stepEnv: Record<string, string>): Record<string, string> {
    return { ...this.jobEnv, ...this.addedEnv, ...stepEnv };
  }

  /** The environment of a step's process. */
  private processEnv(stepEnv: Record<string, string>, extra: Record<string, string>): Promise<Record<string, string>> {
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

  // ---- steps -----------------------------------------------------------------

  private async runSteps(steps: StepDef[], display: string): Promise<void> {
    for (const step of steps) {
      const env = this.envForContext({});
      const ctx = this.stepContexts(env);
      const label = this.stepLabel(step, ctx, display);
      if (this.controller.signal.aborted && this.status !== 'cancelled') this.status = 'cancelled';
      const run = this.evalCondition(step.if, ctx, step.where);
      if (!run) {
        this.steps[step.id] = { outcome: 'skipped', conclusion: 'skipped', outputs: {} };
        this.log(label, '(skipped)');
        continue;
      }
      const record = await this.runStep(step, label, display, {});
      this.steps[step.id] = record;
      if (record.conclusion === 'failure' && this.status === 'success') this.status = 'failure';
    }
  }

  private stepLabel(step: StepDef, ctx: Contexts, display: string): string {
    if (step.name) {
      try {
        return evalString(step.name, ctx, this.state(), display) ?? step.id;
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
  private async runStep(step: StepDef, label: string, display: string, scope: CompositeScope): Promise<StepRecord> {
    const started = Date.now();
    this.log(label, `▶ ${label}`);
    const contextExtra = scope.contexts ?? {};
    let stepEnv: Record<string, string> = {};
    let outputs: Record<string, string> = {};
    let ok = false;
    let continueOnError = false;
    try {
      const ctx0 = { ...this.stepContexts(this.envForContext(scope.env ?? {})), ...contextExtra };
      stepEnv = { ...(scope.env ?? {}), ...this.evalOrFail(() => evalStringMap(step.env, ctx0, this.state(), display)) };
      const ctx = { ...this.stepContexts(this.envForContext(stepEnv)), ...contextExtra };
      continueOnError = truthy(this.evalOrFail(() => evalToken(step.continueOnError, ctx, this.state(), display)));
      const minutes = Number(this.evalOrFail(() => evalToken(step.timeoutMinutes, ctx, this.state(), display)) ?? 0);
      const timeoutMs = minutes > 0 ? minutes * 60_000 : undefined;
      if (step.run) {
        const result = await this.runScript({ step, label, display, ctx, env: stepEnv, timeoutMs }, scope);
        ok = result.ok;
        outputs = result.outputs;
      } else if (step.uses) {
        const action = await resolveAction(step.uses, {
          workspace: this.workspace,
          actionsDir: this.run.actionsDir,
          where: step.where,
          fromAction: scope.actionPath,
        });
        const result = await this.runAction(action, { step, label, display, ctx, env: stepEnv, timeoutMs });
        ok = result.ok;
        outputs = result.outputs;
      } else {
        throw new Error(`${formatWhere(step.where)}: a step needs run: or uses:`);
      }
    } catch (error) {
      this.log(label, `error: ${this.masker.mask((error as Error).message)}`);
      ok = false;
    }
    const outcome: Result = ok ? 'success' : this.controller.signal.aborted ? 'cancelled' : 'failure';
    const conclusion: Result = !ok && continueOnError ? 'success' : outcome;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    this.log(
      label,
      `${ok ? '✓' : continueOnError ? '⚠' : '✗'} ${label} (${outcome}${conclusion !== outcome ? ', continue-on-error' : ''}, ${seconds}s)`,
    );
    return { outcome, conclusion, outputs };
  }

  /** Takes on what a process wrote to its file commands. */
  private async applyFileCommands(files: FileCommandFiles, label: string) {
    const r = await readFileCommands(files);
    for (const k of r.refused) this.log(label, `warning: ignoring GITHUB_ENV ${k}: the runner sets it`);
    Object.assign(this.addedEnv, r.env);
    this.addedPath.push(...r.path);
    if (r.summary.trim())
      await appendFile(this.summaryFile, this.masker.mask(r.summary.endsWith('\n') ? r.summary : `${r.summary}\n`));
    return { outputs: r.outputs, state: r.state };
  }

  /** Runs one process with workflow commands handled; returns its exit and file-command results. */
  private async exec(
    label: string,
    command: string,
    args: string[],
    opts: { cwd: string; env: Record<string, string>; timeoutMs?: number },
  ): Promise<{ ok: boolean; outputs: Record<string, string>; state: Record<string, string> }> {
    const files = await createFileCommandFiles(this.dir, ++this.counter);
    const env = await this.processEnv(opts.env, files);
    const commands = new WorkflowCommandReader({
      log: (line) => this.log(label, line),
      masker: this.masker,
      verbose: this.run.verbose,
      annotate: ({ level, ...rest }) => this.run.annotations.push({ level, job: this.spec.key, ...rest }),
    });
    const result = await execLines(command, args, {
      cwd: opts.cwd,
      env,
      timeoutMs: opts.timeoutMs,
      signal: this.controller.signal,
      onLine: (line) => commands.read(line),
    });
    let collected: { outputs: Record<string, string>; state: Record<string, string> };
    try {
      collected = await this.applyFileCommands(files, label);
    } catch (error) {
      this.log(label, `error: ${(error as Error).message}`);
      return { ok: false, outputs: {}, state: {} };
    }
    if (result.error) this.log(label, `error: ${result.error}`);
    if (result.timedOut) this.log(label, `error: the step has timed out`);
    else if (result.cancelled) this.log(label, 'the step was cancelled');
    else if (result.code !== 0) this.log(label, `error: process completed with exit code ${result.code}`);
    return {
      ok: result.code === 0 && !result.timedOut && !result.cancelled && !result.error,
      outputs: { ...commands.outputs, ...collected.outputs },
      state: { ...commands.state, ...collected.state },
    };
  }

  private async runScript({ step, label, display, ctx, env: stepEnv, timeoutMs }: StepRun, scope: CompositeScope) {
    const script = this.evalOrFail(() => evalString(step.run, ctx, this.state(), display)) ?? '';
    let shell = this.evalOrFail(() => evalString(step.shell, ctx, this.state(), display));
    if (!shell && scope.actionPath) throw new Error(`${formatWhere(step.where)}: a run step in a composite action needs shell:`);
    shell ||= this.defaults.shell;
    const wd =
      this.evalOrFail(() => evalString(step.workingDirectory, ctx, this.state(), display)) || this.defaults['working-directory'];
    const cwd = wd ? path.resolve(this.workspace, wd) : this.workspace;
    const { command, args, ext } = shellCommand(shell);
    const file = path.join(this.temp, `${randomUUID()}${ext}`);
    await writeFile(file, script);
    const argv = args.map((a) => a.replace('{0}', file));
    try {
      const r = await this.exec(label, command, argv, { cwd, env: { ...stepEnv, ...(scope.processEnv ?? {}) }, timeoutMs });
      return { ok: r.ok, outputs: r.outputs };
    } finally {
      await rm(file, { force: true });
    }
  }

  // ---- actions ---------------------------------------------------------------

  private actionInputs(action: ActionDef, step: StepDef, ctx: Contexts, display: string, label: string): Record<string, string> {
    const given = this.evalOrFail(() => evalStringMap(step.with, ctx, this.state(), display));
    const inputs: Record<string, string> = {};
    const declared = action.inputs;
    for (const [name, spec] of Object.entries(declared)) {
      const key = Object.keys(given).find((k) => k.toLowerCase() === name.toLowerCase());
      if (key !== undefined) inputs[name] = given[key] as string;
      else if (spec.default !== undefined) {
        inputs[name] = stringify(
          this.evalOrFail(() => interpolate(String(spec.default), ctx, this.state(), { file: action.metadataFile })),
        );
      } else if (spec.required) {
        this.log(label, `warning: input required and not supplied: ${name}`);
      }
    }
    for (const k of Object.keys(given)) {
      if (!Object.keys(declared).some((n) => n.toLowerCase() === k.toLowerCase())) {
        this.log(label, `warning: unexpected input '${k}', valid inputs are [${Object.keys(declared).join(', ')}]`);
        inputs[k] = given[k] as string;
      }
    }
    return inputs;
  }

  private async runAction(action: ActionDef, run: StepRun): Promise<{ ok: boolean; outputs: Record<string, string> }> {
    const { step, label, display, ctx, env: stepEnv, timeoutMs } = run;
    const inputs = this.actionInputs(action, step, ctx, display, label);
    const inputEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(inputs)) inputEnv[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v;
    const actionEnv = {
      ...stepEnv,
      GITHUB_ACTION: step.id,
      GITHUB_ACTION_PATH: action.dir,
      GITHUB_ACTION_REPOSITORY: action.repository ?? '',
    };

    if (action.using === 'composite') return this.runComposite(action, run, inputs, actionEnv);

    // A JavaScript action: pre, main, post; state flows from each phase to the next.
    const state: Record<string, string> = {};
    const runPhase = async (file: string, phaseLabel: string) => {
      const stateEnv = Object.fromEntries(Object.entries(state).map(([k, v]) => [`STATE_${k}`, v]));
      const r = await this.exec(phaseLabel, process.execPath, [path.join(action.dir, file)], {
        cwd: this.workspace,
        env: { ...actionEnv, ...inputEnv, ...stateEnv },
        timeoutMs,
      });
      Object.assign(state, r.state);
      return r;
    };
    if (action.pre) {
      const preCond = ifCondition(action.preIf ?? 'always()');
      if (this.evalCondition(preCond, ctx, { file: action.metadataFile })) {
        const r = await runPhase(action.pre, `Pre ${label}`);
        if (!r.ok) return { ok: false, outputs: {} };
      }
    }
    const main = await runPhase(action.main as string, label);
    if (action.post) {
      const post = action.post;
      this.posts.push({
        label: `Post ${label}`,
        condition: ifCondition(action.postIf ?? 'always()'),
        run: async () => (await runPhase(post, `Post ${label}`)).ok,
      });
    }
    return { ok: main.ok, outputs: main.outputs };
  }

  private async runComposite(
    action: ActionDef,
    { label, ctx: callerCtx, env: stepEnv }: StepRun,
    inputs: Record<string, string>,
    actionEnv: Record<string, string>,
  ): Promise<{ ok: boolean; outputs: Record<string, string> }> {
    const steps = action.steps ?? [];
    const record: Record<string, StepRecord> = {};
    let status: 'success' | 'failure' = 'success';
    const display = action.metadataFile;
    for (const s of steps) {
      const ctx: Contexts = {
        ...callerCtx,
        env: this.envForContext(stepEnv),
        inputs,
        steps: record,
        github: { ...(callerCtx['github'] as object), action_path: action.dir },
      };
      const state: EvalState = { status: () => status, workspace: this.workspace };
      const cond = this.evalOrFail(() => truthy(evaluate(s.if, ctx, state, s.where)));
      let stepLabel = `${label} › ${s.id.startsWith('__') ? (s.uses ?? 'run') : s.id}`;
      if (s.name) stepLabel = `${label} › ${String(this.evalOrFail(() => evalString(s.name, ctx, state, display)))}`;
      if (!cond) {
        record[s.id] = { outcome: 'skipped', conclusion: 'skipped', outputs: {} };
        continue;
      }
      const saved = this.status;
      this.status = status;
      const r = await this.runStep(s, stepLabel, display, {
        contexts: { inputs, steps: record, github: ctx['github'] },
        env: stepEnv,
        processEnv: actionEnv,
        actionPath: action.dir,
      });
      this.status = saved;
      record[s.id] = r;
      if (r.conclusion === 'failure') status = 'failure';
    }
    const outCtx: Contexts = { ...callerCtx, inputs, steps: record, env: this.envForContext(stepEnv) };
    const outputs: Record<string, string> = {};
    for (const [name, spec] of Object.entries(action.outputs)) {
      if (spec.value === undefined) continue;
      outputs[name] = stringify(
        this.evalOrFail(() =>
          interpolate(String(spec.value), outCtx, { status: () => status, workspace: this.workspace }, { file: display }),
        ),
      );
    }
    return { ok: status === 'success', outputs };
  }
}

/** One step as it runs: its definition, its label, the file it comes from, its contexts, env and time limit. */
interface StepRun {
  step: StepDef;
  label: string;
  display: string;
  ctx: Contexts;
  env: Record<string, string>;
  timeoutMs?: number;
}

interface CompositeScope {
  contexts?: Contexts;
  env?: Record<string, string>;
  processEnv?: Record<string, string>;
  actionPath?: string;
}
