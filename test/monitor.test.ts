/**
 * Monitoring: reference statistics written by cdl train; injected drift (a brightness shift, a
 * class imbalance in the requests) detected and clean traffic not flagged over 20 seeds, through
 * the model (onnxruntime) and the server's recorder; one issue opened then updated, retraining
 * dispatched — locally and against a fake GitHub REST API checked with GitHub's OpenAPI description.
 */
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monitorSection } from '../src/config/schema/monitor.js';
import { loadDataset, type Dataset } from '../src/data/index.js';
import { exampleFeatures, inputLayout, REFERENCE_FILE, type ReferenceStats } from '../src/data/stats.js';
import { GitHubForge } from '../src/forge/github.js';
import { monitorMarker } from '../src/forge/issues.js';
import { LocalForge } from '../src/forge/local.js';
import { compareDrift, ksPValue, ksStatistic, psi } from '../src/monitor/drift.js';
import { readReferenceFile, runMonitor } from '../src/monitor/monitor-model.js';
import { sampleTraffic, simulateDrift, type Scenario } from '../src/monitor/simulate.js';
import { InputStatsRecorder } from '../src/serve/input-stats.js';
import { train } from '../src/train/training.js';
import { exampleConfig, exampleRepo, git, REPO, removeTempDirs, runCli, tempDir } from './helpers/example.js';
import { startFakeGitHub, validateRequest, type FakeGitHub } from './helpers/fake-github.js';

const TRAIN_LIMIT = 1500;
let modelDir: string;
let reference: ReferenceStats;
let dataset: Dataset;
/** Training examples the model never saw: the traffic is drawn from them. */
let pool: Dataset['train'];

beforeAll(async () => {
  modelDir = path.join(tempDir('cdl-monitor-'), 'model');
  const loaded = await exampleConfig(['train.backend=wasm', 'train.epochs=2', `data.limit.train=${TRAIN_LIMIT}`]);
  await train({ loaded, outDir: modelDir, log: () => {} });
  reference = await readReferenceFile(modelDir);
  const all = await exampleConfig([]);
  dataset = await loadDataset(
    { ...all.config.data, validation: { fraction: 0, seed: 0 } },
    { baseDir: all.dir, task: 'classification' },
  );
  const row = 28 * 28;
  pool = {
    x: dataset.train.x.subarray(TRAIN_LIMIT * row),
    y: dataset.train.y.subarray(TRAIN_LIMIT),
    n: dataset.train.n - TRAIN_LIMIT,
  };
});
afterAll(removeTempDirs);

const thresholds = { psi: { warn: 0.1, alert: 0.25 }, ks_p_value: 0.01, min_samples: 200 };

/** Production statistics of 1000 examples of a scenario, as the server records them. */
async function production(scenario: Scenario, seed: number) {
  const { loadOrt } = await import('../src/runtime/onnxruntime.js');
  const { ort } = await loadOrt();
  const session = await ort.InferenceSession.create(path.join(modelDir, 'model.onnx'));
  const x = sampleTraffic(pool, 784, scenario, 1000, seed);
  const res = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [1000, 28, 28, 1]) });
  const rec = new InputStatsRecorder(reference, 'fashion-mnist', '3');
  rec.record(x, 1000, res[session.outputNames[0]!]!.data as Float32Array);
  return rec.snapshot();
}

describe('drift statistics', () => {
  it('PSI and Kolmogorov–Smirnov on worked examples', () => {
    expect(psi([0.5, 0.5], [50, 50])).toBe(0);
    // (0.7-0.5)ln(0.7/0.5) + (0.3-0.5)ln(0.3/0.5) = 0.0673 + 0.1022
    expect(psi([0.5, 0.5], [70, 30])).toBeCloseTo(0.16946, 4);
    expect(ksStatistic([0.25, 0.25, 0.25, 0.25], [10, 20, 30, 40])).toBeCloseTo(0.2, 10);
    expect(ksPValue(0, 100, 100)).toBe(1);
    // Two samples of 1000: D = 0.0608 is the classic 5% critical value (1.36 · sqrt(2/1000)).
    expect(ksPValue(0.0608, 1000, 1000)).toBeCloseTo(0.05, 2);
    expect(ksPValue(0.3, 1000, 1000)).toBeLessThan(1e-30);
  });
});

