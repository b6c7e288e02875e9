/**
 * Issues and workflow dispatches on the local forge: an issue is `.cdl/issues/<marker>.md` (open
 * until its `state:` line says closed); a dispatch is a request in `.cdl/dispatches/` to run with
 * `cdl run <workflow> -e workflow_dispatch`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import { issueBody } from './issues.js';
import type { DispatchRequest, DispatchResult, IssueRequest, IssueResult } from './types.js';

/** A file name for the issue a marker identifies (local forge). */
function issueSlug(marker: string): string {
  return (
    marker
      .replace(/<!--|-->/g, '')
      .trim()
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'issue'
  );
}

export async function upsertIssue(stateDir: string, req: IssueRequest): Promise<IssueResult> {
  const file = path.join(stateDir, 'issues', `${issueSlug(req.marker)}.md`);
  const exists = existsSync(file) && !/^state: closed$/m.test(await readFile(file, 'utf8'));
  if (!exists && !req.create) return { action: 'none' };
  const body = issueBody(req.marker, req.body);
  await writeFileAtomic(file, `# ${req.title}\n\nstate: open\nlabels: ${(req.labels ?? []).join(', ')}\n\n${body}\n`);
  return { action: exists ? 'updated' : 'created', file };
}

export async function dispatchWorkflow(stateDir: string, req: DispatchRequest): Promise<DispatchResult> {
  const ref = req.ref ?? 'HEAD';
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(stateDir, 'dispatches', `${stamp}-${req.workflow.replace(/[^A-Za-z0-9._-]+/g, '-')}.json`);
  await writeFileAtomic(
    file,
    JSON.stringify(
      { workflow: req.workflow, ref, inputs: req.inputs ?? {}, run: `cdl run ${req.workflow} -e workflow_dispatch` },
      null,
      2,
    ) + '\n',
  );
  return { workflow: req.workflow, ref, file };
}
