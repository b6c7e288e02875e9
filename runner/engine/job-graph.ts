// The jobs of one workflow, run as a graph: each job waits for its needs, evaluates its if: and its
// strategy, fans out over its matrix (fail-fast, max-parallel), waits for its concurrency group,
// then runs on a runner slot or calls a reusable workflow, whose jobs form a graph of their own.
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/index';
import { ConcurrencyGroups, Semaphore, concurrencyGroup } from './concurrency.js';
import { recordingExpressionErrors, type Result, type RunContext } from './context.js';
import { evaluate, stringify, truthy, type Contexts, type EvalState } from './expr.js';
import { runJob } from './job.js';
import type { JobOutcome } from './job-spec.js';
import { combinationKey, expandMatrix } from './matrix.js';
import { prepareCall } from './reusable-workflow.js';
import { JobSummaries, type JobSummary } from './run-summary.js';
import { evalToken, tokenEntries, whereOf, type JobDef, type WorkflowDef } from './workflow.js';

/** What a workflow runs with: its caller's name prefix and sort key, inputs, secrets, cancellation. */
interface CallScope {
  prefix: string;
  /** Sort key of the calling job, for the summary table. */
  order: number[];
  inputs: Record<string, unknown>;
  secrets: Record<string, string>;
  signal: AbortSignal;
}

type JobResults = Record<string, { result: Result; outputs: Record<string, string> }>;

export interface WorkflowResult {
  result: Result;
  jobs: JobResults;
  outputs: Record<string, string>;
}

/** One job of the graph, once its needs have finished. */
interface JobNode {
  wf: WorkflowDef;
  job: JobDef;
  scope: CallScope;
  workflowEnv: Record<string, string>;
  /** The results of the jobs finished so far (its needs among them). */
  results: JobResults;
  /** Its index in the workflow, for the summary's order. */
  jobIndex: number;
}

/** A job (one matrix combination) that calls a reusable workflow. */
interface WorkflowCaller {
  wf: WorkflowDef;
  job: JobDef;
  /** Its display name. */
  key: string;
  /** Its contexts (needs, matrix, strategy, secrets...). */
  ctx: Contexts;
  scope: CallScope;
}

export class JobGraph {
  readonly summaries = new JobSummaries();
  private readonly sem: Semaphore;
  private readonly groups = new ConcurrencyGroups();

  constructor(
    private readonly ctx: RunContext,
    maxParallel: number,
    private readonly onlyJob?: string,
  ) {
    this.sem = new Semaphore(maxParallel);
  }

  private state(status: EvalState['status']): EvalState {
    return { status, workspace: this.ctx.repoRoot };
  }

  private eval<T>(fn: () => T): T {
    return recordingExpressionErrors(this.ctx, fn);
  }

  /** Evaluates a token as the job-level keys are (status success), in the workflow's file. */
  private evalJobToken(wf: WorkflowDef, token: TemplateToken | undefined, ctx: Contexts): unknown {
    return this.eval(() =>
      evalToken(
        token,
        ctx,
        this.state(() => 'success'),
        wf.display,
      ),
    );
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
        Object.entries((this.evalJobToken(wf, wf.env, envCtx) ?? {}) as object).map(([k, v]) => [k, stringify(v)]),
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
    const results: JobResults = {};
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
        results[job.id] = await this.runNode({ wf, job, scope, workflowEnv, results, jobIndex: wf.jobs.indexOf(job) });
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

  private async runNode({ wf, job, scope, workflowEnv, results, jobIndex }: JobNode): Promise<{
    result: Result;
    outputs: Record<string, string>;
  }> {
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
      this.summaries.add({ key, result: 'skipped', durationMs: 0, message }, [...scope.order, jobIndex]);
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
      const message = (error as Error).message;
      this.summaries.add({ key, result: 'failure', durationMs: 0, message }, [...scope.order, jobIndex]);
      this.ctx.write(`[${key}] error: ${message}\n`);
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
    const slots: JobSummary[] = combos.map((m) => ({
      key: combinationKey(scope.prefix, job.id, m),
      result: 'skipped',
      durationMs: 0,
    }));
    slots.forEach((slot, i) => this.summaries.add(slot, [...scope.order, jobIndex, i]));
    await Promise.all(
      combos.map((matrix, index) =>
        local.use(async () => {
          const entry = slots[index] as JobSummary;
          const comboKey = entry.key;
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
              ? this.callWorkflow({
                  wf,
                  job,
                  key: comboKey,
                  ctx: comboCtx,
                  scope: { ...scope, order: [...scope.order, jobIndex, index] },
                })
              : this.sem.use(() =>
                  runJob(this.ctx, {
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
                  }),
                ),
          );
          let tolerated = false;
          try {
            tolerated = truthy(this.evalJobToken(wf, job.continueOnError, comboCtx));
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
      value = this.evalJobToken(wf, job.concurrency, ctx);
    } catch {
      return fn();
    }
    const group = concurrencyGroup(value);
    return group ? this.groups.run(group, fn) : fn();
  }

  /** A job that calls a reusable workflow: `scope` is the call's (the caller's inputs, secrets and sort key). */
  private async callWorkflow({ wf, job, key, ctx, scope }: WorkflowCaller): Promise<JobOutcome> {
    const started = Date.now();
    try {
      const call = await prepareCall({
        job,
        key,
        repoRoot: this.ctx.repoRoot,
        evaluate: (token) => this.evalJobToken(wf, token, ctx),
        callerSecrets: scope.secrets,
      });
      this.ctx.write(`[${key}] calling ${call.workflow.display}\n`);
      const r = await this.execute(call.workflow, {
        prefix: `${key} / `,
        order: scope.order,
        inputs: call.inputs,
        secrets: call.secrets,
        signal: scope.signal,
      });
      return { result: r.result, outputs: r.outputs, durationMs: Date.now() - started };
    } catch (error) {
      this.ctx.write(`[${key}] error: ${(error as Error).message}\n`);
      return { result: 'failure', outputs: {}, durationMs: Date.now() - started, message: (error as Error).message };
    }
  }
}
