// One `cdl run`: validates the workflow, starts the results server, runs the job graph (needs,
// matrix, reusable workflows), writes the run directory and prints the summary.
import { cpus } from 'node:os';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cacheScopesFor, startResultsServer } from '../results-server/index.js';
import { resolveInputs } from './inputs.js';
import { machineLabels } from './labels.js';
import { formatDuration, summaryTable, type JobSummary } from './run-summary.js';

export type { JobSummary } from './run-summary.js';
import { UsageError } from '../../src/util/errors.js';
import { Masker } from './commands.js';
import type { Result, RunContext } from './context.js';
import { ExpressionFailure, evaluate, formatWhere, stringify, truthy, type Contexts, type EvalState } from './expr.js';
import { buildEvent, gitInfo } from './event.js';
import { JobRunner, type JobOutcome } from './job.js';
import { expandMatrix } from './matrix.js';
import { localUsesPath, resolveAction } from './actions.js';
import { isSelfWorkflow, selfReference } from './self.js';
import { WorkflowError, evalToken, readWorkflow, tokenEntries, whereOf, type JobDef, type WorkflowDef } from './workflow.js';

export const SUPPORTED_EVENTS = ['push', 'pull_request', 'release', 'workflow_dispatch', 'schedule', 'workflow_call'];

export interface RunOptions {
  workflow: string;
  repoRoot: string;
  event?: string;
  ref?: string;
  inputs?: Record<string, string>;
  payloadFile?: string;
  secrets?: Record<string, string>;
  vars?: Record<string, string>;
  job?: string;
  runsOnAny?: boolean;
  actionsDir?: string;
  maxParallel?: number;
  verbose?: boolean;
  /** Where runs, artifacts and caches live (default <repo>/.cdl). */
  stateDir?: string;
  write?: (text: string) => void;
}

export interface RunSummary {
  runId: string;
  runDir: string;
  result: Result;
  exitCode: number;
  jobs: JobSummary[];
  outputs: Record<string, string>;
}

/** Bounds how many jobs run at once. */
class Semaphore {
  private queue: (() => void)[] = [];
  constructor(private free: number) {}
  async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.queue.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.free++;
    }
  }
}

function jobKey(prefix: string, id: string, matrix: Record<string, unknown> | null): string {
  const base = `${prefix}${id}`;
  if (!matrix || Object.keys(matrix).length === 0) return base;
  return `${base} (${Object.values(matrix)
    .map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v)))
    .join(', ')})`;
}

interface CallScope {
  prefix: string;
  /** Sort key of the calling job, for the summary table. */
  order: number[];
  inputs: Record<string, unknown>;
  secrets: Record<string, string>;
  signal: AbortSignal;
}

interface WorkflowResult {
  result: Result;
  jobs: Record<string, { result: Result; outputs: Record<string, string> }>;
  outputs: Record<string, string>;
}

export class WorkflowRun {
  private readonly summaries: JobSummary[] = [];
  private readonly sem: Semaphore;
  private readonly groups = new Map<string, Promise<void>>();

  constructor(
    private readonly ctx: RunContext,
    maxParallel: number,
    private readonly onlyJob?: string,
  ) {
    this.sem = new Semaphore(maxParallel);
  }

  get jobs(): JobSummary[] {
    const cmp = (a: number[], b: number[]) => {
      for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
      return a.length - b.length;
    };
    return [...this.summaries].sort((a, b) => cmp(this.order.get(a) ?? [], this.order.get(b) ?? [])).map((j) => ({ ...j }));
  }

  private readonly order = new Map<JobSummary, number[]>();

  private state(status: EvalState['status']): EvalState {
    return { status, workspace: this.ctx.repoRoot };
  }

