/**
 * Run records on the cdl-runs branch: the schema reads older versions, records are appended with
 * git plumbing without touching the work tree, index or HEAD, and concurrent writers all land
 * (locally through update-ref's compare-and-swap, and through pushes to a shared bare repository).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { RUN_RECORD_SCHEMA_VERSION, RunRecordError, parseRunRecord } from '../src/model-dir/run-record.js';
import { appendRecord, isPermissionError, readRecords, recordPath } from '../src/runs/store.js';
import { writeRuns } from '../src/runs/record.js';
import { removeTempDirs, tempDir } from './helpers/example.js';
import { syntheticRecord } from './helpers/run-records.js';

afterAll(removeTempDirs);

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/runs/${name}`, import.meta.url));

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', '-c', 'commit.gpgsign=false', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim();
}

function repo(): string {
  const dir = tempDir('cdl-runs-repo-');
  git(dir, 'init', '-q', '-b', 'main');
  writeFileSync(path.join(dir, 'a.txt'), 'a\n');
  git(dir, 'add', 'a.txt');
  git(dir, 'commit', '-q', '-m', 'first');
  return dir;
}

describe('the run record schema', () => {
  it('reads a version 1 record as the current version', () => {
    const r = parseRunRecord(readFileSync(fixture('v1-record.json'), 'utf8'), 'v1-record.json');
    expect(r.schema_version).toBe(RUN_RECORD_SCHEMA_VERSION);
    expect(r.kind).toBe('push');
    expect(r.metrics).toMatchObject({ main_metric: 'accuracy', main_metric_value: 0.84, splits: { test: { accuracy: 0.84 } } });
    expect(r.lineage).toMatchObject({ commit: 'abcdef1234567890abcdef1234567890abcdef12', branch: 'main' });
    expect(r.hyperparameters).toEqual({ learning_rate: 0.001, batch_size: 128 });
  });

  it('refuses an unknown version and a broken record, naming the file and field', () => {
    expect(() => parseRunRecord('{"schema_version": 99}', 'x.json')).toThrow(/x\.json: schema_version 99 is not supported/);
    const bad = { ...syntheticRecord(), model: 3 };
    expect(() => parseRunRecord(JSON.stringify(bad), 'y.json')).toThrow(RunRecordError);
    expect(() => parseRunRecord(JSON.stringify(bad), 'y.json')).toThrow(/y\.json: .*model/);
    expect(() => parseRunRecord('nope', 'z.json')).toThrow(/z\.json: invalid JSON/);
  });
});

describe('the runs branch', () => {
  it('appends without touching the work tree, the index or HEAD', async () => {
    const dir = repo();
    writeFileSync(path.join(dir, 'a.txt'), 'changed, not staged\n');
    writeFileSync(path.join(dir, 'b.txt'), 'staged\n');
    git(dir, 'add', 'b.txt');
    const before = {
      head: git(dir, 'rev-parse', 'HEAD'),
      status: git(dir, 'status', '--porcelain'),
      branch: git(dir, 'branch', '--show-current'),
    };
    const r = syntheticRecord({}, 3);
    const res = await appendRecord(dir, r);
    expect(res.path).toBe(recordPath(r));
    expect(res.path).toMatch(/^runs\/2026\/01\/20260101T\d{6}Z-[0-9a-f]{7}-push-[0-9a-f]{8}\.json$/);
    expect({
      head: git(dir, 'rev-parse', 'HEAD'),
      status: git(dir, 'status', '--porcelain'),
      branch: git(dir, 'branch', '--show-current'),
    }).toEqual(before);
    const read = await readRecords(dir);
    expect(read.map((x) => x.record)).toEqual([r]);
    // Append-only: a second record is a new commit on top, the first file stays.
    await appendRecord(dir, syntheticRecord({}, 4));
    expect(git(dir, 'rev-list', '--count', 'cdl-runs')).toBe('2');
    expect(git(dir, 'ls-tree', '-r', '--name-only', 'cdl-runs').split('\n')).toHaveLength(2);
  });

  it('reads an older record stored on the branch', async () => {
    const dir = repo();
    const blob = git(dir, 'hash-object', '-w', fixture('v1-record.json'));
    git(dir, 'update-index', '--add', '--cacheinfo', `100644,${blob},runs/2025/01/v1.json`);
    const tree = git(dir, 'write-tree');
    git(dir, 'update-ref', 'refs/heads/cdl-runs', git(dir, 'commit-tree', tree, '-m', 'old'));
    git(dir, 'read-tree', 'HEAD');
    const read = await readRecords(dir);
    expect(read).toHaveLength(1);
    expect(read[0]!.record.metrics.main_metric_value).toBe(0.84);
  });

  it('two writers recording at once in one repository both land', async () => {
    const dir = repo();
    const a = syntheticRecord({ kind: 'push' }, 10);
    const b = syntheticRecord({ kind: 'tune_trial' }, 11);
    const results = await Promise.all([appendRecord(dir, a), appendRecord(dir, b)]);
    expect(results.map((x) => x.target)).toEqual(['cdl-runs', 'cdl-runs']);
    const ids = (await readRecords(dir)).map((x) => x.record.id).sort();
    expect(ids).toEqual([a.id, b.id].sort());
  });

  it('two jobs pushing to the same origin at once both land (the rejected push retries on the moved head)', async () => {
    const origin = tempDir('cdl-runs-origin-');
    git(origin, 'init', '-q', '--bare', '-b', 'main');
    const seed = repo();
    git(seed, 'push', '-q', origin, 'main');
    const clones = [0, 1, 2].map(() => {
      const d = tempDir('cdl-runs-clone-');
      git(d, 'clone', '-q', origin, '.');
      return d;
    });
    const records = clones.map((_, i) => syntheticRecord({ kind: 'push' }, 20 + i));
    const results = await Promise.all(clones.map((d, i) => appendRecord(d, records[i]!, { remote: 'origin' })));
    expect(results.every((r) => r.target === 'origin/cdl-runs')).toBe(true);
    const ids = git(origin, 'ls-tree', '-r', '--name-only', 'cdl-runs')
      .split('\n')
      .map((f) => path.basename(f, '.json'));
    expect(ids.sort()).toEqual(records.map((r) => r.id).sort());
    // A reader in a fresh clone fetches the branch from origin.
    const reader = tempDir('cdl-runs-reader-');
    git(reader, 'clone', '-q', origin, '.');
    expect((await readRecords(reader)).map((x) => x.record.id).sort()).toEqual(records.map((r) => r.id).sort());
  });

  it.each([
    [' ! [remote rejected] 5e403ab9c1 -> cdl-runs (cannot lock ref)', false],
    ["error: failed to push some refs to '/tmp/cdl-runs-origin-403abc'", false],
    ["fatal: unable to access 'https://github.com/o/r/': The requested URL returned error: 403", true],
    ['remote: Permission to o/r.git denied to github-actions[bot].', true],
  ])('a push failing with %j is a refused permission: %s', (stderr, refused) => {
    expect(isPermissionError(stderr)).toBe(refused);
  });

  it('on GitHub, a pull request from a fork does not record and says so', async () => {
    const dir = repo();
    const event = path.join(dir, 'event.json');
    writeFileSync(event, JSON.stringify({ pull_request: { number: 5, head: { repo: { full_name: 'someone/fork' } } } }));
    const lines: string[] = [];
    const env = {
      GITHUB_ACTIONS: 'true',
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: event,
      GITHUB_REPOSITORY: 'owner/repo',
      GITHUB_WORKSPACE: dir,
    };
    const done = await writeRuns([syntheticRecord({ kind: 'pull_request' })], { env, log: (l) => lines.push(l) });
    expect(done).toEqual([]);
    expect(lines.join('\n')).toMatch(/not recorded: a pull request from a fork has a read-only token/);
    expect(git(dir, 'branch', '--list', 'cdl-runs')).toBe('');
  });

  it('a token that may not write: the run is not recorded, with the reason, and nothing fails', async () => {
    const dir = repo();
    // A remote whose push always fails like GitHub's answer to a read-only token.
    const origin = tempDir('cdl-runs-ro-');
    git(origin, 'init', '-q', '--bare', '-b', 'main');
    const hook = path.join(origin, 'hooks', 'pre-receive');
    writeFileSync(
      hook,
      '#!/bin/sh\necho "remote: Permission to owner/repo.git denied to github-actions[bot]." >&2\necho "fatal: unable to access: The requested URL returned error: 403" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    git(dir, 'remote', 'add', 'origin', origin);
    const lines: string[] = [];
    const env = { GITHUB_ACTIONS: 'true', GITHUB_EVENT_NAME: 'push', GITHUB_WORKSPACE: dir, GITHUB_REPOSITORY: 'owner/repo' };
    const done = await writeRuns([syntheticRecord()], { env, token: 'read-only', log: (l) => lines.push(l) });
    expect(done).toEqual([]);
    expect(lines.join('\n')).toMatch(/not recorded: push to origin cdl-runs refused: .*contents: write/);
  });
});
