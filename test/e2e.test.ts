/**
 * The whole pipeline through `cdl run` on a temporary git repository holding the example and its
 * workflows (.github/workflows/cdl.yml → cdl-model-ci.yml, cdl-release.yml), with a local cdl serve:
 *   round 1: push → train and gate (the first model is blessed) → pull request → the comment with
 *            the metrics table → release 1.0.0 → compress, promote, deploy → an inference answers
 *            with the new version;
 *   round 2: a pull request with a deliberately worse model → the gate rejects it and the comment
 *            shows the regression; it is released anyway by hand (forced, recorded) and deployed,
 *            then rolled back: the server answers with 1.0.0 again.
 * Training is shortened in the project's cdl.yaml (2 epochs, part of the subset).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commitConfig,
  createProject,
  GATE,
  predict,
  reportDir,
  runPipeline,
  startServe,
  type Project,
  type Server,
} from '../scripts/example-pipeline.js';
import { runCli } from './helpers/example.js';

const QUICK = (yaml: string) =>
  yaml
    .replace(/epochs: \d+/, 'epochs: 2')
    .replace('  validation:', '  limit: { train: 3000, test: 600 }\n  validation:')
    .concat(GATE, 'compress:\n  methods: [int8-dynamic]\n  benchmark: { latency_runs: 10, throughput_batches: 2 }\n');

let p: Project;
let server: Server;

beforeAll(async () => {
  p = await createProject({ edit: QUICK });
  server = await startServe(p.serveRepository);
});

afterAll(async () => {
  await server?.stop();
  if (p) rmSync(p.dir, { recursive: true, force: true });
});

function comment(): string {
  return readFileSync(path.join(reportDir(p), 'comment.md'), 'utf8');
}

const cli = (...args: string[]) => runCli(args, { cwd: p.dir, env: { CDL_FORGE: 'local' } });

describe('the pipeline, end to end', () => {
  it('round 1: push, pull request, release, deploy, inference', async () => {
    const push = await runPipeline(p, server.url, 'push');
    expect(push.summary.exitCode, push.log.slice(-3000)).toBe(0);
    expect(push.log).toMatch(/nothing is in production yet/);
    expect(push.log).toMatch(/fashion-mnist blessed/);

    await p.git('checkout', '-q', '-b', 'wider');
    await commitConfig(p, 'Wider first layer', (y) => y.replace('units: 256', 'units: 320'));
    const pr = await runPipeline(p, server.url, 'pull_request');
    expect(pr.summary.exitCode, pr.log.slice(-3000)).toBe(0);
    const body = comment();
    expect(body).toMatch(/^<!-- cdl-report: model=fashion-mnist -->/);
    expect(body).toMatch(/blessed/);
    expect(body).toMatch(/\| metric \| candidate \| baseline \| delta \| threshold \| verdict \|/);
    expect(body).toMatch(/\| accuracy \| 0\.\d{4} \|/);

    await p.git('checkout', '-q', 'main');
    await p.git('merge', '-q', '--no-ff', '-m', 'Merge wider', 'wider');
    const release = await runPipeline(p, server.url, 'workflow_dispatch', { inputs: { version: '1.0.0' } });
    expect(release.summary.exitCode, release.log.slice(-4000)).toBe(0);
    expect(release.log).toMatch(/released fashion-mnist@v1\.0\.0/);
    expect(release.log).toMatch(/compressed \(int8-dynamic\) from the blessed model/);
    expect(release.log).toMatch(/version 1 of fashion-mnist is ready/);

    const answer = await predict(p, server.url);
    expect(answer).toMatchObject({ model_version: '1', tag: 'fashion-mnist@v1.0.0' });
    expect(answer.probability).toBeGreaterThan(0.1);
  });

  it('round 2: a worse model is rejected with the regression in the comment; forced out, then rolled back', async () => {
    await p.git('checkout', '-q', '-b', 'narrow');
    await commitConfig(p, 'A much smaller model, trained less', (y) =>
      y
        .replace('units: 320', 'units: 4')
        .replace('epochs: 2', 'epochs: 1')
        .replace('learning_rate: 0.001', 'learning_rate: 0.00003'),
    );
    const pr = await runPipeline(p, server.url, 'pull_request');
    expect(pr.summary.exitCode).toBe(1);
    expect(pr.log).toMatch(/fashion-mnist rejected/);
    const body = comment();
    expect(body).toMatch(/rejected/);
    expect(body).toMatch(/fashion-mnist@v1\.0\.0/);
    const row = /\| accuracy \| (0\.\d+) \| (0\.\d+) \| ([−-]0\.\d+)[^|]*\|[^|]*\|([^|]*)\|/.exec(body);
    expect(row, body.slice(0, 2000)).not.toBeNull();
    expect(Number(row![1])).toBeLessThan(Number(row![2]));
    expect(row![4]).toMatch(/❌|fail|✗/i);

    // Someone releases it anyway: the override is recorded, the version deployed, then rolled back.
    const out = path.join(p.dir, '.cdl', 'forced');
    expect((await cli('train', '--out', out)).code).toBe(0);
    expect(
      (await cli('gate', '--model', out, '--no-fail', '--no-comment', '--report-dir', path.join(p.dir, '.cdl', 'forced-report')))
        .code,
    ).toBe(0);
    const promote = await cli(
      'models',
      'promote',
      '--model',
      out,
      '--version',
      '1.1.0',
      '--force',
      '--reason',
      'end-to-end test',
    );
    expect(promote.code, promote.stdout + promote.stderr).toBe(0);
    const serverArgs = ['--target', 'server', '--server-url', server.url, '--repository', p.serveRepository];
    const deploy = await cli('deploy', '--version', '1.1.0', ...serverArgs);
    expect(deploy.code, deploy.stdout + deploy.stderr).toBe(0);
    expect(await predict(p, server.url)).toMatchObject({ tag: 'fashion-mnist@v1.1.0' });

    const rollback = await cli('models', 'rollback', ...serverArgs);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
    const back = await predict(p, server.url);
    expect(back.tag).toBe('fashion-mnist@v1.0.0');
    const history = await cli('models', 'history', '--json');
    expect(history.stdout).toMatch(/1\.0\.0[\s\S]*1\.1\.0/);
    expect(existsSync(path.join(p.serveRepository, 'fashion-mnist'))).toBe(true);
  });
});
