/**
 * Training-speed benchmark: PyTorch vs cdl's TF.js trainer, side by side in one run.
 *
 *   npx tsx bench/train.ts [--seconds 6] [--rounds 2] [--models mlp,cnn]
 *        [--variants torch,torch-passive,wasm-reference,wasm-fast-pure,wasm-fast,cpu] [--api minimize|trainOnBatch]
 *        [--require-openblas] [--wait-idle SECONDS] [--no-verify] [--no-write]
 *   npx tsx bench/train.ts --render   (rewrite train.md from the measurements in train.json)
 *
 * Trains the example MLP (784-256-128-10) and CNN (conv32-pool-conv64-pool-128-10)
 * with Adam (lr 1e-3), categorical cross-entropy, batch 128, on Fashion-MNIST
 * (random data of the same shape when the Debian dataset is absent), and
 * reports samples/s for:
 *   torch           PyTorch (system python3, 2 threads) via bench/train_torch.py
 *   torch-passive   the same with OMP_WAIT_POLICY=PASSIVE (see measureTorch)
 *   wasm-reference  TF.js wasm backend with its own kernels (+ cdl's Conv2DBackpropFilter, which wasm lacks)
 *   wasm-fast-pure  TF.js wasm backend with cdl's pure-wasm fast kernels (installKernels('fast', { ort: false }))
 *   wasm-fast       TF.js wasm backend with cdl's fast kernel layer, onnxruntime included (installKernels('fast'))
 *   cpu             TF.js pure-JS cpu backend (short run)
 * Measurements are interleaved over rounds; the best round per variant counts.
 * Writes bench/results/train.json, bench/results/train.md and bench/results/kernels.md.
 *
 * The PyTorch baseline is only fair on OpenBLAS: Debian's python3-torch calls
 * whatever libblas.so.3 the alternatives system points at, and without an
 * OpenBLAS package that is the reference BLAS (~25x slower matmuls). The
 * BLAS torch actually maps is checked first (bench/train_torch.py --info) and
 * recorded; --require-openblas makes any other BLAS an error (bench/run-train.sh
 * passes it). The CPU time other processes take during the run is recorded
 * too: on a 2-core machine a concurrent job skews every figure.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { installKernels, kernelChoices, type KernelLayerInfo } from '../src/train/kernels/index.js';
import { forceChoice } from '../src/train/kernels/kernel-choice.js';
import { verifyKernels, type KernelCheck } from '../src/train/kernels/verify.js';

// A benchmark trains the example's configuration, which lives in this checkout: never record those runs here.
process.env.CDL_RUNS ??= 'off';

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = path.join(here, 'results');
const DATA_DIR = '/usr/share/datasets/fashion-mnist';
const BATCH = 128;

type ModelKind = 'mlp' | 'cnn';
type Variant = 'torch' | 'torch-passive' | 'wasm-reference' | 'wasm-fast-pure' | 'wasm-fast' | 'cpu';
const isTorch = (v: string): v is 'torch' | 'torch-passive' => v === 'torch' || v === 'torch-passive';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}
const SECONDS = Number(arg('seconds', '6'));
const ROUNDS = Number(arg('rounds', '2'));
const MODELS = arg('models', 'mlp,cnn').split(',') as ModelKind[];
const VARIANTS = arg('variants', 'torch,torch-passive,wasm-reference,wasm-fast-pure,wasm-fast,cpu').split(',') as Variant[];
const API = arg('api', 'minimize') as 'minimize' | 'trainOnBatch';
const WRITE = !process.argv.includes('--no-write');
const REQUIRE_OPENBLAS = process.argv.includes('--require-openblas');
/** Seconds to wait, before each measurement, for other processes to leave the cores alone (0: don't). */
const WAIT_IDLE = Number(arg('wait-idle', '0'));

