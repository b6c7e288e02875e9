/**
 * What a release ships: the model blessed for the released commit (artifact model-<sha>), found
 * through the forge and verified (checksums, blessing, commit); without one, a stop that names the
 * commit and what to do. The local forge keeps artifacts under .cdl/artifacts outside `cdl run`.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { LocalForge } from '../src/forge/local.js';
import { writeChecksums } from '../src/model-dir/checksums.js';
import { MissingModelError, releaseModel } from '../src/registry/release-model.js';
import { NotBlessedError } from '../src/registry/registry.js';
import { EXAMPLE_CONFIG, removeTempDirs, runCli, tempDir } from './helpers/example.js';
import { candidate, project, sha256 } from './helpers/registry-models.js';

afterAll(removeTempDirs);

describe('the model a release ships', () => {
  const p = project();
  const forge = new LocalForge({ root: p.dir });
  const artifact = (commit: string) => path.join(p.dir, '.cdl', 'artifacts', `model-${commit}`);
  const release = async (commit: string) =>
    releaseModel({
      forge,
      loaded: await loadConfig(EXAMPLE_CONFIG),
      commit,
      dest: path.join(tempDir('cdl-release-model-'), 'model'),
    });

  it('is the blessed artifact of the commit, byte for byte', async () => {
    const commit = p.commit('blessed');
    candidate(artifact(commit), { bias: 3, commit });
    await writeChecksums(artifact(commit));
    const r = await release(commit);
    expect(r).toMatchObject({ source: 'artifact', artifact: `model-${commit}`, run: 'local' });
    const bytes = readFileSync(path.join(artifact(commit), 'model.onnx'));
    expect(r.sha256).toBe(sha256(bytes));
    expect(sha256(readFileSync(path.join(r.dir, 'model.onnx')))).toBe(r.sha256);
    expect(r.blessing.reason).toBe('blessed: all 1 threshold met');
  });

  it('refuses a rejected, tampered, mis-summed or foreign model', async () => {
    const rejected = p.commit('rejected');
    candidate(artifact(rejected), { bias: 1, commit: rejected, blessed: 'rejected' });
    await expect(release(rejected)).rejects.toThrow(
      new RegExp(`^the model of commit ${rejected} \\(artifact model-${rejected}\\) is not blessed: the gate rejected it`),
    );
    await expect(release(rejected)).rejects.toBeInstanceOf(NotBlessedError);

    const tampered = p.commit('tampered');
    candidate(artifact(tampered), { bias: 2, commit: tampered });
    cpSync(path.join(artifact(rejected), 'model.onnx'), path.join(artifact(tampered), 'model.onnx'));
    // Swapped after the artifact was summed: the checksums refuse it before the blessing is read.
    await expect(release(tampered)).rejects.toThrow(
      /model\.onnx: SHA-256 [0-9a-f]{64} does not match [0-9a-f]{64} in SHA256SUMS/,
    );

    const summed = p.commit('summed');
    candidate(artifact(summed), { bias: 4, commit: summed });
    await writeChecksums(artifact(summed));
    writeFileSync(path.join(artifact(summed), 'metrics.json'), '{}');
    await expect(release(summed)).rejects.toThrow(/metrics\.json/);

    const other = p.commit('other');
    const foreign = p.commit('foreign');
    candidate(artifact(foreign), { bias: 5, commit: other });
    await expect(release(foreign)).rejects.toThrow(
      `artifact model-${foreign} holds a model trained at commit ${other}, not ${foreign}; refusing to release it`,
    );
  });

  it('stops and says what to do when the commit has no blessed model', async () => {
    const untrained = p.commit('never pushed through the workflow');
    const err = await release(untrained).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingModelError);
    expect((err as Error).message).toMatch(
      new RegExp(`^no blessed model for commit ${untrained}: no artifact model-${untrained} in local files under `),
    );
    expect((err as Error).message).toContain('set release.on_missing_model: retrain in cdl.yaml to train at release');
    await expect(release('main')).rejects.toThrow(/expected the full SHA-1 of the released commit/);

    const cli = await runCli(
      ['models', 'blessed', '--config', EXAMPLE_CONFIG, '--commit', untrained, '--out', path.join(tempDir(), 'm')],
      { cwd: p.dir, env: { CDL_FORGE: 'local' } },
    );
    expect(cli.code, cli.stderr).toBe(1);
    expect(cli.stderr).toContain(`no blessed model for commit ${untrained}`);
  });
});
