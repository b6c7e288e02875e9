// Runner labels: the ones this machine has, and whether a job's `runs-on` finds them here.
import { execFileSync } from 'node:child_process';

/** self-hosted, linux, the architecture, gpu when nvidia-smi lists one, and $CDL_RUNNER_LABELS. */
export function machineLabels(): string[] {
  const labels = ['self-hosted', 'linux', process.arch === 'arm64' ? 'arm64' : 'x64'];
  try {
    if (
      execFileSync('nvidia-smi', ['-L'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).includes(
        'GPU',
      )
    ) {
      labels.push('gpu');
    }
  } catch {
    // no GPU (or no driver)
  }
  for (const extra of (process.env.CDL_RUNNER_LABELS ?? '').split(',')) if (extra.trim()) labels.push(extra.trim());
  return labels;
}

/** Why a job whose `runs-on` is `value` cannot run on a machine with `labels`, or undefined when it can. */
export function runsOnMismatch(value: unknown, labels: string[], jobKey: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  let wanted: string[] = [];
  if (typeof value === 'string') wanted = [value];
  else if (Array.isArray(value)) wanted = value.map(String);
  else if (typeof value === 'object') {
    const named = (value as { labels?: unknown }).labels;
    wanted = typeof named === 'string' ? [named] : Array.isArray(named) ? named.map(String) : [];
  }
  const have = new Set(labels.map((l) => l.toLowerCase()));
  const missing = wanted.filter((l) => !have.has(l.toLowerCase()));
  if (missing.length === 0) return undefined;
  return (
    `job ${jobKey} runs on [${wanted.join(', ')}], but this machine has the labels [${labels.join(', ')}] ` +
    `(missing: ${missing.join(', ')}); pass --runs-on-any to run it here anyway`
  );
}
