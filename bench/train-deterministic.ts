/**
 * The cost of train.deterministic: epoch times of the example's MLP (cdl.yaml) and CNN
 * (cdl.cnn.yaml) trained by `cdl train` on the wasm backend with the kernel layer's fixed
 * choices (deterministic: true, the default) and with its choices by timing (false).
 *
 *   npx tsx bench/train-deterministic.ts [--rounds 2] [--epochs 2] [--limit 4000] [--models mlp,cnn] [--no-write]
 *
 * Runs are interleaved (fixed, timed, fixed, timed ...) so load from other processes falls on
 * both; the best round per setting counts. Epoch 1 is reported apart: the timed policy runs
 * both kernels of every new shape there. Also records whether the fixed runs wrote the same
 * model.onnx in every round. Writes bench/results/train-deterministic.{json,md}.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/index.js';
import { train } from '../src/train/training.js';

// A benchmark trains the example's configuration, which lives in this checkout: never record those runs here.
process.env.CDL_RUNS ??= 'off';

const here = path.dirname(fileURLToPath(import.meta.url));
const example = path.join(here, '..', 'examples', 'fashion-mnist');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : def;
}
const ROUNDS = Number(arg('rounds', '2'));
const EPOCHS = Number(arg('epochs', '2'));
const LIMIT = Number(arg('limit', '4000'));
const MODELS = arg('models', 'mlp,cnn').split(',');
const WRITE = !process.argv.includes('--no-write');

interface Row {
  model: string;
  deterministic: boolean;
  round: number;
  first_epoch_seconds: number;
  later_epoch_seconds: number;
  samples_per_second: number;
  onnx_sha256: string;
  onnx_kernels: number;
  choices: number;
}

const rows: Row[] = [];
const work = mkdtempSync(path.join(os.tmpdir(), 'cdl-bench-det-'));
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const model of MODELS) {
      for (const deterministic of [true, false]) {
        const file = path.join(example, model === 'cnn' ? 'cdl.cnn.yaml' : 'cdl.yaml');
        const loaded = await loadConfig(file, [
          'train.backend=wasm',
          `train.epochs=${EPOCHS}`,
          `data.limit.train=${LIMIT}`,
          'data.limit.test=500',
          `train.deterministic=${deterministic}`,
        ]);
        const out = path.join(work, `${model}-${deterministic}-${round}`);
        const r = await train({ loaded, outDir: out, log: () => {} });
        const h = r.metrics.history!;
        const later = h.slice(1);
        const k = r.lineage.trainer.kernels as { choices?: Record<string, string> };
        const choices = Object.values(k.choices ?? {});
        const row: Row = {
          model,
          deterministic,
          round,
          first_epoch_seconds: h[0]!.seconds!,
          later_epoch_seconds: later.length ? later.reduce((a, e) => a + e.seconds!, 0) / later.length : NaN,
          samples_per_second: r.metrics.training!.samples_per_second as number,
          onnx_sha256: createHash('sha256')
            .update(readFileSync(path.join(out, 'model.onnx')))
            .digest('hex'),
          onnx_kernels: choices.filter((c) => c === 'ort').length,
          choices: choices.length,
        };
        rows.push(row);
        console.log(JSON.stringify(row));
        rmSync(out, { recursive: true, force: true });
      }
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const lines = [
  '# Cost of train.deterministic',
  '',
  `\`npx tsx bench/train-deterministic.ts --rounds ${ROUNDS} --epochs ${EPOCHS} --limit ${LIMIT} --models ${MODELS.join(',')}\``,
  '',
  `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, load average ${os
    .loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')} at the end (other processes share the machine; best round counts).`,
  '',
  '| model | kernel choices | epoch 1 (s) | later epochs (s) | samples/s | shapes on onnxruntime | model.onnx the same in every round |',
  '|---|---|---:|---:|---:|---:|---|',
];
for (const model of MODELS) {
  for (const deterministic of [true, false]) {
    const rs = rows.filter((r) => r.model === model && r.deterministic === deterministic);
    if (!rs.length) continue;
    const best = (f: (r: Row) => number) => Math.min(...rs.map(f));
    lines.push(
      `| ${model} | ${deterministic ? 'fixed (deterministic: true)' : 'timed (deterministic: false)'} | ${best((r) => r.first_epoch_seconds).toFixed(2)} | ${best((r) => r.later_epoch_seconds).toFixed(2)} | ${Math.max(...rs.map((r) => r.samples_per_second)).toFixed(0)} | ${rs.map((r) => `${r.onnx_kernels}/${r.choices}`).join(', ')} | ${new Set(rs.map((r) => r.onnx_sha256)).size === 1 ? 'yes' : 'no'} |`,
    );
  }
}
const md = lines.join('\n') + '\n';
console.log(md);
if (WRITE) {
  writeFileSync(path.join(here, 'results', 'train-deterministic.json'), JSON.stringify({ rows }, null, 2) + '\n');
  writeFileSync(path.join(here, 'results', 'train-deterministic.md'), md);
}
