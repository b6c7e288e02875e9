/**
 * The whole pipeline through `cdl run` on a temporary git repository holding the example and its
 * workflows (the starter .github/workflows/cdl.yml → cdl's pipeline.yml → model-ci.yml, release.yml), with a local cdl serve:
 *   round 1: push → train and gate (the first model is blessed) → release 1.0.0 ships that very
 *            model (same SHA-256; it is not trained again) → compress, promote, deploy → an
 *            inference answers with the new version → pull request → the comment compares the
 *            candidate with production v1.0.0;
 *   round 2: a pull request with a deliberately worse model → the gate rejects it and the comment
 *            shows the regression; it is released anyway by hand (forced, recorded) and deployed,
 *            then rolled back: the server answers with 1.0.0 again;
 *   round 3: a release of a commit that no push run trained stops and names the commit; with
 *            release.on_missing_model: retrain it trains at release and the lineage says so.
 * Training is shortened in the project's cdl.yaml (2 epochs, part of the subset); the gate is the
 * example's own.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commitConfig,
  createProject,
  predict,
  reportDir,
  runPipeline,
  startServe,
  type Project,
  type Server,
} from '../scripts/example-pipeline.js';
import { runCli, tempDir } from './helpers/example.js';

const QUICK = (yaml: string) =>
  yaml
    .replace(/epochs: \d+/, 'epochs: 2')
    .replace('  validation:', '  limit: { train: 3000, test: 600 }\n  validation:')
    // Size is the objective here: the int8 variant is a quarter of the parent's size on any machine,
    // while whether it is faster at batch 1 depends on what else the machine runs.
    .concat(
      'compress:\n  methods: [int8-dynamic]\n  objective: size\n  benchmark: { latency_runs: 10, throughput_batches: 2 }\n',
    );

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const json = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>;
/** The uncompressed model of a local release: the variant "full" when compressed, else model.onnx. */
function releasedFull(tag: string): string {
  const dir = path.join(p.dir, '.cdl', 'releases', tag);
  return existsSync(path.join(dir, 'model-full.onnx')) ? path.join(dir, 'model-full.onnx') : path.join(dir, 'model.onnx');
}

let p: Project;
let server: Server;

