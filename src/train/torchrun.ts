/**
 * train.launcher: torchrun — train.command runs as one process per GPU on this machine under
 * PyTorch's elastic launcher. Each rank runs the command through a small shell wrapper that
 * records its exit status, and may write its own metrics to $CDL_RANK_METRICS; rank 0 writes the
 * model directory ($CDL_OUTPUT_DIR) as a single-process command would. Any rank failing fails
 * the step, naming the rank.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { TorchrunLauncher } from '../config/schema/train.js';
import { TrainError } from '../util/errors.js';

/** What every rank left behind. */
export interface RankRecord {
  rank: number;
  /** null: the rank did not finish (stopped by torchrun after another rank failed, or killed). */
  exit_code: number | null;
  metrics: Record<string, unknown> | null;
}

/**
 * GPUs this process may use: CUDA_VISIBLE_DEVICES when set (a pinned runner), else those
 * nvidia-smi lists, else 0.
 */
export function visibleGpuCount(env: NodeJS.ProcessEnv = process.env): number {
  const cvd = env.CUDA_VISIBLE_DEVICES;
  if (cvd !== undefined) {
    // CUDA stops at the first invalid entry ("-1" hides every GPU).
    const ids = cvd.split(',').map((s) => s.trim());
    let n = 0;
    for (const id of ids) {
      if (!/^(\d+|GPU-[\w-]+|MIG-[\w/-]+)$/.test(id)) break;
      n++;
    }
    return n;
  }
  const r = spawnSync('nvidia-smi', ['--query-gpu=index', '--format=csv,noheader'], {
    encoding: 'utf8',
    timeout: 30_000,
    env,
  });
  if (r.status !== 0 || typeof r.stdout !== 'string') return 0;
  return r.stdout.split('\n').filter((l) => /^\s*\d+\s*$/.test(l)).length;
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

// Runs as each rank: the user's command in its own shell, then the rank's exit status on disk.
const RANK_WRAPPER =
  'CDL_RANK_METRICS="$CDL_RANKS_DIR/rank-$RANK.json"; export CDL_RANK_METRICS; ' +
  '/bin/sh -c "$CDL_TRAIN_COMMAND"; code=$?; ' +
  'echo "$code" > "$CDL_RANKS_DIR/rank-$RANK.exit.tmp" && mv "$CDL_RANKS_DIR/rank-$RANK.exit.tmp" "$CDL_RANKS_DIR/rank-$RANK.exit"; ' +
  'exit $code';

/**
 * torch 1.13 under Python 3.11 (Debian's python3-torch) reads the default "--redirects 0" and
 * "--tee 0" as None and stops; a mapping for a local rank that does not exist means the same
 * (every rank's output straight through) and parses everywhere. Its rank is one digit, hence
 * only below 10 processes.
 */
export function torchrunOutputFlags(nproc: number): string {
  return nproc < 10 ? `--redirects ${nproc}:0 --tee ${nproc}:0 ` : '';
}

export interface TorchrunPlan {
  /** The shell command that starts torchrun. */
  command: string;
  nproc: number;
  env: Record<string, string>;
}

/** How torchrun is started for `command` with this launcher; ranks report into `ranksDir`. */
export function torchrunPlan(launcher: TorchrunLauncher, command: string, ranksDir: string, env = process.env): TorchrunPlan {
  const nproc = launcher.nproc_per_node === 'auto' ? Math.max(1, visibleGpuCount(env)) : launcher.nproc_per_node;
  const outputs = torchrunOutputFlags(nproc);
  return {
    command:
      `${launcher.torchrun} --standalone --nnodes 1 --nproc_per_node ${nproc} ${outputs}` +
      `--no_python /bin/sh -c ${shellQuote(RANK_WRAPPER)}`,
    nproc,
    env: {
      CDL_TRAIN_COMMAND: command,
      CDL_RANKS_DIR: ranksDir,
      CDL_LAUNCHER: 'torchrun',
      CDL_NPROC_PER_NODE: String(nproc),
    },
  };
}

/** Read what each of `nproc` ranks recorded in `ranksDir`. */
export async function collectRanks(ranksDir: string, nproc: number): Promise<RankRecord[]> {
  const out: RankRecord[] = [];
  for (let rank = 0; rank < nproc; rank++) {
    const exitFile = path.join(ranksDir, `rank-${rank}.exit`);
    const metricsFile = path.join(ranksDir, `rank-${rank}.json`);
    const text = existsSync(exitFile) ? (await readFile(exitFile, 'utf8')).trim() : '';
    let metrics: Record<string, unknown> | null = null;
    if (existsSync(metricsFile)) {
      try {
        const v: unknown = JSON.parse(await readFile(metricsFile, 'utf8'));
        if (v && typeof v === 'object' && !Array.isArray(v)) metrics = v as Record<string, unknown>;
      } catch (e) {
        throw new TrainError(
          `${metricsFile}: invalid JSON (${(e as Error).message}); expected the metrics of rank ${rank} as a JSON object`,
        );
      }
    }
    out.push({ rank, exit_code: /^\d+$/.test(text) ? Number(text) : null, metrics });
  }
  return out;
}

/** Throw naming the ranks that failed, when torchrun or any rank did not succeed. */
export function assertRanksSucceeded(command: string, torchrunCode: number, ranks: RankRecord[]): void {
  const failed = ranks.filter((r) => r.exit_code !== 0);
  if (torchrunCode === 0 && failed.length === 0) return;
  const first = failed.find((r) => r.exit_code !== null);
  const detail = failed
    .map((r) => (r.exit_code === null ? `rank ${r.rank} did not finish` : `rank ${r.rank} exited with code ${r.exit_code}`))
    .join('; ');
  throw new TrainError(
    `train.command "${command}" under torchrun failed` +
      (first ? ` in rank ${first.rank}` : ` (torchrun exited with code ${torchrunCode})`) +
      (detail ? `: ${detail}` : ''),
  );
}