// ---------- CPU use by other processes ----------
/** Jiffies: all busy CPU time on the machine, and this process's own plus its waited-for children's. */
function cpuJiffies(): { busy: number; own: number; steal: number } | null {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...
    const busy = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6];
    const st = readFileSync('/proc/self/stat', 'utf8');
    const f = st
      .slice(st.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    // fields 14-17 (utime stime cutime cstime) are f[11..14] after the command name
    return { busy, own: f[11] + f[12] + f[13] + f[14], steal: cpu[7] ?? 0 };
  } catch {
    return null;
  }
}

/** Average number of cores other processes kept busy between two cpuJiffies() samples. */
function otherCores(a: ReturnType<typeof cpuJiffies>, b: ReturnType<typeof cpuJiffies>, seconds: number): number | null {
  if (!a || !b || seconds <= 0) return null;
  const hz = 100; // USER_HZ on Linux
  return Math.max(0, b.busy - a.busy - (b.own - a.own)) / hz / seconds;
}

/**
 * On a shared machine: wait (up to `maxSeconds`) until other processes use
 * under 0.15 cores over 2 s running, so that a measurement is not taken beside another job.
 */
async function waitIdle(maxSeconds: number): Promise<void> {
  const t0 = performance.now();
  let calm = 0;
  let said = false;
  while ((performance.now() - t0) / 1000 < maxSeconds) {
    const a = cpuJiffies();
    await new Promise((r) => setTimeout(r, 500));
    const c = otherCores(a, cpuJiffies(), 0.5);
    if (c === null) return;
    calm = c < 0.15 ? calm + 1 : 0;
    if (calm >= 4) return;
    if (!said && c >= 0.15) {
      console.log(`waiting for the machine to be idle (other processes: ${c.toFixed(2)} cores)...`);
      said = true;
    }
  }
  console.warn(`WARNING: the machine did not become idle within ${maxSeconds} s; measuring anyway`);
}

/** Cores used by other processes over the next `ms` (before measuring). */
function idleCheck(ms: number): number | null {
  const a = cpuJiffies();
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    /* busy wait: this process counts as its own */
  }
  return otherCores(a, cpuJiffies(), (performance.now() - t0) / 1000);
}

// ---------- data ----------
interface Data {
  x: Float32Array;
  y: Float32Array;
  n: number;
  source: string;
}

function loadData(): Data {
  const img = path.join(DATA_DIR, 'train-images-idx3-ubyte.gz');
  const lab = path.join(DATA_DIR, 'train-labels-idx1-ubyte.gz');
  if (existsSync(img) && existsSync(lab)) {
    const ib = gunzipSync(readFileSync(img));
    const lb = gunzipSync(readFileSync(lab));
    const n = ib.readUInt32BE(4);
    const x = new Float32Array(n * 784);
    for (let i = 0; i < x.length; i++) x[i] = ib[16 + i] / 255;
    const y = new Float32Array(n * 10);
    for (let i = 0; i < n; i++) y[i * 10 + lb[8 + i]] = 1;
    return { x, y, n, source: 'fashion-mnist (train, 60000)' };
  }
  const n = 60000;
  const x = new Float32Array(n * 784);
  const y = new Float32Array(n * 10);
  for (let i = 0; i < x.length; i++) x[i] = Math.random();
  for (let i = 0; i < n; i++) y[i * 10 + Math.floor(Math.random() * 10)] = 1;
  return { x, y, n, source: 'random (fashion-mnist not found)' };
}

