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
import { defaultPaths } from '../../../src/util/state-paths.js';
import { TUNE } from '../../../src/github/action-names.js';

const { inputs: I, outputs: O } = TUNE;

function setBest(best: BestResult | undefined): void {
  if (!best) return;
  core.setOutput(O.best, JSON.stringify(best));
  core.setOutput(O.bestValue, String(best.value));
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
    const mode = getInput(I.mode, 'tune');
    const overrides = getInputAsList(I.set);
    const trials = getInputAsInt(I.trials, 0);
    if (trials > 0) overrides.push(`tune.trials=${trials}`);
    const loaded = await loadConfig(getInput(I.config, 'cdl.yaml'), overrides);
    const outDir = path.resolve(getInput(I.out, defaultPaths.study(loaded.config.model.name)));
    const resultsDir = path.resolve(getInput(I.resultsDir, path.join(outDir, 'results')));
    const finalModel = getInputAsBool(I.finalModel, false) || undefined;
    const log = (line: string) => core.info(line);
    const o = { loaded, overrides, outDir, log };
    core.setOutput(O.studyDir, outDir);
    const intInput = (name: typeof I.trial | typeof I.rung) => {
      const v = getInputAsInt(name, -1);
      if (v < 0) throw new UsageError(`Invalid input '${name}': expected an integer >= 0 (mode ${mode} needs it)`);
      return v;
    };
    if (mode === 'tune') {
      const parallel = getInputAsInt(I.parallel, 0);
      const r = await tune({
        ...o,
        parallel: parallel > 0 ? parallel : undefined,
        fresh: getInputAsBool(I.fresh, false),
        finalModel,
        worker: { modulePath: fileURLToPath(import.meta.url), args: [], env: { CDL_TUNE_WORKER: '1' } },
      });
      setBest(r.best);
      core.setOutput(O.done, 'true');
      await summary(r.files.markdown);
    } else if (mode === 'plan') {
      const r = await plan(o);
      core.setOutput(O.matrix, JSON.stringify(r.matrix));
      core.setOutput(O.done, String(r.matrix.include.length === 0));
    } else if (mode === 'trial') {
      const trial = intInput(I.trial);
      const rung = intInput(I.rung);
      const checkpointDir = path.resolve(getInput(I.checkpointDir, path.join(outDir, 'checkpoint')));
      const r = await runTrial({ ...o, trial, rung, checkpointDir, resultsDir });
      core.info(
        `trial ${trial}, rung ${rung}: ${loaded.config.tune?.metric ?? 'objective'} ${r.value.toFixed(4)} after ${r.epochs} epochs`,
      );
      core.setOutput(O.result, path.join(resultsDir, `${resultArtifact(rung, trial)}.json`));
    } else if (mode === 'select') {
      const r = await select({ ...o, rung: intInput(I.rung), resultsDir, finalModel });
      core.setOutput(O.matrix, JSON.stringify(r.matrix));
      core.setOutput(O.done, String(r.done));
      setBest(r.outputs?.best);
      if (r.done) await summary(r.outputs?.files.markdown);
    } else {
      throw new UsageError(`Invalid input 'mode': "${mode}". Expected tune, plan, trial or select.`);
    }
  } catch (error) {
    core.setFailed(messageOf(error));
  }
}
