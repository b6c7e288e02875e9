/**
 * The `kserve` target: an InferenceService for the version (ONNX, the Open Inference Protocol v2,
 * `canaryTrafficPercent` for a progressive rollout, which KServe itself promotes), applied with
 * kubectl when kubectl is there with a current context, and otherwise written out to be published
 * as an artifact.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { CdlError } from '../util/errors.js';
import type { KServeTarget } from './types.js';
import { serverUrl } from '../util/run-env.js';

export interface ManifestInput {
  model: string;
  tag: string;
  version: string;
  commit: string | null;
  target: KServeTarget;
  canaryPercent?: number;
  /** owner/name on GitHub, for the default storage URI. */
  repository?: string | null;
  serverUrl?: string;
}

/** A Kubernetes name: lowercase alphanumerics and '-', at most 63 characters. */
export function k8sName(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 63) || 'model'
  );
}

export function renderInferenceService(i: ManifestInput): { manifest: Record<string, unknown>; yaml: string } {
  const repo = i.repository ?? process.env.GITHUB_REPOSITORY ?? null;
  const server = i.serverUrl?.replace(/\/+$/, '') ?? serverUrl();
  const template = i.target.storage_uri ?? (repo ? `${server}/{repository}/releases/download/{tag}/model.onnx` : undefined);
  if (!template)
    throw new CdlError(
      'deploy.kserve.storage_uri is required outside GitHub: where KServe fetches the model (s3://, gs://, pvc://, https://)',
    );
  const storageUri = template
    .replaceAll('{repository}', repo ?? '')
    .replaceAll('{tag}', encodeURIComponent(i.tag))
    .replaceAll('{version}', i.version)
    .replaceAll('{model}', i.model);
  const model: Record<string, unknown> = {
    modelFormat: { name: 'onnx' },
    protocolVersion: 'v2',
    storageUri,
    ...(i.target.runtime ? { runtime: i.target.runtime } : {}),
  };
  const predictor: Record<string, unknown> = {
    ...(i.canaryPercent && i.canaryPercent > 0 && i.canaryPercent < 100 ? { canaryTrafficPercent: i.canaryPercent } : {}),
    ...(i.target.service_account ? { serviceAccountName: i.target.service_account } : {}),
    model,
  };
  const manifest = {
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: {
      name: k8sName(i.target.name ?? i.model),
      namespace: i.target.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'cdl', 'cdl.dev/model': k8sName(i.model) },
      annotations: { 'cdl.dev/tag': i.tag, 'cdl.dev/version': i.version, ...(i.commit ? { 'cdl.dev/commit': i.commit } : {}) },
    },
    spec: { predictor },
  };
  return { manifest, yaml: YAML.stringify(manifest) };
}

export interface KServeResult {
  file: string;
  applied: boolean;
  note: string;
}

/** Whether kubectl exists and has a current context. */
export function kubectlReady(env: NodeJS.ProcessEnv = process.env): { ok: boolean; why: string } {
  const r = spawnSync('kubectl', ['config', 'current-context'], { env, encoding: 'utf8', timeout: 15_000 });
  if (r.error) return { ok: false, why: 'kubectl is not installed' };
  if (r.status !== 0) return { ok: false, why: `kubectl has no current context (${(r.stderr || '').trim().split('\n')[0]})` };
  return { ok: true, why: `context ${r.stdout.trim()}` };
}

export async function deployToKServe(i: ManifestInput & { outDir: string; env?: NodeJS.ProcessEnv }): Promise<KServeResult> {
  const { yaml } = renderInferenceService(i);
  await mkdir(i.outDir, { recursive: true });
  const file = path.join(i.outDir, 'inferenceservice.yaml');
  await writeFile(file, yaml);
  if (i.target.apply === 'never')
    return { file, applied: false, note: 'deploy.kserve.apply is never: the manifest is published only' };
  const ready = kubectlReady(i.env);
  if (!ready.ok) {
    if (i.target.apply === 'always') throw new CdlError(`cannot apply ${file}: ${ready.why}`);
    return {
      file,
      applied: false,
      note: `not applied (${ready.why}); publish the manifest and apply it with kubectl apply -f inferenceservice.yaml`,
    };
  }
  const r = spawnSync('kubectl', ['apply', '-f', file], { env: i.env ?? process.env, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new CdlError(`kubectl apply -f ${file} failed: ${(r.stderr || r.stdout || '').trim()}`);
  return { file, applied: true, note: `applied with kubectl (${ready.why}): ${r.stdout.trim()}` };
}
