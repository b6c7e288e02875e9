/**
 * Promotion of one version by real `cdl models promote` processes on a temporary git repository:
 * two at once give one release and one clean refusal; one killed half-way leaves nothing visible,
 * and promoting again replaces its draft and completes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalForge } from '../src/forge/local.js';
import { PromotionConflictError } from '../src/forge/types.js';
import { CDL_BIN, git, removeTempDirs, runCli, tempDir } from './helpers/example.js';
import { candidate, project, sha256, writeSums } from './helpers/registry-models.js';

afterAll(() => removeTempDirs());

/** A blessed candidate whose TF.js weights are large, so that staging and uploading them take a while. */
function bigCandidate(proj: ReturnType<typeof project>, bias: number): { dir: string; weightsSha: string } {
  const dir = candidate(path.join(tempDir('cdl-cand-'), 'model'), { bias, commit: proj.commit(`train ${bias}`) });
  const weights = Buffer.alloc(96 * 1024 * 1024);
  for (let i = 0; i < weights.length; i += 4096) weights[i] = (i / 4096) & 255;
  writeFileSync(path.join(dir, 'tfjs', 'weights.bin'), weights);
  writeSums(dir);
  return { dir, weightsSha: sha256(weights) };
}

function promoteArgs(dir: string, version: string): string[] {
  return ['models', 'promote', '--name', 'lin', '--model', dir, '--version', version];
}

/** Environment of the promote processes: the local forge, and temporary files where the test removes them. */
const childEnv = () => ({ CDL_FORGE: 'local', TMPDIR: tempDir('cdl-promote-tmp-') });

const tags = (dir: string) => git(dir, 'tag', '--list').split('\n').filter(Boolean);

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.on('exit', (code) => resolve(code));
  });
}

