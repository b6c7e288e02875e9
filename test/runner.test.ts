/**
 * `cdl run` end to end: real workflows in a temporary git repository, the unmodified
 * @actions/artifact and @actions/cache talking to the local results server.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWorkflow, type RunOptions, type RunSummary } from '../runner/engine/workflow-run.js';
import { expandMatrix } from '../runner/engine/matrix.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixtures = path.join(root, 'test', 'fixtures', 'workflows');
const SECRET = 'tok-Secret-7731';

let repo: string;

function gitRepo(from: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cdl-run-'));
  cpSync(from, dir, { recursive: true });
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.email=dev@example.com', '-c', 'user.name=Dev', 'commit', '-qm', 'fixture');
  return dir;
}

async function run(workflow: string, opts: Partial<RunOptions> = {}): Promise<RunSummary & { log: string }> {
  let log = '';
  const summary = await runWorkflow({ workflow, repoRoot: repo, write: (s) => (log += s), ...opts });
  return { ...summary, log };
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

beforeAll(() => {
  repo = gitRepo(path.join(fixtures, 'repo'));
});
afterAll(() => {
  rmSync(repo, { recursive: true, force: true });
});

describe('cdl run', () => {
  it('runs a matrix with include/exclude through needs and job outputs, composite and JavaScript actions, failure() cleanup, and masks secrets', async () => {
    const r = await run('.github/workflows/pipeline.yml', { secrets: { API_TOKEN: SECRET } });
    expect(r.exitCode, r.log).toBe(1);
    expect(r.jobs.map((j) => [j.key, j.result])).toEqual([
      ['build (small, 1, extra)', 'success'],
      ['build (small, 2, extra)', 'success'],
      ['build (large, 1)', 'success'],
      ['build (huge, 9)', 'success'],
      ['report', 'success'],
      ['cleanup', 'failure'],
      ['skipped', 'skipped'],
    ]);
    expect(r.log).toMatch(/\[build \(small, 1, extra\)\] train small \| level job/);
    expect(r.log).toContain('greeting hello large!');
    expect(r.log).toContain('action path ok');
    expect(r.log).toMatch(/\[report\] .* \| needs success (small|large|huge)-\d-(extra)?/);
    expect(r.log).toContain('main sees state kept');
    expect(r.log).toContain('post sees state main-kept');
    expect(r.log).toContain('cleanup ran after the failure');
    expect(r.log).not.toContain('this must not run\n');
    expect(r.log).toMatch(/error: \[cleanup\] model\.py:12:3: loss is NaN/);
    expect(r.log).toContain('token is *** and ***');
    expect(r.log).toContain('now ***');
    // secrets appear nowhere: not in the live log, not in any file of the run directory
    expect(r.log).not.toContain(SECRET);
    expect(r.log).not.toContain('hidden-value-42');
    for (const f of allFiles(r.runDir)) {
      const text = readFileSync(f, 'utf8');
      expect(text.includes(SECRET), f).toBe(false);
    }
    expect(readFileSync(path.join(r.runDir, 'summaries', 'cleanup.md'), 'utf8')).toBe('always ran\n');
    expect(existsSync(path.join(r.runDir, 'logs', 'report.log'))).toBe(true);
    expect(readFileSync(path.join(r.runDir, 'summary.txt'), 'utf8')).toMatch(/job\s+result\s+duration/);
  });

  it('calls a reusable workflow with inputs, secrets and outputs', async () => {
    const r = await run('.github/workflows/call.yml', { secrets: { API_TOKEN: SECRET } });
    expect(r.exitCode, r.log).toBe(0);
    expect(r.jobs.map((j) => j.key)).toEqual(['prepare', 'train', 'train / fit', 'use']);
    expect(r.log).toContain('reusable said mlp x3 flag=true');
    expect(r.log).toContain('key ***');
    expect(r.log).not.toContain(SECRET);
  });

  it('uploads, lists and downloads artifacts larger than 8 MiB across jobs, and a later run downloads them by run id', async () => {
    const first = await run('.github/workflows/artifacts.yml');
    expect(first.exitCode, first.log).toBe(0);
    expect(first.log).toContain('Found 2 artifact(s)');
    expect(first.log).toMatch(/verified 9437184 bytes/);
    expect(readdirSync(path.join(first.runDir, 'artifacts')).sort()).toEqual(['model.zip', 'notes.zip']);
    const later = await run('.github/workflows/artifacts.yml', {
      event: 'workflow_dispatch',
      inputs: { 'from-run': first.runId },
    });
    expect(later.exitCode, later.log).toBe(0);
    expect(later.log).toContain("earlier run's artifact downloaded");
  });

  it('saves and restores caches across runs: miss, exact hit, restore-key hit (cache service v1 and v2)', async () => {
    const miss = await run('.github/workflows/cache.yml', { inputs: { key: 'k1' } });
    expect(miss.exitCode, miss.log).toBe(0);
    expect(miss.log.match(/hit=false matched=\n/g)?.length).toBe(2);
    expect(miss.log).toContain('Cache saved with key: data-v1-k1');
    expect(miss.log).toContain('Cache saved with key: data-v2-k1');
    const exact = await run('.github/workflows/cache.yml', { inputs: { key: 'k1' } });
    expect(exact.log).toContain('hit=true matched=data-v1-k1');
    expect(exact.log).toContain('hit=true matched=data-v2-k1');
    expect(exact.log.match(/restored k1/g)?.length).toBe(2);
    const prefix = await run('.github/workflows/cache.yml', { inputs: { key: 'k2' } });
    expect(prefix.log).toContain('hit=false matched=data-v1-k1');
    expect(prefix.log).toContain('hit=false matched=data-v2-k1');
    expect(prefix.log).toContain('Cache saved with key: data-v2-k2');
  });

  it('expands matrices as GitHub does', () => {
    const here = { file: 'wf.yml', line: 3, column: 7 };
    expect(expandMatrix({ a: [1, 2], b: ['x'], include: [{ a: 1, c: 'y' }, { a: 3 }], exclude: [{ a: 2 }] }, here)).toEqual([
      { a: 1, b: 'x', c: 'y' },
      { a: 3 },
    ]);
    // The example of GitHub's documentation: includes merge into the original combinations only.
    const docs = {
      fruit: ['apple', 'pear'],
      animal: ['cat', 'dog'],
      include: [
        { color: 'green' },
        { color: 'pink', animal: 'cat' },
        { fruit: 'apple', shape: 'circle' },
        { fruit: 'banana' },
        { fruit: 'banana', animal: 'cat' },
      ],
    };
    expect(expandMatrix(docs, here)).toEqual([
      { fruit: 'apple', animal: 'cat', color: 'pink', shape: 'circle' },
      { fruit: 'apple', animal: 'dog', color: 'green', shape: 'circle' },
      { fruit: 'pear', animal: 'cat', color: 'pink' },
      { fruit: 'pear', animal: 'dog', color: 'green' },
      { fruit: 'banana' },
      { fruit: 'banana', animal: 'cat' },
    ]);
    // An include-only matrix (what a job output through fromJSON usually is): one job per entry.
    const include = [0, 1, 2].map((trial) => ({ trial, rung: 0, checkpoint: '' }));
    expect(expandMatrix({ include }, here)).toEqual(include);
  });

  it('refuses what GitHub refuses in a matrix, at its file:line:col', () => {
    const here = { file: 'wf.yml', line: 3, column: 7 };
    const refused = (m: unknown) => {
      try {
        expandMatrix(m, here);
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(refused(undefined)).toBe(
      'wf.yml:3:7: strategy.matrix must be a mapping of vectors (lists), include and exclude, got nothing',
    );
    expect(refused('{"include":[]}')).toMatch(/^wf\.yml:3:7: strategy\.matrix must be a mapping .*got string/);
    expect(refused({ os: 'linux' })).toBe('wf.yml:3:7: strategy.matrix.os must be a non-empty list, got string "linux"');
    expect(refused({ os: [] })).toMatch(/strategy\.matrix\.os must be a non-empty list, got a list of 0/);
    expect(refused({ include: { trial: 1 } })).toMatch(/^wf\.yml:3:7: strategy\.matrix\.include must be a list of mappings/);
    expect(refused({ a: [1], exclude: [1] })).toMatch(/strategy\.matrix\.exclude must be a list of mappings/);
    const many = Array.from({ length: 4000 }, (_, i) => i);
    expect(refused({ n: many })).toBe('wf.yml:3:7: strategy.matrix makes 4000 jobs; GitHub allows at most 256 jobs per matrix');
    expect(refused({ include: many.map((trial) => ({ trial })) })).toMatch(/makes 4000 jobs; GitHub allows at most 256/);
    expect(refused({ a: many, b: many })).toMatch(/makes 16000000 combinations before exclude/);
    const excludes = many.slice(0, 300).map((n) => ({ n }));
    expect(refused({ n: many, exclude: excludes })).toMatch(/makes 4000 combinations before exclude/);
    // 257 is one too many; 256 runs, and excludes count before the limit is applied.
    expect(refused({ n: many.slice(0, 257) })).toMatch(/makes 257 jobs/);
    expect(expandMatrix({ n: many.slice(0, 256) }, here)).toHaveLength(256);
    expect(expandMatrix({ n: many.slice(0, 300), exclude: many.slice(256, 300).map((n) => ({ n })) }, here)).toHaveLength(256);
  });

  it('runs an include-only matrix from a job output through fromJSON, matrix values in with:, and refuses 4,000 jobs', async () => {
    const r = await run('.github/workflows/fanout.yml', { event: 'workflow_dispatch' });
    expect(r.exitCode, r.log).toBe(0);
    expect(r.jobs.map((j) => [j.key, j.result])).toEqual([
      ['plan', 'success'],
      ['trial (0, 0, )', 'success'],
      ['trial (1, 0, ck-1)', 'success'],
      ['trial (2, 0, )', 'success'],
    ]);
    expect(r.log).toMatch(/\[trial \(0, 0, \)\] Run echo .* \| said t0-r0; no checkpoint\n/);
    expect(r.log).toMatch(/\[trial \(1, 0, ck-1\)\] Run echo .* \| said t1-r0; hello trial 1 from ck-1!\n/);
    expect(r.log).toMatch(/\[trial \(2, 0, \)\] Run echo .* \| said t2-r0; no checkpoint\n/);
    expect(r.log).toMatch(/\[trial \(2, 0, \)\] Run \.\/actions\/greet \| \(skipped\)/);

    const refused = await run('.github/workflows/fanout.yml', { event: 'workflow_dispatch', inputs: { jobs: '4000' } });
    expect(refused.exitCode, refused.log).toBe(1);
    const message =
      '.github/workflows/fanout.yml:24:15: strategy.matrix makes 4000 jobs; GitHub allows at most 256 jobs per matrix';
    expect(refused.log).toContain(`[trial] error: ${message}`);
    expect(refused.jobs).toEqual([
      expect.objectContaining({ key: 'plan', result: 'success' }),
      expect.objectContaining({ key: 'trial', result: 'failure', message }),
    ]);
  });

  it('refuses a job whose runs-on labels this machine lacks, unless --runs-on-any', async () => {
    const bad = gitRepo(path.join(fixtures, 'bad'));
    try {
      let log = '';
      const refused = await runWorkflow({ workflow: 'labels.yml', repoRoot: bad, write: (s) => (log += s) });
      expect(refused.exitCode).toBe(1);
      expect(log).toMatch(/runs on \[self-hosted, tpu-v5\].*missing: tpu-v5.*--runs-on-any/);
      const forced = await runWorkflow({ workflow: 'labels.yml', repoRoot: bad, runsOnAny: true, write: () => undefined });
      expect(forced.exitCode).toBe(0);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});

describe('cdl run: bad input is a clear message with file and position, exit code 2', () => {
  let bad: string;
  beforeAll(() => {
    bad = gitRepo(path.join(fixtures, 'bad'));
  });
  afterAll(() => rmSync(bad, { recursive: true, force: true }));

  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [path.join(root, 'bin', 'cdl.js'), 'run', ...args], { cwd: bad, encoding: 'utf8' });
    return { code: r.status, out: r.stdout + r.stderr };
  };

  it.each([
    ['invalid.yml', /invalid\.yml:5:5: Unexpected value 'step'/],
    ['needs.yml', /needs\.yml:8:16: Job 'b' depends on unknown job 'train'/],
    ['missing-action.yml', /missing-action\.yml:7:9: local action \.\/actions\/does-not-exist not found/],
    [
      'remote-action.yml',
      /remote-action\.yml:6:9: the action someone\/private-action@v1 is not available offline.*--actions-dir/,
    ],
    ['expression-syntax.yml', /expression-syntax\.yml:6:\d+: Unexpected end of expression/],
  ])('%s', async (file, message) => {
    await expect(runWorkflow({ workflow: file, repoRoot: bad, write: () => undefined })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(message),
    });
  });

  it('an expression that fails at run time names its file and position', async () => {
    let log = '';
    const r = await runWorkflow({ workflow: 'expression.yml', repoRoot: bad, write: (s) => (log += s) });
    expect(r.exitCode).toBe(2);
    expect(log).toMatch(/expression\.yml:6:14: error in expression .*fromJSON/);
  });

  it('the command exits with 2 and prints the position (plain node, bin/cdl.js)', () => {
    const r = cli('needs.yml');
    expect(r.code).toBe(2);
    expect(r.out).toContain("needs.yml:8:16: Job 'b' depends on unknown job 'train'");
    expect(cli('no-such.yml').code).toBe(2);
  });
});
