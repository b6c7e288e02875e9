/** actions/evaluate-gate: evaluate the candidate against production, decide, report, set outputs. */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import { forceBlessReason } from '../../../src/cli/evaluate.js';
import { loadConfig } from '../../../src/config/index.js';
import { evaluationRecord, runGate } from '../../../src/evaluate/pipeline.js';
import { recordGate } from '../../../src/runs/record.js';
import { selectForge } from '../../../src/forge/index.js';
import { downloadModelDir } from '../../../src/github/artifact.js';
import { getInput, getInputAsBool, getInputAsList } from '../../../src/github/inputs.js';
import { messageOf } from '../../../src/util/errors.js';

export async function run(): Promise<void> {
  try {
    const configFile = getInput('config', 'cdl.yaml');
    const overrides = getInputAsList('set');
    const sha = process.env.GITHUB_SHA ?? 'local';
    const modelInput = getInput('model', `model-${sha}`);
    const baseline = getInput('baseline') || undefined;
    const failOnReject = getInputAsBool('fail-on-reject', true);
    const comment = getInputAsBool('comment', true);
    const force = getInput('force-bless');
    const reason = force ? forceBlessReason(force) : undefined;
    const token = getInput('token', process.env.GITHUB_TOKEN ?? '');
    const loaded = await loadConfig(configFile, overrides);
    const model = loaded.config.model.name;
    const temp = process.env.RUNNER_TEMP ?? os.tmpdir();
    const log = (line: string) => core.info(line);
    const forge = await selectForge({ token, log });

    // The candidate: a directory, else an artifact of this workflow run.
    let candidate = path.resolve(modelInput);
    if (!existsSync(candidate)) {
      const dest = path.join(temp, `cdl-candidate-${modelInput}`);
      core.info(`model: no directory ${modelInput}; downloading the artifact ${modelInput}`);
      candidate = process.env.ACTIONS_RESULTS_URL
        ? await downloadModelDir(modelInput, dest)
        : await forge.downloadArtifact(modelInput, dest);
    }
    const server = process.env.GITHUB_SERVER_URL ?? 'https://github.com';
    const runUrl =
      process.env.GITHUB_RUN_ID && process.env.GITHUB_REPOSITORY
        ? `${server}/${process.env.GITHUB_REPOSITORY}/actions/runs/${process.env.GITHUB_RUN_ID}`
        : undefined;
    const result = await runGate({
      loaded,
      candidate,
      baseline,
      forge,
      log,
      comment,
      reportDir: getInput('report-dir', path.join(temp, `cdl-report-${model}`)),
      forceBless: reason ? { reason, by: process.env.GITHUB_ACTOR ?? null } : undefined,
      runUrl,
    });
    await recordGate(result, loaded, { log: (l) => core.info(l), token });
    const b = result.blessing;
    core.setOutput('blessed', String(b.decision === 'blessed'));
    core.setOutput('decision', b.decision);
    core.setOutput('metrics', JSON.stringify(evaluationRecord(result)));
    core.setOutput('report', path.join(result.reportDir, 'report.md'));
    core.setOutput('blessing', result.blessingPath);
    core.setOutput('model-dir', candidate);
    if (forge.kind === 'local' && process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(result.markdown, true).write();
    if (b.forced) core.warning(`force-blessed: ${b.forced.reason}`);
    if (b.decision === 'rejected') {
      const message = `${model} rejected: ${b.reason}`;
      if (failOnReject && result.gate.fail_on_reject) core.setFailed(message);
      else core.warning(message);
    } else core.info(`${model} blessed: ${b.reason}`);
  } catch (error) {
    core.setFailed(messageOf(error));
  }
}
