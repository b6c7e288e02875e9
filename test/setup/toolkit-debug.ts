/**
 * Keeps the toolkit's `::debug::` lines out of the test output, as GitHub's runner keeps them out of
 * a job's log unless step debugging is on.
 *
 * Tests run the unmodified toolkit in the test process (the artifact and cache clients, Octokit through
 * @actions/github), and `core.debug` writes every request, header set and body as a `::debug::`
 * command on stdout whatever the environment says: a few hundred lines per test file, which bury the
 * lines a person needs. Only whole `::debug::` commands are dropped; `::error::`, `::warning::`,
 * `core.info` and everything else still reach the output. Set RUNNER_DEBUG=1 or
 * ACTIONS_STEP_DEBUG=true to see them again, as on GitHub.
 */
const debugOn = process.env.RUNNER_DEBUG === '1' || process.env.ACTIONS_STEP_DEBUG === 'true';

if (!debugOn) {
  const write = process.stdout.write.bind(process.stdout) as (...args: unknown[]) => boolean;
  const isDebugCommand = (chunk: unknown): boolean => {
    const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : '';
    // @actions/core writes one command per call: "::debug::<escaped message>" and the line end.
    return text.startsWith('::debug::') && text.indexOf('\n') === text.length - 1;
  };
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (!isDebugCommand(chunk)) return write(chunk, ...rest);
    const callback = rest.find((a) => typeof a === 'function') as ((err?: Error | null) => void) | undefined;
    if (callback) queueMicrotask(() => callback());
    return true;
  }) as typeof process.stdout.write;
}
