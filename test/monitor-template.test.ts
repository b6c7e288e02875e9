/**
 * The monitoring starter as a user copies it (workflows-templates/cdl-monitor.yml calling
 * cdl's monitor.yml by version) under `cdl run`, end to end: a model trained, released and deployed to a running
 * `cdl serve` on 127.0.0.1 (the production alias points at it), traffic sent to that server, then
 * the starter's own events. Clean traffic: status ok, no issue, no dispatch. Drifted traffic (half
 * the requests of one class): status alert, one issue in the local forge and the retraining
 * dispatched. Production (reference.json) is fetched and verified from the registry by the action,
 * not given.
 */
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, type Dataset } from '../src/data/index.js';
import { monitorMarker } from '../src/forge/issues.js';
import { sampleTraffic, type Scenario } from '../src/monitor/simulate.js';
import { train } from '../src/train/training.js';
import { startServe, type Server } from '../scripts/example-pipeline.js';
import { exampleConfig, exampleRepo, git, REPO, removeTempDirs, runCli, tempDir } from './helpers/example.js';

const TRAIN_LIMIT = 1500;
const ROW = 28 * 28;
const ENV = { CDL_FORGE: 'local' };
let dir: string;
let server: Server;
let serveRepository: string;
/** Training examples the model never saw: the traffic is drawn from them. */
let pool: Dataset['train'];

/** Send `count` examples of a scenario to the server's inference endpoint, 50 a request (under the max batch). */
async function traffic(scenario: Scenario, count: number, seed: number): Promise<void> {
  const x = sampleTraffic(pool, ROW, scenario, count, seed);
  for (let i = 0; i < count; i += 50) {
    const n = Math.min(50, count - i);
    const res = await fetch(`${server.url}/v2/models/fashion-mnist/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [
          { name: 'input', shape: [n, 28, 28, 1], datatype: 'FP32', data: Array.from(x.subarray(i * ROW, (i + n) * ROW)) },
        ],
      }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    await res.arrayBuffer();
  }
}

interface RunResult {
  jobs: { key: string; result: string }[];
  outputs: Record<string, string>;
}

/** Run the starter for an event; returns the run's result.json and its log. */
async function monitorRun(event: 'schedule' | 'workflow_dispatch', run: number): Promise<{ result: RunResult; log: string }> {
  const r = await runCli(['run', '.github/workflows/cdl-monitor.yml', '--event', event, '--runs-on-any'], {
    cwd: dir,
    env: ENV,
    timeoutMs: 240_000,
  });
  const log = r.stdout + r.stderr;
  expect(r.code, log.slice(-3000)).toBe(0);
  const result = JSON.parse(readFileSync(path.join(dir, '.cdl', 'runs', String(run), 'result.json'), 'utf8')) as RunResult;
  return { result, log };
}

const listed = (sub: string) => (existsSync(path.join(dir, '.cdl', sub)) ? readdirSync(path.join(dir, '.cdl', sub)) : []);

beforeAll(async () => {
  const all = await exampleConfig([]);
  const dataset = await loadDataset(
    { ...all.config.data, validation: { fraction: 0, seed: 0 } },
    { baseDir: all.dir, task: 'classification' },
  );
  pool = {
    x: dataset.train.x.subarray(TRAIN_LIMIT * ROW),
    y: dataset.train.y.subarray(TRAIN_LIMIT),
    n: dataset.train.n - TRAIN_LIMIT,
  };

  serveRepository = tempDir('cdl-monitor-serve-');
  server = await startServe(serveRepository);
  ({ dir } = exampleRepo());
  appendFileSync(path.join(dir, 'cdl.yaml'), `monitor:\n  source: ${server.url}\n  retrain: { workflow: cdl.yml, ref: main }\n`);
  const workflows = path.join(dir, '.github', 'workflows');
  for (const f of ['cdl-monitor.yml']) cpSync(path.join(REPO, 'workflows-templates', f), path.join(workflows, f));
  writeFileSync(path.join(dir, '.gitignore'), '.cdl/\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'monitoring');

  // Train, release 1.0.0 (a forced release: this test is about monitoring, not the gate) and deploy
  // it to the running server; the production alias then points at it.
  const modelDir = path.join(tempDir('cdl-monitor-model-'), 'model');
  const loaded = await exampleConfig(
    ['train.backend=wasm', 'train.epochs=2', `data.limit.train=${TRAIN_LIMIT}`],
    path.join(dir, 'cdl.yaml'),
  );
  await train({ loaded, outDir: modelDir, log: () => {} });
  const cli = async (...args: string[]) => {
    const r = await runCli(args, { cwd: dir, env: ENV });
    expect(r.code, `cdl ${args.join(' ')}\n${(r.stdout + r.stderr).slice(-3000)}`).toBe(0);
  };
  await cli('models', 'promote', '--model', modelDir, '--version', '1.0.0', '--force', '--reason', 'monitoring test');
  await cli('deploy', '--version', '1.0.0', '--target', 'server', '--server-url', server.url, '--repository', serveRepository);
}, 600_000);

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

describe('workflows-templates/cdl-monitor.yml under cdl run', () => {
  it('clean traffic: status ok on the schedule, no issue, no dispatch', async () => {
    await traffic({ kind: 'clean' }, 1000, 11);
    const { result, log } = await monitorRun('schedule', 1);
    expect(
      result.jobs.filter((j) => j.key.includes(' / ')),
      log.slice(-3000),
    ).toEqual([expect.objectContaining({ key: 'monitor / monitor', result: 'success' })]);
    expect(log).toMatch(/monitoring production: fashion-mnist@v1\.0\.0, deployed to production/);
    expect(log).toMatch(/fashion-mnist \S+: ok/);
    expect(listed('issues')).toEqual([]);
    expect(listed('dispatches')).toEqual([]);
  }, 300_000);

  it('drifted traffic: an alert on dispatch, one issue, the retraining dispatched', async () => {
    // Half of the new requests are of one class: the predicted classes shift far past the alert line.
    await traffic({ kind: 'imbalance', class: 0, share: 0.5 }, 3000, 12);
    const { result, log } = await monitorRun('workflow_dispatch', 2);
    expect(
      result.jobs.filter((j) => j.key.includes(' / ')),
      log.slice(-3000),
    ).toEqual([expect.objectContaining({ key: 'monitor / monitor', result: 'success' })]);
    expect(log).toMatch(/fashion-mnist \S+: alert/);
    const issues = listed('issues');
    expect(issues).toHaveLength(1);
    expect(readFileSync(path.join(dir, '.cdl', 'issues', issues[0]!), 'utf8')).toContain(monitorMarker('fashion-mnist'));
    const dispatches = listed('dispatches');
    expect(dispatches).toHaveLength(1);
    expect(JSON.parse(readFileSync(path.join(dir, '.cdl', 'dispatches', dispatches[0]!), 'utf8'))).toMatchObject({
      workflow: 'cdl.yml',
      ref: 'main',
    });
  }, 300_000);
});
