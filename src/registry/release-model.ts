/**
 * The model a release ships: the one the push workflow blessed for the released commit (the
 * artifact `model-<sha>`, found through the forge), verified (checksums, blessing, commit), never a
 * model trained again. When that commit has no blessed model, the release stops and says what to do,
 * unless cdl.yaml says `release.on_missing_model: retrain`: then it trains and gates at release, and
 * the lineage records that it was retrained at release.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { LoadedConfig } from '../config/index.js';
import { runGate } from '../evaluate/pipeline.js';
import type { Forge } from '../forge/types.js';
import { openModelDir } from '../model-dir/index.js';
import { assertReplaceableModelDir, projectPaths } from '../model-dir/out-dir.js';
import { train } from '../train/training.js';
import { CdlError } from '../util/errors.js';
import { checkBlessing, type BlessingCheck } from '../model-dir/blessing.js';
import { NotBlessedError } from './registry.js';

/** The released commit has no blessed model and the configuration does not allow retraining (exit 1). */
export class MissingModelError extends CdlError {}

export interface ReleaseModelOptions {
  forge: Forge;
  loaded: LoadedConfig;
  /** The released commit (40 hex digits). */
  commit: string;
  /** Where the model directory goes (replaced). */
  dest: string;
  /** Overrides applied to `loaded` (recorded in the lineage of a model retrained at release). */
  overrides?: string[];
  log?: (line: string) => void;
}

export interface ReleaseModel {
  dir: string;
  /** artifact: the blessed model of the push run; retrained: trained and gated at release. */
  source: 'artifact' | 'retrained';
  artifact: string;
  /** The workflow run that kept the artifact. */
  run?: string;
  sha256: string;
  blessing: BlessingCheck;
}

export function modelArtifactName(commit: string): string {
  return `model-${commit}`;
}

/** Fetch and verify the blessed model of `commit`, or retrain when the configuration allows it. */
export async function releaseModel(o: ReleaseModelOptions): Promise<ReleaseModel> {
  const log = o.log ?? (() => {});
  if (!/^[0-9a-f]{40}$/.test(o.commit))
    throw new CdlError(`commit ${JSON.stringify(o.commit)}: expected the full SHA-1 of the released commit (40 hex digits)`);
  const name = modelArtifactName(o.commit);
  assertReplaceableModelDir(o.dest, '--out', projectPaths(o.loaded));
  await rm(o.dest, { recursive: true, force: true });
  const found = await o.forge.findArtifact(name, o.dest);
  if (found) {
    log(`${name}: the model of commit ${o.commit.slice(0, 12)} from workflow run ${found.run}`);
    // A downloaded artifact crosses a trust boundary: SHA256SUMS must be there and cover every file;
    // then the blessing, which pins the SHA-256 of its model.onnx.
    const md = await openModelDir(found.dir, { requireChecksums: true });
    const blessing = await checkBlessing(md);
    if (!blessing.ok)
      throw new NotBlessedError(
        `the model of commit ${o.commit} (artifact ${name}) is not blessed: ${blessing.reason}. ` +
          `Release a commit whose model the gate blessed, or fix the model and push again`,
      );
    const trainedAt = md.lineage?.git?.commit;
    if (trainedAt && trainedAt !== o.commit)
      throw new CdlError(
        `artifact ${name} holds a model trained at commit ${trainedAt}, not ${o.commit}; refusing to release it`,
      );
    log(`${name}: ${md.sums?.size ?? 0} files verified against SHA256SUMS; ${blessing.reason}`);
    return {
      dir: found.dir,
      source: 'artifact',
      artifact: name,
      run: found.run,
      sha256: blessing.blessing!.candidate.sha256,
      blessing,
    };
  }
  const where = o.forge.describe();
  if ((o.loaded.config.release?.on_missing_model ?? 'stop') !== 'retrain') {
    throw new MissingModelError(
      `no blessed model for commit ${o.commit}: no artifact ${name} in ${where} (it expired, or the commit never ran ` +
        `the push workflow that trains and gates it). Push the commit to the default branch and release once its ` +
        `model is blessed, or set release.on_missing_model: retrain in ${path.basename(o.loaded.file)} to train at release`,
    );
  }
  const reason = `no artifact ${name} in ${where}; release.on_missing_model: retrain`;
  log(`${reason}: training at release`);
  // One process trains and gates: the gate takes the directory as written and the dataset as
  // parsed, so neither is read, hashed or parsed again.
  const trained = await train({
    loaded: o.loaded,
    overrides: o.overrides,
    outDir: o.dest,
    log,
    retrainedAtRelease: { commit: o.commit, reason },
  });
  const gated = await runGate({
    loaded: o.loaded,
    candidate: trained.model,
    dataset: trained.dataset,
    forge: o.forge,
    log,
    publish: false,
    reportDir: path.join(path.dirname(o.dest), `${path.basename(o.dest)}-report`),
  });
  const blessing = await checkBlessing(gated.candidate.modelDir);
  if (!blessing.ok)
    throw new NotBlessedError(`the model retrained at release for commit ${o.commit} is not blessed: ${blessing.reason}`);
  return { dir: o.dest, source: 'retrained', artifact: name, sha256: gated.blessing.candidate.sha256, blessing };
}
