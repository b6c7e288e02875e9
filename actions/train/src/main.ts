/** actions/train: train the model of cdl.yaml, upload the model directory, set outputs. */
import path from 'node:path';
import * as core from '@actions/core';
import { loadConfig } from '../../../src/config/index.js';
import { uploadModelDir } from '../../../src/github/artifact.js';
import { getInput, getInputAsBool, getInputAsInt, getInputAsList } from '../../../src/github/inputs.js';
import { writeTrainSummary } from '../../../src/github/summary.js';
import { recordTrainRun } from '../../../src/runs/record.js';
import { train } from '../../../src/train/run.js';
import { messageOf } from '../../../src/util/errors.js';

export async function run(): Promise<void> {
  try {
    // The token pushes the run record; the training code (a PR's train.command or model module) never sees it.
    const token = getInput('token', '');
    delete process.env.INPUT_TOKEN;
    const configFile = getInput('config', 'cdl.yaml');
    const overrides = getInputAsList('set');
    const upload = getInputAsBool('upload', true);
    const retentionDays = getInputAsInt('retention-days', 0);
    const resume = getInputAsBool('resume', false);
    const loaded = await loadConfig(configFile, overrides);
    const sha = process.env.GITHUB_SHA ?? 'local';
    const artifactName = getInput('artifact-name', `model-${sha}`);
    const outDir = path.resolve(getInput('out', path.join('.cdl', 'models', loaded.config.model.name)));
    const result = await train({
      loaded,
      overrides,
      outDir,
      resume,
      log: (line) => core.info(line),
      progress: false,
    });
    const m = result.metrics;
    if (upload) {
      const up = await uploadModelDir(outDir, artifactName, retentionDays || undefined);
      core.info(`uploaded artifact ${artifactName} (${up.size ?? 0} bytes)`);
    }
    await recordTrainRun(loaded, result, {
      log: (l) => core.info(l),
      artifact: upload ? artifactName : null,
      token,
    });
    core.setOutput('model-dir', outDir);
    core.setOutput('artifact-name', artifactName);
    core.setOutput('metrics', JSON.stringify(m));
    core.setOutput('main-metric', String(m.main_metric_value ?? ''));
    core.setOutput('main-metric-name', m.main_metric);
    const trainer = result.lineage.trainer as { backend?: { kind?: string } };
    await writeTrainSummary(m, {
      artifact: artifactName,
      backend: trainer.backend?.kind,
      seconds: result.lineage.durations.total_seconds,
    });
  } catch (error) {
    core.setFailed(messageOf(error));
  }
}
