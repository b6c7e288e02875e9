/**
 * Trains the example models end to end through `cdl train`'s code path and records accuracy and time:
 *   - the MLP on the shipped subset (target: >= 0.84 test accuracy in under a minute on 2 cores)
 *   - the CNN on the full Fashion-MNIST (target: >= 0.925 test accuracy within an hour of training on
 *     2 cores), when Debian's dataset-fashion-mnist is installed
 * Test accuracy is that of the exported model.onnx, scored by onnxruntime on the whole test split
 * (as `cdl evaluate` scores it), not the trainer's own figure.
 * Run: npx tsx bench/examples.ts   (writes bench/results/examples.{json,md})
 */
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '../src/config/index.js';
import { loadTestData } from '../src/evaluate/pipeline.js';
import { evaluateModel } from '../src/evaluate/evaluate-model.js';
import { train } from '../src/train/training.js';

// A benchmark trains the example's configuration, which lives in this checkout: never record those runs here.
process.env.CDL_RUNS ??= 'off';

const execFileP = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const FULL = '/usr/share/datasets/fashion-mnist';

interface Row {
  name: string;
  config: string;
  overrides: string[];
  data: string;
  examples: number;
  epochs_run: number;
  test_accuracy: number;
  /** The trainer's own (TF.js) test accuracy, for comparison. */
  trainer_test_accuracy: number;
  target: number;
  seconds_total: number;
  seconds_training: number;
  samples_per_second: number;
  backend: string;
  kernels: string;
}

async function run(name: string, config: string, overrides: string[], target: number): Promise<Row> {
  const out = await mkdtemp(path.join(os.tmpdir(), 'cdl-bench-'));
  const loaded = await loadConfig(path.join(root, config), overrides);
  const t0 = performance.now();
  const r = await train({
    loaded,
    overrides,
    outDir: path.join(out, 'model'),
    log: (l) => process.stderr.write(`[${name}] ${l}\n`),
  });
  const seconds = (performance.now() - t0) / 1000;
  const scored = await evaluateModel(path.join(out, 'model'), await loadTestData(loaded), {
    task: loaded.config.model.task,
    latencyRuns: 0,
    throughputBatches: 0,
  });
  await rm(out, { recursive: true, force: true });
  const t = r.metrics.training as { epochs_run: number; seconds: number; samples_per_second: number };
  const trainer = r.lineage.trainer as { backend: { kind: string }; kernels: { name: string } };
  const data = r.lineage.data as { source: string; examples: { train: number } };
  return {
    name,
    config,
    overrides,
    data: data.source,
    examples: data.examples.train,
    epochs_run: t.epochs_run,
    test_accuracy: scored.evaluation.metrics.accuracy ?? NaN,
    trainer_test_accuracy: r.metrics.main_metric_value ?? NaN,
    target,
    seconds_total: seconds,
    seconds_training: t.seconds,
    samples_per_second: t.samples_per_second,
    backend: trainer.backend.kind,
    kernels: trainer.kernels.name,
  };
}

interface TuneRun {
  command: string;
  seconds: number;
  trials: number;
  best: { overrides: string[] };
}

/**
 * The search that chose the CNN's recipe: `cdl tune` over the tune section of cdl.cnn.yaml on the
 * shipped subset (its data.path) (a budget that fits 2 cores), in a fresh study directory.
 */
async function tuneCnn(): Promise<TuneRun> {
  const out = await mkdtemp(path.join(os.tmpdir(), 'cdl-bench-tune-'));
  const args = ['tune', '--config', CNN, '--out', out, '--fresh', '--json'];
  const t0 = performance.now();
  try {
    const { stdout } = await execFileP(process.execPath, [path.join(root, 'bin', 'cdl.js'), ...args], {
      cwd: root,
      maxBuffer: 64 * 2 ** 20,
    });
    const seconds = (performance.now() - t0) / 1000;
    const best = JSON.parse(stdout) as { overrides: string[] };
    const trials = (await readFile(path.join(out, 'trials.csv'), 'utf8')).trim().split('\n').length - 1;
    return { command: `cdl ${args.map((a) => (a === out ? '<tmp>' : a)).join(' ')}`, seconds, trials, best };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

const CNN = 'examples/fashion-mnist/cdl.cnn.yaml';
const load: number[][] = [os.loadavg()];
const rows: Row[] = [];
rows.push(await run('MLP, shipped subset', 'examples/fashion-mnist/cdl.yaml', [], 0.84));
let tuned: TuneRun | undefined;
if (existsSync(FULL)) {
  if (!process.argv.includes('--no-tune')) tuned = await tuneCnn();
  // The CNN trains with the search's best values over cdl.cnn.yaml (which ships the same values).
  rows.push(await run('CNN, full dataset', CNN, [`data.path=${FULL}`, ...(tuned?.best.overrides ?? [])], 0.925));
} else {
  process.stderr.write(`${FULL} not found (apt-get install dataset-fashion-mnist): CNN on the full dataset skipped\n`);
}

load.push(os.loadavg());
const cnn = await loadConfig(path.join(root, CNN), tuned?.best.overrides ?? []);
const recipe = { layers: cnn.config.model.layers, train: cnn.config.train };
const loadText = load.map((l) => l.map((v) => v.toFixed(2)).join(' ')).join(' at the start, ') + ' at the end';

const machine = `${os.cpus()[0]?.model ?? 'unknown cpu'}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const date = new Date().toISOString();
const dir = path.join(root, 'bench', 'results');
await mkdir(dir, { recursive: true });
const json =
  JSON.stringify(
    { date, machine, load_average: load, command: 'npx tsx bench/examples.ts', rows, tune: tuned, recipe },
    null,
    2,
  ) + '\n';
const md = [
  '# Example models: accuracy and time',
  '',
  `Measured ${date} on ${machine} with \`npx tsx bench/examples.ts\`; load average (1, 5, 15 min) ${loadText}.`,
  'Test accuracy is that of the exported model.onnx scored by onnxruntime on the whole test split; the trainer',
  "column is TF.js's own figure for the same weights.",
  '',
  '| model | training examples | epochs | test accuracy (onnxruntime) | trainer | target | total s | training s | samples/s | backend | kernels |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${r.examples} | ${r.epochs_run} | ${r.test_accuracy.toFixed(4)} | ${r.trainer_test_accuracy.toFixed(4)} | ${r.target} ${r.test_accuracy >= r.target ? '✅' : '❌'} | ${r.seconds_total.toFixed(1)} | ${r.seconds_training.toFixed(1)} | ${Math.round(r.samples_per_second)} | ${r.backend} | ${r.kernels} |`,
  ),
  '',
  `## The CNN's recipe (${CNN})`,
  '',
  '```json',
  JSON.stringify(recipe),
  '```',
  '',
  ...(tuned
    ? [
        '## The tuning run that chose it',
        '',
        `\`${tuned.command}\`: ${tuned.trials} trials in ${tuned.seconds.toFixed(0)} s. The CNN above trained with`,
        "the best trial's values over cdl.cnn.yaml (the recipe above includes them):",
        '',
        '```json',
        JSON.stringify(tuned.best),
        '```',
        '',
      ]
    : []),
].join('\n');
for (const [file, text] of [
  ['examples.json', json],
  ['examples.md', md],
] as const) {
  const tmp = path.join(dir, `${file}.tmp-${process.pid}`);
  await writeFile(tmp, text);
  await rename(tmp, path.join(dir, file));
}
process.stdout.write(md);
