// References to cdl's own repository (CDL_REPOSITORY, package.json `repository`) run from the cdl
// that runs them: `<owner>/cdl/actions/<name>@vX` is this checkout's actions/<name>, and
// `<owner>/cdl/.github/workflows/<file>.yml@vX` its callable workflow. A user's starter, which calls
// cdl's workflows by version, so runs offline unchanged. A reference to another major version than
// this cdl's is refused: what it would run is not what is here.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CDL_REPOSITORY, CDL_VERSION } from '../../src/version.js';
import { formatWhere, type Where } from './expr.js';
import { WorkflowError } from './workflow.js';

/** The root of the cdl checkout (or installed package) this runner is part of. */
export const CDL_ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface SelfReference {
  kind: 'action' | 'workflow';
  /** Absolute path: the action's directory, or the workflow file. */
  path: string;
}

/**
 * Where a `uses:` naming cdl's own repository lives in this cdl, or undefined when it names
 * something else. A version ref (v1, v1.2, v1.2.3) must have this cdl's major version; a branch or
 * commit ref is taken as this checkout.
 */
export function selfReference(uses: string, where: Where): SelfReference | undefined {
  const m = /^([^/@\s]+)\/([^/@\s]+)\/([^@\s]+)@(\S+)$/.exec(uses);
  if (!m) return undefined;
  const [, owner, repo, sub, ref] = m as unknown as [string, string, string, string, string];
  if (`${owner}/${repo}`.toLowerCase() !== CDL_REPOSITORY.toLowerCase()) return undefined;
  const at = formatWhere(where);
  const version = /^v(\d+)(?:\.\d+){0,2}(?:[-+][0-9A-Za-z.-]+)?$/.exec(ref);
  const major = CDL_VERSION.split('.')[0];
  if (version && version[1] !== major) {
    throw new WorkflowError(
      `${at}: ${uses}: cdl run is cdl ${CDL_VERSION} and runs its own ${CDL_REPOSITORY} references only for v${major}; ` +
        `run it with a cdl of version ${ref}, or change the reference to @v${major}`,
    );
  }
  const workflow = /^\.github\/workflows\/([\w.-]+\.ya?ml)$/.exec(sub);
  const action = /^actions\/([\w-]+)$/.exec(sub);
  const target = workflow
    ? path.join(CDL_ROOT, '.github', 'workflows', workflow[1]!)
    : action
      ? path.join(CDL_ROOT, 'actions', action[1]!)
      : undefined;
  const found = target && (workflow ? existsSync(target) : existsSync(path.join(target, 'action.yml')));
  if (!target || !found) {
    throw new WorkflowError(
      `${at}: ${uses}: cdl ${CDL_VERSION} has no such ${workflow ? 'workflow' : 'action'} ` +
        `(expected ${CDL_REPOSITORY}/actions/<name>@v${major} or ${CDL_REPOSITORY}/.github/workflows/<file>.yml@v${major})`,
    );
  }
  return { kind: workflow ? 'workflow' : 'action', path: target };
}

/** Whether a job's `uses:` names a callable workflow of cdl's own repository (checked by selfReference). */
export function isSelfWorkflow(uses: string): boolean {
  return uses.toLowerCase().startsWith(`${CDL_REPOSITORY.toLowerCase()}/.github/workflows/`);
}
