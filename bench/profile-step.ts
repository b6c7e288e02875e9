/**
 * Where a training step's time goes, per kernel and input shape.
 *
 *   npx tsx bench/profile-step.ts [--model cnn|mlp] [--layer fast|fast-pure|reference] [--steps 20]
 *
 * Trains the bench's model (bench/train.ts architectures, batch 128, Adam) on
 * random data on the wasm backend and wraps every kernel the step dispatches
 * (wasm kernels are synchronous, so wall time per call is the kernel's time)
 * and prints a table: total ms per step by kernel name and input shapes, and
 * the share of the step. The step's wall time is measured separately, so the
 * remainder is engine overhead (tape, bookkeeping) outside kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  getKernelsForBackend,
  registerKernel,
  unregisterKernel,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { installKernels } from '../src/train/kernels/index.js';

// A benchmark trains the example's configuration, which lives in this checkout: never record those runs here.
process.env.CDL_RUNS ??= 'off';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}
const MODEL = arg('model', 'cnn');
const LAYER = arg('layer', 'fast');
const STEPS = Number(arg('steps', '20'));
const BATCH = 128;

await tf.setBackend('wasm');
await tf.ready();
const info = await installKernels(LAYER === 'reference' ? 'reference' : 'fast', { ort: LAYER === 'fast' });
console.log(`layer ${info.name}: ${info.notes.join(' / ')}`);

const m = tfl.sequential();
if (MODEL === 'mlp') {
  m.add(tfl.layers.flatten({ inputShape: [28, 28, 1] }));
  m.add(tfl.layers.dense({ units: 256, activation: 'relu' }));
  m.add(tfl.layers.dense({ units: 128, activation: 'relu' }));
  m.add(tfl.layers.dense({ units: 10, activation: 'softmax' }));
} else {
  m.add(tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 128, activation: 'relu' }));
  m.add(tfl.layers.dense({ units: 10, activation: 'softmax' }));
}
const opt = tf.train.adam(1e-3);
const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
const xs = new Float32Array(BATCH * 784).map(() => Math.random());
const ys = new Float32Array(BATCH * 10);
for (let i = 0; i < BATCH; i++) ys[i * 10 + (i % 10)] = 1;
function step(): void {
  const x = tf.tensor4d(xs, [BATCH, 28, 28, 1]);
  const y = tf.tensor2d(ys, [BATCH, 10]);
  opt.minimize(
    () => tf.mean(tfl.metrics.categoricalCrossentropy(y, m.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar,
    false,
    vars,
  );
  tf.dispose([x, y]);
}
for (let i = 0; i < 5; i++) step();
vars[0].dataSync();

// Wrap every registered wasm kernel with a timer.
const totals = new Map<string, { ms: number; calls: number }>();
const wrapped: KernelConfig[] = [];
for (const k of getKernelsForBackend('wasm')) {
  const orig = k.kernelFunc;
  const name = k.kernelName;
  unregisterKernel(name, 'wasm');
  const cfg: KernelConfig = {
    ...k,
    kernelFunc: ((args: { inputs: Record<string, TensorInfo> }) => {
      const t0 = performance.now();
      const r = (orig as (a: unknown) => unknown)(args);
      const dt = performance.now() - t0;
      const key = `${name} ${Object.values(args.inputs)
        .filter(Boolean)
        .map((t) => `[${t.shape}]`)
        .join(' ')}`;
      const e = totals.get(key) ?? { ms: 0, calls: 0 };
      e.ms += dt;
      e.calls++;
      totals.set(key, e);
      return r;
    }) as KernelConfig['kernelFunc'],
  };
  registerKernel(cfg);
  wrapped.push(k);
}
step(); // first call through the wrappers
totals.clear();
const t0 = performance.now();
for (let i = 0; i < STEPS; i++) step();
vars[0].dataSync();
const stepMs = (performance.now() - t0) / STEPS;
const rows = [...totals.entries()].map(([k, v]) => ({ k, ms: v.ms / STEPS, calls: v.calls / STEPS })).sort((a, b) => b.ms - a.ms);
const kernelMs = rows.reduce((s, r) => s + r.ms, 0);
console.log(
  `${MODEL} ${info.name}: ${stepMs.toFixed(2)} ms/step (${((BATCH / stepMs) * 1000).toFixed(0)} samples/s), kernels ${kernelMs.toFixed(2)} ms, outside kernels ${(stepMs - kernelMs).toFixed(2)} ms`,
);
console.log('| ms/step | share | calls | kernel [input shapes] |');
console.log('|---:|---:|---:|---|');
for (const r of rows.slice(0, Number(arg('top', '25')))) {
  console.log(`| ${r.ms.toFixed(3)} | ${((100 * r.ms) / stepMs).toFixed(1)}% | ${r.calls} | ${r.k} |`);
}
