/** actions/monitor: compare production traffic with the model's reference, report, open the issue, dispatch retraining. */
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import { failsOn } from '../../../src/cli/monitor.js';
import { loadConfig } from '../../../src/config/index.js';
import { selectForge } from '../../../src/forge/index.js';
import { getInput, getInputAsBool, getInputAsList } from '../../../src/github/inputs.js';
import { monitoredModelDir, runMonitor } from '../../../src/monitor/monitor-model.js';
import { messageOf } from '../../../src/util/errors.js';

export async function run(): Promise<void> {
  try {
    const loaded = await loadConfig(getInput('config', 'cdl.yaml'), getInputAsList('set'));
    const failOn = getInput('fail-on', 'never');
    failsOn('ok', failOn);
    const token = getInput('token', process.env.GITHUB_TOKEN ?? '');
    const forge = await selectForge({ token, log: (l) => core.info(l) });
    const modelDir = await monitoredModelDir({
      given: getInput('model') || undefined,
      forge,
      model: loaded.config.model.name,
      tagTemplate: loaded.config.deploy?.tag,
      workDir: path.join(process.env.RUNNER_TEMP ?? os.tmpdir(), 'cdl-monitor'),
      log: (l) => core.info(l),
    });
    const server = process.env.GITHUB_SERVER_URL ?? 'https://github.com';
    const runUrl =
      process.env.GITHUB_RUN_ID && process.env.GITHUB_REPOSITORY
        ? `${server}/${process.env.GITHUB_REPOSITORY}/actions/runs/${process.env.GITHUB_RUN_ID}`
        : undefined;
    const out = await runMonitor({
      modelDir,
      source: getInput('source') || undefined,
      monitor: loaded.config.monitor,
      forge,
      issue: getInputAsBool('issue', true) ? undefined : false,
      retrain: getInputAsBool('retrain', true),
      runUrl,
      log: (l) => core.info(l),
    });
    const r = out.report;
    await core.summary.addRaw(out.markdown, true).write();
    core.setOutput('status', r.status);
    core.setOutput('prediction-psi', r.predictions ? r.predictions.psi.toFixed(4) : '');
    core.setOutput('drifted', String(r.inputs?.drifted.length ?? 0));
    core.setOutput('report', JSON.stringify(r));
    core.setOutput('issue-url', out.issue?.url ?? out.issue?.file ?? '');
    core.setOutput('dispatched', String(Boolean(out.dispatch)));
    const message = `${r.model} ${r.version}: ${r.status}`;
    if (failsOn(r.status, failOn)) core.setFailed(message);
    else if (r.status === 'warn' || r.status === 'alert') core.warning(message);
    else core.info(message);
  } catch (error) {
    core.setFailed(messageOf(error));
  }
}
