/**
 * Deploying a released version: find its model (the release's assets, or the workflow artifact of
 * its commit), verify every SHA-256 and the blessing, deploy to the target, and record a
 * deployment with statuses (in progress, then success or failure) and the environment URL. A
 * successful deployment moves the alias of its environment; a failed one leaves it where it was.
 */
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DeploymentRecord, RegistryForge } from '../forge/types.js';
import { Registry, type FetchedVersion } from '../registry/registry.js';
import { CdlError, messageOf, UsageError } from '../util/errors.js';
import { deployToKServe, type KServeResult } from './kserve.js';
import { deployToServer, type ServerDeployResult } from './server.js';
import type { DeploySettings } from './types.js';
import { defaultPaths } from '../util/state-paths.js';

export interface DeployOptions {
  forge: RegistryForge;
  model: string;
  /** A version or a release tag. */
  ref: string;
  settings: DeploySettings;
  /** Where the kserve manifest goes. */
  outDir?: string;
  reason?: string;
  runUrl?: string;
  log?: (line: string) => void;
}

export interface DeployResult {
  tag: string;
  version: string;
  environment: string;
  target: DeploySettings['target'];
  state: 'success' | 'failure';
  /** deployed, promoted (canary), rolled_back (canary), unchanged, attached, manifest, applied. */
  outcome: string;
  deployment: DeploymentRecord;
  previous: string | null;
  source?: FetchedVersion['source'];
  server?: ServerDeployResult;
  kserve?: KServeResult;
  notes: string[];
  environment_url?: string;
}

