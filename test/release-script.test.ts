/**
 * scripts/release.mjs on a temporary clone of this repository: the version written everywhere it
 * is, the callable workflows pinned to it, the starters calling its major version, vX.Y.Z tagged
 * and vX moved; refused on a dirty tree and when the built bundles differ from the committed ones.
 * CDL_RELEASE_BUILD stands in for the bundle build (minutes with ncc; .ci/run's check-dist runs it).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CDL_REPOSITORY } from '../src/version.js';
import { git, REPO, removeTempDirs, tempDir } from './helpers/example.js';

afterAll(() => removeTempDirs());

function clone(): string {
  const dir = path.join(tempDir('cdl-release-clone-'), 'cdl');
  // A local clone shares the object files by hard link (or copies them across file systems); the
  // release only adds objects and refs of its own, so this repository is never touched.
  git(REPO, 'clone', '-q', REPO, dir);
  // An action whose bundle is built only at integration (scripts/build-actions.mjs) gets a
  // committed stand-in here, so that the release's bundle check is what this test exercises.
  const actions = path.join(dir, 'actions');
  const unbuilt = readdirSync(actions).filter(
    (a) => existsSync(path.join(actions, a, 'action.yml')) && !existsSync(path.join(actions, a, 'dist', 'index.js')),
  );
  for (const a of unbuilt) {
    mkdirSync(path.join(actions, a, 'dist'), { recursive: true });
    writeFileSync(path.join(actions, a, 'dist', 'index.js'), '// built at integration\n');
  }
  if (unbuilt.length) {
    git(dir, 'add', '-A');
    git(dir, '-c', 'commit.gpgsign=false', 'commit', '-qm', 'bundles');
  }
  return dir;
}

function release(dir: string, version: string, build = 'true') {
  const r = spawnSync(process.execPath, ['scripts/release.mjs', version], {
    cwd: dir,
    encoding: 'utf8',
    env: {
      ...process.env,
      CDL_RELEASE_BUILD: build,
      GIT_AUTHOR_NAME: 'cdl test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'cdl test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
    },
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe('scripts/release.mjs', () => {
  it('writes the version, pins the callable workflows, tags vX.Y.Z and moves vX', () => {
    const dir = clone();
    const r = release(dir, '1.0.0');
    expect(r.code, r.out).toBe(0);
    const head = git(dir, 'rev-parse', 'HEAD');
    expect(git(dir, 'rev-parse', 'v1.0.0^{commit}')).toBe(head);
    expect(git(dir, 'rev-parse', 'v1^{commit}')).toBe(head);
    expect(git(dir, 'log', '-1', '--format=%s')).toBe('Release v1.0.0');
    expect(git(dir, 'status', '--porcelain')).toBe('');
    expect(JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).version).toBe('1.0.0');
    expect(readFileSync(path.join(dir, 'src', 'version.ts'), 'utf8')).toContain("CDL_VERSION = '1.0.0'");
    const refs = (file: string) =>
      [...readFileSync(file, 'utf8').matchAll(new RegExp(`${CDL_REPOSITORY}/[\\w./-]+@(v[\\w.]+)`, 'g'))].map((m) => m[1]);
    const callable = path.join(dir, '.github', 'workflows');
    const pinned = readdirSync(callable).flatMap((f) => refs(path.join(callable, f)));
    expect(pinned.length).toBeGreaterThan(10);
    expect(new Set(pinned)).toEqual(new Set(['v1.0.0']));
    const starters = path.join(dir, 'workflows-templates');
    const called = readdirSync(starters)
      .filter((f) => f.endsWith('.yml'))
      .flatMap((f) => refs(path.join(starters, f)));
    expect(new Set(called)).toEqual(new Set(['v1']));
    expect(refs(path.join(dir, 'examples', 'fashion-mnist', '.github', 'workflows', 'cdl.yml'))).toEqual(['v1']);
    expect(readFileSync(path.join(dir, 'CHANGELOG.md'), 'utf8')).toMatch(/^## Unreleased\n\n## 1\.0\.0 \(\d{4}-\d\d-\d\d\)\n/m);

    // The next minor release moves v1 and keeps v1.0.0 where it was.
    writeFileSync(
      path.join(dir, 'CHANGELOG.md'),
      readFileSync(path.join(dir, 'CHANGELOG.md'), 'utf8').replace('## Unreleased\n', '## Unreleased\n\n- A fix.\n'),
    );
    git(dir, '-c', 'commit.gpgsign=false', 'commit', '-qam', 'A fix');
    expect(release(dir, '1.0.1').code).toBe(0);
    expect(git(dir, 'rev-parse', 'v1^{commit}')).toBe(git(dir, 'rev-parse', 'HEAD'));
    expect(git(dir, 'rev-parse', 'v1.0.0^{commit}')).toBe(head);
    // A released version is never moved.
    const again = release(dir, '1.0.1');
    expect(again.code).toBe(1);
    expect(again.out).toContain('v1.0.1 exists');
  });

  it('refuses a dirty work tree, bundles that differ from their sources, and a bad version', () => {
    const dir = clone();
    writeFileSync(path.join(dir, 'README.md'), 'edited\n');
    const dirty = release(dir, '0.2.0');
    expect(dirty.code).toBe(1);
    expect(dirty.out).toContain('the work tree has changes');
    git(dir, 'checkout', '-q', '--', 'README.md');

    const stale = release(
      dir,
      '0.2.0',
      `"${process.execPath}" -e "require('fs').appendFileSync('actions/train/dist/index.js', '//')"`,
    );
    expect(stale.code).toBe(1);
    expect(stale.out).toContain('differ from the committed ones');
    expect(stale.out).toContain('actions/train/dist/index.js');
    expect(git(dir, 'tag', '--list')).toBe('');

    expect(release(dir, '2').code).toBe(2);
  });
});
