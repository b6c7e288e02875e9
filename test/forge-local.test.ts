/** The local forge: releases as git tags plus files under .cdl/releases, reports under .cdl/reports. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GitHubForge } from '../src/forge/github.js';
import { selectForge } from '../src/forge/index.js';
import { LocalForge } from '../src/forge/local.js';
import { compareVersions, releasesOfModel } from '../src/forge/tags.js';
import { git, removeTempDirs, tempDir } from './helpers/example.js';

afterAll(removeTempDirs);

function modelDir(root: string, name: string, accuracy: number): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.onnx'), name);
  writeFileSync(path.join(dir, 'metrics.json'), JSON.stringify({ main_metric: 'accuracy', main_metric_value: accuracy }));
  return dir;
}

describe('LocalForge', () => {
  it('orders releases by version, tags them in git, and serves their files', async () => {
    const root = tempDir('cdl-forge-local-');
    git(root, 'init', '-q', '-b', 'main');
    writeFileSync(path.join(root, 'README'), 'x');
    git(root, 'add', '.');
    git(root, 'commit', '-q', '-m', 'init');
    const forge = new LocalForge({ root });
    expect(await forge.listReleases('m')).toEqual([]);
    for (const [tag, acc] of [
      ['m-v1.9.0', 0.8],
      ['m-v1.10.0', 0.85],
      ['other-v9.0.0', 0.1],
      ['m-v1.10.0-rc.1', 0.9],
    ] as const) {
      await forge.createRelease(tag, modelDir(path.join(root, 'build'), tag, acc), { model: 'm' });
    }
    await expect(forge.createRelease('m-v1.9.0', path.join(root, 'build', 'm-v1.9.0'))).rejects.toThrow(
      'release m-v1.9.0 already exists',
    );
    expect((await forge.listReleases('m')).map((r) => r.tag)).toEqual(['m-v1.10.0', 'm-v1.10.0-rc.1', 'm-v1.9.0']);
    expect(git(root, 'tag', '--list').split('\n').sort()).toEqual(['m-v1.10.0', 'm-v1.10.0-rc.1', 'm-v1.9.0', 'other-v9.0.0']);
    const latest = (await forge.listReleases('m'))[0]!;
    expect(latest.commit).toBe(git(root, 'rev-parse', 'HEAD'));
    expect(readFileSync(path.join(await forge.downloadRelease(latest), 'model.onnx'), 'utf8')).toBe('m-v1.10.0');
    expect(await forge.releaseMetrics(latest)).toMatchObject({ main_metric_value: 0.85 });
    expect(await forge.getRelease('nope')).toBeUndefined();
    await expect(forge.downloadArtifact('model-abc')).rejects.toThrow(
      /artifact model-abc: not found; expected a folder .*\.cdl\/artifacts\/model-abc/,
    );
  });

  it('keeps one comment file per model, updated, with the status beside it', async () => {
    const forge = new LocalForge({ root: tempDir('cdl-forge-local-') });
    const p = {
      model: 'm',
      markdown: '# one',
      html: '<p>one</p>',
      decision: 'blessed' as const,
      description: 'blessed',
      comment: true,
    };
    expect((await forge.publish(p)).comment?.action).toBe('created');
    const second = await forge.publish({ ...p, markdown: '# two', decision: 'rejected' });
    expect(second.comment?.action).toBe('updated');
    expect(readFileSync(path.join(forge.reportDir('m'), 'comment.md'), 'utf8')).toBe('<!-- cdl-report: model=m -->\n# two');
    expect(JSON.parse(readFileSync(path.join(forge.reportDir('m'), 'status.json'), 'utf8'))).toMatchObject({ state: 'failure' });
  });

  it('is chosen offline; GitHub only inside Actions with a token and a repository', async () => {
    expect(await selectForge({ env: {} })).toBeInstanceOf(LocalForge);
    expect(await selectForge({ env: { GITHUB_ACTIONS: 'true' } })).toBeInstanceOf(LocalForge);
    expect(await selectForge({ env: { GITHUB_ACTIONS: 'true', GITHUB_TOKEN: 't', GITHUB_REPOSITORY: 'o/r' } })).toBeInstanceOf(
      GitHubForge,
    );
    expect(
      await selectForge({ env: { GITHUB_ACTIONS: 'true', GITHUB_TOKEN: 't', GITHUB_REPOSITORY: 'o/r', CDL_FORGE: 'local' } }),
    ).toBeInstanceOf(LocalForge);
  });

  it('release tags: model-specific first, plain v* in a one-model repository; versions compare numerically', () => {
    const r = (tag: string) => ({ tag });
    expect(releasesOfModel([r('v2.0.0'), r('m-v1.0.0'), r('m@1.1.0')], 'm').map((x) => x.tag)).toEqual(['m-v1.0.0', 'm@1.1.0']);
    expect(releasesOfModel([r('v2.0.0'), r('nightly'), r('x-v1')], 'm').map((x) => x.tag)).toEqual(['v2.0.0']);
    expect(compareVersions('1.10.0', '1.9.2')).toBeGreaterThan(0);
    expect(compareVersions('2.0.0-rc.1', '2.0.0')).toBeLessThan(0);
  });
});
