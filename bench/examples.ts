/**
 * Trains the example models end to end through `cdl train`'s code path and records accuracy and time:
 *   - the MLP on the shipped subset (target: >= 0.84 test accuracy in under a minute on 2 cores)
 *   - the CNN on the full Fashion-MNIST (target: >= 0.90 test accuracy), when Debian's
 *     dataset-fashion-mnist is installed
 * Run: npx tsx bench/examples.ts   (writes bench/results/examples.{json,md})
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/index.js';
import { train } from '../src/train/training.js';

// A benchmark trains the example's configuration, which lives in this checkout: never record those runs here.
process.env.CDL_RUNS ??= 'off';

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
    test_accuracy: r.metrics.main_metric_value ?? NaN,
    target,
    seconds_total: seconds,
    seconds_training: t.seconds,
    samples_per_second: t.samples_per_second,
    backend: trainer.backend.kind,
    kernels: trainer.kernels.name,
  };
}

const rows: Row[] = [];
rows.push(await run('MLP, shipped subset', 'examples/fashion-mnist/cdl.yaml', [], 0.84));
if (existsSync(FULL)) {
  rows.push(await run('CNN, full dataset', 'examples/fashion-mnist/cdl.cnn.yaml', [`data.path=${FULL}`], 0.9));
} else {
  process.stderr.write(`${FULL} not found (apt-get install dataset-fashion-mnist): CNN on the full dataset skipped\n`);
}

const machine = `${os.cpus()[0]?.model ?? 'unknown cpu'}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const date = new Date().toISOString();
const dir = path.join(root, 'bench', 'results');
await mkdir(dir, { recursive: true });
const json = JSON.stringify({ date, machine, command: 'npx tsx bench/examples.ts', rows }, null, 2) + '\n';
const md = [
  '# Example models: accuracy and time',
  '',
  `Measured ${date} on ${machine} with \`npx tsx bench/examples.ts\`.`,
  '',
  '| model | training examples | epochs | test accuracy | target | total s | training s | samples/s | backend | kernels |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${r.examples} | ${r.epochs_run} | ${r.test_accuracy.toFixed(4)} | ${r.target} ${r.test_accuracy >= r.target ? '✅' : '❌'} | ${r.seconds_total.toFixed(1)} | ${r.seconds_training.toFixed(1)} | ${Math.round(r.samples_per_second)} | ${r.backend} | ${r.kernels} |`,
  ),
  '',
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
