import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isModelDir } from '../src/model-dir/index.js';

const root = mkdtempSync(path.join(tmpdir(), 'cdl-model-dir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function dir(name: string, files: string[]): string {
  const d = path.join(root, name);
  mkdirSync(d, { recursive: true });
  for (const f of files) writeFileSync(path.join(d, f), 'x');
  return d;
}

describe('isModelDir', () => {
  it('model.onnx with metrics.json or SHA256SUMS is a directory cdl wrote; anything else is not', () => {
    expect(isModelDir(dir('trained', ['model.onnx', 'metrics.json']))).toBe(true);
    expect(isModelDir(dir('released', ['model.onnx', 'SHA256SUMS']))).toBe(true);
    expect(isModelDir(dir('export', ['model.onnx']))).toBe(false);
    expect(isModelDir(dir('notes', ['metrics.json', 'README.md']))).toBe(false);
    expect(isModelDir(path.join(root, 'missing'))).toBe(false);
  });
});
