/** actions/compress: compress a model directory, guard its accuracy, upload the result, set outputs. */
import path from 'node:path';
import * as core from '@actions/core';
import { parseMethods } from '../../../src/compress/method-names.js';
import { compressModel } from '../../../src/compress/compress-model.js';
import { loadConfig } from '../../../src/config/index.js';
import { modelDirOrArtifact, uploadModelDir } from '../../../src/github/artifact.js';
import { getInput, getInputAsBool, getInputAsInt, getInputAsList } from '../../../src/github/inputs.js';
import { UsageError, messageOf } from '../../../src/util/errors.js';
import { defaultPaths } from '../../../src/util/state-paths.js';
import { COMPRESS } from '../../../src/github/action-names.js';

const { inputs: I, outputs: O } = COMPRESS;

export async function run(): Promise<void> {
  try {
    const configFile = getInput(I.config, 'cdl.yaml');
    const overrides = getInputAsList(I.set);
    const sha = process.env.GITHUB_SHA ?? 'local';
    const modelInput = getInput(I.model, `model-${sha}`);
    const methods = parseMethods(getInputAsList(I.methods));
    const dropText = getInput(I.maxAccuracyDrop);
    const maxAccuracyDrop = dropText ? Number(dropText) : undefined;
    if (maxAccuracyDrop !== undefined && !(maxAccuracyDrop >= 0)) {
      throw new UsageError(`Invalid input 'max-accuracy-drop': "${dropText}". Expected a number of percentage points >= 0.`);
    }
    const upload = getInputAsBool(I.upload, true);
    const retentionDays = getInputAsInt(I.retentionDays, 0);
    const loaded = await loadConfig(configFile, overrides);
    const outDir = path.resolve(getInput(I.out, defaultPaths.compressedModel(loaded.config.model.name)));
    const artifactName = getInput(I.artifactName, `model-${sha}-compressed`);

    const model = await modelDirOrArtifact(modelInput, 'parent', { log: (l) => core.info(l) });
    const result = await compressModel({ loaded, model, outDir, methods, maxAccuracyDrop, log: (l) => core.info(l) });
    if (upload) {
      const up = await uploadModelDir(outDir, artifactName, retentionDays || undefined);
      core.info(`uploaded artifact ${artifactName} (${up.size ?? 0} bytes)`);
    }
    const rec = result.record;
    const chosen = rec.results.find((r) => r.method === rec.chosen);
    core.setOutput(O.modelDir, outDir);
    core.setOutput(O.artifactName, artifactName);
    core.setOutput(O.method, rec.chosen ?? 'none');
    core.setOutput(O.compressed, String(rec.chosen !== null));
    core.setOutput(O.sizeRatio, String(chosen?.size_ratio ?? 1));
    core.setOutput(O.report, JSON.stringify(rec));
    if (!rec.chosen) core.warning(rec.decision);
    await core.summary.addRaw(result.markdown, true).write();
  } catch (error) {
    core.setFailed(messageOf(error));
  }
}
