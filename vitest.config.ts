import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The toolkit's ::debug:: lines stay out of the output unless RUNNER_DEBUG / ACTIONS_STEP_DEBUG is set.
    setupFiles: ['test/setup/toolkit-debug.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './test/reporter.ts'],
  },
});