beforeAll(async () => {
  // A folder of the shared helper, so it goes even when the project is never finished.
  p = await createProject({ dir: tempDir('cdl-pipeline-'), edit: QUICK });
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
  it('round 1: push, release of the blessed model, deploy, inference, then a pull request against production', async () => {
    expect(readFileSync(path.join(p.dir, 'cdl.yaml'), 'utf8')).toMatch(/^gate:\n {2}metrics:\n {4}accuracy: /m);
    const push = await runPipeline(p, server.url, 'push');
    expect(push.summary.exitCode, push.log.slice(-3000)).toBe(0);
    expect(push.log).toMatch(/nothing is in production yet/);
    expect(push.log).toMatch(/fashion-mnist blessed/);
    // The model the push run trained and blessed (train writes it into the workspace as well).
    const blessedSha = sha256(path.join(p.dir, '.cdl', 'models', 'fashion-mnist', 'model.onnx'));
    const commit = await p.git('rev-parse', 'HEAD');

    const release = await runPipeline(p, server.url, 'workflow_dispatch', { inputs: { version: '1.0.0' } });
    expect(release.summary.exitCode, release.log.slice(-4000)).toBe(0);
    expect(release.log).not.toMatch(/cdl train|epoch 1\//);
    expect(release.log).toContain(`model-${commit}: the model of commit ${commit.slice(0, 12)} from workflow run`);
    expect(release.log).toMatch(/released fashion-mnist@v1\.0\.0/);
    expect(release.log).toMatch(/compressed \(int8-dynamic\) from the blessed model/);
    expect(release.log).toMatch(/version 1 of fashion-mnist is ready/);
    // What ships is what was blessed on push: the same bytes.
    expect(sha256(releasedFull('fashion-mnist@v1.0.0'))).toBe(blessedSha);
    const released = json(path.join(p.dir, '.cdl', 'releases', 'fashion-mnist@v1.0.0', 'blessing.json'));
    expect(released.candidate).toMatchObject({ sha256: blessedSha, commit });

    const answer = await predict(p, server.url);
    expect(answer).toMatchObject({ model_version: '1', tag: 'fashion-mnist@v1.0.0' });
    expect(answer.probability).toBeGreaterThan(0.1);

    // The released model is the compressed child: it kept its parent's reference statistics, so the
    // server monitors it and `cdl monitor` compares production's traffic with them.
    const monitorRes = await fetch(`${server.url}/v2/models/fashion-mnist/monitor`);
    expect(monitorRes.status).toBe(200);
    const monitored = await cli('monitor', '--source', server.url, '--no-issue', '--no-retrain', '--json');
    expect(monitored.code, monitored.stderr).toBe(0);
    expect(monitored.stderr + monitored.stdout).toMatch(/fashion-mnist@v1\.0\.0/);

    await p.git('checkout', '-q', '-b', 'wider');
    await commitConfig(p, 'Wider first layer', (y) => y.replace('units: 256', 'units: 320'));
    const pr = await runPipeline(p, server.url, 'pull_request');
    expect(pr.summary.exitCode, pr.log.slice(-3000)).toBe(0);
    const body = comment();
    expect(body).toMatch(/^<!-- cdl-report: model=fashion-mnist -->/);
    expect(body).toMatch(/blessed/);
    expect(body).toContain('**Baseline:** production: release `fashion-mnist@v1.0.0`, deployed to production');
    expect(body).toMatch(/\| metric \| candidate \| baseline \| delta \| threshold \| verdict \|/);
    expect(body).toMatch(/\| accuracy \| 0\.\d{4} \| 0\.\d{4} \|/);
    await p.git('checkout', '-q', 'main');
    await p.git('merge', '-q', '--no-ff', '-m', 'Merge wider', 'wider');
  }, 400_000);

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
  }, 400_000);

  it('round 3: a release of a commit without a blessed model stops, unless on_missing_model: retrain', async () => {
    await p.git('checkout', '-q', 'main');
    writeFileSync(path.join(p.dir, 'NOTES.md'), 'A commit the push workflow never ran for.\n');
    await p.git('add', 'NOTES.md');
    await p.git('commit', '-q', '-m', 'Notes');
    const commit = await p.git('rev-parse', 'HEAD');
    const stopped = await runPipeline(p, server.url, 'workflow_dispatch', { inputs: { version: '2.0.0' } });
    expect(stopped.summary.exitCode).toBe(1);
    expect(stopped.log).toContain(`no blessed model for commit ${commit}: no artifact model-${commit}`);
    expect(stopped.log).toContain('release.on_missing_model: retrain');
    expect(existsSync(path.join(p.dir, '.cdl', 'releases', 'fashion-mnist@v2.0.0'))).toBe(false);

    await commitConfig(
      p,
      'Retrain at release when a commit has no blessed model',
      (y) => `${y}release:\n  on_missing_model: retrain\n`,
    );
    const retrain = await runPipeline(p, server.url, 'workflow_dispatch', { inputs: { version: '2.0.0' } });
    expect(retrain.summary.exitCode, retrain.log.slice(-4000)).toBe(0);
    expect(retrain.log).toMatch(/release\.on_missing_model: retrain: training at release/);
    // The model trained at release (the workspace keeps it) is the one released, and its lineage says why.
    const trained = path.join(p.dir, '.cdl', 'release-model');
    expect(json(path.join(trained, 'lineage.json')).release).toMatchObject({
      retrained_at_release: true,
      commit: await p.git('rev-parse', 'HEAD'),
      reason: expect.stringContaining('release.on_missing_model: retrain'),
    });
    expect(sha256(releasedFull('fashion-mnist@v2.0.0'))).toBe(sha256(path.join(trained, 'model.onnx')));
  }, 400_000);
});
