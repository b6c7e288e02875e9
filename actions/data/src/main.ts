/** actions/data: validate the dataset, write its manifest, check the working data against it. */
import * as core from '@actions/core';
import { manifestPath, statusText } from '../../../src/data/manifest-status.js';
import { loadConfig } from '../../../src/config/index.js';
import { buildManifest, dataStatus, readManifest, writeManifest } from '../../../src/data/manifest.js';
import { validateData, validationMarkdown } from '../../../src/data/validate.js';
import { getInput, getInputAsBool, getInputAsList } from '../../../src/github/inputs.js';
import { listSome } from '../../../src/data/util.js';
import { messageOf, UsageError } from '../../../src/util/errors.js';
import { DATA } from '../../../src/github/action-names.js';

const { inputs: I, outputs: O } = DATA;

const COMMANDS = ['validate', 'version', 'status'];

export async function run(): Promise<void> {
  try {
    const commands = getInputAsList(I.command)
      .flatMap((c) => c.split(','))
      .map((c) => c.trim())
      .filter(Boolean);
    if (!commands.length) commands.push('validate');
    for (const c of commands) {
      if (!COMMANDS.includes(c)) throw new UsageError(`Invalid input 'command': "${c}". Expected validate, version or status.`);
    }
    const loaded = await loadConfig(getInput(I.config, 'cdl.yaml'), getInputAsList(I.set));
    const data = loaded.config.data;
    const opts = { baseDir: loaded.dir, task: loaded.config.model.task };
    const manifest = manifestPath(loaded, getInput(I.manifest) || undefined);
    const failures: string[] = [];

    if (commands.includes('validate')) {
      const v = await validateData(data, opts, loaded.config.model);
      for (const f of v.errors)
        core.error(`[${f.check}] ${f.message}${f.items && f.check !== 'files' ? `: ${listSome(f.items, 5)}` : ''}`);
      for (const f of v.warnings)
        core.warning(`[${f.check}] ${f.message}${f.items && f.check !== 'files' ? `: ${listSome(f.items, 5)}` : ''}`);
      await core.summary.addRaw(validationMarkdown(v), true).write();
      core.setOutput(O.errors, String(v.errors.length));
      core.setOutput(O.warnings, String(v.warnings.length));
      core.setOutput(O.report, JSON.stringify({ errors: v.errors, warnings: v.warnings, splits: v.splits }));
      if (v.failed)
        failures.push(
          `data validation: ${v.errors.length} errors, ${v.warnings.length} warnings (data.checks.fail_on: ${v.checks.fail_on})`,
        );
    }
    if (commands.includes('version')) {
      const m = await buildManifest(data, opts);
      const changed = await writeManifest(manifest, m);
      core.info(`${m.version}: ${m.files.length} files, ${m.size} bytes; ${changed ? 'written to' : 'unchanged:'} ${manifest}`);
      core.setOutput(O.version, m.version);
      core.setOutput(O.cacheKey, m.cache_key);
      core.setOutput(O.manifest, manifest);
      core.setOutput(O.changed, String(changed));
    }
    if (commands.includes('status')) {
      const s = await dataStatus(data, await readManifest(manifest), opts);
      core.info(statusText(s, manifest));
      core.setOutput(O.clean, String(s.clean));
      if (!commands.includes('version')) core.setOutput(O.version, s.version);
      if (!s.clean && getInputAsBool(I.failOnChange, true))
        failures.push(`the data differs from ${manifest}; record it with cdl data version`);
    }
    if (failures.length) core.setFailed(failures.join('; '));
  } catch (error) {
    core.setFailed(messageOf(error));
  }
}