/** Batches gathered from typed arrays (slicing a big tensor on wasm would copy all of it). */
class Batcher {
  private perm: Int32Array;
  private pos = 0;
  private bx = new Float32Array(BATCH * 784);
  private by = new Float32Array(BATCH * 10);
  constructor(private d: Data) {
    this.perm = this.shuffle();
  }
  private shuffle(): Int32Array {
    const p = new Int32Array(this.d.n);
    for (let i = 0; i < p.length; i++) p[i] = i;
    for (let i = p.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
  next(): [tf.Tensor4D, tf.Tensor2D] {
    if (this.pos + BATCH > this.d.n) {
      this.perm = this.shuffle();
      this.pos = 0;
    }
    for (let i = 0; i < BATCH; i++) {
      const k = this.perm[this.pos + i];
      this.bx.set(this.d.x.subarray(k * 784, k * 784 + 784), i * 784);
      this.by.set(this.d.y.subarray(k * 10, k * 10 + 10), i * 10);
    }
    this.pos += BATCH;
    return [tf.tensor4d(this.bx, [BATCH, 28, 28, 1]), tf.tensor2d(this.by, [BATCH, 10])];
  }
}

// ---------- models (the example's architectures) ----------
function buildModel(kind: ModelKind): tfl.Sequential {
  const m = tfl.sequential();
  if (kind === 'mlp') {
    m.add(tfl.layers.flatten({ inputShape: [28, 28, 1] }));
    m.add(tfl.layers.dense({ units: 256, activation: 'relu' }));
    m.add(tfl.layers.dense({ units: 128, activation: 'relu' }));
    m.add(tfl.layers.dense({ units: 10, activation: 'softmax' }));
  } else {
    m.add(tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, padding: 'valid', activation: 'relu' }));
    m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tfl.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'valid', activation: 'relu' }));
    m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tfl.layers.flatten());
    m.add(tfl.layers.dense({ units: 128, activation: 'relu' }));
    m.add(tfl.layers.dense({ units: 10, activation: 'softmax' }));
  }
  return m;
}

interface Measurement {
  variant: Variant;
  model: ModelKind;
  round: number;
  samplesPerSec: number;
  steps: number;
  seconds: number;
  loss: number;
  /** Cores other processes kept busy during this measurement. */
  otherProcessesCores?: number | null;
  /** Cores' worth of time stolen by the hypervisor during this measurement (VMs). */
  stealCores?: number | null;
  extra?: Record<string, unknown>;
}

async function measureTf(
  variant: Exclude<Variant, 'torch' | 'torch-passive'>,
  kind: ModelKind,
  data: Data,
  round: number,
  seconds: number,
): Promise<Measurement & { layer: KernelLayerInfo }> {
  await tf.setBackend(variant === 'cpu' ? 'cpu' : 'wasm');
  await tf.ready();
  const layer = await installKernels(variant === 'wasm-reference' || variant === 'cpu' ? 'reference' : 'fast', {
    ort: variant === 'wasm-fast',
  });
  const model = buildModel(kind);
  const batcher = new Batcher(data);
  const opt = tf.train.adam(1e-3);
  let step: () => Promise<number>;
  if (API === 'trainOnBatch') {
    model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    step = async () => {
      const [x, y] = batcher.next();
      const l = (await model.trainOnBatch(x, y)) as number;
      tf.dispose([x, y]);
      return l;
    };
  } else {
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    let k = 0;
    step = async () => {
      const [x, y] = batcher.next();
      const wantLoss = ++k % 20 === 0;
      const cost = opt.minimize(
        () => {
          const p = model.apply(x, { training: true }) as tf.Tensor;
          return tf.mean(tfl.metrics.categoricalCrossentropy(y, p)) as tf.Scalar;
        },
        wantLoss,
        vars,
      );
      let l = NaN;
      if (cost) {
        l = cost.dataSync()[0];
        cost.dispose();
      }
      tf.dispose([x, y]);
      return l;
    };
  }
  // The pure-JS cpu backend takes tens of seconds per CNN step: one step, no warm-up.
  const warm = variant === 'cpu' ? (kind === 'cnn' ? 0 : 1) : 8;
  for (let i = 0; i < warm; i++) await step();
  const minSteps = variant === 'cpu' ? (kind === 'cnn' ? 1 : 2) : 5;
  let steps = 0;
  let loss = NaN;
  const t0 = performance.now();
  let el = 0;
  for (;;) {
    const l = await step();
    if (!Number.isNaN(l)) loss = l;
    steps++;
    el = (performance.now() - t0) / 1000;
    if (el >= seconds && steps >= minSteps) break;
  }
  // Make sure all queued work is done before the clock stops counting.
  const w0 = model.trainableWeights[0].read();
  w0.dataSync();
  el = (performance.now() - t0) / 1000;
  const tensors = tf.memory().numTensors;
  model.dispose();
  opt.dispose();
  return {
    variant,
    model: kind,
    round,
    samplesPerSec: (steps * BATCH) / el,
    steps,
    seconds: el,
    loss,
    layer,
    extra: { liveTensors: tensors },
  };
}

