/** actions/runs-report: the runs dashboard of a cdl-runs checkout, as `cdl runs report` writes it, with no cdl on the runner. */
import path from 'node:path';
import * as core from '@actions/core';
import { getInput } from '../../../src/github/inputs.js';
import { writeDashboard } from '../../../src/runs/dashboard.js';
import { attachGates } from '../../../src/runs/query.js';
import { readRecords, repoRootOf } from '../../../src/runs/store.js';
import { CdlError, messageOf } from '../../../src/util/errors.js';
import { RUNS_REPORT } from '../../../src/github/action-names.js';

const { inputs: I, outputs: O } = RUNS_REPORT;

export async function run(): Promise<void> {
  try {
    const dir = path.resolve(getInput(I.repo, 'cdl-runs'));
    const out = getInput(I.out);
    if (!out) throw new CdlError('input out: the folder to write index.html into is required');
    const repo = await repoRootOf(dir);
    if (!repo) throw new CdlError(`input repo: ${dir} is not a git checkout; expected a checkout of the cdl-runs branch`);
    const records = attachGates((await readRecords(repo, { remote: null, log: (l) => core.info(l) })).map((s) => s.record));
    const file = await writeDashboard(records, path.resolve(out), { title: getInput(I.title) || undefined });
    core.info(`dashboard of ${records.length} runs written to ${file}`);
    core.setOutput(O.file, file);
    core.setOutput(O.runs, String(records.length));
  } catch (error) {
    core.setFailed(messageOf(error));
  }
}
