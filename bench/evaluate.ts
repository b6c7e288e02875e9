/**
 * Evaluation throughput: cdl's evaluateModel (session, layout, predictions, every metric) on the
 * full test set, against a bare onnxruntime-node session running the same model over the same
 * examples in the same batches. Target: at least 0.9 of the bare session.
 *
 *   npx tsx bench/evaluate.ts [--rounds 5] [--data DIR] [--out bench/results]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/index.js';
import { evaluateModel, loadTestData } from '../src/evaluate/index.js';
import { loadOrt } from '../src/runtime/onnxruntime.js';
import { train } from '../src/train/training.js';

// A benchmark trains the example's configuration, which lives in this checkout: never record those runs here.
process.env.CDL_RUNS ??= 'off';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    data: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
    out: { type: 'string', default: 'bench/results' },
    batch: { type: 'string', default: '256' },
  },
});
const rounds = Number(values.rounds);
const batch = Number(values.batch);
const root = path.resolve(import.meta.dirname, '..');
const work = mkdtempSync(path.join(os.tmpdir(), 'cdl-bench-eval-'));

interface Row {
  model: string;
  params: string;
  examples: number;
  bare_eps: number;
  cdl_eps: number;
  cdl_predict_eps: number;
  ratio: number;
  ratio_predict: number;
}

async function bench(name: string, config: string, overrides: string[]): Promise<Row> {
  const set = ['train.backend=wasm', 'train.epochs=1', 'data.limit.train=2000', ...overrides];
  const loadedTrain = await loadConfig(config, set);
  const dir = path.join(work, name);
  await train({ loaded: loadedTrain, overrides: set, outDir: dir, log: () => {} });
  const loaded = await loadConfig(config, [`data.path=${values.data}`]);
  const dataset = await loadTestData(loaded);
  const n = dataset.test.n;
  const { ort } = await loadOrt();
  const bytes = new Uint8Array(readFileSync(path.join(dir, 'model.onnx')));
  const shape = dataset.shape;
  const size = shape.reduce((a, b) => a * b, 1);

  // The bare session: create it, run every batch, keep the outputs.
  const bare = async () => {
    const t = performance.now();
    const session = await ort.InferenceSession.create(bytes);
    const input = session.inputNames[0]!;
    const output = session.outputNames[0]!;
    let sink = 0;
    for (let s = 0; s < n; s += batch) {
      const b = Math.min(batch, n - s);
      const res = await session.run({
        [input]: new ort.Tensor('float32', dataset.test.x.subarray(s * size, (s + b) * size), [b, ...shape]),
      });
      sink += (res[output]!.data as Float32Array)[0]!;
    }
    await session.release();
    if (Number.isNaN(sink)) throw new Error('NaN output');
    return performance.now() - t;
  };
  const cdl = async () => {
    const t = performance.now();
    const r = await evaluateModel(dir, dataset, {
      task: 'classification',
      batchSize: batch,
      latencyRuns: 0,
      throughputBatches: 0,
    });
    return { ms: performance.now() - t, predictMs: r.evaluation.timing.predict_seconds * 1000 };
  };
  await bare();
  await cdl();
  let bestBare = Infinity;
  let bestCdl = Infinity;
  let bestPredict = Infinity;
  for (let i = 0; i < rounds; i++) {
    bestBare = Math.min(bestBare, await bare());
    const c = await cdl();
    bestCdl = Math.min(bestCdl, c.ms);
    bestPredict = Math.min(bestPredict, c.predictMs);
  }
  const eps = (ms: number) => (n * 1000) / ms;
  const summary = JSON.parse(readFileSync(path.join(dir, 'metrics.json'), 'utf8')) as { model: string };
  return {
    model: `${name} (${summary.model})`,
    params: set.slice(1).join(' '),
    examples: n,
    bare_eps: eps(bestBare),
    cdl_eps: eps(bestCdl),
    cdl_predict_eps: eps(bestPredict),
    ratio: bestBare / bestCdl,
    ratio_predict: bestBare / bestPredict,
  };
}

try {
  const loadBefore = os.loadavg()[0]!;
  const rows = [
    await bench('mlp', path.join(root, 'examples/fashion-mnist/cdl.yaml'), []),
    await bench('cnn', path.join(root, 'examples/fashion-mnist/cdl.cnn.yaml'), []),
  ];
  const when = new Date().toISOString();
  const cmd = `npx tsx bench/evaluate.ts --rounds ${rounds} --batch ${batch}${values.data !== '/usr/share/datasets/fashion-mnist' ? ` --data ${values.data}` : ''}`;
  const f = (v: number) => v.toFixed(0);
  const md = [
    '# Evaluation throughput: cdl evaluate vs a bare onnxruntime-node session',
    '',
    `Measured ${when} with \`${cmd}\`.`,
    '',
    `Machine: ${os.cpus()[0]?.model.trim() ?? 'unknown'}, ${os.cpus().length} cores, Node ${process.version}, onnxruntime-node ${(await loadOrt()).info.version}.`,
    `Load average (1 min) ${loadBefore.toFixed(2)} before and ${os.loadavg()[0]!.toFixed(2)} after the run (the machine is shared; figures under load move).`,
    `Data: the full Fashion-MNIST test set (${rows[0]!.examples} images) from ${values.data}; batch ${batch}; best of ${rounds} interleaved rounds.`,
    '',
    'Bare session: `InferenceSession.create` on the model bytes, then `run` over every batch. cdl: `evaluateModel` end to end',
    '(model directory read, input layout planned, session created, every batch predicted, accuracy, macro-F1, per-class scores,',
    'confusion matrix, log loss, ECE, top-k and per-example results kept), with the latency and batch-64 throughput runs off',
    '(they are separate measurements, not part of scoring the test set).',
    '',
    '| model | bare session (examples/s) | cdl evaluate, end to end | ratio | cdl predictions only | ratio |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.model} | ${f(r.bare_eps)} | ${f(r.cdl_eps)} | ${r.ratio.toFixed(2)} | ${f(r.cdl_predict_eps)} | ${r.ratio_predict.toFixed(2)} |`,
    ),
    '',
    `Target: ratio at least 0.9 — ${rows.every((r) => r.ratio >= 0.9) ? 'met' : 'not met'} (end to end).`,
    '',
  ].join('\n');
  const out = path.resolve(root, values.out);
  writeFileSync(path.join(out, 'evaluate.md'), md);
  writeFileSync(
    path.join(out, 'evaluate.json'),
    JSON.stringify({ measured: when, command: cmd, batch, rounds, load: [loadBefore, os.loadavg()[0]], rows }, null, 2) + '\n',
  );
  process.stdout.write(md);
} finally {
  rmSync(work, { recursive: true, force: true });
}
