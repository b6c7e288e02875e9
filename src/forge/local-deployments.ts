/**
 * Deployments on the local forge: every record of a model in `.cdl/deployments/<model>.json`, with
 * its statuses; as on GitHub, a success makes the earlier successes of its environment inactive.
 */
import path from 'node:path';
import { CdlError } from '../util/errors.js';
import { readJson, writeJsonAtomic } from '../util/fs.js';
import type { LocalDirs } from './local-layout.js';
import type { DeploymentRecord, DeploymentState, DeploymentStatusUpdate, NewDeployment } from './types.js';

interface LocalDeployment extends DeploymentRecord {
  statuses: Array<{ state: DeploymentState; description?: string; environment_url?: string; log_url?: string; time: string }>;
}

function deploymentsFile({ deploymentsDir }: LocalDirs, model: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(model)) throw new CdlError(`invalid model name ${JSON.stringify(model)}`);
  return path.join(deploymentsDir, `${model}.json`);
}

async function readDeployments(dirs: LocalDirs, model: string): Promise<LocalDeployment[]> {
  return (await readJson<LocalDeployment[]>(deploymentsFile(dirs, model))) ?? [];
}

function strip(d: LocalDeployment): DeploymentRecord {
  const { statuses: _statuses, ...rest } = d;
  return rest;
}

export async function createDeployment(dirs: LocalDirs, d: NewDeployment): Promise<DeploymentRecord> {
  const all = await readDeployments(dirs, d.model);
  const rec: LocalDeployment = {
    id: all.reduce((m, x) => Math.max(m, Number(x.id)), 0) + 1,
    model: d.model,
    environment: d.environment,
    tag: d.tag,
    version: d.version,
    commit: d.commit,
    created_at: new Date().toISOString(),
    state: 'queued',
    description: d.description,
    environment_url: null,
    payload: d.payload ?? {},
    statuses: [{ state: 'queued', description: d.description, time: new Date().toISOString() }],
  };
  all.push(rec);
  await writeJsonAtomic(deploymentsFile(dirs, d.model), all);
  return strip(rec);
}

export async function setDeploymentStatus(
  dirs: LocalDirs,
  d: DeploymentRecord,
  state: DeploymentState,
  update: DeploymentStatusUpdate = {},
): Promise<DeploymentRecord> {
  const all = await readDeployments(dirs, d.model);
  const rec = all.find((x) => String(x.id) === String(d.id));
  if (!rec) throw new CdlError(`deployment ${d.id} of ${d.model} not found`);
  const time = new Date().toISOString();
  rec.state = state;
  if (update.description) rec.description = update.description;
  if (update.environmentUrl) rec.environment_url = update.environmentUrl;
  rec.statuses.push({
    state,
    description: update.description,
    environment_url: update.environmentUrl,
    log_url: update.logUrl,
    time,
  });
  // As GitHub does (auto_inactive): a success makes the earlier successes of the environment inactive.
  if (state === 'success') {
    for (const o of all) {
      if (o !== rec && o.environment === rec.environment && o.state === 'success') {
        o.state = 'inactive';
        o.statuses.push({ state: 'inactive', time });
      }
    }
  }
  await writeJsonAtomic(deploymentsFile(dirs, d.model), all);
  return strip(rec);
}

export async function listDeployments(dirs: LocalDirs, model: string, environment?: string): Promise<DeploymentRecord[]> {
  return (await readDeployments(dirs, model))
    .filter((d) => !environment || d.environment === environment)
    .sort((a, b) => Number(b.id) - Number(a.id))
    .map(strip);
}
