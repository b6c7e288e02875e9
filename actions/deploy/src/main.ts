/** actions/deploy: deploy the release of the triggering event (or the version named), set outputs. */
import path from 'node:path';
import * as core from '@actions/core';
import { loadConfig } from '../../../src/config/index.js';
import { deploy } from '../../../src/deploy/deploy-release.js';
import { deploySettings } from '../../../src/deploy/settings.js';
import { selectForge } from '../../../src/forge/index.js';
import { isRegistryForge } from '../../../src/forge/types.js';
import { runnerTemp, uploadModelDir } from '../../../src/github/artifact.js';
import { eventTag } from '../../../src/github/event.js';
import { getInput, getInputAsList } from '../../../src/github/inputs.js';
import { CdlError, messageOf } from '../../../src/util/errors.js';
import { runUrl } from '../../../src/util/run-env.js';
import { DEPLOY } from '../../../src/github/action-names.js';

const { inputs: I, outputs: O } = DEPLOY;

export async function run(): Promise<void> {
  try {
    const configFile = getInput(I.config, 'cdl.yaml');
    const loaded = await loadConfig(configFile, getInputAsList(I.set));
    const model = loaded.config.model.name;
    const ref = getInput(I.version) || eventTag();
    if (!ref) throw new CdlError('no version to deploy: set the version input, or run on a release (published) or a tag push');
    const settings = deploySettings(loaded.config.deploy, path.dirname(path.resolve(configFile)), {
      target: getInput(I.target) || undefined,
      environment: getInput(I.environment) || undefined,
      serverUrl: getInput(I.serverUrl) || undefined,
      repository: getInput(I.repository) || undefined,
      canaryPercent: getInput(I.canaryPercent) || undefined,
    });
    const forge = await selectForge({ token: getInput(I.token, process.env.GITHUB_TOKEN ?? ''), log: (l) => core.info(l) });
    if (!isRegistryForge(forge)) throw new CdlError(`${forge.describe()} cannot hold a model registry`);
    const outDir = path.join(runnerTemp(), `cdl-deploy-${model}`);
    const r = await deploy({ forge, model, ref, settings, outDir, runUrl: runUrl(), log: (l) => core.info(l) });
    for (const n of r.notes) core.notice(n);
    if (r.kserve && !r.kserve.applied && process.env.ACTIONS_RESULTS_URL) {
      const name = `kserve-${r.tag.replace(/[^A-Za-z0-9._-]+/g, '-')}`;
      await uploadModelDir(path.dirname(r.kserve.file), name);
      core.info(`manifest published as the artifact ${name}`);
    }
    core.setOutput(O.tag, r.tag);
    core.setOutput(O.version, r.version);
    core.setOutput(O.state, r.state);
    core.setOutput(O.outcome, r.outcome);
    core.setOutput(O.source, r.source ?? '');
    core.setOutput(O.environmentUrl, r.environment_url ?? '');
    core.setOutput(O.deploymentId, String(r.deployment.id));
    core.setOutput(O.manifest, r.kserve?.file ?? '');
    const lines = [`### ${r.tag} → ${r.environment} (${r.target}): ${r.state}, ${r.outcome}`, ''];
    if (r.server?.canary) {
      const c = r.server.canary;
      lines.push(`Canary ${c.percent}% for ${c.window_s}s: ${c.decision} — ${c.reason}`);
    }
    for (const n of r.notes) lines.push(`- ${n}`);
    if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(lines.join('\n') + '\n', true).write();
    if (r.state !== 'success') core.setFailed(`${r.tag} not deployed: ${r.deployment.description}`);
  } catch (error) {
    core.setFailed(messageOf(error));
  }
}
