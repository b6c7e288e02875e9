/** `cdl run` with this repository's own train action (its committed bundle), end to end. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { runWorkflow } from '../runner/engine/workflow-run.js';

const root = fileURLToPath(new URL('..', import.meta.url));

it('runs uses: ./actions/train, which trains, sets outputs and uploads the model directory as an artifact', async () => {
  const state = mkdtempSync(path.join(os.tmpdir(), 'cdl-run-train-'));
  try {
    let log = '';
    const r = await runWorkflow({
      workflow: 'test/fixtures/workflows/train.yml',
      repoRoot: root,
      stateDir: state,
      write: (s) => (log += s),
    });
    expect(r.exitCode, log.slice(-3000)).toBe(0);
    expect(log).toMatch(/trained model-[0-9a-f]{40} metric 0\.\d+/);
    expect(readdirSync(path.join(r.runDir, 'artifacts'))).toEqual([expect.stringMatching(/^model-[0-9a-f]{40}\.zip$/)]);
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});
