/** Facts for lineage.json: the commit, the machine, the CI run. */
import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import { simpleGit } from 'simple-git';
import type { Lineage } from './index.js';

const run = promisify(execFile);

export async function gitInfo(dir: string): Promise<Lineage['git']> {
  try {
    const git = simpleGit({ baseDir: dir });
    if (!(await git.checkIsRepo())) return null;
    const commit = (await git.revparse(['HEAD'])).trim();
    let branch: string | null = null;
    try {
      branch = (await git.revparse(['--abbrev-ref', 'HEAD'])).trim();
      if (branch === 'HEAD') branch = null;
    } catch {
      branch = null;
    }
    // GitHub checks out pull requests and tags detached: take the name from the environment.
    if (!branch && process.env.GITHUB_HEAD_REF) branch = process.env.GITHUB_HEAD_REF;
    if (!branch && process.env.GITHUB_REF_NAME) branch = process.env.GITHUB_REF_NAME;
    const status = await git.status();
    let remote: string | null = null;
    try {
      remote = ((await git.remote(['get-url', 'origin'])) || '').trim() || null;
    } catch {
      remote = null;
    }
    return { commit, branch, dirty: !status.isClean(), remote };
  } catch {
    return null;
  }
}

export interface GpuInfo {
  name: string;
  memory_mib: number;
  driver: string;
}

/** GPUs that nvidia-smi reports; empty where there is none. */
export async function gpuInfo(): Promise<GpuInfo[]> {
  try {
    const { stdout } = await run(
      'nvidia-smi',
      ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader,nounits'],
      {
        timeout: 10_000,
      },
    );
    return stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [name, mem, driver] = line.split(',').map((s) => s.trim());
        return { name: name ?? 'unknown', memory_mib: Number(mem), driver: driver ?? 'unknown' };
      });
  } catch {
    return [];
  }
}

export async function hardwareInfo(): Promise<Record<string, unknown>> {
  const cpus = os.cpus();
  return {
    platform: `${os.platform()}-${os.arch()}`,
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    hostname: os.hostname(),
    gpus: await gpuInfo(),
    node: process.version,
  };
}

/** The GitHub Actions run this happens in, if any (also set by `cdl run`). */
export function ciInfo(): Record<string, unknown> | null {
  const e = process.env;
  if (!e.GITHUB_ACTIONS && !e.GITHUB_RUN_ID) return null;
  return {
    provider: 'github-actions',
    repository: e.GITHUB_REPOSITORY ?? null,
    workflow: e.GITHUB_WORKFLOW ?? null,
    run_id: e.GITHUB_RUN_ID ?? null,
    run_attempt: e.GITHUB_RUN_ATTEMPT ?? null,
    job: e.GITHUB_JOB ?? null,
    event: e.GITHUB_EVENT_NAME ?? null,
    ref: e.GITHUB_REF ?? null,
    sha: e.GITHUB_SHA ?? null,
    runner: e.RUNNER_NAME ?? null,
    server_url: e.GITHUB_SERVER_URL ?? null,
  };
}
