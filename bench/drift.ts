/**
 * Measures the drift detector on the Fashion-MNIST example and records it in
 * bench/results/drift.{json,md}: the example MLP trained on the first 6,000 training images,
 * traffic drawn from the other 6,000 (clean, brightness shifts, class imbalance), 20 seeds each.
 *
 *   npx tsx bench/drift.ts
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/index.js';
import { loadDataset } from '../src/data/index.js';
import { train } from '../src/train/training.js';
import { DEFAULT_THRESHOLDS } from '../src/monitor/drift.js';
import { readReferenceFile } from '../src/monitor/monitor-model.js';
import { simulateDrift, simulationMarkdown, type Scenario } from '../src/monitor/simulate.js';

// A benchmark trains the example's configuration, which lives in this checkout: never record those runs here.
process.env.CDL_RUNS ??= 'off';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TRAIN = 6000;
const SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);
const SCENARIOS: Scenario[] = [
  { kind: 'clean' },
  { kind: 'brightness', delta: 0.02 },
  { kind: 'brightness', delta: 0.05 },
  { kind: 'brightness', delta: 0.1 },
  { kind: 'imbalance', class: 0, share: 0.2 },
  { kind: 'imbalance', class: 0, share: 0.3 },
  { kind: 'imbalance', class: 0, share: 0.5 },
];

const work = await mkdtemp(path.join(os.tmpdir(), 'cdl-bench-drift-'));
try {
  const config = path.join(root, 'examples', 'fashion-mnist', 'cdl.yaml');
  const overrides = ['train.backend=wasm', `data.limit.train=${TRAIN}`];
  const loaded = await loadConfig(config, overrides);
  const modelDir = path.join(work, 'model');
  const outcome = await train({ loaded, overrides, outDir: modelDir, log: () => {} });
  const reference = await readReferenceFile(modelDir);
  const all = await loadConfig(config);
  const ds = await loadDataset(
    { ...all.config.data, validation: { fraction: 0, seed: 0 } },
    { baseDir: all.dir, task: 'classification' },
  );
  const row = ds.shape.reduce((a, b) => a * b, 1);
  const pool = { x: ds.train.x.subarray(TRAIN * row), y: ds.train.y.subarray(TRAIN), n: ds.train.n - TRAIN };
  const runs = [];
  for (const examples of [500, 1000, 5000]) {
    const t0 = performance.now();
    const results = await simulateDrift({
      modelDir,
      reference,
      pool,
      shape: ds.shape,
      scenarios: SCENARIOS,
      seeds: SEEDS,
      examples,
      thresholds: DEFAULT_THRESHOLDS,
    });
    runs.push({ examples, seconds: (performance.now() - t0) / 1000, results });
    console.log(`${examples} examples per run:\n${simulationMarkdown(results)}\n`);
  }
  const record = {
    date: new Date().toISOString().slice(0, 10),
    command: 'npx tsx bench/drift.ts',
    model: { config: 'examples/fashion-mnist/cdl.yaml', overrides, test_accuracy: outcome.metrics.main_metric_value },
    reference: { split: 'test', examples: reference.examples, input_summaries: reference.inputs.features.length },
    traffic_pool: `training images ${TRAIN + 1}–${ds.train.n} of the example subset (never seen by the model)`,
    thresholds: DEFAULT_THRESHOLDS,
    seeds: SEEDS.length,
    runs,
  };
  const out = path.join(root, 'bench', 'results');
  await writeFile(path.join(out, 'drift.json'), JSON.stringify(record, null, 2) + '\n');
  const clean = runs.map((r) => `${r.results[0]!.flagged}/${SEEDS.length} at ${r.examples} examples`).join(', ');
  const md = [
    '# Drift detection: false positives and detection rate',
    '',
    `Recorded ${record.date} with \`${record.command}\` on the Fashion-MNIST example.`,
    '',
    `The example MLP is trained on the first ${TRAIN} training images (test accuracy ${outcome.metrics.main_metric_value?.toFixed(4)}); its reference`,
    `statistics are the ${reference.examples} test images (${reference.inputs.features.length} input summaries: the image mean and 7×7 blocks of 4×4 pixels; predicted classes).`,
    `Production traffic is drawn, with replacement, from the ${pool.n} training images the model never saw, run through model.onnx`,
    "in onnxruntime and counted by the model server's recorder (src/serve/input-stats.ts), then compared by `cdl monitor`'s",
    `code with the default thresholds (PSI warn ${DEFAULT_THRESHOLDS.psi.warn}, alert ${DEFAULT_THRESHOLDS.psi.alert}; KS p ${DEFAULT_THRESHOLDS.ks_p_value}, Bonferroni-corrected).`,
    'A run is flagged when its status is warn or alert. Brightness shifts add the value to every pixel (clipped to [0, 1]);',
    'imbalance draws that share of the requests from class 0 (T-shirt/top) and the rest from all classes.',
    'The image border is exactly 0 in every Fashion-MNIST image, so an additive shift of even +0.02 moves the border',
    'blocks out of their only reference bin: the input PSI then sits at its ceiling (empty bins are floored at 1e-4).',
    'A class imbalance shows mainly in the predictions; at 20% of class 0 (7.5% in the reference) it is a warning or an alert.',
    '',
    `**False-positive rate on clean traffic, ${SEEDS.length} seeds**: ${clean}.`,
    '',
    ...runs.flatMap((r) => [`## ${r.examples} examples per run`, '', simulationMarkdown(r.results), '']),
  ].join('\n');
  await writeFile(path.join(out, 'drift.md'), md);
  console.log(`written to ${path.join(out, 'drift.md')}`);
} finally {
  await rm(work, { recursive: true, force: true });
}
