/** actions/train: train the model of cdl.yaml, upload the model directory, set outputs. */
import path from 'node:path';
import * as core from '@actions/core';
import { loadConfig } from '../../../src/config/index.js';
import { uploadModelDir } from '../../../src/github/artifact.js';
import { checkpointKeyPrefix, restoreCheckpoint, saveCheckpoint } from '../../../src/github/checkpoint-cache.js';
import { getInput, getInputAsBool, getInputAsInt, getInputAsList } from '../../../src/github/inputs.js';
import { writeTrainSummary } from '../../../src/github/summary.js';
import { recordTrainRun } from '../../../src/runs/record.js';
import { train } from '../../../src/train/training.js';
import { messageOf } from '../../../src/util/errors.js';
import { defaultPaths } from '../../../src/util/state-paths.js';
import { TRAIN } from '../../../src/github/action-names.js';

const { inputs: I, outputs: O } = TRAIN;

const STATE = { post: 'cdl-post', checkpointDir: 'cdl-checkpoint-dir', checkpointPrefix: 'cdl-checkpoint-prefix' } as const;

/** Main or post: the post step runs the same bundle, after main saved some state. */
export async function entry(): Promise<void> {
  if (core.getState(STATE.post) === 'true') return post();
  core.saveState(STATE.post, 'true');
  return run();
}

/**
 * Post (action.yml: post-if failure() || cancelled()): keep the checkpoint of the interrupted
 * training in the cache for the retried run. Never fails the job for that.
 */
export async function post(): Promise<void> {
  const dir = core.getState(STATE.checkpointDir);
  const prefix = core.getState(STATE.checkpointPrefix);
  if (!dir || !prefix || !getInputAsBool(I.cacheCheckpoint, true)) return;
  try {
    const key = await saveCheckpoint(dir, prefix, process.env.GITHUB_RUN_ATTEMPT ?? '1');
    core.info(key ? `saved the checkpoint ${dir} to the cache as ${key}` : `no checkpoint in ${dir} to save`);
  } catch (e) {
    core.warning(`could not save the checkpoint ${dir} to the cache: ${messageOf(e)}`);
  }
}

export async function run(): Promise<void> {
  try {
    // The token pushes the run record; the training code (a PR's train.command or model module) never sees it.
    const token = getInput(I.token, '');
    delete process.env.INPUT_TOKEN;
    const configFile = getInput(I.config, 'cdl.yaml');
    const overrides = getInputAsList(I.set);
    const upload = getInputAsBool(I.upload, true);
    const retentionDays = getInputAsInt(I.retentionDays, 0);
    let resume = getInputAsBool(I.resume, false);
    const loaded = await loadConfig(configFile, overrides);
    const sha = process.env.GITHUB_SHA ?? 'local';
    const artifactName = getInput(I.artifactName, `model-${sha}`);
    const outDir = path.resolve(getInput(I.out, defaultPaths.model(loaded.config.model.name)));
    // A failed or cancelled run of this commit and configuration left its checkpoint in the
    // cache (the post step below): continue from it.
    const checkpointDir = `${outDir}.checkpoint`;
    const prefix = checkpointKeyPrefix(sha, loaded.hash);
    core.saveState(STATE.checkpointDir, checkpointDir);
    core.saveState(STATE.checkpointPrefix, prefix);
    if (getInputAsBool(I.cacheCheckpoint, true)) {
      const restored = await restoreCheckpoint(checkpointDir, prefix).catch((e: unknown) => {
        core.warning(`checkpoint cache: ${messageOf(e)}; training from the start`);
        return undefined;
      });
      if (restored) {
        core.info(`restored the checkpoint of an interrupted run from the cache (${restored}); resuming`);
        resume = true;
      }
    }
    const result = await train({
      loaded,
      overrides,
      outDir,
      checkpointDir,
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
    core.setOutput(O.modelDir, outDir);
    core.setOutput(O.artifactName, artifactName);
    core.setOutput(O.metrics, JSON.stringify(m));
    core.setOutput(O.mainMetric, String(m.main_metric_value ?? ''));
    core.setOutput(O.mainMetricName, m.main_metric);
    const trainer = result.lineage.trainer as { backend?: { kind?: string } };
    await writeTrainSummary(m, {
      artifact: artifactName,
      backend: trainer.backend?.kind,
      seconds: result.lineage.durations.total_seconds,
      gpuTelemetry: result.lineage.hardware.gpu_telemetry,
    });
  } catch (error) {
    core.setFailed(messageOf(error));
  }
}