describe('cdl models promote, concurrently and interrupted', () => {
  it('two promotions of one version at once: one releases, the other stops cleanly', async () => {
    const proj = project();
    const { dir, weightsSha } = bigCandidate(proj, 1);
    const [a, b] = await Promise.all([
      runCli(promoteArgs(dir, '1.0.0'), { cwd: proj.dir, env: childEnv() }),
      runCli(promoteArgs(dir, '1.0.0'), { cwd: proj.dir, env: childEnv() }),
    ]);
    const codes = [a.code, b.code].sort();
    const [winner, loser] = /: released/.test(a.stdout) ? [a, b] : [b, a];
    expect(winner.stdout).toMatch(/lin@v1\.0\.0: released/);
    if (codes[1] === 0) {
      // The other started after the first had published (promotion hashes nothing twice, so it is
      // quick): the same files again are a clean no-op.
      expect(loser.stderr + loser.stdout).toMatch(/lin@v1\.0\.0 is already released with exactly these files; nothing to do/);
    } else {
      expect(codes, `${a.stderr}\n${b.stderr}`).toEqual([0, 1]);
      expect(loser.stderr, loser.stderr).toMatch(
        /lin@v1\.0\.0 is already (being promoted \(by pid \d+ since \d{4}-\d\d-\d\dT[^)]+\)|promoted)/,
      );
    }

    expect(tags(proj.dir)).toEqual(['lin@v1.0.0']);
    const forge = new LocalForge({ root: proj.dir });
    const release = await forge.releaseDetails('lin@v1.0.0');
    expect(release).toMatchObject({ draft: false });
    expect(release!.assets.map((x) => x.name)).toEqual(
      expect.arrayContaining(['model.onnx', 'tfjs-weights.bin', 'SHA256SUMS', 'provenance.intoto.json', 'promotion.json']),
    );
    expect(release!.assets.find((x) => x.name === 'tfjs-weights.bin')?.digest).toBe(`sha256:${weightsSha}`);
    // The loser left nothing of its own: no draft, no half-made claim.
    expect(existsSync(forge.draftsDir) ? readdirSync(forge.draftsDir) : []).toEqual([]);
    const list = await runCli(['models', 'list', '--name', 'lin'], { cwd: proj.dir, env: childEnv() });
    expect(list.stdout.match(/lin@v1\.0\.0/g)).toHaveLength(1);
  });

  it('a promotion killed while uploading leaves no tag and no release; promoting again completes', async () => {
    const proj = project();
    const { dir, weightsSha } = bigCandidate(proj, 2);
    const forge = new LocalForge({ root: proj.dir });
    const draftDir = path.join(forge.draftsDir, 'lin@v2.0.0');
    const child = spawn(process.execPath, [CDL_BIN, ...promoteArgs(dir, '2.0.0')], {
      cwd: proj.dir,
      env: { ...process.env, ...childEnv() },
      stdio: 'ignore',
    });
    const exit = exited(child);
    // Poll the filesystem until the draft (the promotion's claim) has its first asset, then kill
    // the promotion between draft and publish.
    const uploading = () => existsSync(draftDir) && readdirSync(draftDir).some((f) => f !== 'release.json');
    for (let i = 0; i < 6000 && !uploading() && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 20));
    expect(uploading(), 'the draft got its first asset').toBe(true);
    child.kill('SIGKILL');
    await exit;
    expect(child.signalCode).toBe('SIGKILL');

    // Nothing visible: no git tag, no published release, not listed.
    expect(tags(proj.dir)).toEqual([]);
    expect(existsSync(path.join(forge.releasesDir, 'lin@v2.0.0'))).toBe(false);
    const list = await runCli(['models', 'list', '--name', 'lin'], { cwd: proj.dir, env: childEnv() });
    expect(list.stdout).not.toMatch(/lin@v2\.0\.0/);
    const history = await runCli(['models', 'history', '--name', 'lin'], { cwd: proj.dir, env: childEnv() });
    expect(history.stdout).not.toMatch(/lin@v2\.0\.0/);
    // The leftover draft is not published and cannot be fetched.
    expect((await forge.releaseDetails('lin@v2.0.0'))?.draft).toBe(true);

    const again = await runCli(promoteArgs(dir, '2.0.0'), { cwd: proj.dir, env: childEnv() });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/lin@v2\.0\.0: released/);
    expect(again.stderr + again.stdout).toMatch(/deleting the draft of lin@v2\.0\.0 left by an interrupted promotion/);
    expect(tags(proj.dir)).toEqual(['lin@v2.0.0']);
    const release = await forge.releaseDetails('lin@v2.0.0');
    expect(release).toMatchObject({ draft: false });
    expect(release!.assets.find((x) => x.name === 'tfjs-weights.bin')?.digest).toBe(`sha256:${weightsSha}`);
    expect(readdirSync(forge.draftsDir)).toEqual([]);
  });

  it('a draft held by a live process is neither replaced nor deleted by another', async () => {
    const proj = project();
    const forge = new LocalForge({ root: proj.dir });
    const tag = 'lin@v3.0.0';
    // A live process other than this one: a sleeping child, recorded as the draft's owner.
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const draft = await forge.createDraftRelease(tag, { commit: null });
      const meta = path.join(forge.draftsDir, tag, 'release.json');
      const info = JSON.parse(readFileSync(meta, 'utf8')) as { owner: Record<string, unknown> };
      writeFileSync(meta, JSON.stringify({ ...info, owner: { ...info.owner, pid: sleeper.pid } }));
      await expect(forge.createDraftRelease(tag, { commit: null })).rejects.toThrow(
        new RegExp(`${tag} is already being promoted \\(by pid ${sleeper.pid} since`),
      );
      await expect(forge.deleteDraft(draft)).rejects.toBeInstanceOf(PromotionConflictError);
      await expect(forge.publishRelease(draft)).rejects.toBeInstanceOf(PromotionConflictError);
      expect(existsSync(meta)).toBe(true);
      // Once the owner is gone, the draft is stale and is deleted.
      sleeper.kill('SIGKILL');
      await exited(sleeper);
      await forge.deleteDraft(draft);
      expect(readdirSync(forge.draftsDir)).toEqual([]);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });
});
