// A job that calls a reusable workflow: where the called file may live, and what the call passes
// to it (inputs checked against its on.workflow_call, secrets named or inherited).
import path from 'node:path';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/index';
import { localUsesPath } from './actions.js';
import { formatWhere, stringify } from './expr.js';
import { resolveInputs } from './inputs.js';
import { selfReference } from './self.js';
import { WorkflowError, readWorkflow, type JobDef, type WorkflowDef } from './workflow.js';

/** A local reusable workflow, as GitHub allows it: ./.github/workflows/<file>.yml inside the repository. */
export function reusableWorkflowPath(job: JobDef, repoRoot: string): string {
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

interface CallOptions {
  /** The calling job. */
  job: JobDef;
  /** Its display name, for errors. */
  key: string;
  repoRoot: string;
  /** Evaluates one of the calling job's tokens (with:, secrets:) in its contexts. */
  evaluate: (token: TemplateToken | undefined) => unknown;
  /** The caller's own secrets (for `secrets: inherit` and its GITHUB_TOKEN). */
  callerSecrets: Record<string, string>;
}

interface WorkflowCall {
  workflow: WorkflowDef;
  inputs: Record<string, unknown>;
  secrets: Record<string, string>;
}

/** Reads the called workflow and resolves what the call gives it; refuses a call it would refuse on GitHub. */
export async function prepareCall({ job, key, repoRoot, evaluate, callerSecrets }: CallOptions): Promise<WorkflowCall> {
  const inner = await readWorkflow(reusableWorkflowPath(job, repoRoot), repoRoot);
  if (!inner.call) throw new WorkflowError(`${inner.display}: this workflow has no on.workflow_call and cannot be called`);
  const given = (evaluate(job.with) ?? {}) as Record<string, unknown>;
  let inputs: Record<string, unknown>;
  try {
    inputs = resolveInputs(inner.call.inputs, given, `${job.where.file}:${job.where.line ?? 1}:${job.where.column ?? 1}`);
  } catch (error) {
    throw new WorkflowError((error as Error).message);
  }
  let secrets: Record<string, string> = {};
  if (job.secrets === 'inherit') secrets = { ...callerSecrets };
  else if (job.secrets) {
    const values = (evaluate(job.secrets) ?? {}) as Record<string, unknown>;
    secrets = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, stringify(v)]));
  }
  if (callerSecrets['GITHUB_TOKEN']) secrets['GITHUB_TOKEN'] = callerSecrets['GITHUB_TOKEN'];
  for (const [name, def] of Object.entries(inner.call.secrets)) {
    if (def?.required && !secrets[name])
      throw new WorkflowError(`${inner.display}: secret ${name} is required but not passed by ${key}`);
  }
  return { workflow: inner, inputs, secrets };
}