describe('monitoring', () => {
  it('summarizes an image by its mean and its block means, for one channel and several, with uneven blocks', () => {
    for (const shape of [
      [28, 28, 1],
      [30, 17, 3],
      [9, 40, 2],
    ] as Array<[number, number, number]>) {
      const [h, w, c] = shape;
      const layout = inputLayout(shape);
      if (layout.kind !== 'blocks') throw new Error(`expected a blocks layout for [${shape.join(', ')}]`);
      const row = Float32Array.from({ length: h * w * c }, (_, i) => ((i * 37) % 101) / 100);
      const [bh, bw] = layout.block;
      const [gh, gw] = layout.grid;
      const want = [row.reduce((a, b) => a + b, 0) / row.length];
      for (let ch = 0; ch < c; ch++) {
        for (let by = 0; by < gh; by++) {
          for (let bx = 0; bx < gw; bx++) {
            let sum = 0;
            let n = 0;
            for (let y = by * bh; y < Math.min(h, (by + 1) * bh); y++)
              for (let x = bx * bw; x < Math.min(w, (bx + 1) * bw); x++, n++) sum += row[(y * w + x) * c + ch]!;
            want.push(sum / n);
          }
        }
      }
      const got = [...exampleFeatures(layout, row)];
      expect(got.length).toBe(want.length);
      got.forEach((v, i) => expect(v, `[${shape.join(', ')}] feature ${i}`).toBeCloseTo(want[i]!, 9));
    }
  });

  it('cdl train stores reference statistics: input block summaries and test-split predictions', () => {
    expect(existsSync(path.join(modelDir, REFERENCE_FILE))).toBe(true);
    expect(reference).toMatchObject({ model: 'fashion-mnist', task: 'classification', split: 'test', examples: 2000 });
    expect(reference.inputs.layout).toMatchObject({ kind: 'blocks', block: [4, 4], grid: [7, 7] });
    expect(reference.inputs.features).toHaveLength(50);
    expect(reference.predictions.kind).toBe('classes');
    if (reference.predictions.kind === 'classes') expect(reference.predictions.counts.reduce((a, b) => a + b, 0)).toBe(2000);
    const lineage = JSON.parse(readFileSync(path.join(modelDir, 'lineage.json'), 'utf8'));
    expect(reference.dataset_version).toBe(lineage.data.version);
  });

  it('flags a brightness shift and a class imbalance in every one of 20 seeds, clean traffic in none', async () => {
    const seeds = Array.from({ length: 20 }, (_, i) => i + 1);
    const results = await simulateDrift({
      modelDir,
      reference,
      pool,
      shape: [28, 28, 1],
      scenarios: [{ kind: 'clean' }, { kind: 'brightness', delta: 0.1 }, { kind: 'imbalance', class: 0, share: 0.5 }],
      seeds,
      examples: 1000,
      thresholds,
    });
    const [clean, bright, imbalance] = results;
    expect(clean).toMatchObject({ flagged: 0, alerts: 0 });
    expect(clean!.prediction_psi.max).toBeLessThan(0.1);
    expect(bright).toMatchObject({ flagged: 20, alerts: 20 });
    expect(imbalance).toMatchObject({ flagged: 20, alerts: 20 });
    expect(imbalance!.prediction_psi.mean).toBeGreaterThan(0.25);
  });

  it('opens one issue on drift, updates it on the next run, dispatches retraining; clean traffic opens none', async () => {
    const dir = tempDir('cdl-monitor-local-');
    const forge = new LocalForge({ root: dir });
    const monitor = monitorSection.parse({ retrain: { workflow: 'train.yml', ref: 'main' } });
    const statsFile = path.join(dir, 'stats.json');

    writeFileSync(statsFile, JSON.stringify(await production({ kind: 'clean' }, 99)));
    const clean = await runMonitor({ modelDir, source: statsFile, monitor, forge });
    expect(clean.report.status).toBe('ok');
    expect(clean.issue).toEqual({ action: 'none' });
    expect(clean.dispatch).toBeUndefined();

    writeFileSync(statsFile, JSON.stringify(await production({ kind: 'imbalance', class: 0, share: 0.5 }, 99)));
    const first = await runMonitor({ modelDir, source: statsFile, monitor, forge });
    expect(first.report.status).toBe('alert');
    expect(first.issue?.action).toBe('created');
    expect(first.dispatch).toMatchObject({ workflow: 'train.yml', ref: 'main' });
    const second = await runMonitor({ modelDir, source: statsFile, monitor, forge });
    expect(second.issue).toMatchObject({ action: 'updated', file: first.issue!.file });
    expect(readdirSync(path.join(dir, '.cdl', 'issues'))).toHaveLength(1);
    const body = readFileSync(first.issue!.file!, 'utf8');
    expect(body).toContain(monitorMarker('fashion-mnist'));
    expect(body).toMatch(/Predictions\*\*: PSI \d\.\d+ — 🚨 alert/);
    expect(body).toMatch(/\| T-shirt\/top \| \d+\.\d% \| \d+\.\d% \| \+\d+\.\d pt \|/);
    expect(readdirSync(path.join(dir, '.cdl', 'dispatches'))).toHaveLength(2);

    // Too few examples: no verdict.
    const few = await production({ kind: 'clean' }, 5);
    const r = compareDrift(reference, { ...few, examples: 50 }, thresholds);
    expect(r.status).toBe('insufficient');
  });

  it('the callable monitor.yml under cdl run: drift opens the issue and dispatches the retraining', async () => {
    const { dir } = exampleRepo();
    appendFileSync(path.join(dir, 'cdl.yaml'), 'monitor:\n  retrain: { workflow: cdl.yml, ref: main }\n');
    cpSync(path.join(REPO, '.github', 'workflows', 'monitor.yml'), path.join(dir, '.github', 'workflows', 'monitor.yml'));
    writeFileSync(path.join(dir, '.gitignore'), '.cdl/\n');
    git(dir, 'add', '.');
    git(dir, 'commit', '-q', '-m', 'monitoring');
    const statsFile = path.join(tempDir('cdl-monitor-stats-'), 'stats.json');
    writeFileSync(statsFile, JSON.stringify(await production({ kind: 'imbalance', class: 0, share: 0.5 }, 7)));
    const args = ['run', '.github/workflows/monitor.yml', '--event', 'workflow_call', '--runs-on-any'];
    for (const input of [`model=${modelDir}`, `source=${statsFile}`]) args.push('--input', input);
    const r = await runCli(args, { cwd: dir, env: { CDL_FORGE: 'local' }, timeoutMs: 240_000 });
    expect(r.code, (r.stdout + r.stderr).slice(-3000)).toBe(0);
    const result = JSON.parse(readFileSync(path.join(dir, '.cdl', 'runs', '1', 'result.json'), 'utf8')) as {
      jobs: { key: string; result: string }[];
      outputs: Record<string, string>;
    };
    expect(result.jobs).toEqual([expect.objectContaining({ key: 'monitor', result: 'success' })]);
    expect(result.outputs).toEqual({ status: 'alert' });
    // The model was given: production is not looked up (and no step copies model files by hand).
    expect(r.stdout).not.toMatch(/monitoring production:|Download the deployed model/);
    const issues = readdirSync(path.join(dir, '.cdl', 'issues'));
    expect(issues).toHaveLength(1);
    expect(readFileSync(path.join(dir, '.cdl', 'issues', issues[0]!), 'utf8')).toContain(monitorMarker('fashion-mnist'));
    const dispatches = readdirSync(path.join(dir, '.cdl', 'dispatches'));
    expect(dispatches).toHaveLength(1);
    expect(JSON.parse(readFileSync(path.join(dir, '.cdl', 'dispatches', dispatches[0]!), 'utf8'))).toMatchObject({
      workflow: 'cdl.yml',
      ref: 'main',
    });
  }, 300_000);
});

