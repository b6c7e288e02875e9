/**
 * The one rule for every `--out` that replaces a directory: cdl only ever replaces a model
 * directory it wrote itself. It refuses the project directory, the data folder, the config's
 * folder, the parent model (or any folder holding one of them), and any non-empty folder that is
 * not a model directory, so a typo such as `--out .` cannot delete a project.
 */
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../util/errors.js';
import { contains, realPathOf } from '../util/paths.js';
import { isModelDir } from './index.js';

export interface ProtectedPath {
  path: string;
  /** What it is, for the error: "the project directory", "the data folder (data.path)". */
  what: string;
}

/**
 * Throw a UsageError (exit 2) unless `out` may be replaced by a new model directory: it does not
 * exist, is empty, or is a model directory cdl wrote, and it neither is nor holds any protected
 * path. `flag` names the option in the message (`--out`).
 */
export function assertReplaceableModelDir(out: string, flag: string, protect: ProtectedPath[]): void {
  const target = realPathOf(out);
  const shown = `${flag} ${out}`;
  const expected =
    'expected a new or empty folder, or a model directory cdl wrote (model.onnx beside metrics.json or SHA256SUMS)';
  for (const p of [{ path: process.cwd(), what: 'the current directory' }, ...protect]) {
    if (!p.path || /^https?:\/\//i.test(p.path)) continue;
    const guarded = realPathOf(p.path);
    if (contains(target, guarded)) {
      const how = target === guarded ? `is ${p.what}` : `holds ${p.what} (${guarded})`;
      throw new UsageError(`${shown}: refusing to replace ${target}: it ${how}; ${expected}`);
    }
  }
  if (!existsSync(target)) return;
  const st = lstatSync(target);
  if (!st.isDirectory()) throw new UsageError(`${shown}: ${target} exists and is not a folder; ${expected}`);
  if (readdirSync(target).length === 0 || isModelDir(target)) return;
  throw new UsageError(
    `${shown}: refusing to replace ${target}: it is a non-empty folder that is not a model directory; ${expected}`,
  );
}

/** The paths a project's `--out` must never replace: the config's folder and file, and its data. */
export function projectPaths(loaded: { file: string; dir: string; config: { data: { path: string } } }): ProtectedPath[] {
  const data = loaded.config.data.path;
  return [
    { path: loaded.dir, what: "the project directory (cdl.yaml's folder)" },
    { path: loaded.file, what: 'the config file' },
    ...(/^https?:\/\//i.test(data) ? [] : [{ path: path.resolve(loaded.dir, data), what: 'the data folder (data.path)' }]),
  ];
}
