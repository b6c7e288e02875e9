import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CDL_REPOSITORY, CDL_VERSION } from '../src/version.js';

describe('CDL_VERSION', () => {
  it("equals package.json's version", () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+(-[\w.]+)?$/);
    expect(CDL_VERSION).toBe(pkg.version);
  });

  it("CDL_REPOSITORY is package.json's repository, where cdl is published from", () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { repository: { url: string } };
    expect(pkg.repository.url).toBe(`git+https://github.com/${CDL_REPOSITORY}.git`);
  });
});
