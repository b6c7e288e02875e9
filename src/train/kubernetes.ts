/**
 * train.launcher: kubernetes — train.command on several machines through Kubeflow's training
 * operator: a PyTorchJob (kubeflow.org/v1) with one Master and nodes - 1 Worker pods, each running
 * torchrun with the operator's PET_* rendezvous variables and the same CDL_* environment a local
 * command gets, with paths on the shared volume the manifest mounts. With kubectl and a context it
 * is applied, waited for and its master's log streamed, and the model directory rank 0 wrote on
 * the shared volume is collected from where that volume is mounted here (storage.local_path).
 * Without a cluster the manifest is written beside the model directory and training stops there,
 * saying so.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import type { KubernetesLauncher } from '../config/schema/train.js';
import { kubectlReady } from '../deploy/kserve.js';
import { TrainError } from '../util/errors.js';
import { torchrunOutputFlags } from './torchrun.js';

export interface PyTorchJobInput {
  name: string;
  launcher: KubernetesLauncher;
  command: string;
  /** CDL_* variables, paths already on the shared volume. */
  env: Record<string, string>;
}

/** A DNS-1123 name for the job of this model and commit. */
export function jobName(model: string, commit: string | null): string {
  const base = `cdl-${model}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .slice(0, 40)
    .replace(/-$/, '');
  return `${base}-${(commit ?? Date.now().toString(16)).slice(0, 8)}`.replace(/[^a-z0-9-]/g, '');
}

// Each pod: torchrun across the pods from the rendezvous variables the operator sets, every
// process running the user's command as it would locally.
const podScript = (nproc: number) =>
  'exec torchrun --nnodes "${PET_NNODES:-1}" --nproc_per_node "${PET_NPROC_PER_NODE:-1}" ' +
  '--node_rank "${PET_NODE_RANK:-0}" --master_addr "${PET_MASTER_ADDR:-$MASTER_ADDR}" ' +
  `--master_port "\${PET_MASTER_PORT:-$MASTER_PORT}" ${torchrunOutputFlags(nproc)}--no_python /bin/sh -c "$CDL_TRAIN_COMMAND"`;

export function renderPyTorchJob(i: PyTorchJobInput): { manifest: Record<string, unknown>; yaml: string } {
  const l = i.launcher;
  const gpus = l.gpus_per_node ?? l.nproc_per_node;
  const replica = (replicas: number) => ({
    replicas,
    restartPolicy: 'Never',
    template: {
      metadata: { labels: { 'app.kubernetes.io/managed-by': 'cdl' } },
      spec: {
        containers: [
          {
            // The operator finds the training container by this name.
            name: 'pytorch',
            image: l.image,
            command: ['/bin/sh', '-c', podScript(l.nproc_per_node)],
            workingDir: i.env.CDL_WORKDIR ?? l.storage.mount_path,
            env: Object.entries({ ...i.env, CDL_TRAIN_COMMAND: i.command, CDL_LAUNCHER: 'kubernetes' }).map(([name, value]) => ({
              name,
              value,
            })),
            resources: gpus > 0 ? { limits: { 'nvidia.com/gpu': gpus }, requests: { 'nvidia.com/gpu': gpus } } : {},
            volumeMounts: [{ name: 'cdl-shared', mountPath: l.storage.mount_path }],
          },
        ],
        volumes: [{ name: 'cdl-shared', persistentVolumeClaim: { claimName: l.storage.claim } }],
      },
    },
  });
  const manifest = {
    apiVersion: 'kubeflow.org/v1',
    kind: 'PyTorchJob',
    metadata: { name: i.name, namespace: l.namespace, labels: { 'app.kubernetes.io/managed-by': 'cdl' } },
    spec: {
      nprocPerNode: String(l.nproc_per_node),
      runPolicy: { backoffLimit: 0, cleanPodPolicy: 'None', activeDeadlineSeconds: l.timeout_minutes * 60 },
      pytorchReplicaSpecs: {
        Master: replica(1),
        ...(l.nodes > 1 ? { Worker: replica(l.nodes - 1) } : {}),
      },
    },
  };
  return { manifest, yaml: stringifyYaml(manifest) };
}

/** A path on this machine inside storage.local_path, as the pods see it under mount_path. */
export function onSharedVolume(l: KubernetesLauncher, local: string, what: string): string {
  if (!l.storage.local_path) {
    throw new TrainError(
      `train.launcher.storage.local_path: not set; expected where the volume ${l.storage.claim} is mounted on this machine, to collect the model directory`,
    );
  }
  const rel = path.relative(path.resolve(l.storage.local_path), path.resolve(local));
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new TrainError(
      `${what} ${local} is not on the shared volume (train.launcher.storage.local_path ${l.storage.local_path}); expected a path under it, which the pods see under ${l.storage.mount_path}`,
    );
  }
  return path.posix.join(l.storage.mount_path, ...rel.split(path.sep));
}

function kubectl(l: KubernetesLauncher, args: string[], env: NodeJS.ProcessEnv) {
  const ctx = l.context ? ['--context', l.context] : [];
  return spawnSync('kubectl', [...ctx, '-n', l.namespace, ...args], { env, encoding: 'utf8', timeout: 120_000 });
}

/**
 * Apply the job, stream its master's log, wait for it to succeed or fail. Throws when there is no
 * cluster (after writing the manifest to `manifestFile`) or when the job fails.
 */
export async function runPyTorchJob(
  i: PyTorchJobInput & { manifestFile: string; log: (line: string) => void; processEnv?: NodeJS.ProcessEnv; pollMs?: number },
): Promise<void> {
  // kubectl's own environment (i.env is the pods').
  const env = i.processEnv ?? process.env;
  const { yaml } = renderPyTorchJob(i);
  await writeFile(i.manifestFile, yaml);
  const ready = kubectlReady(env);
  if (!ready.ok) {
    throw new TrainError(
      `train.launcher kubernetes: ${ready.why}; the PyTorchJob manifest is at ${i.manifestFile}: apply it with kubectl apply -f, ` +
        `or run cdl where kubectl has a context for the cluster`,
    );
  }
  const l = i.launcher;
  const applied = kubectl(l, ['apply', '-f', i.manifestFile], env);
  if (applied.status !== 0)
    throw new TrainError(`kubectl apply -f ${i.manifestFile} failed: ${(applied.stderr || applied.stdout).trim()}`);
  i.log(`applied PyTorchJob ${l.namespace}/${i.name} (${ready.why})`);
  // Stream the master's log while it runs (kubectl waits for the pod to start).
  const ctx = l.context ? ['--context', l.context] : [];
  const logs = spawn('kubectl', [...ctx, '-n', l.namespace, 'logs', '-f', '--pod-running-timeout=30m', `${i.name}-master-0`], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let rest = '';
  logs.stdout.setEncoding('utf8');
  logs.stdout.on('data', (c: string) => {
    const lines = (rest + c).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) i.log(line);
  });
  const logsDone = new Promise<void>((res) => {
    logs.on('close', () => res());
    logs.on('error', () => res());
  });
  const deadline = Date.now() + l.timeout_minutes * 60_000;
  let succeeded = false;
  try {
    for (;;) {
      const r = kubectl(l, ['get', 'pytorchjob', i.name, '-o', 'jsonpath={.status.conditions[?(@.status=="True")].type}'], env);
      const states = r.status === 0 ? r.stdout.trim().split(/\s+/) : [];
      if (states.includes('Succeeded')) {
        succeeded = true;
        break;
      }
      if (states.includes('Failed')) {
        const why = kubectl(
          l,
          ['get', 'pytorchjob', i.name, '-o', 'jsonpath={.status.conditions[?(@.type=="Failed")].message}'],
          env,
        );
        throw new TrainError(`PyTorchJob ${l.namespace}/${i.name} failed: ${why.stdout.trim() || 'no message'}`);
      }
      if (Date.now() > deadline) {
        throw new TrainError(
          `PyTorchJob ${l.namespace}/${i.name} did not finish within ${l.timeout_minutes} minutes (train.launcher.timeout_minutes)`,
        );
      }
      await new Promise((res) => setTimeout(res, i.pollMs ?? 10_000));
    }
  } finally {
    // After success the log ends by itself; give it a minute to drain, then stop following.
    if (succeeded) await Promise.race([logsDone, new Promise((res) => setTimeout(res, 60_000).unref())]);
    if (logs.exitCode === null && logs.signalCode === null) logs.kill('SIGTERM');
    if (rest) i.log(rest);
  }
}
