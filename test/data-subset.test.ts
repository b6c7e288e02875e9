import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from './fixtures/data/helpers.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const full = '/usr/share/datasets/fashion-mnist';
const shipped = path.join(repo, 'examples', 'fashion-mnist', 'data');
const NAMES = [
  'train-images-idx3-ubyte.gz',
  'train-labels-idx1-ubyte.gz',
  't10k-images-idx3-ubyte.gz',
  't10k-labels-idx1-ubyte.gz',
];

describe('scripts/make-example-subset.ts', () => {
  it.skipIf(!existsSync(path.join(full, NAMES[0])))('reproduces the shipped subset byte for byte from the full dataset', () => {
    const out = tempDir('cdl-subset-');
    execFileSync(process.execPath, ['--import', 'tsx', path.join(repo, 'scripts', 'make-example-subset.ts'), full, out], {
      cwd: repo,
      stdio: 'pipe',
    });
    for (const name of NAMES) {
      expect(readFileSync(path.join(out, name)).equals(readFileSync(path.join(shipped, name))), name).toBe(true);
    }
  });

  it('ships the licence and a README with the command that regenerates the data', () => {
    expect(readFileSync(path.join(shipped, 'LICENSE'), 'utf8')).toMatch(
      /Copyright \(c\) 2017 Zalando SE[\s\S]*Permission is hereby granted/,
    );
    expect(readFileSync(path.join(shipped, 'README.md'), 'utf8')).toContain('npx tsx scripts/make-example-subset.ts');
  });
});
