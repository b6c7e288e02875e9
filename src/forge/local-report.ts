/**
 * A verdict on the local forge: what GitHub would get, as files in the model's report folder
 * (comment.md with its marker, report.html, summary.md, status.json), and the job summary inside
 * a `cdl run` job.
 */
import { existsSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import { reportMarker, type Publication, type PublishResult } from './types.js';

export async function publishReport(dir: string, p: Publication): Promise<PublishResult> {
  const commentFile = path.join(dir, 'comment.md');
  const existed = existsSync(commentFile);
  const body = `${reportMarker(p.model)}\n${p.markdown}`;
  await writeFileAtomic(commentFile, body);
  await writeFileAtomic(path.join(dir, 'report.html'), p.html);
  await writeFileAtomic(path.join(dir, 'summary.md'), p.markdown);
  const state = p.decision === 'blessed' ? 'success' : 'failure';
  const context = `cdl/evaluate-gate (${p.model})`;
  await writeFileAtomic(
    path.join(dir, 'status.json'),
    JSON.stringify({ state, context, description: p.description, time: new Date().toISOString() }, null, 2) + '\n',
  );
  // Inside a `cdl run` job the step summary is the job summary, as on GitHub.
  if (process.env.GITHUB_STEP_SUMMARY) await appendFile(process.env.GITHUB_STEP_SUMMARY, `${p.markdown}\n`);
  return {
    comment: { id: commentFile, action: existed ? 'updated' : 'created' },
    status: { state, context },
    summary: true,
    files: ['comment.md', 'report.html', 'summary.md', 'status.json'].map((f) => path.join(dir, f)),
    notes: [],
  };
}