  private eval<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      if (error instanceof ExpressionFailure) this.ctx.expressionErrors.push(error.message);
      throw error;
    }
  }

  async execute(wf: WorkflowDef, scope: CallScope): Promise<WorkflowResult> {
    const envCtx: Contexts = {
      github: this.ctx.github,
      inputs: scope.inputs,
      vars: this.ctx.vars,
      secrets: scope.secrets,
      env: {},
    };
    let workflowEnv: Record<string, string> = {};
    try {
      workflowEnv = Object.fromEntries(
        Object.entries(
          (this.eval(() =>
            evalToken(
              wf.env,
              envCtx,
              this.state(() => 'success'),
              wf.display,
            ),
          ) ?? {}) as object,
        ).map(([k, v]) => [k, stringify(v)]),
      );
    } catch (error) {
      this.ctx.write(`error: ${(error as Error).message}\n`);
      return { result: 'failure', jobs: {}, outputs: {} };
    }
    let selected = wf.jobs;
    if (this.onlyJob && scope.prefix === '') {
      const wanted = new Set<string>();
      const add = (id: string) => {
        if (wanted.has(id)) return;
        wanted.add(id);
        for (const n of wf.jobs.find((j) => j.id === id)?.needs ?? []) add(n);
      };
      add(this.onlyJob);
      selected = wf.jobs.filter((j) => wanted.has(j.id));
    }
    const results: WorkflowResult['jobs'] = {};
    const promises = new Map<string, Promise<void>>();
    const start = (job: JobDef): Promise<void> => {
      let p = promises.get(job.id);
      if (p) return p;
      p = (async () => {
        await Promise.all(
          job.needs.map((n) => {
            const dep = selected.find((j) => j.id === n);
            return dep ? start(dep) : Promise.resolve();
          }),
        );
        results[job.id] = await this.runJobNode(wf, job, scope, workflowEnv, results, wf.jobs.indexOf(job));
      })();
      promises.set(job.id, p);
      return p;
    };
    await Promise.all(selected.map(start));
    const values = Object.values(results).map((r) => r.result);
    const result: Result = values.includes('failure') ? 'failure' : values.includes('cancelled') ? 'cancelled' : 'success';
    let outputs: Record<string, string> = {};
    if (wf.call?.outputs) {
      const ctx: Contexts = { github: this.ctx.github, inputs: scope.inputs, vars: this.ctx.vars, jobs: results };
      try {
        for (const [name, token] of tokenEntries(wf.call.outputs)) {
          const spec = this.eval(() =>
            evalToken(
              token,
              ctx,
              this.state(() => result),
              wf.display,
            ),
          ) as { value?: unknown };
          outputs[name] = stringify(spec?.value);
        }
      } catch (error) {
        this.ctx.write(`error: ${(error as Error).message}\n`);
        outputs = {};
      }
    }
    return { result, jobs: results, outputs };
  }

  private async runJobNode(
    wf: WorkflowDef,
    job: JobDef,
    scope: CallScope,
    workflowEnv: Record<string, string>,
    results: WorkflowResult['jobs'],
    jobIndex: number,
  ): Promise<{ result: Result; outputs: Record<string, string> }> {
    const key = `${scope.prefix}${job.id}`;
    const needs = Object.fromEntries(job.needs.map((n) => [n, results[n] ?? { result: 'skipped', outputs: {} }]));
    const needResults = Object.values(needs).map((n) => n.result);
    const status: ReturnType<EvalState['status']> =
      this.ctx.signal.aborted || scope.signal.aborted
        ? 'cancelled'
        : needResults.includes('failure')
          ? 'failure'
          : needResults.every((r) => r === 'success')
            ? 'success'
            : 'skipped';
    const baseCtx: Contexts = { github: this.ctx.github, needs, vars: this.ctx.vars, inputs: scope.inputs };
    const skip = (message?: string) => {
      const entry: JobSummary = { key, result: 'skipped', durationMs: 0, message };
      this.summaries.push(entry);
      this.order.set(entry, [...scope.order, jobIndex]);
      this.ctx.write(`[${key}] skipped${message ? `: ${message}` : ''}\n`);
      return { result: 'skipped' as Result, outputs: {} };
    };
    let run: boolean;
    let strategy: Record<string, unknown>;
    let combos: (Record<string, unknown> | null)[];
    try {
      run = truthy(
        this.eval(() =>
          evaluate(
            job.if,
            baseCtx,
            this.state(() => status),
            job.where,
          ),
        ),
      );
      if (!run) return skip();
      strategy = (this.eval(() =>
        evalToken(
          job.strategy,
          baseCtx,
          this.state(() => status),
          wf.display,
        ),
      ) ?? {}) as Record<string, unknown>;
      const matrixToken = tokenEntries(job.strategy).find(([name]) => name === 'matrix')?.[1];
      combos =
        matrixToken || strategy['matrix'] !== undefined
          ? expandMatrix(strategy['matrix'], whereOf(wf.display, matrixToken ?? job.strategy))
          : [null];
    } catch (error) {
      const entry: JobSummary = { key, result: 'failure', durationMs: 0, message: (error as Error).message };
      this.summaries.push(entry);
      this.order.set(entry, [...scope.order, jobIndex]);
      this.ctx.write(`[${key}] error: ${(error as Error).message}\n`);
      return { result: 'failure', outputs: {} };
    }
    if (combos.length === 0) return skip('the matrix is empty');
    const failFast = strategy['fail-fast'] === undefined ? true : truthy(strategy['fail-fast']);
    const maxParallel = Number(strategy['max-parallel'] ?? combos.length) || combos.length;
    const local = new Semaphore(Math.max(1, maxParallel));
    const abort = new AbortController();
    const onOuterAbort = () => abort.abort();
    scope.signal.addEventListener('abort', onOuterAbort, { once: true });
    const outcomes: { result: Result; outputs: Record<string, string>; tolerated: boolean }[] = [];
    const outputs: Record<string, string> = {};
    // Summary rows in definition order, filled in as combinations finish.
    const slots: JobSummary[] = combos.map((m) => ({ key: jobKey(scope.prefix, job.id, m), result: 'skipped', durationMs: 0 }));
    this.summaries.push(...slots);
    slots.forEach((slot, i) => this.order.set(slot, [...scope.order, jobIndex, i]));
    await Promise.all(
      combos.map((matrix, index) =>
        local.use(async () => {
          const comboKey = jobKey(scope.prefix, job.id, matrix);
          const entry = slots[index] as JobSummary;
          entry.key = comboKey;
          if (abort.signal.aborted) {
            Object.assign(entry, { result: 'cancelled', durationMs: 0, message: 'fail-fast' });
            outcomes.push({ result: 'cancelled', outputs: {}, tolerated: false });
            return;
          }
          const strategyCtx = {
            'fail-fast': failFast,
            'job-index': index,
            'job-total': combos.length,
            'max-parallel': maxParallel,
          };
          const comboCtx = { ...baseCtx, matrix: matrix ?? {}, strategy: strategyCtx, secrets: scope.secrets };
          // A job that calls a workflow occupies no runner (as on GitHub): holding a slot while its
          // jobs wait for one would deadlock nested calls.
          const outcome = await this.withConcurrency(wf, job, comboCtx, () =>
            job.uses
              ? this.runReusable(wf, job, comboKey, comboCtx, { ...scope, order: [...scope.order, jobIndex, index] })
              : this.sem.use(() =>
                  new JobRunner(this.ctx, {
                    key: comboKey,
                    jobId: job.id,
                    def: job,
                    wf,
                    matrix,
                    strategy: strategyCtx,
                    needs,
                    inputs: scope.inputs,
                    secrets: scope.secrets,
                    workflowEnv,
                    signal: abort.signal,
                  }).execute(),
                ),
          );
          let tolerated = false;
          try {
            tolerated = truthy(
              this.eval(() =>
                evalToken(
                  job.continueOnError,
                  comboCtx,
                  this.state(() => 'success'),
                  wf.display,
                ),
              ),
            );
          } catch {
            tolerated = false;
          }
          Object.assign(entry, { result: outcome.result, durationMs: outcome.durationMs, message: outcome.message });
          outcomes.push({ result: outcome.result, outputs: outcome.outputs, tolerated });
          for (const [k, v] of Object.entries(outcome.outputs)) if (v !== '') outputs[k] = v;
          if (outcome.result === 'failure' && !tolerated && failFast) abort.abort();
        }),
      ),
    );
    scope.signal.removeEventListener('abort', onOuterAbort);
    const failed = outcomes.some((o) => o.result === 'failure' && !o.tolerated);
    const cancelled = outcomes.some((o) => o.result === 'cancelled');
    return { result: failed ? 'failure' : cancelled ? 'cancelled' : 'success', outputs };
  }

  private async withConcurrency<T>(wf: WorkflowDef, job: JobDef, ctx: Contexts, fn: () => Promise<T>): Promise<T> {
    if (!job.concurrency) return fn();
    let value: unknown;
    try {
      value = this.eval(() =>
        evalToken(
          job.concurrency,
          ctx,
          this.state(() => 'success'),
          wf.display,
        ),
      );
    } catch {
      return fn();
    }
    const group = typeof value === 'object' && value ? stringify((value as { group?: unknown }).group) : stringify(value);
    if (!group) return fn();
    const previous = this.groups.get(group) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    this.groups.set(
      group,
      previous.then(() => mine),
    );
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private async runReusable(wf: WorkflowDef, job: JobDef, key: string, ctx: Contexts, scope: CallScope): Promise<JobOutcome> {
    const started = Date.now();
    try {
      const inner = await readWorkflow(reusableWorkflowPath(job, this.ctx.repoRoot), this.ctx.repoRoot);
      if (!inner.call) throw new WorkflowError(`${inner.display}: this workflow has no on.workflow_call and cannot be called`);
      const given = (this.eval(() =>
        evalToken(
          job.with,
          ctx,
          this.state(() => 'success'),
          wf.display,
        ),
      ) ?? {}) as Record<string, unknown>;
      let inputs: Record<string, unknown>;
      try {
        inputs = resolveInputs(inner.call.inputs, given, `${job.where.file}:${job.where.line ?? 1}:${job.where.column ?? 1}`);
      } catch (error) {
        throw new WorkflowError((error as Error).message);
      }
      let secrets: Record<string, string> = {};
      if (job.secrets === 'inherit') secrets = { ...scope.secrets };
      else if (job.secrets) {
        const values = (this.eval(() =>
          evalToken(
            job.secrets as never,
            ctx,
            this.state(() => 'success'),
            wf.display,
          ),
        ) ?? {}) as Record<string, unknown>;
        secrets = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, stringify(v)]));
      }
      if (scope.secrets['GITHUB_TOKEN']) secrets['GITHUB_TOKEN'] = scope.secrets['GITHUB_TOKEN'];
      for (const [name, def] of Object.entries(inner.call.secrets)) {
        if (def?.required && !secrets[name])
          throw new WorkflowError(`${inner.display}: secret ${name} is required but not passed by ${key}`);
      }
      this.ctx.write(`[${key}] calling ${inner.display}\n`);
      const r = await this.execute(inner, { prefix: `${key} / `, order: scope.order, inputs, secrets, signal: scope.signal });
      return { result: r.result, outputs: r.outputs, durationMs: Date.now() - started };
    } catch (error) {
      this.ctx.write(`[${key}] error: ${(error as Error).message}\n`);
      return { result: 'failure', outputs: {}, durationMs: Date.now() - started, message: (error as Error).message };
    }
  }
}

