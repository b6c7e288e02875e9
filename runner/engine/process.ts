// Runs one process of a step: its own process group (so a timeout ends its children too), output
// split into lines as it comes.
import { spawn } from 'node:child_process';

interface ExecOptions {
  cwd: string;
  env: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
  onLine: (line: string, stream: 'stdout' | 'stderr') => void;
}

interface ExecResult {
  code: number;
  timedOut: boolean;
  cancelled: boolean;
  error?: string;
}

export function execLines(command: string, args: string[], opts: ExecOptions): Promise<ExecResult> {
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    } catch (error) {
      resolve({ code: 127, timedOut: false, cancelled: false, error: (error as Error).message });
      return;
    }
    let timedOut = false;
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const kill = () => {
      if (child.pid === undefined || child.exitCode !== null) return;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      killTimer = setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 3000);
    };
    const timer =
      opts.timeoutMs !== undefined && opts.timeoutMs > 0 && Number.isFinite(opts.timeoutMs)
        ? setTimeout(() => {
            timedOut = true;
            kill();
          }, opts.timeoutMs)
        : undefined;
    const onAbort = () => {
      cancelled = true;
      kill();
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });

    const splitter = (stream: 'stdout' | 'stderr') => {
      let pending = '';
      return {
        data(chunk: Buffer) {
          pending += chunk.toString('utf8');
          let nl = pending.indexOf('\n');
          while (nl >= 0) {
            opts.onLine(pending.slice(0, nl).replace(/\r$/, ''), stream);
            pending = pending.slice(nl + 1);
            nl = pending.indexOf('\n');
          }
        },
        end() {
          if (pending !== '') opts.onLine(pending.replace(/\r$/, ''), stream);
          pending = '';
        },
      };
    };
    const out = splitter('stdout');
    const err = splitter('stderr');
    child.stdout.on('data', out.data);
    child.stderr.on('data', err.data);
    let spawnError: string | undefined;
    child.on('error', (e) => (spawnError = e.message));
    child.on('close', (code, sig) => {
      out.end();
      err.end();
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({ code: code ?? (sig ? 128 : 1), timedOut, cancelled, error: spawnError });
    });
  });
}
