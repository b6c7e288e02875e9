/**
 * Compression of the example CNN trained on the full Fashion-MNIST: for each method, the size
 * ratio, the accuracy drop (points) and the batch-64 CPU throughput ratio against the fp32 parent,
 * checked against the targets of the compress issue.
 *
 * Run: npx tsx bench/compress.ts   (writes bench/results/compress.{json,md})
 * The trained parent is cached in .cdl/bench/compress/parent (about 6 minutes on 2 cores to make).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { compressModel } from '../src/compress/compress-model.js';
import type { MethodResult } from '../src/compress/compression-record.js';
import { loadConfig } from '../src/config/index.js';
import { loadOrt } from '../src/runtime/onnxruntime.js';
import { train } from '../src/train/training.js';

// A benchmark trains the example's configuration, which lives in this checkout: never record those runs here.
process.env.CDL_RUNS ??= 'off';

const root = fileURLToPath(new URL('..', import.meta.url));
const FULL = '/usr/share/datasets/fashion-mnist';
const work = path.join(root, '.cdl', 'bench', 'compress');
const parentDir = path.join(work, 'parent');
const config = path.join(root, 'examples', 'fashion-mnist', 'cdl.cnn.yaml');
const student = [
  { type: 'conv2d', filters: 16, kernel_size: 3, activation: 'relu' },
  { type: 'maxpool', pool_size: 2 },
  { type: 'conv2d', filters: 32, kernel_size: 3, activation: 'relu' },
  { type: 'maxpool', pool_size: 2 },
  { type: 'flatten' },
  { type: 'dense', units: 64, activation: 'relu' },
  { type: 'dense', units: 10, activation: 'softmax' },
];
const overrides = [
  `data.path=${FULL}`,
  'compress.benchmark.latency_runs=300',
  'compress.benchmark.throughput_batches=60',
  'compress.int8.calibration.samples=1000',
  'compress.int8.calibration.method=minmax',
  'compress.prune.sparsity=0.8',
  'compress.prune.fine_tune_epochs=2',
  'compress.distill.epochs=4',
  `compress.distill.layers=${JSON.stringify(student)}`,
];
const ALL_METHODS = ['int8-static', 'int8-dynamic', 'fp16', 'prune', 'distill'] as const;
// CDL_BENCH_METHODS=int8-static,int8-dynamic: a subset (a shorter run on a busy machine);
// CDL_BENCH_EPOCHS=N: train the parent for N epochs instead of the config's.
const methods = (process.env.CDL_BENCH_METHODS?.split(',') ?? [...ALL_METHODS]) as Array<(typeof ALL_METHODS)[number]>;
const parentOverrides = [
  `data.path=${FULL}`,
  ...(process.env.CDL_BENCH_EPOCHS ? [`train.epochs=${process.env.CDL_BENCH_EPOCHS}`] : []),
];

/** Targets of the issue: size ratio (gzip for prune), accuracy drop in points, throughput ratio. */
const TARGETS: Record<string, { size?: number; gzip?: number; drop: number; throughput?: number }> = {
  'int8-static': { size: 0.27, drop: 0.5, throughput: 1.5 },
  'int8-dynamic': { size: 0.27, drop: 0.5 },
  fp16: { size: 0.51, drop: 0.1 },
  prune: { gzip: 0.35, drop: 1 },
};

const log = (l: string) => process.stderr.write(l + '\n');

if (!existsSync(FULL)) {
  log(`${FULL} is missing: install Debian's dataset-fashion-mnist`);
  process.exit(1);
}
if (!existsSync(path.join(parentDir, 'model.onnx'))) {
  log('training the parent CNN on the full Fashion-MNIST (cached afterwards)');
  const loaded = await loadConfig(config, parentOverrides);
  await train({ loaded, overrides: parentOverrides, outDir: parentDir, log });
}
const loaded = await loadConfig(config, overrides);
const loadBefore = os.loadavg();
const t0 = performance.now();
const r = await compressModel({
  loaded,
  model: parentDir,
  outDir: path.join(work, 'chosen'),
  methods: [...methods],
  maxAccuracyDrop: 1,
  candidatesDir: path.join(work, 'candidates'),
  log,
});
const parentBytes = await readFile(path.join(parentDir, 'model.onnx'));

/**
 * Batch-64 throughput ratios measured interleaved: the parent and the candidate alternate in
 * rounds of 20 batches and the median of 15 rounds is kept, so that load from other processes on
 * the shared machine hits both alike (the sequential figures of the evaluation drift with it).
 */
async function interleavedRatio(candidate: Uint8Array): Promise<number> {
  const { ort } = await loadOrt();
  const x = new Float32Array(64 * 784);
  const img = await readFile('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz').then((b) =>
    import('node:zlib').then((z) => z.gunzipSync(b)),
  );
  for (let i = 0; i < x.length; i++) x[i] = img[16 + i]! / 255;
  const sessions = await Promise.all(
    [parentBytes, candidate].map((b) => ort.InferenceSession.create(b, { graphOptimizationLevel: 'all' })),
  );
  const feeds = sessions.map((s) => ({ [s.inputNames[0]!]: new ort.Tensor('float32', x, [64, 28, 28, 1]) }));
  const ratios: number[] = [];
  for (let i = 0; i < 2; i++) await sessions[i]!.run(feeds[i]!);
  for (let round = 0; round < 15; round++) {
    const ms: number[] = [];
    for (let i = 0; i < 2; i++) {
      const t = performance.now();
      for (let k = 0; k < 20; k++) await sessions[i]!.run(feeds[i]!);
      ms.push(performance.now() - t);
    }
    ratios.push(ms[0]! / ms[1]!);
  }
  for (const s of sessions) await s.release();
  return ratios.sort((a, b) => a - b)[7]!;
}