/** Checks what can be checked before anything runs: actions exist, called workflows parse. */
export async function preflight(
  wf: WorkflowDef,
  repoRoot: string,
  actionsDir: string | undefined,
  seen = new Set<string>(),
): Promise<string[]> {
  if (seen.has(wf.file)) return [];
  seen.add(wf.file);
  const problems: string[] = [];
  for (const job of wf.jobs) {
    if (job.uses) {
      if (!job.uses.startsWith('./') && !isSelfWorkflow(job.uses)) {
        problems.push(
          `${job.where.file}:${job.where.line}:${job.where.column}: ${job.uses}: only local reusable workflows (./.github/workflows/x.yml) and cdl's own run offline`,
        );
        continue;
      }
      let file: string;
      try {
        file = reusableWorkflowPath(job, repoRoot);
      } catch (error) {
        problems.push((error as Error).message);
        continue;
      }
      try {
        const inner = await readWorkflow(file, repoRoot);
        problems.push(...(await preflight(inner, repoRoot, actionsDir, seen)));
      } catch (error) {
        problems.push(`${job.where.file}:${job.where.line}:${job.where.column}: in ${job.uses}: ${(error as Error).message}`);
      }
    }
    for (const step of job.steps) {
      if (!step.uses || step.uses.includes('${{')) continue;
      try {
        const action = await resolveAction(step.uses, { workspace: repoRoot, actionsDir, where: step.where });
        for (const inner of action.steps ?? []) {
          if (!inner.uses) continue;
          await resolveAction(inner.uses, { workspace: repoRoot, actionsDir, where: inner.where }).catch((e: Error) =>
            problems.push(e.message),
          );
        }
      } catch (error) {
        problems.push((error as Error).message);
      }
    }
  }
  return problems;
}

