/**
 * actions/promote: the release steps that were shell calls of the cdl command line, as an action,
 * so a runner needs no cdl installed. mode blessed: the model blessed on the push of the commit
 * (verified; never trained again unless release.on_missing_model says retrain); mode promote: the
 * model directory released as the version.
 */
import path from 'node:path';
import * as core from '@actions/core';
import { loadConfig } from '../../../src/config/index.js';
import { selectForge } from '../../../src/forge/index.js';
import { isRegistryForge } from '../../../src/forge/types.js';
import { getInput, getInputAsList } from '../../../src/github/inputs.js';
import { Registry } from '../../../src/registry/registry.js';
import { releaseModel } from '../../../src/registry/release-model.js';
import { recordRelease } from '../../../src/runs/record.js';
import { CdlError, messageOf } from '../../../src/util/errors.js';
import { defaultPaths } from '../../../src/util/state-paths.js';
import { PROMOTE } from '../../../src/github/action-names.js';

const { inputs: I, outputs: O } = PROMOTE;

export async function run(): Promise<void> {
  try {
    const mode = getInput(I.mode);
    const overrides = getInputAsList(I.set);
    const loaded = await loadConfig(getInput(I.config, 'cdl.yaml'), overrides);
    const log = (l: string) => core.info(l);
    const forge = await selectForge({ token: getInput(I.token, process.env.GITHUB_TOKEN ?? ''), log });
    if (mode === 'blessed') {
      const commit = getInput(I.commit) || process.env.GITHUB_SHA || '';
      const dest = path.resolve(getInput(I.out) || defaultPaths.releaseModel());
      const r = await releaseModel({ forge, loaded, commit, dest, overrides, log });
      core.info(
        `${r.dir}: ${r.source === 'artifact' ? `${r.artifact} of run ${r.run}` : 'retrained at release'}, model.onnx ${r.sha256}; ${r.blessing.reason}`,
      );
      core.setOutput(O.modelDir, r.dir);
      core.setOutput(O.source, r.source);
      return;
    }
    if (mode !== 'promote') throw new CdlError(`input mode: expected blessed or promote, got ${JSON.stringify(mode)}`);
    const model = getInput(I.model);
    const version = getInput(I.version);
    if (!model) throw new CdlError('input model: the blessed model directory to release is required (mode promote)');
    if (!version) throw new CdlError('input version: the version to release (X.Y.Z) is required (mode promote)');
    const variants: Record<string, string> = {};
    for (const line of getInputAsList(I.variants)) {
      const eq = line.indexOf('=');
      if (eq <= 0 || eq === line.length - 1)
        throw new CdlError(`input variants: expected NAME=DIR, one per line, got ${JSON.stringify(line)}`);
      variants[line.slice(0, eq)] = path.resolve(line.slice(eq + 1));
    }
    if (!isRegistryForge(forge)) throw new CdlError(`${forge.describe()} cannot hold a model registry`);
    const registry = new Registry({ forge, model: loaded.config.model.name, tagTemplate: loaded.config.deploy?.tag, log });
    const r = await registry.promote(path.resolve(model), { version, variants });
    core.info(`${r.tag}: ${r.status} (${r.assets.length} assets; ${r.blessing.reason})`);
    if (r.status === 'released') {
      await recordRelease(path.resolve(model), r.tag, { log, token: getInput(I.token, process.env.GITHUB_TOKEN ?? '') || null });
    }
    core.setOutput(O.tag, r.tag);
    core.setOutput(O.status, r.status);
  } catch (error) {
    core.setFailed(messageOf(error));
  }
}
