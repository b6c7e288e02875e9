/**
 * Bring your own trainer: `train.command` runs the user's script (PyTorch, JAX, anything) with
 * CDL_* environment variables and collects the model.onnx and metrics.json it writes.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { inputScale, type DataSection } from '../config/schema/data.js';
import type { CdlConfig } from '../config/schema/cdl-config.js';
import { MODEL_FILES } from '../model-dir/files.js';
import { TrainError } from '../util/errors.js';

export interface CommandResult {
  onnx: Uint8Array;
  /** Numeric metrics the script reported, by split (flat values go to "test"). */
  splits: Record<string, Record<string, number>>;
  raw: Record<string, unknown>;
  seconds: number;
}

function dataEnv(data: DataSection, baseDir: string): Record<string, string> {
  const isUrl = /^https?:\/\//.test(data.path);
  const root = isUrl ? data.path : path.resolve(baseDir, data.path);
  const resolve = (p: string) => (isUrl ? `${root.replace(/\/$/, '')}/${p}` : path.join(root, p));
  const split = (s: DataSection['train']) =>
    s === undefined
      ? ''
      : typeof s === 'string'
        ? resolve(s)
        : JSON.stringify({ images: resolve(s.images), labels: resolve(s.labels) });
  return {
    CDL_DATA_FORMAT: data.format,
    CDL_DATA_DIR: root,
    CDL_DATA_TRAIN: split(data.train),
    CDL_DATA_TEST: split(data.test),
    CDL_DATA_CLASSES: JSON.stringify(data.classes ?? []),
    CDL_DATA_SCALE: String(inputScale(data)),
    CDL_VALIDATION_FRACTION: String(data.validation.fraction),
    CDL_VALIDATION_SEED: String(data.validation.seed),
  };
}

/** The environment a training command sees, documented in the README. */
export function commandEnv(cfg: CdlConfig, baseDir: string, outDir: string, configFile: string | null): Record<string, string> {
  const t = cfg.train;
  return {
    CDL_OUTPUT_DIR: outDir,
    CDL_CONFIG: configFile ?? '',
    CDL_CONFIG_JSON: JSON.stringify(cfg),
    CDL_MODEL_NAME: cfg.model.name,
    CDL_TASK: cfg.model.task,
    CDL_EPOCHS: String(t.epochs),
    CDL_BATCH_SIZE: String(t.batch_size),
    CDL_LEARNING_RATE: String(t.optimizer.learning_rate),
    CDL_SEED: String(t.seed),
    CDL_HYPERPARAMETERS: JSON.stringify({
      epochs: t.epochs,
      batch_size: t.batch_size,
      optimizer: t.optimizer.name,
      learning_rate: t.optimizer.learning_rate,
      seed: t.seed,
      ...t.hyperparameters,
    }),
    ...dataEnv(cfg.data, baseDir),
  };
}

/** Run the command in a shell from `cwd`, streaming its output line by line to `log`. */
export async function runCommand(
  command: string,
  opts: { cwd: string; env: Record<string, string>; log: (line: string) => void; timeoutMinutes?: number },
): Promise<number> {
  const t0 = performance.now();
  const child = spawn(command, {
    cwd: opts.cwd,
    shell: process.platform === 'win32' ? true : '/bin/sh',
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pump = (stream: NodeJS.ReadableStream) => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (rest + chunk).split(/\r?\n/);
      rest = lines.pop() ?? '';
      for (const l of lines) opts.log(l);
    });
    stream.on('end', () => rest && opts.log(rest));
  };
  pump(child.stdout!);
  pump(child.stderr!);
  let timer: NodeJS.Timeout | undefined;
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', (e) => reject(new TrainError(`train.command "${command}" could not start: ${e.message}`)));
    child.on('close', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
    if (opts.timeoutMinutes) {
      timer = setTimeout(() => child.kill('SIGTERM'), opts.timeoutMinutes * 60_000);
    }
  });
  if (timer) clearTimeout(timer);
  void t0;
  return code;
}

function numericEntries(o: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

/** Read and check what a training command left in `outDir`. */
export async function collectCommandOutputs(outDir: string, command: string): Promise<Omit<CommandResult, 'seconds'>> {
  const onnxPath = path.join(outDir, MODEL_FILES.onnx);
  const metricsPath = path.join(outDir, MODEL_FILES.metrics);
  const missing = [!existsSync(onnxPath) && MODEL_FILES.onnx, !existsSync(metricsPath) && MODEL_FILES.metrics].filter(Boolean);
  if (missing.length) {
    throw new TrainError(
      `train.command "${command}" finished but wrote no ${missing.join(' and no ')} in ${outDir} ($CDL_OUTPUT_DIR); ` +
        `expected the trained model exported to ONNX at $CDL_OUTPUT_DIR/model.onnx and its metrics as JSON at $CDL_OUTPUT_DIR/metrics.json`,
    );
  }
  if ((await stat(onnxPath)).size === 0) {
    throw new TrainError(`${onnxPath}: empty file; expected an ONNX model written by train.command`);
  }
  const onnx = new Uint8Array(await readFile(onnxPath));
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(metricsPath, 'utf8'));
  } catch (e) {
    throw new TrainError(
      `${metricsPath}: invalid JSON (${(e as Error).message}); expected an object such as {"test": {"accuracy": 0.91}} or {"accuracy": 0.91}`,
    );
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TrainError(
      `${metricsPath}: expected a JSON object such as {"test": {"accuracy": 0.91}} or {"accuracy": 0.91}, got ${Array.isArray(raw) ? 'a list' : typeof raw}`,
    );
  }
  const obj = raw as Record<string, unknown>;
  const splits: Record<string, Record<string, number>> = {};
  for (const s of ['train', 'validation', 'test']) {
    const v = obj[s] ?? (obj.splits as Record<string, unknown> | undefined)?.[s];
    if (v && typeof v === 'object') splits[s] = numericEntries(v as Record<string, unknown>);
  }
  const flat = numericEntries(obj);
  if (Object.keys(flat).length) splits.test = { ...flat, ...(splits.test ?? {}) };
  if (!Object.values(splits).some((s) => Object.keys(s).length)) {
    throw new TrainError(
      `${metricsPath}: no numeric metric found; expected for example {"test": {"accuracy": 0.91, "loss": 0.25}}`,
    );
  }
  return { onnx, splits, raw: obj };
}