describe('monitoring on GitHub', () => {
  let gh: FakeGitHub;
  let forge: GitHubForge;
  const req = {
    marker: monitorMarker('fashion-mnist'),
    title: 'Drift detected: fashion-mnist',
    body: 'PSI 0.4',
    labels: ['cdl-monitor'],
    create: true,
  };
  beforeAll(async () => {
    gh = await startFakeGitHub({ defaultBranch: 'trunk' });
    gh.issues.push(
      { number: 1, title: 'someone else', body: 'unrelated' },
      { number: 2, title: 'a pull request', body: monitorMarker('fashion-mnist'), pull_request: { url: 'x' } },
    );
    forge = new GitHubForge({ token: 't', repository: 'octo/models', apiUrl: gh.url, eventPath: '/nonexistent' });
  });
  afterAll(() => gh?.close());

  it('the issue is found by its marker among open issues (not pull requests) and updated', async () => {
    expect(await forge.upsertIssue({ ...req, create: false })).toEqual({ action: 'none' });
    const created = await forge.upsertIssue(req);
    expect(created).toMatchObject({ action: 'created', number: 3 });
    const updated = await forge.upsertIssue({ ...req, body: 'PSI 0.5' });
    expect(updated).toMatchObject({ action: 'updated', number: 3 });
    expect(gh.issues.filter((i) => i.body.includes(req.marker) && !i.pull_request)).toHaveLength(1);
    expect(gh.issues[2]!.body).toBe(`${req.marker}\nPSI 0.5`);
  });

  it('the dispatch names the workflow and the default branch', async () => {
    expect(await forge.dispatchWorkflow({ workflow: 'train.yml', inputs: { reason: 'drift' } })).toEqual({
      workflow: 'train.yml',
      ref: 'trunk',
    });
    const dispatch = gh.requests.find((r) => r.path.endsWith('/dispatches'))!;
    expect(dispatch).toMatchObject({
      path: '/repos/octo/models/actions/workflows/train.yml/dispatches',
      body: { ref: 'trunk', inputs: { reason: 'drift' } },
    });
  });

  it('made only requests that GitHub’s OpenAPI description allows', () => {
    for (const r of gh.requests) expect(validateRequest(r).errors, `${r.method} ${r.path}`).toEqual([]);
    expect(gh.requests.map((r) => validateRequest(r).operationId)).toEqual(
      expect.arrayContaining([
        'issues/list-for-repo',
        'issues/create',
        'issues/update',
        'repos/get',
        'actions/create-workflow-dispatch',
      ]),
    );
  });
});
