/** actions/compress: compress a model directory, guard its accuracy, upload the result, set outputs. */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import { parseMethods } from '../../../src/cli/compress.js';
import { compressModel } from '../../../src/compress/compress-model.js';
import { loadConfig } from '../../../src/config/index.js';
import { downloadModelDir, uploadModelDir } from '../../../src/github/artifact.js';
import { getInput, getInputAsBool, getInputAsInt, getInputAsList } from '../../../src/github/inputs.js';
import { UsageError, messageOf } from '../../../src/util/errors.js';

export async function run(): Promise<void> {
  try {
    const configFile = getInput('config', 'cdl.yaml');
    const overrides = getInputAsList('set');
    const sha = process.env.GITHUB_SHA ?? 'local';
    const modelInput = getInput('model', `model-${sha}`);
    const methods = parseMethods(getInputAsList('methods'));
    const dropText = getInput('max-accuracy-drop');
    const maxAccuracyDrop = dropText ? Number(dropText) : undefined;
    if (maxAccuracyDrop !== undefined && !(maxAccuracyDrop >= 0)) {
      throw new UsageError(`Invalid input 'max-accuracy-drop': "${dropText}". Expected a number of percentage points >= 0.`);
    }
    const upload = getInputAsBool('upload', true);
    const retentionDays = getInputAsInt('retention-days', 0);
    const loaded = await loadConfig(configFile, overrides);
    const outDir = path.resolve(getInput('out', path.join('.cdl', 'models', `${loaded.config.model.name}-compressed`)));
    const artifactName = getInput('artifact-name', `model-${sha}-compressed`);

    // The parent: a directory, else an artifact of this workflow run.
    let model = path.resolve(modelInput);
    if (!existsSync(model)) {
      core.info(`model: no directory ${modelInput}; downloading the artifact ${modelInput}`);
      model = await downloadModelDir(modelInput, path.join(process.env.RUNNER_TEMP ?? os.tmpdir(), `cdl-parent-${modelInput}`));
    }
    const result = await compressModel({ loaded, model, outDir, methods, maxAccuracyDrop, log: (l) => core.info(l) });
    if (upload) {
      const up = await uploadModelDir(outDir, artifactName, retentionDays || undefined);
      core.info(`uploaded artifact ${artifactName} (${up.size ?? 0} bytes)`);
    }
    const rec = result.record;
    const chosen = rec.results.find((r) => r.method === rec.chosen);
    core.setOutput('model-dir', outDir);
    core.setOutput('artifact-name', artifactName);
    core.setOutput('method', rec.chosen ?? 'none');
    core.setOutput('compressed', String(rec.chosen !== null));
    core.setOutput('size-ratio', String(chosen?.size_ratio ?? 1));
    core.setOutput('report', JSON.stringify(rec));
    if (!rec.chosen) core.warning(rec.decision);
    await core.summary.addRaw(result.markdown, true).write();
  } catch (error) {
    core.setFailed(messageOf(error));
  }
}
