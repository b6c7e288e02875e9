/** actions/evaluate-gate: evaluate the candidate against production, decide, report, set outputs. */
import path from 'node:path';
import * as core from '@actions/core';
import { forceBless } from '../../../src/evaluate/force-bless.js';
import { loadConfig } from '../../../src/config/index.js';
import { evaluationRecord, runGate } from '../../../src/evaluate/pipeline.js';
import { recordGate } from '../../../src/runs/record.js';
import { selectForge } from '../../../src/forge/index.js';
import { modelDirOrArtifact, runnerTemp } from '../../../src/github/artifact.js';
import { getInput, getInputAsBool, getInputAsList } from '../../../src/github/inputs.js';
import { messageOf } from '../../../src/util/errors.js';
import { runUrl } from '../../../src/util/run-env.js';
import { EVALUATE_GATE } from '../../../src/github/action-names.js';

const { inputs: I, outputs: O } = EVALUATE_GATE;

export async function run(): Promise<void> {
  try {
    const configFile = getInput(I.config, 'cdl.yaml');
    const overrides = getInputAsList(I.set);
    const sha = process.env.GITHUB_SHA ?? 'local';
    const modelInput = getInput(I.model, `model-${sha}`);
    const baseline = getInput(I.baseline) || undefined;
    const failOnReject = getInputAsBool(I.failOnReject, true);
    const comment = getInputAsBool(I.comment, true);
    const forced = forceBless(getInput(I.forceBless) || undefined);
    const token = getInput(I.token, process.env.GITHUB_TOKEN ?? '');
    const loaded = await loadConfig(configFile, overrides);
    const model = loaded.config.model.name;
    const log = (line: string) => core.info(line);
    const forge = await selectForge({ token, log });

    const candidate = await modelDirOrArtifact(modelInput, 'candidate', { forge, log });
    const result = await runGate({
      loaded,
      candidate,
      baseline,
      forge,
      log,
      comment,
      reportDir: getInput(I.reportDir, path.join(runnerTemp(), `cdl-report-${model}`)),
      forceBless: forced,
      runUrl: runUrl(),
    });
    await recordGate(result, loaded, { log: (l) => core.info(l), token });
    const b = result.blessing;
    core.setOutput(O.blessed, String(b.decision === 'blessed'));
    core.setOutput(O.decision, b.decision);
    core.setOutput(O.metrics, JSON.stringify(evaluationRecord(result)));
    core.setOutput(O.report, path.join(result.reportDir, 'report.md'));
    core.setOutput(O.blessing, result.blessingPath);
    core.setOutput(O.modelDir, candidate);
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
