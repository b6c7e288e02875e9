// The runner's side of a job: its `runner` context and the environment each step's process gets
// (GITHUB_*, RUNNER_*, the results server's ACTIONS_* variables), as GitHub's runner sets them.
import path from 'node:path';
import type { RunContext } from './context.js';
import type { WorkflowDef } from './workflow.js';

interface StepEnvOptions {
  run: RunContext;
  wf: WorkflowDef;
  jobId: string;
  /** The job's RUNNER_TEMP. */
  temp: string;
  jobEnv: Record<string, string>;
  /** What earlier steps added through GITHUB_ENV and GITHUB_PATH. */
  addedEnv: Record<string, string>;
  addedPath: string[];
  stepEnv: Record<string, string>;
  extra: Record<string, string>;
}

/** A name safe as a file name (job keys, job ids). */
export function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 100);
}

/** The `runner` context of expressions. */
export function runnerContext(run: RunContext, temp: string): Record<string, unknown> {
  return {
    os: 'Linux',
    arch: process.arch === 'arm64' ? 'ARM64' : 'X64',
    name: 'cdl-local',
    temp: temp,
    tool_cache: path.join(run.repoRoot, '.cdl', 'tool-cache'),
    debug: run.verbose ? '1' : '',
    environment: 'self-hosted',
  };
}

/** The environment of a step's process: the machine's, less what the runner owns, then the runner's, the job's and the step's. */
export async function stepProcessEnv(o: StepEnvOptions): Promise<Record<string, string>> {
  const { run, wf, jobId, temp, stepEnv, extra } = o;
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (
      v === undefined ||
      k.startsWith('INPUT_') ||
      k.startsWith('STATE_') ||
      k.startsWith('GITHUB_') ||
      k.startsWith('ACTIONS_')
    )
      continue;
    if (k.startsWith('RUNNER_') || k === 'CI') continue;
    base[k] = v;
  }
  const g = run.github;
  const server = await run.server.env({ runId: run.runId, jobId: safeName(jobId).replace(/^[^A-Za-z0-9]/, 'j') });
  const env: Record<string, string> = {
    // Offline there is no GitHub to talk to: cdl's actions report through the local forge
    // (files and git tags under .cdl/) unless the caller chose otherwise.
    CDL_FORGE: 'local',
    ...base,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKFLOW: wf.name,
    GITHUB_WORKFLOW_REF: `${String(g['repository'])}/${wf.display}@${String(g['ref'])}`,
    GITHUB_RUN_ID: run.runId,
    GITHUB_RUN_NUMBER: run.runId,
    GITHUB_RUN_ATTEMPT: run.runAttempt,
    GITHUB_JOB: jobId,
    GITHUB_ACTOR: String(g['actor']),
    GITHUB_TRIGGERING_ACTOR: String(g['actor']),
    GITHUB_REPOSITORY: String(g['repository']),
    GITHUB_REPOSITORY_OWNER: String(g['repository_owner']),
    GITHUB_EVENT_NAME: String(g['event_name']),
    GITHUB_EVENT_PATH: run.eventPath,
    GITHUB_WORKSPACE: run.repoRoot,
    GITHUB_SHA: String(g['sha']),
    GITHUB_REF: String(g['ref']),
    GITHUB_REF_NAME: String(g['ref_name']),
    GITHUB_REF_TYPE: String(g['ref_type']),
    GITHUB_HEAD_REF: String(g['head_ref'] ?? ''),
    GITHUB_BASE_REF: String(g['base_ref'] ?? ''),
    GITHUB_RETENTION_DAYS: '90',
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: process.arch === 'arm64' ? 'ARM64' : 'X64',
    RUNNER_NAME: 'cdl-local',
    RUNNER_ENVIRONMENT: 'self-hosted',
    RUNNER_TEMP: temp,
    RUNNER_TOOL_CACHE: path.join(run.repoRoot, '.cdl', 'tool-cache'),
    ...server,
    GITHUB_GRAPHQL_URL: `${server['GITHUB_API_URL']}/graphql`,
    ...(run.verbose ? { RUNNER_DEBUG: '1' } : {}),
    ...o.jobEnv,
    ...o.addedEnv,
    ...stepEnv,
    ...extra,
  };
  if (o.addedPath.length) env['PATH'] = [...[...o.addedPath].reverse(), env['PATH'] ?? ''].join(path.delimiter);
  return env;
}