function torchInfo(): { python: string } {
  // Debian's python3-torch is importable only by the system python.
  return { python: process.env.CDL_BENCH_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3') };
}

export interface TorchBlas {
  library: string;
  kind: 'openblas' | 'mkl' | 'reference' | 'unknown';
  matmul1024Ms: number;
  matmul1024Gflops: number;
  torchThreads: number;
  torchBlasInfo: string;
  alternative: string;
  openblasConfig?: string;
  openblasThreads?: number;
}

/** Which BLAS torch uses here (null when torch cannot be run). */
function torchBlas(): { torch: string; blas: TorchBlas } | { error: string } {
  try {
    const out = execFileSync(torchInfo().python, [path.join(here, 'train_torch.py'), '--info'], { encoding: 'utf8' });
    return JSON.parse(out.trim().split('\n').pop()!);
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0] };
  }
}

/**
 * 'torch' runs PyTorch as installed (the issue's baseline). 'torch-passive'
 * sets OMP_WAIT_POLICY=PASSIVE: Debian's torch runs its own OpenMP threads and
 * OpenBLAS its pthreads, and on 2 cores the OpenMP threads spinning after each
 * parallel region take the cores from OpenBLAS; passive waiting avoids that.
 */
function measureTorch(
  variant: 'torch' | 'torch-passive',
  kind: ModelKind,
  round: number,
  seconds: number,
): Measurement & { torch: string; blas: string; data: string } {
  const env = variant === 'torch-passive' ? { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } : process.env;
  const out = execFileSync(
    torchInfo().python,
    [path.join(here, 'train_torch.py'), '--model', kind, '--seconds', String(seconds), '--data', DATA_DIR],
    { encoding: 'utf8', env },
  );
  const r = JSON.parse(out.trim().split('\n').pop()!);
  return {
    variant,
    model: kind,
    round,
    samplesPerSec: r.samplesPerSec,
    steps: r.steps,
    seconds: r.seconds,
    loss: r.loss,
    torch: r.torch,
    blas: r.blas,
    data: r.data,
  };
}

/** Best figure per model and variant, the other-process load behind it, and the ratios to PyTorch. */
function summarize(all: Measurement[]) {
  const best: Record<string, Record<string, number>> = {};
  /** Other processes' cores during the measurement each best figure comes from. */
  const bestBusy: Record<string, Record<string, number | null>> = {};
  for (const m of all) {
    best[m.model] ??= {};
    bestBusy[m.model] ??= {};
    if (m.samplesPerSec > (best[m.model][m.variant] ?? 0)) {
      best[m.model][m.variant] = m.samplesPerSec;
      bestBusy[m.model][m.variant] = m.otherProcessesCores ?? null;
    }
  }
  const busiestBest = Math.max(0, ...Object.values(bestBusy).flatMap((v) => Object.values(v).map((x) => x ?? 0)));
  // Ratios to PyTorch as installed, and to the faster of the two PyTorch configurations.
  const ratios: Record<string, Record<string, number>> = {};
  const ratiosBest: Record<string, Record<string, number>> = {};
  for (const kind of Object.keys(best)) {
    const t = best[kind].torch;
    const tBest = Math.max(best[kind].torch ?? 0, best[kind]['torch-passive'] ?? 0);
    if (t) ratios[kind] = {};
    if (tBest) ratiosBest[kind] = {};
    for (const [v, s] of Object.entries(best[kind])) {
      if (isTorch(v)) continue;
      if (t) ratios[kind][v] = s / t;
      if (tBest) ratiosBest[kind][v] = s / tBest;
    }
  }
  return { best, bestBusy, busiestBest, ratios, ratiosBest };
}

/**
 * --render: rewrite train.md (and the derived fields of train.json) from the
 * measurements recorded in train.json, without measuring again.
 */
