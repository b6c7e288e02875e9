/** actions/tune: the whole search in one job, or one step of it over runners (plan, trial, select). */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as core from '@actions/core';
import { loadConfig } from '../../../src/config/index.js';
import { getInput, getInputAsBool, getInputAsInt, getInputAsList } from '../../../src/github/inputs.js';
import { plan, resultArtifact, runTrial, select } from '../../../src/tune/distributed.js';
import type { BestResult } from '../../../src/tune/output.js';
import { workerMain } from '../../../src/tune/trial-worker.js';
import { tune } from '../../../src/tune/tuning.js';
import { UsageError, messageOf } from '../../../src/util/errors.js';

function setBest(best: BestResult | undefined): void {
  if (!best) return;
  core.setOutput('best', JSON.stringify(best));
  core.setOutput('best-value', String(best.value));
}

async function summary(file: string | undefined): Promise<void> {
  if (!file || !process.env.GITHUB_STEP_SUMMARY) return;
  await core.summary.addRaw(await readFile(file, 'utf8'), true).write();
}

export async function run(): Promise<void> {
  // The same bundle is the trial worker: tfjs backends are process-global, so trials run apart.
  if (process.env.CDL_TUNE_WORKER === '1') {
    await workerMain();
    process.exit(0);
  }
  try {
    const mode = getInput('mode', 'tune');
    const overrides = getInputAsList('set');
    const trials = getInputAsInt('trials', 0);
    if (trials > 0) overrides.push(`tune.trials=${trials}`);
    const loaded = await loadConfig(getInput('config', 'cdl.yaml'), overrides);
    const outDir = path.resolve(getInput('out', path.join('.cdl', 'tune', loaded.config.model.name)));
    const resultsDir = path.resolve(getInput('results-dir', path.join(outDir, 'results')));
    const finalModel = getInputAsBool('final-model', false) || undefined;
    const log = (line: string) => core.info(line);
    const o = { loaded, overrides, outDir, log };
    core.setOutput('study-dir', outDir);
    const intInput = (name: string) => {
      const v = getInputAsInt(name, -1);
      if (v < 0) throw new UsageError(`Invalid input '${name}': expected an integer >= 0 (mode ${mode} needs it)`);
      return v;
    };
    if (mode === 'tune') {
      const parallel = getInputAsInt('parallel', 0);
      const r = await tune({
        ...o,
        parallel: parallel > 0 ? parallel : undefined,
        fresh: getInputAsBool('fresh', false),
        finalModel,
        worker: { modulePath: fileURLToPath(import.meta.url), args: [], env: { CDL_TUNE_WORKER: '1' } },
      });
      setBest(r.best);
      core.setOutput('done', 'true');
      await summary(r.files.markdown);
    } else if (mode === 'plan') {
      const r = await plan(o);
      core.setOutput('matrix', JSON.stringify(r.matrix));
      core.setOutput('done', String(r.matrix.include.length === 0));
    } else if (mode === 'trial') {
      const trial = intInput('trial');
      const rung = intInput('rung');
      const checkpointDir = path.resolve(getInput('checkpoint-dir', path.join(outDir, 'checkpoint')));
      const r = await runTrial({ ...o, trial, rung, checkpointDir, resultsDir });
      core.info(
        `trial ${trial}, rung ${rung}: ${loaded.config.tune?.metric ?? 'objective'} ${r.value.toFixed(4)} after ${r.epochs} epochs`,
      );
      core.setOutput('result', path.join(resultsDir, `${resultArtifact(rung, trial)}.json`));
    } else if (mode === 'select') {
      const r = await select({ ...o, rung: intInput('rung'), resultsDir, finalModel });
      core.setOutput('matrix', JSON.stringify(r.matrix));
      core.setOutput('done', String(r.done));
      setBest(r.outputs?.best);
      if (r.done) await summary(r.outputs?.files.markdown);
    } else {
      throw new UsageError(`Invalid input 'mode': "${mode}". Expected tune, plan, trial or select.`);
    }
  } catch (error) {
    core.setFailed(messageOf(error));
  }
}
