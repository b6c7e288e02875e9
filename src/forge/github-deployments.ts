/**
 * Deployments on GitHub: one deployment per model going to an environment, with statuses; the
 * newest successful one of an environment is what its alias points at.
 */
import { CdlError } from '../util/errors.js';
import { safeJson, type GitHubRepo } from './github-repo.js';
import type { DeploymentRecord, DeploymentState, DeploymentStatusUpdate, NewDeployment } from './types.js';

interface ApiDeployment {
  id: number;
  ref: string;
  sha: string;
  task: string;
  environment: string;
  description?: string | null;
  created_at: string;
  payload: unknown;
}

/** The `task` of a deployment of `model`: deployments of several models share the environments. */
const deploymentTask = (model: string) => `deploy:${model}`;

function record(d: ApiDeployment, state: DeploymentState, environmentUrl?: string | null): DeploymentRecord {
  const payload = (typeof d.payload === 'string' ? safeJson(d.payload) : d.payload) as Record<string, unknown> | null;
  return {
    id: d.id,
    model: String(payload?.model ?? d.task.replace(/^deploy:/, '')),
    environment: d.environment,
    tag: d.ref,
    version: String(payload?.version ?? ''),
    commit: d.sha ?? null,
    created_at: d.created_at,
    state,
    description: d.description ?? '',
    environment_url: environmentUrl ?? null,
    payload: payload ?? {},
  };
}

export async function createDeployment({ owner, repo, octokit }: GitHubRepo, d: NewDeployment): Promise<DeploymentRecord> {
  const res = await octokit.rest.repos.createDeployment({
    owner,
    repo,
    ref: d.tag,
    task: deploymentTask(d.model),
    environment: d.environment,
    description: d.description.slice(0, 140),
    // The release was checked by cdl (checksums, blessing); commit statuses are not required.
    required_contexts: [],
    auto_merge: false,
    payload: { ...(d.payload ?? {}), model: d.model, version: d.version, tag: d.tag },
    production_environment: d.environment === 'production',
  });
  if (res.status !== 201)
    throw new CdlError(`deployment of ${d.tag} to ${d.environment} not created: ${JSON.stringify(res.data).slice(0, 200)}`);
  return record(res.data as ApiDeployment, 'queued');
}

export async function setDeploymentStatus(
  { owner, repo, octokit }: GitHubRepo,
  d: DeploymentRecord,
  state: DeploymentState,
  update: DeploymentStatusUpdate = {},
): Promise<DeploymentRecord> {
  await octokit.rest.repos.createDeploymentStatus({
    owner,
    repo,
    deployment_id: Number(d.id),
    state,
    ...(update.description ? { description: update.description.slice(0, 140) } : {}),
    ...(update.environmentUrl ? { environment_url: update.environmentUrl } : {}),
    ...(update.logUrl ? { log_url: update.logUrl } : {}),
    auto_inactive: true,
  });
  return {
    ...d,
    state,
    ...(update.description ? { description: update.description } : {}),
    ...(update.environmentUrl ? { environment_url: update.environmentUrl } : {}),
  };
}

export async function listDeployments(
  { owner, repo, octokit }: GitHubRepo,
  model: string,
  environment?: string,
): Promise<DeploymentRecord[]> {
  const { data } = await octokit.rest.repos.listDeployments({
    owner,
    repo,
    task: deploymentTask(model),
    ...(environment ? { environment } : {}),
    per_page: 100,
  });
  const out: DeploymentRecord[] = [];
  for (const d of data as ApiDeployment[]) {
    const { data: statuses } = await octokit.rest.repos.listDeploymentStatuses({
      owner,
      repo,
      deployment_id: d.id,
      per_page: 1,
    });
    const latest = statuses[0];
    out.push(record(d, (latest?.state as DeploymentState | undefined) ?? 'queued', latest?.environment_url));
  }
  return out.sort((a, b) => b.created_at.localeCompare(a.created_at) || Number(b.id) - Number(a.id));
}
