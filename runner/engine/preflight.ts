// What `cdl run` checks before anything runs: every action a step uses resolves, and every called
// workflow is local (or cdl's own) and parses, recursively.
import { resolveAction } from './actions.js';
import { reusableWorkflowPath } from './reusable-workflow.js';
import { isSelfWorkflow } from './self.js';
import { readWorkflow, type WorkflowDef } from './workflow.js';

/** The problems found, each with its file:line:col; empty when the workflow can run. */
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
