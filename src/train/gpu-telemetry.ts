/**
 * GPU telemetry while training: one `nvidia-smi --query-gpu=... -lms N` child process samples
 * utilisation, memory and power of the GPUs this process may use (CUDA_VISIBLE_DEVICES) for the
 * whole run — one process, not one per sample. What it reports goes into lineage.json
 * (hardware.gpu_telemetry), metrics.json (training.gpu_telemetry) and the model card. Without a
 * GPU (no nvidia-smi, or it lists none) the telemetry is null, and a figure the driver does not
 * report (power on some boards) is null too: nothing is estimated.
 */
import { spawn } from 'node:child_process';

export interface GpuTelemetry {
  /** How many GPUs were sampled. */
  gpus: number;
  names: string[];
  samples: number;
  interval_ms: number;
  seconds: number;
  /** Highest memory.used of any sampled GPU, MiB. */
  peak_memory_mib: number | null;
  /** Mean utilization.gpu over every sample of every GPU, %. */
  mean_utilization_percent: number | null;
  /** gpus × seconds / 3600. */
  gpu_hours: number;
  /** Power integrated over the samples of every GPU, Wh; null when the driver reports no power draw. */
  energy_wh: number | null;
}

export interface TelemetrySampler {
  stop(): Promise<GpuTelemetry | null>;
}

const FIELDS = 'index,name,utilization.gpu,memory.used,power.draw';

interface Sample {
  t: number;
  gpu: string;
  name: string;
  util: number | null;
  mem: number | null;
  power: number | null;
}

function num(s: string | undefined): number | null {
  const v = Number((s ?? '').trim());
  return (s ?? '').trim() !== '' && Number.isFinite(v) ? v : null;
}

/** Parse one line of `--format=csv,noheader,nounits` output; undefined for anything else. */
export function parseSampleLine(line: string, t: number): Sample | undefined {
  const parts = line.split(',').map((p) => p.trim());
  if (parts.length !== 5 || !/^\d+$/.test(parts[0]!)) return undefined;
  return { t, gpu: parts[0]!, name: parts[1]!, util: num(parts[2]), mem: num(parts[3]), power: num(parts[4]) };
}

/** Summarise samples taken between `t0` and `t1` (ms). */
export function summarise(samples: Sample[], t0: number, t1: number, intervalMs: number): GpuTelemetry | null {
  if (!samples.length) return null;
  const byGpu = new Map<string, Sample[]>();
  for (const s of samples) byGpu.set(s.gpu, [...(byGpu.get(s.gpu) ?? []), s]);
  const seconds = Math.max(0, (t1 - t0) / 1000);
  const mems = samples.map((s) => s.mem).filter((v): v is number => v !== null);
  const utils = samples.map((s) => s.util).filter((v): v is number => v !== null);
  let energy: number | null = 0;
  for (const list of byGpu.values()) {
    if (list.some((s) => s.power === null)) {
      energy = null;
      break;
    }
    // Each sample stands for the time until the next one (the last: until the end).
    for (let i = 0; i < list.length; i++) {
      const until = i + 1 < list.length ? list[i + 1]!.t : Math.max(t1, list[i]!.t);
      energy += (list[i]!.power! * (until - list[i]!.t)) / 3_600_000;
    }
  }
  return {
    gpus: byGpu.size,
    names: [...byGpu.values()].map((l) => l[0]!.name),
    samples: samples.length,
    interval_ms: intervalMs,
    seconds,
    peak_memory_mib: mems.length ? Math.max(...mems) : null,
    mean_utilization_percent: utils.length ? utils.reduce((a, b) => a + b, 0) / utils.length : null,
    gpu_hours: (byGpu.size * seconds) / 3600,
    energy_wh: energy,
  };
}

/** Start sampling; `stop()` ends the child and returns the summary (null without a GPU). */
export function startGpuTelemetry(opts: { intervalMs?: number; env?: NodeJS.ProcessEnv } = {}): TelemetrySampler {
  const intervalMs = opts.intervalMs ?? 1000;
  const env = opts.env ?? process.env;
  const t0 = Date.now();
  const samples: Sample[] = [];
  const args = [`--query-gpu=${FIELDS}`, '--format=csv,noheader,nounits', '-lms', String(intervalMs)];
  const visible = env.CUDA_VISIBLE_DEVICES;
  // Only the GPUs this process may use; an empty or "-1" list hides them all.
  if (visible !== undefined) {
    if (!/^\d+(,\d+)*$/.test(visible.trim())) return { stop: () => Promise.resolve(null) };
    args.unshift('-i', visible.trim());
  }
  let child: ReturnType<typeof spawn> | undefined;
  let closed: Promise<void> = Promise.resolve();
  // The first sample, awaited (bounded) at stop: a run shorter than nvidia-smi's start still gets one.
  let firstSample: () => void = () => {};
  const sampled = new Promise<void>((resolve) => (firstSample = resolve));
  try {
    child = spawn('nvidia-smi', args, { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let rest = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      const t = Date.now();
      for (const l of lines) {
        const s = parseSampleLine(l, t);
        if (s) samples.push(s);
      }
      if (samples.length) firstSample();
    });
    closed = new Promise<void>((resolve) => {
      child!.on('error', () => resolve());
      child!.on('close', () => resolve());
    });
  } catch {
    child = undefined;
  }
  return {
    async stop() {
      const t1 = Date.now();
      if (child && !samples.length) {
        let timer: NodeJS.Timeout | undefined;
        const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(2000, 2 * intervalMs))));
        await Promise.race([sampled, closed, bound]);
        clearTimeout(timer);
      }
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await closed;
      return summarise(samples, t0, t1, intervalMs);
    },
  };
}
