/** Shared test helpers: the Fashion-MNIST example, temporary projects and the cdl process. */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { loadConfig, type LoadedConfig } from '../../src/config/index.js';

export const REPO = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const EXAMPLE_DIR = path.join(REPO, 'examples', 'fashion-mnist');
export const EXAMPLE_CONFIG = path.join(EXAMPLE_DIR, 'cdl.yaml');
export const CDL_BIN = path.join(REPO, 'bin', 'cdl.js');

/** Overrides that keep a built-in training run to a second or two on the shipped subset. */
export const QUICK = ['train.backend=wasm', 'train.epochs=2', 'data.limit.train=1500', 'data.limit.test=300'];

const made: string[] = [];

// Whatever a test file made is removed when the file is done, even when its own hooks leave some
// out (a describe's afterAll runs before later describes make theirs) or a test fails half-way.
afterAll(() => removeTempDirs());

/** A fresh temporary directory, removed by `removeTempDirs()` and after the test file in any case. */
export function tempDir(prefix = 'cdl-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Copy the example's cdl.yaml files and data into `dest` (a project of its own). */
export function copyExample(dest: string): string {
  for (const f of readdirSync(EXAMPLE_DIR)) {
    if (f.endsWith('.yaml')) cpSync(path.join(EXAMPLE_DIR, f), path.join(dest, f));
  }
  cpSync(path.join(EXAMPLE_DIR, 'data'), path.join(dest, 'data'), { recursive: true });
  return path.join(dest, 'cdl.yaml');
}

/** Run git in `cwd` with a fixed identity; returns trimmed stdout. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.name=cdl test', '-c', 'user.email=test@example.com', '-c', 'commit.gpgsign=false', ...args],
    {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  ).trim();
}

/** A temporary git repository holding a copy of the example, everything committed. */
export function exampleRepo(branch = 'main'): { dir: string; config: string } {
  const dir = tempDir('cdl-repo-');
  const config = copyExample(dir);
  git(dir, 'init', '-q', '-b', branch);
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'example');
  return { dir, config };
}

export async function exampleConfig(overrides: string[] = QUICK, file = EXAMPLE_CONFIG): Promise<LoadedConfig> {
  return loadConfig(file, overrides);
}

/** A log function that keeps the lines. */
export function captureLog(): { log: (line: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { log: (l) => lines.push(l), lines };
}

/** Entries of `dir`'s parent that start with `dir`'s name (partial, old, checkpoint siblings). */
export function siblings(dir: string): string[] {
  const base = path.basename(dir);
  return readdirSync(path.dirname(dir)).filter((f) => f.startsWith(base));
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `node bin/cdl.js ...args` as a real process. */
export function runCli(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...opts.env };
    delete env.CDL_DEBUG;
    const child = spawn(process.execPath, [CDL_BIN, ...args], { cwd: opts.cwd ?? REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // A guard against a hung process, not a speed limit: a busy machine may take minutes.
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
