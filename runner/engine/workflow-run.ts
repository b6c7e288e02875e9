// One `cdl run`: picks the event, checks the workflow before anything runs, starts the results
// server, runs the job graph and writes the run directory (event.json, result.json, summary.txt).
import { cpus } from 'node:os';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startResultsServer } from '../results-server/index.js';
import { cacheScopesFor } from '../results-server/token.js';
import { UsageError } from '../../src/util/errors.js';
import { Masker } from './commands.js';
import type { Result, RunContext } from './context.js';
import { buildEvent, gitInfo } from './event.js';
import { resolveInputs } from './inputs.js';
import { JobGraph, type WorkflowResult } from './job-graph.js';
import { machineLabels } from './labels.js';
import { preflight } from './preflight.js';
import { formatDuration, summaryTable, type JobSummary } from './run-summary.js';
import { WorkflowError, readWorkflow, type WorkflowDef } from './workflow.js';

const SUPPORTED_EVENTS = ['push', 'pull_request', 'release', 'workflow_dispatch', 'schedule', 'workflow_call'];

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
  secrets['GITHUB_TOKEN'] ??= await server.githubToken({ runId });
  for (const v of Object.values(secrets)) masker.add(v);
  const serverEnv = await server.env({ runId });
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
  const graph = new JobGraph(ctx, Math.max(1, opts.maxParallel ?? Math.max(2, cpus().length)), opts.job);
  let result: WorkflowResult;
  try {
    result = await graph.execute(wf, { prefix: '', order: [], inputs, secrets, signal: controller.signal });
  } finally {
    process.off('SIGINT', onSigint);
    server.endRun(runId);
    await server.close();
  }
  await server.copyRunArtifacts(runId, path.join(runDir, 'artifacts'));
  const exitCode = ctx.expressionErrors.length ? 2 : result.result === 'success' ? 0 : 1;
  const table = summaryTable(graph.summaries.sorted());
  const annotations = ctx.annotations.map(
    (a) =>
      `${a.level}: [${a.job}] ${a.file ? `${a.file}${a.line ? `:${a.line}` : ''}${a.col ? `:${a.col}` : ''}: ` : ''}${a.message}`,
  );
  write(
    `\n${table}\n${annotations.length ? `\n${annotations.join('\n')}\n` : ''}\nrun ${runId}: ${result.result} in ${formatDuration(Date.now() - started)}\n`,
  );
  const summary: RunSummary = {
    runId,
    runDir,
    result: result.result,
    exitCode,
    jobs: graph.summaries.sorted(),
    outputs: result.outputs,
  };
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
