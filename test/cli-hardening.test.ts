/**
 * Hostile and careless inputs to the cdl command, data and configuration, as real processes: each
 * gets a clear error naming what was wrong and the expected form (exit 2 usage, 1 refused input),
 * and nothing outside the folder the user named is touched.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertReplaceableModelDir, isWrittenModelDir } from '../src/model-dir/out-dir.js';
import { UsageError } from '../src/util/errors.js';
import { copyExample, removeTempDirs, runCli, tempDir } from './helpers/example.js';

afterAll(removeTempDirs);

/** Every file under `dir` with its SHA-256: a fingerprint to compare before and after. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const p = path.join(e.parentPath, e.name);
    const rel = path.relative(dir, p);
    if (e.isFile()) out[rel] = createHash('sha256').update(readFileSync(p)).digest('hex');
    else if (e.isDirectory()) out[rel + '/'] = 'dir';
  }
  return out;
}

function noStack(stderr: string): void {
  expect(stderr).not.toMatch(/\bat (async )?[\w.<>]+ \(/);
}

/** A folder that looks like a model directory cdl wrote (contents are never read by the guard). */
function fakeModelDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const f of ['model.onnx', 'metrics.json', 'lineage.json']) writeFileSync(path.join(dir, f), `${f}\n`);
  return dir;
}

describe('--out only ever replaces a model directory cdl wrote', () => {
  let project: string;
  let before: Record<string, string>;

  beforeAll(() => {
    project = tempDir('cdl-out-');
    copyExample(project);
    writeFileSync(path.join(project, 'notes.txt'), 'mine\n');
    fakeModelDir(path.join(project, 'parent'));
    mkdirSync(path.join(project, 'docs'));
    writeFileSync(path.join(project, 'docs', 'keep.md'), 'keep\n');
    before = snapshot(project);
  });

  for (const [out, what] of [
    ['.', /it is the current directory/],
    ['data', /it is the data folder \(data\.path\)/],
    ['docs', /it is a non-empty folder that is not a model directory/],
  ] as const) {
    it(`train --out ${out} exits 2, names the folder and leaves the project as it was`, async () => {
      const r = await runCli(['train', '--out', out, '--set', 'train.epochs=1'], { cwd: project });
      expect(r.stderr).toMatch(/--out .*: refusing to replace .*; expected a new or empty folder, or a model directory cdl wrote/);
      expect(r.stderr).toMatch(what);
      expect(r.code).toBe(2);
      noStack(r.stderr);
      expect(snapshot(project)).toEqual(before);
      expect(readdirSync(path.dirname(project)).filter((f) => f.startsWith(path.basename(project) + '.'))).toEqual([]);
    });
  }

  it('compress --model M --out M exits 2 and keeps the parent', async () => {
    const r = await runCli(['compress', '--model', 'parent', '--out', 'parent'], { cwd: project });
    expect(r.stderr).toMatch(/--out parent: refusing to replace .*parent: it is the parent model \(--model\)/);
    expect(r.code).toBe(2);
    expect(snapshot(project)).toEqual(before);
  });

  it('accepts a missing folder, an empty one and a model directory cdl wrote; refuses a file and a symlink to the project', () => {
    const t = tempDir('cdl-out-unit-');
    expect(() => assertReplaceableModelDir(path.join(t, 'new', 'm'), '--out', [])).not.toThrow();
    mkdirSync(path.join(t, 'empty'));
    expect(() => assertReplaceableModelDir(path.join(t, 'empty'), '--out', [])).not.toThrow();
    const m = fakeModelDir(path.join(t, 'model'));
    expect(isWrittenModelDir(m)).toBe(true);
    expect(() => assertReplaceableModelDir(m, '--out', [])).not.toThrow();
    writeFileSync(path.join(t, 'file'), 'x');
    expect(() => assertReplaceableModelDir(path.join(t, 'file'), '--out', [])).toThrow(/is not a folder/);
    const proj = path.join(t, 'proj');
    mkdirSync(proj);
    writeFileSync(path.join(proj, 'cdl.yaml'), '');
    const link = path.join(t, 'link');
    symlinkSync(proj, link);
    expect(() => assertReplaceableModelDir(link, '--out', [{ path: proj, what: 'the project directory' }])).toThrow(UsageError);
    expect(() => assertReplaceableModelDir(t, '--out', [{ path: proj, what: 'the project directory' }])).toThrow(
      /it holds the project directory \(/,
    );
    expect(() =>
      assertReplaceableModelDir(path.join(proj, 'cdl.yaml'), '--out', [{ path: path.join(proj, 'cdl.yaml'), what: 'the config file' }]),
    ).toThrow(/it is the config file/);
    expect(statSync(path.join(proj, 'cdl.yaml')).isFile()).toBe(true);
  });
});
