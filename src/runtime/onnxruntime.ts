/**
 * The one way every cdl action and command reaches onnxruntime-node's native runtime.
 *
 * Action bundles never carry a copy (45 MB for linux-x64 alone). Resolution order:
 *   1. `onnxruntime-node` resolvable by Node from the code's location (a checkout of cdl after
 *      `npm ci`, `cdl run`, the CLI, tests);
 *   2. `$CDL_RUNTIME_DIR/node_modules/onnxruntime-node` (a runner provisioned by hand or air-gapped);
 *   3. the runner's tool cache, `$RUNNER_TOOL_CACHE/cdl-runtime/onnxruntime-node-<version>`, installed
 *      there with npm on first use and reused by every later job on that runner.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CdlError } from '../util/errors.js';

/** Pinned: the fast training kernels use its synchronous binding. Keep equal to package.json. */
export const ONNXRUNTIME_VERSION = '1.30.0';

export type Ort = typeof import('onnxruntime-node');

export interface OrtInfo {
  version: string;
  from: string;
}

let cached: { ort: Ort; info: OrtInfo } | undefined;

/**
 * Opt out of onnxruntime's telemetry before its native library initialises. Its POSIX builds
 * start a 1DS uploader that leaves an empty /tmp/mat-debug-<pid>.log behind for every process
 * (and reports sessions); ORT_DISABLE_TELEMETRY=1, read once at start-up, turns both off. A value
 * the user set is kept. Call before any `require('onnxruntime-node')`.
 */
export function disableOrtTelemetry(): void {
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
}

export function runtimeCacheDir(): string {
  if (process.env.CDL_RUNTIME_DIR) return process.env.CDL_RUNTIME_DIR;
  const base = process.env.RUNNER_TOOL_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'cdl');
  return path.join(base, 'cdl-runtime', `onnxruntime-node-${ONNXRUNTIME_VERSION}`);
}

function loadFrom(dir: string): Ort | undefined {
  const pkg = path.join(dir, 'node_modules', 'onnxruntime-node', 'package.json');
  if (!existsSync(pkg)) return undefined;
  return createRequire(pkg)('onnxruntime-node') as Ort;
}

async function installInto(dir: string, log: (s: string) => void): Promise<void> {
  const tmp = `${dir}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await writeFile(path.join(tmp, 'package.json'), JSON.stringify({ name: 'cdl-runtime', private: true }));
  log(`installing onnxruntime-node@${ONNXRUNTIME_VERSION} into ${dir} (once per runner)`);
  const env = { ...process.env };
  // The CUDA execution provider's libraries are a separate download; GPU runners opt in.
  if (!process.env.CDL_ONNXRUNTIME_CUDA) env.ONNXRUNTIME_NODE_INSTALL = 'skip';
  await promisify(execFile)(
    'npm',
    ['install', '--no-audit', '--no-fund', '--omit=dev', `onnxruntime-node@${ONNXRUNTIME_VERSION}`],
    { cwd: tmp, env, timeout: 600_000 },
  );
  await mkdir(path.dirname(dir), { recursive: true });
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}

/** Load onnxruntime-node, installing it into the runner's cache if nothing else provides it. */
export async function loadOrt(opts: { install?: boolean; log?: (s: string) => void } = {}): Promise<{ ort: Ort; info: OrtInfo }> {
  if (cached) return cached;
  disableOrtTelemetry();
  const log = opts.log ?? (() => {});
  const errors: string[] = [];
  try {
    const mod = (await import('onnxruntime-node')) as Ort & { default?: Ort };
    const ort = (mod.InferenceSession ? mod : mod.default) as Ort;
    cached = { ort, info: { version: ort.env?.versions?.node ?? ONNXRUNTIME_VERSION, from: 'node_modules' } };
    return cached;
  } catch (e) {
    errors.push(`node_modules: ${(e as Error).message.split('\n')[0]}`);
  }
  const dir = runtimeCacheDir();
  try {
    let ort = loadFrom(dir);
    if (!ort && opts.install !== false && !process.env.CDL_RUNTIME_DIR) {
      await installInto(dir, log);
      ort = loadFrom(dir);
    }
    if (ort) {
      cached = { ort, info: { version: ONNXRUNTIME_VERSION, from: dir } };
      return cached;
    }
    errors.push(`${dir}: not installed`);
  } catch (e) {
    errors.push(`${dir}: ${(e as Error).message.split('\n')[0]}`);
  }
  throw new CdlError(
    `onnxruntime-node ${ONNXRUNTIME_VERSION} could not be loaded:\n  ${errors.join('\n  ')}\n` +
      `expected it in node_modules, in $CDL_RUNTIME_DIR/node_modules, or installable with npm into the runner's tool cache`,
  );
}