/** A local reusable workflow, as GitHub allows it: ./.github/workflows/<file>.yml inside the repository. */
function reusableWorkflowPath(job: JobDef, repoRoot: string): string {
  const uses = job.uses as string;
  const self = selfReference(uses, job.where);
  if (self?.kind === 'workflow') return self.path;
  const file = localUsesPath(uses, repoRoot, job.where, 'reusable workflow');
  if (path.dirname(file) !== path.join(path.resolve(repoRoot), '.github', 'workflows') || !/\.ya?ml$/.test(file)) {
    throw new WorkflowError(
      `${formatWhere(job.where)}: reusable workflow ${uses}: expected ./.github/workflows/<file>.yml (GitHub calls workflows only from there)`,
    );
  }
  return file;
}

async function nextRunId(runsDir: string): Promise<string> {
  await mkdir(runsDir, { recursive: true });
  const ids = (await readdir(runsDir)).filter((d) => /^\d+$/.test(d)).map(Number);
  for (let id = (ids.length ? Math.max(...ids) : 0) + 1; ; id++) {
    try {
      await mkdir(path.join(runsDir, String(id)));
      return String(id);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

function pickEvent(wf: WorkflowDef, wanted: string | undefined): string {
  const events = Object.keys(wf.events ?? {});
  if (wanted) {
    if (!SUPPORTED_EVENTS.includes(wanted)) {
      throw new UsageError(`--event ${wanted}: cdl run supports ${SUPPORTED_EVENTS.join(', ')}`);
    }
    if (!events.includes(wanted)) {
      throw new UsageError(`${wf.display} does not run on ${wanted} (it runs on: ${events.join(', ') || 'nothing'})`);
    }
    return wanted;
  }
  const first = SUPPORTED_EVENTS.find((e) => events.includes(e));
  if (!first) throw new UsageError(`${wf.display} runs on ${events.join(', ')}; cdl run supports ${SUPPORTED_EVENTS.join(', ')}`);
  return first;
}

/** Runs a workflow; never throws for a failing job, only for input it cannot run at all. */
export async function runWorkflow(opts: RunOptions): Promise<RunSummary> {
  const repoRoot = path.resolve(opts.repoRoot);
  const write = opts.write ?? ((s: string) => process.stdout.write(s));
  const wf = await readWorkflow(path.resolve(repoRoot, opts.workflow), repoRoot);
  const eventName = pickEvent(wf, opts.event);
  if (opts.job && !wf.jobs.some((j) => j.id === opts.job)) {
    throw new UsageError(`--job ${opts.job}: ${wf.display} has no such job (jobs: ${wf.jobs.map((j) => j.id).join(', ')})`);
  }
  const inputDefs =
    eventName === 'workflow_dispatch' ? wf.dispatchInputs : eventName === 'workflow_call' ? (wf.call?.inputs ?? {}) : {};
  if (!['workflow_dispatch', 'workflow_call'].includes(eventName) && Object.keys(opts.inputs ?? {}).length) {
    throw new UsageError(`--input only applies to workflow_dispatch and workflow_call (the event is ${eventName})`);
  }
  const inputs = resolveInputs(inputDefs, opts.inputs ?? {}, `${wf.display}: on.${eventName}`, eventName === 'workflow_dispatch');
  const problems = await preflight(wf, repoRoot, opts.actionsDir);
  if (problems.length) throw new WorkflowError(problems.join('\n'));

  const stateDir = path.resolve(opts.stateDir ?? path.join(repoRoot, '.cdl'));
  const runId = await nextRunId(path.join(stateDir, 'runs'));
  const runDir = path.join(stateDir, 'runs', runId);
  const info = gitInfo(repoRoot);
  const schedule = Array.isArray(wf.events['schedule'])
    ? String((wf.events['schedule'] as { cron?: string }[])[0]?.cron ?? '')
    : undefined;
  const { payload, github } = await buildEvent(info, {
    event: eventName,
    ref: opts.ref,
    inputs,
    payloadFile: opts.payloadFile,
    schedule,
  });
  const eventPath = path.join(runDir, 'event.json');
  await writeFile(eventPath, JSON.stringify(payload, null, 2) + '\n');

  const server = await startResultsServer({
    root: path.join(stateDir, 'results'),
    runId,
    repository: String(github['repository']),
    // Caches follow GitHub's rule: this ref's own, then the base branch's, then the default branch's.
    cacheScopes: cacheScopesFor(String(github['ref']), {
      baseRef: github['base_ref'] ? String(github['base_ref']) : undefined,
      defaultBranch: info.defaultBranch,
    }),
  });
  const masker = new Masker();
  const secrets = { ...(opts.secrets ?? {}) };
  // The run's GITHUB_TOKEN works against the results server's REST routes, for this run only.
  secrets['GITHUB_TOKEN'] ??= server.githubToken({ runId });
  for (const v of Object.values(secrets)) masker.add(v);
  const serverEnv = server.env({ runId });
  Object.assign(github, {
    workflow: wf.name,
    workflow_ref: `${String(github['repository'])}/${wf.display}@${String(github['ref'])}`,
    run_id: runId,
    run_number: runId,
    run_attempt: '1',
    server_url: serverEnv['GITHUB_SERVER_URL'],
    api_url: serverEnv['GITHUB_API_URL'],
    graphql_url: `${serverEnv['GITHUB_API_URL']}/graphql`,
    token: secrets['GITHUB_TOKEN'],
    workspace: repoRoot,
    action: '',
  });
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  const ctx: RunContext = {
    repoRoot,
    runDir,
    runId,
    runAttempt: '1',
    server,
    masker,
    github,
    eventPath,
    vars: opts.vars ?? {},
    labels: machineLabels(),
    runsOnAny: opts.runsOnAny ?? false,
    actionsDir: opts.actionsDir ? path.resolve(opts.actionsDir) : undefined,
    verbose: opts.verbose ?? false,
    write: (s) => write(masker.mask(s)),
    annotations: [],
    expressionErrors: [],
    signal: controller.signal,
  };
  const started = Date.now();
  write(
    `cdl run ${runId}: ${wf.display} (${eventName} ${String(github['ref'])} ${String(github['sha']).slice(0, 7)}), run directory ${path.relative(process.cwd(), runDir) || runDir}\n`,
  );
  const runner = new WorkflowRun(ctx, Math.max(1, opts.maxParallel ?? Math.max(2, cpus().length)), opts.job);
  let result: WorkflowResult;
  try {
    result = await runner.execute(wf, { prefix: '', order: [], inputs, secrets, signal: controller.signal });
  } finally {
    process.off('SIGINT', onSigint);
    server.endRun(runId);
    await server.close();
  }
  await server.copyRunArtifacts(runId, path.join(runDir, 'artifacts'));
  const exitCode = ctx.expressionErrors.length ? 2 : result.result === 'success' ? 0 : 1;
  const table = summaryTable(runner.jobs);
  const annotations = ctx.annotations.map(
    (a) =>
      `${a.level}: [${a.job}] ${a.file ? `${a.file}${a.line ? `:${a.line}` : ''}${a.col ? `:${a.col}` : ''}: ` : ''}${a.message}`,
  );
  write(
    `\n${table}\n${annotations.length ? `\n${annotations.join('\n')}\n` : ''}\nrun ${runId}: ${result.result} in ${formatDuration(Date.now() - started)}\n`,
  );
  const summary: RunSummary = { runId, runDir, result: result.result, exitCode, jobs: runner.jobs, outputs: result.outputs };
  await writeFile(
    path.join(runDir, 'result.json'),
    JSON.stringify(
      {
        ...summary,
        workflow: wf.display,
        event: eventName,
        annotations: ctx.annotations,
        expressionErrors: ctx.expressionErrors,
      },
      null,
      2,
    ) + '\n',
  );
  await writeFile(path.join(runDir, 'summary.txt'), masker.mask(table) + '\n');
  return summary;
}
