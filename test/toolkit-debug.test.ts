/** The suite's output filter (test/setup/toolkit-debug.ts) on the real @actions/core, in a fresh process. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const script = `
await import('./test/setup/toolkit-debug.ts');
const core = await import('@actions/core');
core.debug('request headers');
core.info('uploading');
core.warning('slow upload');
core.error('upload failed');
process.stdout.write('::debug::not alone\\nsecond line\\n');
`;

function run(env: Record<string, string>): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe('the toolkit debug filter of the test suite', () => {
  it('drops whole ::debug:: commands and keeps info, warnings, errors and any other write', () => {
    expect(run({}).split('\n')).toEqual([
      'uploading',
      '::warning::slow upload',
      '::error::upload failed',
      '::debug::not alone',
      'second line',
      '',
    ]);
  });

  it.each<Record<string, string>>([{ RUNNER_DEBUG: '1' }, { ACTIONS_STEP_DEBUG: 'true' }])(
    'shows them again with %o, as GitHub does',
    (env) => {
      expect(run(env)).toContain('::debug::request headers\n');
    },
  );
});
