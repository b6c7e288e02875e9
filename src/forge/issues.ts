/**
 * Issues and workflow dispatches for monitoring: one issue per finding kind, found by a hidden
 * marker and updated instead of opening another, and a workflow_dispatch of the retraining
 * workflow (the feedback loop): `Forge.upsertIssue` and `Forge.dispatchWorkflow`. On GitHub through
 * github-issues.ts; locally as files under .cdl/issues and .cdl/dispatches (local-issues.ts). This
 * file holds what both share: the marker of monitoring's issue and the issue body.
 */

/** GitHub refuses issue bodies longer than this. */
const MAX_BODY = 65_536;

export function monitorMarker(model: string): string {
  return `<!-- cdl-monitor: model=${model} -->`;
}

/** The issue body: the marker first, cut at GitHub's size limit. */
export function issueBody(marker: string, body: string): string {
  const text = `${marker}\n${body}`;
  return text.length > MAX_BODY ? `${text.slice(0, MAX_BODY - 60)}\n\n… (cut at GitHub's size limit)` : text;
}
