// What a job is given to run (by the job graph), what it gives back, and the shapes its steps pass
// between the job's rooms: a step as it runs, where it runs (the job, or a composite action), its record.
import type { Result } from './context.js';
import type { Contexts } from './expr.js';
import type { JobDef, StepDef, WorkflowDef } from './workflow.js';

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

/** A finished step, as the `steps` context shows it. */
export interface StepRecord {
  outcome: Result;
  conclusion: Result;
  outputs: Record<string, string>;
}

/** Where a step runs: the job itself (all empty), or a composite action with its contexts and env. */
export interface CompositeScope {
  contexts?: Contexts;
  env?: Record<string, string>;
  processEnv?: Record<string, string>;
  actionPath?: string;
}

/** A step to run: its definition, its label, the file it comes from, and where it runs. */
export interface StepCall {
  step: StepDef;
  label: string;
  display: string;
  scope: CompositeScope;
}

/** One step as it runs: its definition, its label, the file it comes from, its contexts, env and time limit. */
export interface StepRun {
  step: StepDef;
  label: string;
  display: string;
  ctx: Contexts;
  env: Record<string, string>;
  timeoutMs?: number;
}

/** What a step of any kind gives back. */
export interface StepResult {
  ok: boolean;
  outputs: Record<string, string>;
}
