/**
 * ASHA + TPE against full-budget random search on the Fashion-MNIST subset shipped with the example
 * (examples/fashion-mnist/cdl.tune.yaml: learning rate, batch size, optimizer, width, dropout).
 *
 *   random: K configurations drawn at random (sampler seed s), each trained for the whole budget (max_epochs)
 *   asha+tpe: K configurations proposed by TPE (sampler seed 1000 + s, so its random startup trials are
 *     not the random search's draws), scheduled by ASHA (η 3, rungs 1, 3, 9 epochs) with the default
 *     grace (η² = 9 results before a rung promotes)
 *   asha+tpe, grace 0: the same with ASHA's rule alone (top ⌊n/η⌋ of a rung's results so far)
 *
 * Both choose their best trial by validation accuracy; its test accuracy is recorded too. Epochs are
 * those trained: each trial's epoch lines are counted from the trainers' logs and must equal the
 * study's count (a promotion continues from the checkpoint: rung 1 → 3 epochs trains 2).
 * Target: ASHA+TPE within 0.5 points of random search's best with at most a third of its epochs.
 *
 * Run: npx tsx bench/tune.ts [--trials K] [--seeds N] [--parallel P]   (writes bench/results/tune.{json,md})
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/index.js';
import { tune } from '../src/tune/tuning.js';
import { bestTrial, totalEpochs, type Study } from '../src/tune/study.js';

// A benchmark trains the example's configuration, which lives in this checkout: never record those runs here.
process.env.CDL_RUNS ??= 'off';

const root = fileURLToPath(new URL('..', import.meta.url));
const CONFIG = path.join(root, 'examples', 'fashion-mnist', 'cdl.tune.yaml');

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '27' },
    seeds: { type: 'string', default: '1' },
    parallel: { type: 'string', default: '2' },
    'tpe-seed-offset': { type: 'string', default: '1000' },
  },
});
const K = Number(values.trials);
const SEEDS = Number(values.seeds);
const PARALLEL = Number(values.parallel);
const TPE_SEED = Number(values['tpe-seed-offset']);
const MAX_EPOCHS = 9;
const load0 = os.loadavg();
const started = new Date();

interface Row {
  method: string;
  seed: number;
  sampler_seed: number;
  grace: number;
  trials: number;
  epochs: number;
  best_trial: number;
  best_val_accuracy: number;
  best_test_accuracy: number;
  best_epochs: number;
  seconds: number;
}

function row(method: string, seed: number, study: Study, seconds: number): Row {
  const best = bestTrial(study)!;
  const last = best.results[best.results.length - 1]!;
  return {
    method,
    seed,
    sampler_seed: study.sampler.seed,
    grace: study.scheduler.grace ?? 0,
    trials: study.trials.length,
    epochs: totalEpochs(study),
    best_trial: best.number,
    best_val_accuracy: last.value,
    best_test_accuracy: last.test?.accuracy ?? NaN,
    best_epochs: best.epochs,
    seconds,
  };
}

async function run(method: string, seed: number, overrides: string[], grace?: number): Promise<Row> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cdl-bench-tune-'));
  const all = [`tune.trials=${K}`, ...overrides];
  const loaded = await loadConfig(CONFIG, all);
  let trainedEpochs = 0;
  const t0 = performance.now();
  const r = await tune({
    loaded,
    overrides: all,
    outDir: dir,
    parallel: PARALLEL,
    fresh: true,
    grace,
    verbose: true,
    log: (l) => {
      // Every epoch a trainer runs logs one "epoch i/n" line; a segment continuing from a checkpoint logs only its own.
      if (/^ {2}\[trial \d+\] epoch +\d+\//.test(l)) trainedEpochs++;
      else process.stderr.write(`[${method} ${seed}] ${l}\n`);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  await rm(dir, { recursive: true, force: true });
  const out = row(method, seed, r.study, seconds);
  if (out.epochs !== trainedEpochs) {
    throw new Error(`${method} seed ${seed}: the study counts ${out.epochs} epochs, the trainers logged ${trainedEpochs}`);
  }
  return out;
}

const rows: Row[] = [];
for (let seed = 0; seed < SEEDS; seed++) {
  const rnd = await run('random, full budget', seed, [
    `tune.sampler.seed=${seed}`,
    'tune.sampler.type=random',
    'tune.scheduler.type=none',
    `tune.scheduler.max_epochs=${MAX_EPOCHS}`,
  ]);
  if (rnd.epochs !== K * MAX_EPOCHS) throw new Error(`random search trained ${rnd.epochs} epochs; expected ${K} × ${MAX_EPOCHS}`);
  rows.push(rnd);
  const asha = [`tune.sampler.seed=${TPE_SEED + seed}`, 'tune.sampler.type=tpe', 'tune.scheduler.type=asha'];
  rows.push(await run('asha+tpe', seed, asha));
  rows.push(await run('asha+tpe, grace 0', seed, asha, 0));
}
const load1 = os.loadavg();

const pct = (v: number) => (100 * v).toFixed(2);
const METHODS = ['random, full budget', 'asha+tpe', 'asha+tpe, grace 0'];
const signed = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(2)}`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const lines = [
  '# Tuning: ASHA + TPE against full-budget random search',
  '',
  `Fashion-MNIST subset shipped with the example (10,800 train / 1,200 validation / 2,000 test), the MLP and search space of`,
  '`examples/fashion-mnist/cdl.tune.yaml`, ' +
    `K = ${K} configurations per method, at most ${MAX_EPOCHS} epochs per trial, ${PARALLEL} trials at a time.`,
  `Random search uses sampler seed s, TPE seed ${TPE_SEED} + s: TPE's random startup trials (the first 9) are other draws than the random search's.`,
  'ASHA: η 3, rungs 1, 3, 9 epochs, promotion of the best ⌊n/3⌋ of a rung\'s n results so far; "asha+tpe" waits, as by default, until a rung',
  'has 9 results (grace) before it promotes from it (a rung that can get no more results promotes by the rule alone); "grace 0" is the rule alone.',
  "Epochs are those trained (counted from the trainers' epoch lines; a promotion from 1 to 3 epochs trains 2): random search trains K × 9.",
  'Strict rung-by-rung successive halving of 27 trials would train 27 + 9·2 + 3·6 = 63.',
  'Each method picks its best trial by validation accuracy; the test accuracy of that trial is shown beside it.',
  'Dropout makes training itself vary from run to run (the validation split has 1,200 images: 0.5 points is 6 images).',
  '',
  '| seed | method | sampler seed | trials | epochs trained | best trial | its epochs | val accuracy | test accuracy | seconds |',
  '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.seed} | ${r.method} | ${r.sampler_seed} | ${r.trials} | ${r.epochs} | ${r.best_trial} | ${r.best_epochs} | ${pct(r.best_val_accuracy)} | ${pct(r.best_test_accuracy)} | ${r.seconds.toFixed(0)} |`,
  ),
  '',
  'Against random search, per seed (target: validation accuracy at most 0.5 points below, at most 33.3% of the epochs):',
  '',
  '| seed | method | val points | test points | epochs | target |',
  '|---:|---|---:|---:|---:|---|',
];
const summary: Record<string, { dv: number[]; dt: number[]; frac: number[]; met: number }> = {};
for (let seed = 0; seed < SEEDS; seed++) {
  const rnd = rows.find((r) => r.seed === seed && r.method === METHODS[0])!;
  for (const method of METHODS.slice(1)) {
    const r = rows.find((x) => x.seed === seed && x.method === method)!;
    const dv = 100 * (r.best_val_accuracy - rnd.best_val_accuracy);
    const dt = 100 * (r.best_test_accuracy - rnd.best_test_accuracy);
    const frac = r.epochs / rnd.epochs;
    const ok = dv >= -0.5 && 3 * r.epochs <= rnd.epochs;
    const s = (summary[method] ??= { dv: [], dt: [], frac: [], met: 0 });
    s.dv.push(dv);
    s.dt.push(dt);
    s.frac.push(frac);
    if (ok) s.met++;
    lines.push(
      `| ${seed} | ${method} | ${signed(dv)} | ${signed(dt)} | ${(100 * frac).toFixed(1)}% (${r.epochs}/${rnd.epochs}) | ${ok ? 'met' : 'not met'} |`,
    );
  }
}
for (const method of METHODS.slice(1)) {
  const s = summary[method]!;
  const ok = mean(s.dv) >= -0.5 && mean(s.frac) <= 1 / 3;
  lines.push(
    `| mean | ${method} | ${signed(mean(s.dv))} | ${signed(mean(s.dt))} | ${(100 * mean(s.frac)).toFixed(1)}% | ${ok ? 'met' : 'not met'} on the mean; ${s.met} of ${SEEDS} seeds |`,
  );
}
const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(', ');
lines.push(
  '',
  `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, shared with other jobs; Node ${process.version}; ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC; ` +
    `load average (1, 5, 15 min) ${la(load0)} at the start, ${la(load1)} at the end.`,
);
lines.push('', `Command: \`npx tsx bench/tune.ts --trials ${K} --seeds ${SEEDS} --parallel ${PARALLEL}\``, '');
await mkdir(path.join(root, 'bench', 'results'), { recursive: true });
await writeFile(
  path.join(root, 'bench', 'results', 'tune.json'),
  JSON.stringify(
    { trials: K, parallel: PARALLEL, tpe_seed_offset: TPE_SEED, load_average: { start: load0, end: load1 }, rows },
    null,
    2,
  ) + '\n',
);
await writeFile(path.join(root, 'bench', 'results', 'tune.md'), lines.join('\n'));
process.stdout.write(lines.join('\n') + '\n');
