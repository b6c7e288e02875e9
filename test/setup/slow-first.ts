/**
 * Test file order: the slowest files start first. With two workers the suite ends when the last file
 * does; Vitest's own order on a fresh clone (no timing cache yet) is largest file first, which starts
 * the short but slow end-to-end files last and leaves one worker idle while they run alone.
 * Where the cache has timings, Vitest's order already puts them first and this changes nothing.
 */
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Slowest first, by their wall time on two loaded cores (see bench/results/ci.md). */
export const SLOW_FILES = ['test/e2e.test.ts', 'test/tune-workflow.test.ts', 'test/train-repro.test.ts'];

export class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const root = this.ctx.config.root;
    const rank = (f: TestSpecification) => {
      const i = SLOW_FILES.indexOf(path.relative(root, f.moduleId).split(path.sep).join('/'));
      return i < 0 ? SLOW_FILES.length : i;
    };
    return sorted
      .map((f, i) => ({ f, i }))
      .sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i)
      .map(({ f }) => f);
  }
}
