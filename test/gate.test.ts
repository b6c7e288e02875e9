/**
 * The gate end to end with real models trained by cdl: a better candidate is blessed, a damaged one
 * (noise on its weights) is rejected with the failing metrics named, a change within noise is
 * reported as not significant. Production is the version deployed to the production environment
 * (before any deployment, the latest release), fetched and verified as deploy does; the gate fails
 * closed: no thresholds still rejects a significant regression, and a production it cannot fetch or
 * a baseline name that is nothing is an error.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type LoadedConfig } from '../src/config/index.js';
import type { Dataset } from '../src/data/index.js';
import { evaluateModel, loadTestData, runGate, type Blessing, type GateRun } from '../src/evaluate/index.js';
import { rollback, deploy } from '../src/deploy/deploy-release.js';
import { deploySettings } from '../src/deploy/settings.js';
import { LocalForge } from '../src/forge/local.js';
import { SCHEMA_VERSIONS } from '../src/model-dir/index.js';
import { onnx } from '../src/onnx/index.js';
import { Registry } from '../src/registry/registry.js';
import { resolveProduction } from '../src/registry/production.js';
import { channelsFirstExport, perturbModel, trainExample } from './evaluate-models.js';
import { EXAMPLE_CONFIG, exampleRepo, git, removeTempDirs, runCli, tempDir } from './helpers/example.js';

afterAll(removeTempDirs);

const GATE = `
gate:
  metrics:
    accuracy: { min: 0.6, max_regression: 0.01 }
    macro_f1: { max_regression: 0.01 }
    log_loss: { max_regression: 0.05 }
    latency_p95_ms: { max: 1000 }
  benchmark: { latency_runs: 20, throughput_batches: 3 }
`;

describe('the gate with real models', () => {
  let project: string;
  let config: string;
  let loaded: LoadedConfig;
  let dataset: Dataset;
  let forge: LocalForge;
  let registry: Registry;
  /** The example's cdl.yaml as shipped (its own gate). */
  let shipped: string;
  let models: string;
  let good: string;
  let weak: string;
  let damaged: string;
  let nudged: string;

  const gate = (candidate: string, extra: Partial<Parameters<typeof runGate>[0]> = {}): Promise<GateRun> =>
    runGate({ loaded, candidate, forge, dataset, reportDir: path.join(project, '.cdl', 'reports', 'fashion-mnist'), ...extra });
  const readBlessing = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'blessing.json'), 'utf8')) as Blessing;

  beforeAll(async () => {
    const repo = exampleRepo();
    project = repo.dir;
    config = repo.config;
    shipped = path.join(project, 'shipped.yaml');
    copyFileSync(config, shipped);
    writeFileSync(config, readFileSync(config, 'utf8').replace(/\ngate:[\s\S]*?(?=\n\S|$)/, '\n') + GATE);
    git(project, 'add', '.');
    git(project, 'commit', '-q', '-m', 'gate thresholds');
    loaded = await loadConfig(config);
    dataset = await loadTestData(loaded);
    forge = new LocalForge({ root: project });
    registry = new Registry({ forge, model: 'fashion-mnist' });
    models = tempDir('cdl-gate-models-');
    good = await trainExample(path.join(models, 'good'), ['train.epochs=2', 'data.limit.train=4000'], config);
    weak = await trainExample(path.join(models, 'weak'), ['train.epochs=1', 'data.limit.train=300'], config);
    damaged = perturbModel(good, path.join(models, 'damaged'), 1.0, 7);
    nudged = perturbModel(good, path.join(models, 'nudged'), 0.05, 7);
  });

  it('with nothing in production yet, says so and applies only the absolute bounds', async () => {
    const r = await gate(good);
    expect(r.baseline).toBeUndefined();
    expect(r.baselineNote).toMatch(
      /^no release of fashion-mnist found \(local files under .*\.cdl\), so nothing is in production yet$/,
    );
    const b = readBlessing(good);
    expect(b).toMatchObject({ decision: 'blessed', baseline: null });
    expect(b.reason).toBe('all 4 thresholds met; no baseline, so only absolute bounds (min, max) were applied');
    expect(b.verdicts.find((v) => v.metric === 'macro_f1')!.reasons).toEqual([
      'no baseline: the change thresholds were not applied',
    ]);
    expect(r.markdown).toContain('**Baseline:** none — no release of fashion-mnist found');
    expect(r.markdown).toContain('only absolute bounds apply');
  });

  it('blesses a better candidate than the latest release, which is production before any deployment', async () => {
    await registry.promote(weak, { version: '1.0.0', force: { reason: 'the first model of the project' } });
    const r = await gate(good);
    expect(r.baselineIdentity).toMatchObject({
      kind: 'release',
      ref: 'production',
      tag: 'fashion-mnist@v1.0.0',
      production: 'latest-release',
    });
    const b = readBlessing(good);
    expect(b.decision).toBe('blessed');
    expect(b.reason).toBe('all 4 thresholds met');
    expect(b.baseline).toMatchObject({ kind: 'release', tag: 'fashion-mnist@v1.0.0', commit: git(project, 'rev-parse', 'HEAD') });
    expect(b.baseline!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(b.thresholds.accuracy).toEqual({ min: 0.6, max_regression: 0.01, relative: false });
    const acc = b.comparison.find((c) => c.metric === 'accuracy')!;
    expect(acc.delta!).toBeGreaterThan(0.1);
    expect(acc.significance).toMatchObject({ method: 'bootstrap', significant: true });
    expect(b.verdicts.every((v) => v.verdict === 'pass')).toBe(true);
    expect(Date.parse(b.time)).toBeGreaterThan(0);
    expect(r.markdown).toMatch(/^## ✅ cdl evaluate-gate: fashion-mnist — blessed/);
    expect(r.markdown).toMatch(
      /\| accuracy \| 0\.\d{4} \| 0\.\d{4} \| \+0\.\d{4} \(significant\) \| ≥ 0\.6000; at most 0\.0100 below baseline \| ✅ \|/,
    );
    expect(r.markdown).toContain(
      '**Baseline:** production: release `fashion-mnist@v1.0.0`, the latest release (nothing deployed to production yet)',
    );
    // evaluation.json beside the model holds both evaluations.
    const ev = JSON.parse(readFileSync(path.join(good, 'evaluation.json'), 'utf8'));
    expect(ev.baseline.model.sha256).toBe(b.baseline!.sha256);
  });

  it('rejects a damaged candidate (weights perturbed) and names the failing metrics', async () => {
    await registry.promote(good, { version: '1.1.0' });
    const r = await gate(damaged);
    expect(r.baselineIdentity?.tag).toBe('fashion-mnist@v1.1.0');
    const b = readBlessing(damaged);
    expect(b.decision).toBe('rejected');
    const failing = b.verdicts.filter((v) => v.verdict === 'fail').map((v) => v.metric);
    expect(failing).toEqual(expect.arrayContaining(['accuracy', 'macro_f1', 'log_loss']));
    expect(failing).not.toContain('latency_p95_ms');
    expect(b.reason).toMatch(/^failed: accuracy /);
    expect(b.reason).toMatch(/macro_f1 −0\.\d{4} against the baseline, more than the allowed 0\.0100; significant/);
    expect(r.markdown).toMatch(/^## ❌ cdl evaluate-gate: fashion-mnist — rejected/);
    expect(r.markdown).toMatch(/\| macro-F1 \| .* \| ❌ \|/);
    expect(r.markdown).toContain('- ❌ **accuracy**: ');
    // Charts: per-class F1 against the baseline, and the main metric across releases.
    expect(r.markdown).toContain('title "Per-class F1: candidate (bars) vs baseline (line)"');
    expect(r.markdown).toContain('x-axis ["fashion-mnist@v1.0.0", "fashion-mnist@v1.1.0", "candidate"]');
    expect(r.markdown).toMatch(/Largest confusions: \*\*[^*]+ → [^*]+\*\* \(\d+, /);
    expect(r.html).toMatch(/^<!doctype html>/);
    expect(r.html).toContain('<svg');
    expect(r.html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    // The same report, kept in one comment file per model and updated, with the verdict as a status.
    expect(r.published?.comment?.action).toBe('updated');
    const reportDir = path.join(project, '.cdl', 'reports', 'fashion-mnist');
    expect(readdirSync(reportDir).sort()).toEqual(['comment.md', 'report.html', 'report.md', 'status.json', 'summary.md']);
    expect(readFileSync(path.join(reportDir, 'comment.md'), 'utf8')).toMatch(/^<!-- cdl-report: model=fashion-mnist -->\n## ❌/);
    expect(JSON.parse(readFileSync(path.join(reportDir, 'status.json'), 'utf8'))).toMatchObject({
      state: 'failure',
      context: 'cdl/evaluate-gate (fashion-mnist)',
    });
  });

  it('reports a change within noise as not significant instead of blocking by luck', async () => {
    // Of the model and its slightly nudged copy, the worse one is the candidate: a small regression.
    const o = { task: 'classification' as const, latencyRuns: 0, throughputBatches: 0 };
    const [a, b] = [await evaluateModel(good, dataset, o), await evaluateModel(nudged, dataset, o)];
    const [candidate, baseline] =
      a.evaluation.metrics.accuracy! <= b.evaluation.metrics.accuracy! ? [good, nudged] : [nudged, good];
    for (const method of ['bootstrap', 'mcnemar'] as const) {
      const l = await loadConfig(config, ['gate.metrics.accuracy.max_regression=0', `gate.significance.method=${method}`]);
      const r = await gate(candidate, { loaded: l, baseline });
      const acc = r.blessing.verdicts.find((v) => v.metric === 'accuracy')!;
      expect(acc.delta!).toBeLessThanOrEqual(0);
      expect(Math.abs(acc.delta!)).toBeLessThan(0.01);
      expect(acc.significance).toMatchObject({ method, significant: false });
      expect(acc.verdict).toBe('pass');
      if (acc.delta! < 0)
        expect(acc.reasons[0]).toMatch(/against the baseline is not significant, within noise \((95% CI|McNemar p = )/);
      expect(r.blessing.decision).toBe('blessed');
      expect(r.markdown).toMatch(/\| accuracy \| [^|]+ \| [^|]+ \| [^|]+ \(within noise\) \|/);
    }
    // Requiring an improvement that is only noise does not bless by luck either.
    const l = await loadConfig(config, ['gate.metrics.accuracy.min_improvement=0']);
    const r = await gate(baseline, { loaded: l, baseline: candidate });
    const acc = r.blessing.verdicts.find((v) => v.metric === 'accuracy')!;
    expect(acc.delta!).toBeGreaterThanOrEqual(0);
    expect(acc.verdict).toBe('fail');
    expect(acc.reasons.join()).toMatch(/not counted as the required improvement|required an improvement/);
    expect(r.blessing.decision).toBe('rejected');
  });

  it('without thresholds, the default gate rejects a significant regression of the main metric', async () => {
    const cfg = path.join(project, 'plain.yaml');
    writeFileSync(cfg, readFileSync(config, 'utf8').replace(/\ngate:[\s\S]*$/, '\n'));
    const r = await gate(weak, { loaded: await loadConfig(cfg), baseline: good });
    const b = readBlessing(weak);
    expect(b.decision).toBe('rejected');
    expect(b.thresholds).toEqual({ accuracy: { max_regression: 0, relative: false } });
    expect(b.reason).toMatch(
      /^default gate \(no thresholds in gate\.metrics\): accuracy not significantly worse than the baseline; failed: accuracy −0\.\d{4} against the baseline, more than the allowed 0; significant/,
    );
    expect(r.markdown).toMatch(/rejected/);
    // Within noise, the default gate lets it through; with nothing to compare, it says so.
    const same = await gate(good, { loaded: await loadConfig(cfg), baseline: good });
    expect(same.blessing.decision).toBe('blessed');
    const alone = await gate(good, { loaded: await loadConfig(cfg), baseline: 'none' });
    expect(alone.blessing.reason).toMatch(/no baseline, so nothing to compare with$/);
  });

  it('a baseline name that is nothing, or a production that cannot be verified, is an error (fail closed)', async () => {
    await expect(gate(good, { baseline: 'fashion-mnist-v9.9.9' })).rejects.toThrow(
      /^baseline fashion-mnist-v9\.9\.9: no such directory or release \(local files under .*\); expected production, none/,
    );
    await expect(gate(good, { baseline: './no/such/model' })).rejects.toThrow(/^baseline \.\/no\/such\/model: no such directory/);
    const byTag = await gate(good, { baseline: 'fashion-mnist@v1.0.0' });
    expect(byTag.baselineIdentity).toMatchObject({ kind: 'tag', tag: 'fashion-mnist@v1.0.0' });
    const byVersion = await gate(good, { baseline: '1.0.0' });
    expect(byVersion.baselineIdentity).toMatchObject({ kind: 'tag', tag: 'fashion-mnist@v1.0.0' });
    const typo = await runCli(['gate', '--model', good, '--config', config, '--baseline', 'prodution'], { cwd: project });
    expect(typo.code, typo.stderr).toBe(2);
    expect(typo.stderr).toMatch(/baseline prodution: no such directory or release/);

    // Production (v1.1.0, the latest release) exists but its model.onnx no longer matches SHA256SUMS.
    const released = path.join(project, '.cdl', 'releases', 'fashion-mnist@v1.1.0', 'model.onnx');
    const original = readFileSync(released);
    writeFileSync(released, Buffer.concat([original, Buffer.from([0])]));
    try {
      const r = await runCli(['gate', '--model', good, '--config', config, '--no-comment'], { cwd: project });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/production fashion-mnist@v1\.1\.0 could not be fetched or verified: .*model\.onnx/);
      expect(r.stdout).not.toMatch(/blessed/);
    } finally {
      writeFileSync(released, original);
    }
  }, 300_000);

  it('a PyTorch-style (NCHW) export clearly worse than production is rejected, with the example gate and with none', async () => {
    const torch = channelsFirstExport(weak, path.join(models, 'torch-weak'));
    const plain = path.join(project, 'no-gate.yaml');
    writeFileSync(plain, readFileSync(shipped, 'utf8').replace(/\ngate:[\s\S]*?(?=\n\S|$)/, '\n'));
    expect(readFileSync(plain, 'utf8')).not.toMatch(/^gate:/m);
    expect(readFileSync(shipped, 'utf8')).toMatch(/^gate:/m);
    for (const cfg of [shipped, plain]) {
      const args = [
        'gate',
        '--model',
        torch,
        '--config',
        cfg,
        '--no-comment',
        '--json',
        '--set',
        'gate.benchmark.latency_runs=5',
      ];
      const r = await runCli(args, { cwd: project });
      expect(r.code, r.stderr).toBe(1);
      const b = JSON.parse(r.stdout) as Blessing;
      expect(b).toMatchObject({ decision: 'rejected', baseline: { tag: 'fashion-mnist@v1.1.0', production: 'latest-release' } });
      expect(b.verdicts.find((v) => v.metric === 'accuracy')).toMatchObject({
        verdict: 'fail',
        significance: { significant: true },
      });
      expect(JSON.parse(readFileSync(path.join(torch, 'evaluation.json'), 'utf8')).model.input.layout).toBe('nchw');
    }
  }, 300_000);

  it('cdl gate exits 1 on rejection, 0 when blessed, and records a forced bless with its reason', async () => {
    const args = ['gate', '--model', damaged, '--config', config, '--set', 'gate.benchmark.latency_runs=5'];
    const rejected = await runCli(args, { cwd: project });
    expect(rejected.code, rejected.stderr).toBe(1);
    expect(rejected.stdout).toMatch(/^FAIL {2}accuracy: /m);
    expect(rejected.stdout).toMatch(/^rejected: failed: /m);
    const missingReason = await runCli([...args, '--force-bless', 'yes'], { cwd: project });
    expect(missingReason.code).toBe(2);
    expect(missingReason.stderr).toContain('force-bless needs a reason');
    const forced = await runCli([...args, '--force-bless', 'accepted for the demo; fix follows in #12'], { cwd: project });
    expect(forced.code, forced.stderr).toBe(0);
    const b = readBlessing(damaged);
    expect(b.decision).toBe('blessed');
    expect(b.forced).toMatchObject({
      reason: 'accepted for the demo; fix follows in #12',
      decision_without_override: 'rejected',
    });
    expect(b.reason).toMatch(
      /^force-blessed \(accepted for the demo; fix follows in #12\); without the override: failed: accuracy/,
    );
    const noFail = await runCli([...args, '--no-fail'], { cwd: project });
    expect(noFail.code).toBe(0);
    expect(readBlessing(damaged).decision).toBe('rejected');
    const blessed = await runCli(['gate', '--model', good, '--config', config, '--baseline', weak, '--json'], { cwd: project });
    expect(blessed.code, blessed.stderr).toBe(0);
    expect(JSON.parse(blessed.stdout)).toMatchObject({ decision: 'blessed' });
    expect(existsSync(path.join(project, '.cdl', 'reports', 'fashion-mnist', 'report.html'))).toBe(true);
  }, 300_000);

  it('after deploying v1.1.0 and rolling back to v1.0.0, production is v1.0.0 and the next candidate is gated against it', async () => {
    const settings = deploySettings(undefined, project, { target: 'release' });
    expect((await deploy({ forge, model: 'fashion-mnist', ref: '1.0.0', settings })).state).toBe('success');
    expect((await deploy({ forge, model: 'fashion-mnist', ref: '1.1.0', settings })).state).toBe('success');
    expect(await resolveProduction(forge, 'fashion-mnist')).toMatchObject({ tag: 'fashion-mnist@v1.1.0', source: 'deployed' });
    expect((await rollback({ forge, model: 'fashion-mnist', settings })).tag).toBe('fashion-mnist@v1.0.0');
    expect(await resolveProduction(forge, 'fashion-mnist')).toMatchObject({ tag: 'fashion-mnist@v1.0.0', source: 'deployed' });
    const r = await gate(nudged);
    expect(r.baselineIdentity).toMatchObject({ tag: 'fashion-mnist@v1.0.0', production: 'deployed' });
    expect(r.markdown).toContain('**Baseline:** production: release `fashion-mnist@v1.0.0`, deployed to production');
    const listed = await registry.list();
    expect(listed.find((v) => v.version === '1.0.0')?.aliases).toEqual(['production']);
  });
});

describe('the gate report lists the examples whose prediction changed', () => {
  // 30 test "images" of 2×2 pixels, label i % 3, one lit pixel. Both models map pixel k to
  // class k for k < 3; for pixel 3 production says class 0 and the candidate class 2. The lit
  // pixel is 3 on the rows below, so the flips are known: label 2 there is fixed, label 0 broken,
  // label 1 changes from one wrong class to another.
  const odd = [4, 5, 11, 12, 17, 21];
  const classes = ['circle', 'square', 'star'];
  const tiles = (pixel3: number) => {
    const w = new Float32Array(12);
    for (let k = 0; k < 3; k++) w[k * 3 + k] = 4;
    w[3 * 3 + pixel3] = 4;
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      producerName: 'hand',
      graph: {
        name: 'tiles',
        input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: 4 }] } } } }],
        output: [{ name: 'logits', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: 3 }] } } } }],
        initializer: [{ name: 'w', dims: [4, 3], dataType: 1, rawData: new Uint8Array(w.buffer) }],
        node: [{ opType: 'MatMul', input: ['x', 'w'], output: ['logits'] }],
      },
    });
    return onnx.ModelProto.encode(model).finish();
  };
  const metricsJson = (accuracy: number[]) =>
    JSON.stringify({
      schema_version: SCHEMA_VERSIONS.metrics,
      model: 'fashion-mnist',
      task: 'classification',
      main_metric: 'accuracy',
      main_metric_value: accuracy.at(-1),
      higher_is_better: true,
      outputs: 'logits',
      splits: {},
      history: accuracy.map((a, i) => ({ epoch: i + 1, loss: 1 - a, accuracy: a, val_loss: 1.1 - a, val_accuracy: a - 0.05 })),
    });

  it('fixed and broken rows with true label and both predictions, in evaluation.json, the comment and the HTML thumbnails', async () => {
    const dir = tempDir('cdl-gate-flips-');
    const x = new Float32Array(30 * 4);
    const y = Int32Array.from({ length: 30 }, (_, i) => i % 3);
    // Brighter pixels give more confident answers, so later odd rows are the more confident mistakes.
    for (let i = 0; i < 30; i++) x[i * 4 + (odd.includes(i) ? 3 : y[i]!)] = 0.5 + i / 60;
    const empty = { x: new Float32Array(0), y: new Int32Array(0), n: 0 };
    const dataset: Dataset = {
      shape: [2, 2, 1],
      classes,
      train: empty,
      validation: empty,
      test: { x, y, n: 30 },
      version: 'sha256:' + '0'.repeat(64),
      files: [],
      source: 'tiles',
    };
    const [production, candidate] = ['production', 'candidate'].map((name, m) => {
      const d = path.join(dir, name);
      mkdirSync(d);
      writeFileSync(path.join(d, 'model.onnx'), tiles(m === 0 ? 0 : 2));
      writeFileSync(path.join(d, 'metrics.json'), metricsJson(m === 0 ? [0.6, 0.75, 0.8] : [0.5, 0.7, 0.8, 0.83]));
      return d;
    });
    const loaded = await loadConfig(EXAMPLE_CONFIG, ['gate.benchmark.latency_runs=2', 'gate.benchmark.throughput_batches=1']);
    const r = await runGate({
      loaded,
      candidate: candidate!,
      baseline: production!,
      dataset,
      forge: new LocalForge({ root: dir }),
      reportDir: path.join(dir, 'report'),
      publish: false,
    });
    expect(r.changes).toMatchObject({ fixed: 3, broken: 2, changed: 6 });
    expect(r.changes!.examples).toEqual({
      fixed: [
        { index: 17, label: 2, candidate: 2, baseline: 0 },
        { index: 11, label: 2, candidate: 2, baseline: 0 },
        { index: 5, label: 2, candidate: 2, baseline: 0 },
      ],
      broken: [
        { index: 21, label: 0, candidate: 2, baseline: 0 },
        { index: 12, label: 0, candidate: 2, baseline: 0 },
      ],
    });
    expect(r.changes!.per_class.map((c) => [c.class, c.fixed, c.broken, c.significant])).toEqual([
      ['circle', 0, 2, false],
      ['square', 0, 0, false],
      ['star', 3, 0, false],
    ]);
    // Recorded beside the model, bounded, with both evaluations.
    const ev = JSON.parse(readFileSync(path.join(candidate!, 'evaluation.json'), 'utf8'));
    expect(ev.changes).toEqual(JSON.parse(JSON.stringify(r.changes)));
    expect(ev.baseline.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    // The comment: totals and a compact table each way; the per-class change worst first.
    expect(r.markdown).toContain(
      '6 of 30 test predictions changed: **3 fixed** (baseline wrong, candidate right), **2 broken** (baseline right, candidate wrong), 1 from one wrong class to another.',
    );
    expect(r.markdown).toContain(
      '| test example | true | baseline | candidate |\n|---:|---|---|---|\n| 21 | circle | circle | star |\n| 12 | circle | circle | star |\n',
    );
    expect(r.markdown).toContain('| 17 | star | circle | star |\n| 11 | star | circle | star |\n| 5 | star | circle | star |\n');
    expect(r.markdown).toMatch(
      /### Per-class change against baseline, worst first\n\n\| class [^\n]*\n[^\n]*\n\| circle \| 0\.800 \| 1\.000 \| −0\.200 \| 0 \| 2 \|/,
    );
    // Both models' training curves, from their metrics.json.
    expect(r.markdown).toContain('title "validation accuracy per epoch: candidate"');
    expect(r.markdown).toContain('| baseline | 3 | 0.2000 | 0.8000 | 0.3000 | 0.7500 |');
    // The HTML page: a thumbnail per listed example, broken first, and the curves charts.
    const alts = [...r.html.matchAll(/<img src="data:image\/png;base64,[^"]+" alt="test example (\d+), a (\w+)"/g)].map((m) => [
      Number(m[1]),
      m[2],
    ]);
    expect(alts).toEqual([
      [21, 'circle'],
      [12, 'circle'],
      [17, 'star'],
      [11, 'star'],
      [5, 'star'],
    ]);
    expect(r.html).toContain('aria-label="Loss per epoch"');
    expect(readFileSync(path.join(dir, 'report', 'report.html'), 'utf8')).toBe(r.html);
  }, 120_000);
});