interface Row {
  method: string;
  accuracy: number;
  accuracy_drop_points: number;
  size_bytes: number;
  size_ratio: number;
  gzip_ratio_vs_gzip_parent: number;
  gzip_ratio_vs_parent: number;
  throughput: number;
  throughput_ratio: number;
  throughput_ratio_interleaved: number;
  latency_p50_ms: number;
  latency_p95_ms: number;
  compress_seconds: number;
  targets: string;
  pass: boolean | null;
}
const rows: Row[] = [];
for (const m of r.record.results as MethodResult[]) {
  if (!m.metrics) {
    log(`${m.method}: ${m.error ?? m.reason}`);
    continue;
  }
  const candBytes = await readFile(path.join(work, 'candidates', m.method, 'model.onnx'));
  const gz = gzipSync(candBytes).length;
  const row: Row = {
    method: m.method,
    accuracy: m.metrics.accuracy!,
    accuracy_drop_points: m.accuracy_drop_points!,
    size_bytes: m.metrics.size_bytes!,
    size_ratio: m.size_ratio!,
    gzip_ratio_vs_gzip_parent: m.gzip_size_ratio!,
    gzip_ratio_vs_parent: gz / parentBytes.length,
    throughput: m.metrics.throughput!,
    throughput_ratio: m.throughput_ratio!,
    throughput_ratio_interleaved: await interleavedRatio(candBytes),
    latency_p50_ms: m.metrics.latency_p50_ms!,
    latency_p95_ms: m.metrics.latency_p95_ms!,
    compress_seconds: m.seconds,
    targets: '',
    pass: null,
  };
  const t = TARGETS[m.method];
  if (t) {
    const checks: Array<[string, boolean]> = [[`drop <= ${t.drop}`, row.accuracy_drop_points <= t.drop]];
    if (t.size) checks.push([`size <= ${t.size}`, row.size_ratio <= t.size]);
    if (t.gzip) checks.push([`gzip <= ${t.gzip}`, row.gzip_ratio_vs_gzip_parent <= t.gzip]);
    if (t.throughput) checks.push([`throughput >= ${t.throughput}x`, row.throughput_ratio_interleaved >= t.throughput]);
    row.targets = checks.map(([k, ok]) => `${ok ? '✅' : '❌'} ${k}`).join(', ');
    row.pass = checks.every(([, ok]) => ok);
  }
  rows.push(row);
}
const p = r.record.parent.metrics;
const result = {
  date: new Date().toISOString(),
  machine: {
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    node: process.version,
    loadavg_before: loadBefore,
    loadavg_after: os.loadavg(),
  },
  parent: {
    accuracy: p.accuracy,
    size_bytes: p.size_bytes,
    throughput: p.throughput,
    latency_p50_ms: p.latency_p50_ms,
    latency_p95_ms: p.latency_p95_ms,
  },
  overrides,
  parent_overrides: parentOverrides,
  objective: r.record.objective,
  chosen: r.record.chosen,
  decision: r.record.decision,
  rows,
  seconds: (performance.now() - t0) / 1000,
};
const f = (v: number, d = 3) => v.toFixed(d);
const md = [
  '# Compression of the example CNN (full Fashion-MNIST)',
  '',
  `\`${process.env.CDL_BENCH_METHODS ? `CDL_BENCH_METHODS=${process.env.CDL_BENCH_METHODS} ` : ''}${process.env.CDL_BENCH_EPOCHS ? `CDL_BENCH_EPOCHS=${process.env.CDL_BENCH_EPOCHS} ` : ''}npx tsx bench/compress.ts\` on ${result.machine.cpu} (${result.machine.cores} cores shared with other work), ${result.date.slice(0, 10)}; load average (1, 5, 15 min) ${loadBefore.map((v) => v.toFixed(2)).join(', ')} before, ${result.machine.loadavg_after.map((v) => v.toFixed(2)).join(', ')} after.`,
  `Parent: accuracy ${f(p.accuracy! * 100, 2)}%, ${p.size_bytes} bytes, ${f(p.throughput!, 0)} examples/s at batch 64, p50 ${f(p.latency_p50_ms!)} ms at batch 1.`,
  'Throughput: onnxruntime-node on CPU (default threads), batch 64. "throughput ratio" comes from the guard\'s evaluation (parent and candidates measured one after another, 60 batches each);',
  '"interleaved" alternates parent and candidate in rounds of 20 batches and keeps the median of 15 rounds (the target is checked on it: load from other work on the shared machine drifts between sequential measurements).',
  '',
  '| method | accuracy | drop (points) | size ratio | gzip ratio (vs gzipped parent) | gzip ratio (vs parent) | throughput /s | throughput ratio | throughput ratio (interleaved) | p50 ms | p95 ms | targets |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ...rows.map(
    (x) =>
      `| ${x.method} | ${f(x.accuracy * 100, 2)}% | ${f(x.accuracy_drop_points, 2)} | ${f(x.size_ratio)} | ${f(x.gzip_ratio_vs_gzip_parent)} | ${f(x.gzip_ratio_vs_parent)} | ${f(x.throughput, 0)} | ${f(x.throughput_ratio, 2)} | ${f(x.throughput_ratio_interleaved, 2)} | ${f(x.latency_p50_ms)} | ${f(x.latency_p95_ms)} | ${x.targets || '—'} |`,
  ),
  '',
  r.markdown,
].join('\n');
await mkdir(path.join(root, 'bench', 'results'), { recursive: true });
await writeFile(path.join(root, 'bench', 'results', 'compress.json'), JSON.stringify(result, null, 2) + '\n');
await writeFile(path.join(root, 'bench', 'results', 'compress.md'), md + '\n');
log(md);
