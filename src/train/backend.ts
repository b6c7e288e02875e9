/**
 * Choose the TensorFlow.js backend at run time:
 *   @tensorflow/tfjs-node-gpu (CUDA) → @tensorflow/tfjs-node → @tensorflow/tfjs-backend-wasm → pure JS.
 * The first two are optional: detected on the machine, never required.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../config/schema/train.js';
import { bundledTf, type Tf } from './tf.js';
import { TrainError } from '../util/errors.js';

export interface BackendInfo {
  /** tfjs backend name: 'tensorflow' (tfjs-node and tfjs-node-gpu), 'wasm' or 'cpu'. */
  name: string;
  /** The cdl name of what was chosen: tensorflow-gpu, tensorflow, wasm, cpu. */
  kind: Exclude<Backend, 'auto'>;
  /** Package that provides it and its version. */
  package: string;
  version: string;
  /** Why others were skipped (auto) — shown in the log and kept in the lineage. */
  notes: string[];
  simd?: boolean;
  threads?: number;
}

export interface LoadedBackend {
  tf: Tf;
  info: BackendInfo;
}

const ORDER: Array<Exclude<Backend, 'auto'>> = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/** Where optional native packages may be found: the user's project, then cdl's own install. */
function requireFrom(): NodeRequire[] {
  const roots = [path.join(process.cwd(), 'package.json'), fileURLToPath(import.meta.url)];
  if (process.env.CDL_RUNTIME_DIR) roots.unshift(path.join(process.env.CDL_RUNTIME_DIR, 'package.json'));
  return roots.map((r) => createRequire(r));
}

function tryRequire(name: string): { mod?: unknown; error?: string; version?: string } {
  let lastError = 'not installed';
  for (const req of requireFrom()) {
    let resolved: string;
    try {
      resolved = req.resolve(name);
    } catch {
      continue;
    }
    try {
      const mod = req(resolved);
      let version = 'unknown';
      try {
        version = (req(`${name}/package.json`) as { version: string }).version;
      } catch {
        /* version stays unknown */
      }
      return { mod, version };
    } catch (e) {
      lastError = `installed but failed to load: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  return { error: lastError };
}

/** Directory holding the tfjs wasm binaries: next to a bundle (dist/wasm) or in node_modules. */
export function wasmDirectory(): string {
  if (process.env.CDL_WASM_DIR) return withSlash(process.env.CDL_WASM_DIR);
  const here = path.dirname(fileURLToPath(import.meta.url));
  const bundled = path.join(here, 'wasm');
  if (existsSync(path.join(bundled, 'tfjs-backend-wasm-simd.wasm'))) return withSlash(bundled);
  const req = createRequire(import.meta.url);
  const pkg = req.resolve('@tensorflow/tfjs-backend-wasm/package.json');
  return withSlash(path.join(path.dirname(pkg), 'dist'));
}

function withSlash(p: string): string {
  return p.endsWith(path.sep) ? p : p + path.sep;
}

let loaded: LoadedBackend | undefined;

/** The backend loaded in this process, if any. */
export function currentBackend(): LoadedBackend | undefined {
  return loaded;
}

async function tryBackend(kind: Exclude<Backend, 'auto'>): Promise<LoadedBackend | string> {
  if (kind === 'tensorflow-gpu' || kind === 'tensorflow') {
    const pkg = kind === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
    const r = tryRequire(pkg);
    if (!r.mod) return `${pkg}: ${r.error}`;
    const tf = r.mod as Tf;
    try {
      await tf.setBackend('tensorflow');
      await tf.ready();
    } catch (e) {
      return `${pkg}: backend failed to start: ${(e as Error).message}`;
    }
    return { tf, info: { name: 'tensorflow', kind, package: pkg, version: r.version ?? 'unknown', notes: [] } };
  }
  const tf = bundledTf();
  if (kind === 'wasm') {
    try {
      // Inside an ESM bundle the wasm loader's Emscripten glue reads a free `__dirname`; give it one.
      // The binaries' location is set explicitly below, so its value only has to exist.
      const g = globalThis as { __dirname?: string };
      if (typeof g.__dirname === 'undefined') g.__dirname = path.dirname(fileURLToPath(import.meta.url));
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      if (!tf.findBackendFactory('wasm')) return '@tensorflow/tfjs-backend-wasm: backend did not register';
      try {
        wasm.setWasmPaths(wasmDirectory());
      } catch {
        /* already initialized in this process */
      }
      const ok = await tf.setBackend('wasm');
      if (!ok) return '@tensorflow/tfjs-backend-wasm: failed to initialize';
      await tf.ready();
      const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
      let threads: number | undefined;
      try {
        threads = wasm.getThreadsCount();
      } catch {
        threads = undefined;
      }
      return {
        tf,
        info: {
          name: 'wasm',
          kind,
          package: '@tensorflow/tfjs-backend-wasm',
          version: wasm.version_wasm,
          notes: [],
          simd,
          threads,
        },
      };
    } catch (e) {
      return `@tensorflow/tfjs-backend-wasm: ${(e as Error).message}`;
    }
  }
  const cpu = await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  await tf.ready();
  return { tf, info: { name: 'cpu', kind: 'cpu', package: '@tensorflow/tfjs-backend-cpu', version: cpu.version_cpu, notes: [] } };
}

/**
 * Load a backend. `auto` walks the order and records why each skipped one was skipped;
 * naming one explicitly fails with a clear error if it cannot load.
 */
export async function loadBackend(preference: Backend = 'auto', opts: { deterministic?: boolean } = {}): Promise<LoadedBackend> {
  const wanted = (process.env.CDL_BACKEND as Backend | undefined) || preference;
  // TensorFlow (tfjs-node, tfjs-node-gpu) picks deterministic op implementations when this is set
  // before it loads; the user's own setting wins.
  if (opts.deterministic !== false && process.env.TF_DETERMINISTIC_OPS === undefined) process.env.TF_DETERMINISTIC_OPS = '1';
  if (loaded && (wanted === 'auto' || loaded.info.kind === wanted)) return loaded;
  const candidates = wanted === 'auto' ? ORDER : [wanted];
  const notes: string[] = [];
  for (const kind of candidates) {
    const r = await tryBackend(kind);
    if (typeof r === 'string') {
      notes.push(r);
      continue;
    }
    r.info.notes = notes;
    silenceTfjsBanner(r.tf);
    loaded = r;
    return r;
  }
  throw new TrainError(
    `no TensorFlow.js backend could be loaded for train.backend "${wanted}":\n  ${notes.join('\n  ')}\n` +
      `expected one of ${ORDER.join(', ')} (auto tries them in this order)`,
  );
}

/** The cpu backend prints a banner suggesting tfjs-node on first use; the log says which backend runs. */
function silenceTfjsBanner(tf: Tf): void {
  const backend = tf.backend() as unknown as { firstUse?: boolean };
  if (backend && 'firstUse' in backend) backend.firstUse = false;
}