function render(): void {
  const file = path.join(resultsDir, 'train.json');
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const { best, bestBusy, busiestBest, ratios, ratiosBest } = summarize(r.measurements as Measurement[]);
  Object.assign(r, {
    samplesPerSec: best,
    otherProcessesCoresOfBest: bestBusy,
    ratioToTorch: ratios,
    ratioToBestTorch: ratiosBest,
  });
  r.machine.otherProcessesCoresDuringBestMeasurements = Number(busiestBest.toFixed(3));
  r.torchBlasCheck ??= null;
  r.renderedWith = 'npx tsx bench/train.ts --render';
  writeFileSync(file, JSON.stringify(r, null, 2) + '\n');
  writeFileSync(path.join(resultsDir, 'train.md'), markdown(r));
  console.log(`rewrote ${path.relative(process.cwd(), resultsDir)}/train.{json,md} from the measurements of ${r.date}`);
}

async function main(): Promise<void> {
  if (process.argv.includes('--render')) return render();
  const data = loadData();
  const all: Measurement[] = [];
  const layers: Record<string, KernelLayerInfo> = {};
  let torchMeta: { torch: string; blas: string } | null = null;
  let blasCheck: { torch: string; blas: TorchBlas } | { error: string } | null = null;
  if (VARIANTS.some(isTorch)) {
    blasCheck = torchBlas();
    if ('error' in blasCheck) {
      console.error(`torch: ${blasCheck.error}`);
      if (REQUIRE_OPENBLAS)
        throw new Error('PyTorch cannot be run (see bench/README.md: apt-get install python3-torch libopenblas0-pthread)');
    } else {
      const b = blasCheck.blas;
      console.log(
        `torch ${blasCheck.torch} BLAS: ${b.kind} (${b.openblasConfig ?? b.library}), 1024² matmul ${b.matmul1024Ms} ms = ${b.matmul1024Gflops} GFLOP/s with ${b.torchThreads} threads`,
      );
      if (b.kind !== 'openblas' && b.kind !== 'mkl') {
        const msg = `PyTorch runs on the ${b.kind} BLAS (${b.library}), not OpenBLAS: its figures are not a fair baseline. Install libopenblas0-pthread (bench/README.md).`;
        if (REQUIRE_OPENBLAS) throw new Error(msg);
        console.warn(`WARNING: ${msg}`);
      }
    }
  }
  const others0 = idleCheck(1000);
  if (others0 !== null && others0 > 0.2) {
    console.warn(`WARNING: other processes are using ${others0.toFixed(2)} cores right now; the figures will be low and noisy.`);
  }
  const run0 = cpuJiffies();
  const tRun0 = performance.now();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const kind of MODELS) {
      for (const v of VARIANTS) {
        if (v === 'cpu' && round > 1) continue; // one short cpu run is enough
        const secs = v === 'cpu' ? Math.min(SECONDS, kind === 'cnn' ? 4 : 3) : SECONDS;
        if (WAIT_IDLE > 0) await waitIdle(WAIT_IDLE);
        const j0 = cpuJiffies();
        const tm0 = performance.now();
        let m: Measurement;
        if (isTorch(v)) {
          try {
            const t = measureTorch(v, kind, round, secs);
            torchMeta = { torch: t.torch, blas: t.blas };
            m = t;
          } catch (e) {
            console.error(`torch ${kind}: ${(e as Error).message.split('\n')[0]}`);
            continue;
          }
        } else {
          const r = await measureTf(v, kind, data, round, secs);
          layers[v] = r.layer;
          m = r;
        }
        const j1 = cpuJiffies();
        const dt = (performance.now() - tm0) / 1000;
        const busy = otherCores(j0, j1, dt);
        m.otherProcessesCores = busy === null ? null : Number(busy.toFixed(3));
        // Time the hypervisor gave this VM's cores to others (invisible as processes).
        m.stealCores = j0 && j1 ? Number(((j1.steal - j0.steal) / 100 / dt).toFixed(3)) : null;
        all.push(m);
        console.log(
          `round ${round} ${kind.padEnd(3)} ${v.padEnd(15)} ${m.samplesPerSec.toFixed(0).padStart(7)} samples/s  (${m.steps} steps, ${m.seconds.toFixed(1)} s, loss ${m.loss.toFixed(3)}; other processes ${busy?.toFixed(2) ?? '?'} cores, steal ${m.stealCores?.toFixed(2) ?? '?'})`,
        );
      }
    }
  }
  const othersDuring = otherCores(run0, cpuJiffies(), (performance.now() - tRun0) / 1000);
  if (othersDuring !== null) {
    console.log(`other processes used ${othersDuring.toFixed(2)} cores on average during the measurements`);
    if (othersDuring > 0.1)
      console.warn('WARNING: the machine was not always idle during the measurements (see otherProcessesCores per measurement).');
  }
  const { best, bestBusy, busiestBest, ratios, ratiosBest } = summarize(all);
  const cpus = os.cpus();
  const machine = {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    torch: torchMeta?.torch ?? null,
    torchBlas: torchMeta?.blas ?? null,
    tfjs: tf.version_core,
    loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
    otherProcessesCoresBefore: others0 === null ? null : Number(others0.toFixed(3)),
    otherProcessesCoresDuring: othersDuring === null ? null : Number(othersDuring.toFixed(3)),
    otherProcessesCoresDuringBestMeasurements: Number(busiestBest.toFixed(3)),
  };
  const blas = blasCheck && !('error' in blasCheck) ? blasCheck.blas : null;
  const command = `npx tsx bench/train.ts ${process.argv.slice(2).join(' ')}`.trim();
  const result = {
    date: new Date().toISOString(),
    command,
    machine,
    torchBlasCheck: blas,
    data: data.source,
    batch: BATCH,
    optimizer: 'adam(1e-3)',
    loss: 'categoricalCrossentropy',
    api: API,
    secondsPerMeasurement: SECONDS,
    rounds: ROUNDS,
    samplesPerSec: best,
    otherProcessesCoresOfBest: bestBusy,
    ratioToTorch: ratios,
    ratioToBestTorch: ratiosBest,
    kernelLayers: layers,
    perShapeChoices: {} as Record<string, string>,
    measurements: all,
  };
  console.log(JSON.stringify({ samplesPerSec: best, ratioToTorch: ratios, ratioToBestTorch: ratiosBest }, null, 1));
  const choices = kernelChoices();
  const kernelChecks = process.argv.includes('--no-verify') ? null : await kernelCheckTables();
  if (!WRITE) return;
  if (kernelChecks) writeFileSync(path.join(resultsDir, 'kernels.md'), kernelsMarkdown(kernelChecks, command));
  mkdirSync(resultsDir, { recursive: true });
  result.perShapeChoices = choices;
  writeFileSync(path.join(resultsDir, 'train.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(path.join(resultsDir, 'train.md'), markdown(result));
  console.log(`wrote ${path.relative(process.cwd(), resultsDir)}/train.{json,md}`);
}

/** Max abs differences of every kernel vs tfjs-backend-cpu, per kernel-layer configuration. */
async function kernelCheckTables(): Promise<Record<string, KernelCheck[]>> {
  const out: Record<string, KernelCheck[]> = {};
  await tf.setBackend('wasm');
  await installKernels('reference');
  out['wasm-reference'] = await verifyKernels();
  await installKernels('fast', { ort: false });
  out['wasm-fast-pure'] = await verifyKernels();
  const info = await installKernels('fast', { ort: true });
  if (info.name === 'cdl-fast-ort') {
    forceChoice('ort');
    try {
      out['wasm-fast (onnxruntime forced)'] = await verifyKernels();
    } finally {
      forceChoice('auto');
    }
  }
  return out;
}

function kernelsMarkdown(t: Record<string, KernelCheck[]>, command: string): string {
  const configs = Object.keys(t);
  const kernels = [
    ...new Set(
      Object.values(t)
        .flat()
        .map((c) => c.kernel),
    ),
  ];
  const lines = [
    '# Kernel checks: max abs difference vs TF.js reference CPU kernels',
    '',
    `Written by \`${command}\` on ${new Date().toISOString()}; cases (odd shapes, strides, paddings, filter sizes) in src/train/kernels/verify.ts.`,
    'Each cell: largest |wasm − cpu| over the cases (and in brackets the largest |reference value|). The tests require ≤ 1e-5·max(1, |reference|).',
    '',
    '| kernel | cases | ' + configs.join(' | ') + ' |',
    '|---|---:|' + configs.map(() => '---:').join('|') + '|',
  ];
  for (const k of kernels) {
    const cells = configs.map((cfg) => {
      const cs = t[cfg].filter((c) => c.kernel === k);
      const d = Math.max(...cs.map((c) => c.maxAbsDiff));
      const s = Math.max(...cs.map((c) => c.scale));
      return `${d.toExponential(2)} (${s.toFixed(1)})`;
    });
    lines.push(`| ${k} | ${t[configs[0]].filter((c) => c.kernel === k).length} | ${cells.join(' | ')} |`);
  }
  lines.push(
    '',
    "wasm-reference is the wasm backend's own kernels (plus cdl's Conv2DBackpropFilter): its MaxPoolGrad (windows of non-positive values) and its _FusedMatMul with a transposed operand are wrong in tfjs-backend-wasm 4.22; the fast layer replaces both.",
  );
  lines.push('', '## All cases', '', '| configuration | kernel | case | max abs diff | max abs ref |', '|---|---|---|---:|---:|');
  for (const cfg of configs)
    for (const c of t[cfg])
      lines.push(`| ${cfg} | ${c.kernel} | ${c.case} | ${c.maxAbsDiff.toExponential(2)} | ${c.scale.toFixed(2)} |`);
  return lines.join('\n') + '\n';
}

function markdown(r: {
  date: string;
  command: string;
  machine: Record<string, unknown>;
  torchBlasCheck: TorchBlas | null;
  data: string;
  api: string;
  secondsPerMeasurement: number;
  rounds: number;
  samplesPerSec: Record<string, Record<string, number>>;
  ratioToTorch: Record<string, Record<string, number>>;
  ratioToBestTorch: Record<string, Record<string, number>>;
  kernelLayers: Record<string, KernelLayerInfo>;
  perShapeChoices: Record<string, string>;
  renderedWith?: string;
  otherProcessesCoresOfBest?: Record<string, Record<string, number | null>>;
}): string {
  const variants: Variant[] = ['torch', 'torch-passive', 'wasm-reference', 'wasm-fast-pure', 'wasm-fast', 'cpu'];
  const b = r.torchBlasCheck;
  const m = r.machine;
  const lines = [
    '# Training speed: PyTorch vs cdl (TF.js)',
    '',
    `Measured ${r.date} with \`${r.command}\` (machine preparation: bench/README.md)${r.renderedWith ? `; this page rewritten from its recorded measurements with \`${r.renderedWith}\`` : ''}.`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, Node ${m.node}, TF.js ${m.tfjs}, PyTorch ${m.torch ?? 'n/a'}.`,
    b
      ? `PyTorch BLAS (checked by the bench): **${b.kind}** — ${b.openblasConfig ? `${b.openblasConfig}, ${b.openblasThreads} threads, ` : ''}\`${b.library}\`; torch threads ${b.torchThreads}; 1024×1024 float32 matmul ${b.matmul1024Ms} ms (${b.matmul1024Gflops} GFLOP/s).`
      : 'PyTorch BLAS: not checked (torch not run).',
    `Other processes used ${m.otherProcessesCoresDuring ?? 'n/a'} cores on average over the whole run (${m.otherProcessesCoresBefore ?? 'n/a'} in the second before), at most ${m.otherProcessesCoresDuringBestMeasurements ?? 'n/a'} during the measurements the figures below come from.`,
    `Data: ${r.data}; batch 128; Adam lr 1e-3; categorical cross-entropy; TF.js step via \`${r.api}\`.`,
    r.api === 'minimize'
      ? 'The step is `optimizer.minimize` with the loss read back every 20 steps; `--api trainOnBatch` measures `model.trainOnBatch` instead (about 5% slower in a side-by-side check of wasm-fast, within noise).'
      : 'The step is `model.trainOnBatch`.',
    `Each figure is the best of ${r.rounds} interleaved measurements of ~${r.secondsPerMeasurement} s (cpu: one short run).`,
    '',
    "`torch` is PyTorch as installed (2 threads; the issue's baseline); `torch-passive` is the same with `OMP_WAIT_POLICY=PASSIVE`,",
    "which stops torch's OpenMP threads from spinning on the cores OpenBLAS's own threads need (a large difference on 2 cores).",
    '',
    '| model | ' + variants.join(' | ') + ' |',
    '|---|' + variants.map(() => '---:').join('|') + '|',
  ];
  for (const [kind, v] of Object.entries(r.samplesPerSec)) {
    lines.push(`| ${kind} samples/s | ` + variants.map((x) => (v[x] ? v[x].toFixed(0) : '–')).join(' | ') + ' |');
    const rt = r.ratioToTorch[kind] ?? {};
    lines.push(
      `| ${kind} ratio to torch | ` +
        variants
          .map((x) =>
            x === 'torch'
              ? '1'
              : x === 'torch-passive'
                ? v.torch && v[x]
                  ? (v[x] / v.torch).toFixed(2)
                  : '–'
                : rt[x]
                  ? rt[x].toFixed(2)
                  : '–',
          )
          .join(' | ') +
        ' |',
    );
    const ob = r.otherProcessesCoresOfBest?.[kind] ?? {};
    lines.push(
      `| ${kind}: other processes' cores during that measurement | ` +
        variants.map((x) => (typeof ob[x] === 'number' ? ob[x]!.toFixed(2) : '–')).join(' | ') +
        ' |',
    );
    const rb = r.ratioToBestTorch[kind] ?? {};
    lines.push(
      `| ${kind} ratio to the faster torch | ` +
        variants.map((x) => (isTorch(x) ? '' : rb[x] ? rb[x].toFixed(2) : '–')).join(' | ') +
        ' |',
    );
  }
  if (b && b.kind !== 'openblas' && b.kind !== 'mkl') {
    lines.push(
      '',
      `**Not a fair baseline**: PyTorch ran on the ${b.kind} BLAS (${b.library}), not OpenBLAS; install libopenblas0-pthread (bench/README.md).`,
    );
  }
  const busy = Number(m.otherProcessesCoresDuringBestMeasurements ?? m.otherProcessesCoresDuring ?? 0);
  if (busy > 0.1)
    lines.push(
      '',
      `**The machine was not idle** (other processes used up to ${busy.toFixed(2)} cores during the measurements shown): these figures are low and noisy.`,
    );
  const issue: Record<string, number> = { mlp: 28500, cnn: 3400 };
  const vsIssue = Object.entries(r.samplesPerSec)
    .filter(([k, v]) => issue[k] && v['wasm-fast'])
    .map(([k, v]) => `${k} ${(v['wasm-fast'] / issue[k]).toFixed(2)}`);
  if (vsIssue.length) {
    lines.push(
      '',
      `Against the figures quoted in the issue for PyTorch with OpenBLAS on such a machine (MLP 28,500, CNN 3,400 samples/s), wasm-fast reaches: ${vsIssue.join(', ')}.`,
    );
  }
  lines.push('', 'Kernel layers:', '');
  for (const [v, l] of Object.entries(r.kernelLayers)) {
    lines.push(
      `- ${v}: \`${l.name}\` — kernels: ${l.kernels.join(', ') || 'none'}${l.notes.length ? `; notes: ${l.notes.join(' / ')}` : ''}`,
    );
  }
  const ch = Object.entries(r.perShapeChoices);
  if (ch.length) {
    lines.push(
      '',
      'Per-shape choice (onnxruntime vs wasm, by timing both once) made during the wasm-fast runs:',
      '',
      '| kernel and shape | choice |',
      '|---|---|',
    );
    for (const [k, v] of ch) lines.push(`| \`${k}\` | ${v} |`);
  }
  return lines.join('\n') + '\n';
}

await main();