export async function deploy(o: DeployOptions): Promise<DeployResult> {
  const log = o.log ?? (() => {});
  const s = o.settings;
  const registry = new Registry({ forge: o.forge, model: o.model, tagTemplate: s.tag, log });
  const tag = registry.resolveTag(o.ref);
  const version = registry.versionOf(tag);
  const previous = (await registry.alias(s.environment))?.tag ?? null;
  const release = await o.forge.releaseDetails(tag);
  const dep = await o.forge.createDeployment({
    model: o.model,
    environment: s.environment,
    tag,
    version,
    commit: release?.commit ?? null,
    description: o.reason ?? `deploy ${tag} to ${s.target}`,
    payload: { target: s.target, previous, reason: o.reason ?? null, ...(s.server ? { server: s.server.url } : {}) },
  });
  await o.forge.setDeploymentStatus(dep, 'in_progress', {
    description: `deploying ${tag} (${s.target})`,
    ...(o.runUrl ? { logUrl: o.runUrl } : {}),
  });
  const work = path.join(os.tmpdir(), `cdl-deploy-${process.pid}-${Date.now()}`);
  const notes: string[] = [];
  const fail = async (msg: string) => {
    const d = await o.forge.setDeploymentStatus(dep, 'failure', { description: msg, ...(o.runUrl ? { logUrl: o.runUrl } : {}) });
    return d;
  };
  try {
    await mkdir(work, { recursive: true });
    if (!release) throw new CdlError(`no release ${tag} (${o.forge.describe()})`);
    // The release's details, fetched once above, serve the verified fetch too.
    const fetched = await registry.fetch(tag, path.join(work, 'model'), { release });
    notes.push(...fetched.notes);
    log(`${tag}: ${fetched.verified.length} files verified against SHA256SUMS (${fetched.source}); ${fetched.blessing.reason}`);
    const base = { tag, version, environment: s.environment, target: s.target, previous, source: fetched.source, notes };
    if (s.target === 'server') {
      if (!s.server)
        throw new CdlError('deploy.server is required for target server: url and repository of the running cdl serve');
      const r = await deployToServer({
        model: o.model,
        tag,
        dir: fetched.model,
        commit: fetched.commit,
        target: s.server,
        canary: s.canary,
        shadow: s.shadow,
        log,
      });
      if (r.outcome === 'shadow') {
        // Production did not change: the record says what runs in shadow, the alias stays.
        const d = await o.forge.setDeploymentStatus(dep, 'inactive', {
          description: `in shadow beside ${previous ?? 'production'}: ${r.shadowSummary}`.slice(0, 140),
          ...(o.runUrl ? { logUrl: o.runUrl } : {}),
        });
        return { ...base, state: 'success', outcome: r.outcome, deployment: d, server: r, environment_url: r.url };
      }
      if (r.outcome === 'rolled_back') {
        const msg = `canary rolled back: ${r.canary!.reason}`;
        const d = await fail(msg);
        return { ...base, state: 'failure', outcome: r.outcome, deployment: d, server: r, environment_url: r.url };
      }
      const desc = r.canary
        ? `canary ${r.canary.percent}% promoted: ${r.canary.reason}`
        : `${tag} serving as version ${r.serverVersion}`;
      const d = await o.forge.setDeploymentStatus(dep, 'success', {
        description: desc,
        environmentUrl: r.url,
        ...(o.runUrl ? { logUrl: o.runUrl } : {}),
      });
      return { ...base, state: 'success', outcome: r.outcome, deployment: d, server: r, environment_url: r.url };
    }
    if (s.target === 'kserve') {
      const r = await deployToKServe({
        model: o.model,
        tag,
        version,
        commit: fetched.commit,
        target: s.kserve,
        canaryPercent: s.canary.percent,
        outDir: o.outDir ?? path.resolve(defaultPaths.deployment(tag)),
      });
      notes.push(r.note);
      const d = await o.forge.setDeploymentStatus(dep, 'success', {
        description: r.applied ? `InferenceService applied for ${tag}` : `InferenceService manifest for ${tag} (not applied)`,
      });
      return { ...base, state: 'success', outcome: r.applied ? 'applied' : 'manifest', deployment: d, kserve: r };
    }
    // release: the assets are the deployment (checked above).
    const d = await o.forge.setDeploymentStatus(dep, 'success', {
      description: `${tag}: assets verified`,
      ...(release.url ? { environmentUrl: release.url } : {}),
    });
    return { ...base, state: 'success', outcome: 'attached', deployment: d };
  } catch (e) {
    const msg = messageOf(e);
    await fail(msg.slice(0, 140)).catch((e2: unknown) => log(`recording the failure failed: ${messageOf(e2)}`));
    throw e;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Roll an alias back: redeploy the version it held before (or `to`), which moves the alias back. */
export async function rollback(o: Omit<DeployOptions, 'ref'> & { to?: string }): Promise<DeployResult> {
  const registry = new Registry({ forge: o.forge, model: o.model, tagTemplate: o.settings.tag, log: o.log });
  // A rollback redeploys and verifies exactly as deploy does: an alias deployed to a server is
  // rolled back on that server, never recorded against another target without checking it.
  const current = await registry.alias(o.settings.environment);
  const was = current?.payload?.target;
  if (typeof was === 'string' && was !== 'alias' && was !== o.settings.target) {
    const server = typeof current?.payload?.server === 'string' ? ` (${current.payload.server})` : '';
    throw new UsageError(
      `${o.settings.environment} of ${o.model} was deployed to target ${was}${server}, but this rollback would use target ${o.settings.target} and could not check what serves; ` +
        (was === 'server'
          ? 'give the server: --target server --server-url URL --repository DIR (or CDL_DEPLOY_TARGET=server, CDL_SERVE_URL and CDL_SERVE_REPOSITORY, or deploy.server in cdl.yaml)'
          : `pass --target ${was}`),
    );
  }
  let ref = o.to;
  if (!ref) {
    const prev = await registry.previous(o.settings.environment);
    if (!prev) throw new CdlError(`${o.settings.environment} of ${o.model} has no earlier version to roll back to`);
    ref = prev.tag;
  }
  // A rollback restores what served before: no canary in front of it.
  const settings = {
    ...o.settings,
    canary: { ...o.settings.canary, percent: 0 },
    ...(o.settings.shadow ? { shadow: { ...o.settings.shadow, fraction: 0 } } : {}),
  };
  return deploy({ ...o, settings, ref, reason: o.reason ?? `rollback of ${o.settings.environment} to ${ref}` });
}
