/** actions/monitor: compare production traffic with the model's reference, report, open the issue, dispatch retraining. */
import path from 'node:path';
import * as core from '@actions/core';
import { failsOn } from '../../../src/monitor/fail-on.js';
import { loadConfig } from '../../../src/config/index.js';
import { selectForge } from '../../../src/forge/index.js';
import { getInput, getInputAsBool, getInputAsList } from '../../../src/github/inputs.js';
import { monitoredModelDir, runMonitor } from '../../../src/monitor/monitor-model.js';
import { messageOf } from '../../../src/util/errors.js';
import { runnerTemp } from '../../../src/github/artifact.js';
import { runUrl } from '../../../src/util/run-env.js';
import { MONITOR } from '../../../src/github/action-names.js';

const { inputs: I, outputs: O } = MONITOR;

export async function run(): Promise<void> {
  try {
    const loaded = await loadConfig(getInput(I.config, 'cdl.yaml'), getInputAsList(I.set));
    const failOn = getInput(I.failOn, 'never');
    failsOn('ok', failOn);
    const token = getInput(I.token, process.env.GITHUB_TOKEN ?? '');
    const forge = await selectForge({ token, log: (l) => core.info(l) });
    const modelDir = await monitoredModelDir({
      given: getInput(I.model) || undefined,
      forge,
      model: loaded.config.model.name,
      tagTemplate: loaded.config.deploy?.tag,
      workDir: path.join(runnerTemp(), 'cdl-monitor'),
      log: (l) => core.info(l),
    });
    const out = await runMonitor({
      modelDir,
      source: getInput(I.source) || undefined,
      monitor: loaded.config.monitor,
      forge,
      issue: getInputAsBool(I.issue, true) ? undefined : false,
      retrain: getInputAsBool(I.retrain, true),
      runUrl: runUrl(),
      log: (l) => core.info(l),
    });
    const r = out.report;
    await core.summary.addRaw(out.markdown, true).write();
    core.setOutput(O.status, r.status);
    core.setOutput(O.predictionPsi, r.predictions ? r.predictions.psi.toFixed(4) : '');
    core.setOutput(O.drifted, String(r.inputs?.drifted.length ?? 0));
    core.setOutput(O.report, JSON.stringify(r));
    core.setOutput(O.issueUrl, out.issue?.url ?? out.issue?.file ?? '');
    core.setOutput(O.dispatched, String(Boolean(out.dispatch)));
    const message = `${r.model} ${r.version}: ${r.status}`;
    if (failsOn(r.status, failOn)) core.setFailed(message);
    else if (r.status === 'warn' || r.status === 'alert') core.warning(message);
    else core.info(message);
  } catch (error) {
    core.setFailed(messageOf(error));
  }
}
