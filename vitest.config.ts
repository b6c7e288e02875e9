import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The toolkit's ::debug:: lines stay out of the output unless RUNNER_DEBUG / ACTIONS_STEP_DEBUG is set.
    setupFiles: ['test/setup/toolkit-debug.ts', 'test/setup/runs-off.ts'],
    // Guards against a hang, not speed limits (those live in bench/): on two cores shared with other
    // work, training and process start-up take several times longer than on an idle machine.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './test/reporter.ts'],
  },
});
