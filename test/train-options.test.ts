/**
 * Trainer options with real TF.js training on tiny data: augmentation (seeded, changes the
 * batches), label smoothing (the loss the formula gives), weight decay (shrinks the kernels by
 * learning_rate * weight_decay per step for every optimizer), seeded dropout, and the
 * globalavgpool and batchnorm layers through ONNX export and int8 compression.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressModel } from '../src/compress/compress-model.js';
import { loadConfig } from '../src/config/index.js';
import { trainSection, type TrainSection } from '../src/config/schema/train.js';
import type { LayerSpec } from '../src/config/schema/model.js';
import { mulberry32, type Dataset, type Split } from '../src/data/index.js';
import { OnnxGraph } from '../src/onnx/graph.js';
import { Augmenter, mixSeed } from '../src/train/augment.js';
import { loadBackend } from '../src/train/backend.js';
import { installKernels } from '../src/train/kernels/index.js';
import { buildModel } from '../src/train/model-layers.js';
import { train } from '../src/train/training.js';
import type { LayersModel, Tf } from '../src/train/tf.js';
import { predictSplit } from '../src/train/split-evaluation.js';
import { trainLoop } from '../src/train/trainer.js';
import { TrainError } from '../src/util/errors.js';
import { EXAMPLE_CONFIG, removeTempDirs, tempDir } from './helpers/example.js';

let tf: Tf;
beforeAll(async () => {
  ({ tf } = await loadBackend('wasm'));
  await installKernels('auto');
});
afterAll(removeTempDirs);

const SHAPE = [8, 8, 1];
const CLASSES = 3;

function split(n: number, seed: number): Split {
  const rand = mulberry32(seed);
  const x = Float32Array.from({ length: n * 64 }, () => rand());
  const y = Int32Array.from({ length: n }, (_, i) => i % CLASSES);
  // Make the classes learnable: a bright stripe in a row that depends on the class.
  for (let i = 0; i < n; i++) for (let c = 0; c < 8; c++) x[i * 64 + (2 + 2 * y[i]!) * 8 + c] = 2;
  return { x, y, n };
}

function tinyDataset(n = 48): Dataset {
  return {
    shape: SHAPE,
    classes: ['a', 'b', 'c'],
    train: split(n, 1),
    validation: split(12, 2),
    test: split(12, 3),
    version: 'sha256:tiny',
    files: [],
    source: 'memory',
  };
}

const CONV: LayerSpec[] = [
  { type: 'conv2d', filters: 4, kernel_size: 3, strides: 1, padding: 'valid', activation: 'relu', use_bias: true },
  { type: 'flatten' },
  { type: 'dropout', rate: 0.3 },
  { type: 'dense', units: CLASSES, activation: 'softmax', use_bias: true },
];

function trainCfg(extra: Record<string, unknown>): TrainSection {
  return trainSection.parse({ epochs: 2, batch_size: 16, seed: 7, ...extra });
}

function weightsOf(model: LayersModel): Float32Array[] {
  return model.getWeights().map((w) => Float32Array.from(w.dataSync() as Float32Array));
}

async function fit(
  extra: Record<string, unknown>,
  layers: LayerSpec[] = CONV,
  ds = tinyDataset(),
): Promise<{ model: LayersModel; history: Array<{ loss: number }> }> {
  const model = buildModel(tf, { input_shape: SHAPE, layers }, { seed: 3 });
  const r = await trainLoop({ tf, model, dataset: ds, train: trainCfg(extra), task: 'classification', configHash: 'h' });
  return { model, history: r.history };
}

function same(a: Float32Array[], b: Float32Array[]): boolean {
  return a.length === b.length && a.every((w, i) => w.length === b[i]!.length && w.every((v, j) => Object.is(v, b[i]![j])));
}

describe('Augmenter', () => {
  const image = () => Float32Array.from({ length: 64 }, (_, i) => i + 1);

  it('draws the same changes from the same seed and other changes from another seed', () => {
    const cfg = { shift: 2, flip: true, rotate: 15, erase: 0.5 };
    const batch = () => {
      const x = new Float32Array(10 * 64);
      for (let r = 0; r < 10; r++) x.set(image(), r * 64);
      return x;
    };
    const a = batch(),
      b = batch(),
      c = batch();
    const aug = new Augmenter(cfg, SHAPE);
    aug.apply(a, 10, mixSeed(42, 0, 0));
    aug.apply(b, 10, mixSeed(42, 0, 0));
    aug.apply(c, 10, mixSeed(42, 0, 1));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    expect(Array.from(a)).not.toEqual(Array.from(batch()));
  });

  it('shifts copy pixels exactly and pad with zeros; a flip mirrors the rows', () => {
    const shifts = new Set<string>();
    for (let seed = 1; seed < 40; seed++) {
      const x = image();
      new Augmenter({ shift: 1, flip: false, rotate: 0, erase: 0 }, SHAPE).apply(x, 1, seed);
      // Find the shift that explains the output: every pixel is its source pixel or 0 outside.
      const found = [-1, 0, 1]
        .flatMap((dy) => [-1, 0, 1].map((dx) => [dy, dx] as const))
        .filter(([dy, dx]) =>
          Array.from(x).every((v, i) => {
            const sy = Math.floor(i / 8) - dy,
              sx = (i % 8) - dx;
            return v === (sy >= 0 && sy < 8 && sx >= 0 && sx < 8 ? sy * 8 + sx + 1 : 0);
          }),
        );
      expect(found).toHaveLength(1);
      shifts.add(found[0]!.join(','));
    }
    expect(shifts.size).toBeGreaterThan(5);

    let flipped = 0;
    for (let seed = 1; seed < 20; seed++) {
      const x = image();
      new Augmenter({ shift: 0, flip: true, rotate: 0, erase: 0 }, SHAPE).apply(x, 1, seed);
      const mirrored = Array.from({ length: 64 }, (_, i) => Math.floor(i / 8) * 8 + (7 - (i % 8)) + 1);
      if (Array.from(x).join() === mirrored.join()) flipped++;
      else expect(Array.from(x)).toEqual(Array.from(image()));
    }
    expect(flipped).toBeGreaterThan(3);
    expect(flipped).toBeLessThan(17);
  });

  it('erasing zeroes one rectangle; rotation keeps the centre pixel of an odd image', () => {
    const x = new Float32Array(64).fill(1);
    new Augmenter({ shift: 0, flip: false, rotate: 0, erase: 1 }, SHAPE).apply(x, 1, 5);
    const zeros = [...x.keys()].filter((i) => x[i] === 0);
    expect(zeros.length).toBeGreaterThan(0);
    expect(zeros.length).toBeLessThanOrEqual(0.3 * 64);
    const rows = zeros.map((i) => Math.floor(i / 8)),
      cols = zeros.map((i) => i % 8);
    const h = Math.max(...rows) - Math.min(...rows) + 1,
      w = Math.max(...cols) - Math.min(...cols) + 1;
    expect(h * w).toBe(zeros.length);

    const odd = Float32Array.from({ length: 3 * 9 * 9 }, (_, i) => i);
    new Augmenter({ shift: 0, flip: false, rotate: 20, erase: 0 }, [9, 9, 3]).apply(odd, 1, 11);
    expect(Array.from(odd.subarray((4 * 9 + 4) * 3, (4 * 9 + 4) * 3 + 3))).toEqual([120, 121, 122]);
    expect(odd.some((v, i) => v !== i)).toBe(true);
  });

  it('refuses data that is not an image, naming train.augment', () => {
    expect(() => new Augmenter({ shift: 2, flip: false, rotate: 0, erase: 0 }, [784])).toThrow(TrainError);
    expect(() => new Augmenter({ shift: 2, flip: false, rotate: 0, erase: 0 }, [784])).toThrow(/train\.augment: .*\[784\]/);
  });
});

describe('trainer options with TF.js', () => {
  it('augmentation changes training; the same seed repeats it bit for bit', async () => {
    const augment = { shift: 2, flip: true, rotate: 10, erase: 0.3 };
    const plain = await fit({});
    const a = await fit({ augment });
    const b = await fit({ augment });
    expect(same(weightsOf(a.model), weightsOf(b.model))).toBe(true);
    expect(a.history.map((h) => h.loss)).toEqual(b.history.map((h) => h.loss));
    expect(same(weightsOf(a.model), weightsOf(plain.model))).toBe(false);
    const other = await fit({ augment, seed: 8 });
    expect(same(weightsOf(a.model), weightsOf(other.model))).toBe(false);
  });

  it('dropout draws a new mask per step, repeatably', async () => {
    const model = buildModel(tf, { input_shape: SHAPE, layers: CONV }, { seed: 3 });
    const layer = model.getLayer('dropout_2') as unknown as { seed?: number };
    const seeds: Array<number | undefined> = [];
    await trainLoop({
      tf,
      model,
      dataset: tinyDataset(),
      train: trainCfg({}),
      task: 'classification',
      configHash: 'h',
      afterStep: () => seeds.push(layer.seed),
    });
    expect(seeds).toHaveLength(6);
    expect(new Set(seeds).size).toBe(6);
    expect(seeds.every((v) => Number.isInteger(v))).toBe(true);
    const a = await fit({});
    const b = await fit({});
    expect(same(weightsOf(a.model), weightsOf(b.model))).toBe(true);
    const noDropout = await fit({}, [...CONV.slice(0, 2), CONV[3]!]);
    expect(a.history[0]!.loss).not.toBe(noDropout.history[0]!.loss);
    // The layer's own seed is given back after training (model.json does not keep the last step's).
    expect((a.model.getLayer('dropout_2') as unknown as { seed?: number }).seed).toBeUndefined();
  });

  it('label smoothing trains on (1 - e) * one-hot + e / classes: the loss of the first step is that cross-entropy', async () => {
    const ds = tinyDataset();
    const e = 0.2;
    for (const smoothing of [0, e]) {
      const layers = CONV.filter((l) => l.type !== 'dropout');
      const model = buildModel(tf, { input_shape: SHAPE, layers }, { seed: 3 });
      const p = predictSplit(tf, model, ds.train, SHAPE);
      let expected = 0;
      for (let i = 0; i < ds.train.n; i++) {
        for (let c = 0; c < CLASSES; c++) {
          const target = (c === ds.train.y[i] ? 1 - smoothing : 0) + smoothing / CLASSES;
          expected -= target * Math.log(p[i * CLASSES + c]!);
        }
      }
      expected /= ds.train.n;
      const r = await trainLoop({
        tf,
        model,
        dataset: ds,
        train: trainCfg({ epochs: 1, batch_size: ds.train.n, label_smoothing: smoothing }),
        task: 'classification',
        configHash: 'h',
      });
      expect(r.history[0]!.loss).toBeCloseTo(expected, 5);
    }
  });

  it.each(['sgd', 'momentum', 'adam', 'adamw'])(
    '%s: weight decay shrinks the kernels by learning_rate * weight_decay per step, biases untouched',
    async (name) => {
      const lr = 0.05,
        wd = 0.5;
      const layers = CONV.filter((l) => l.type !== 'dropout');
      const one = (weight_decay: number) =>
        fit({ epochs: 1, batch_size: 48, optimizer: { name, learning_rate: lr, weight_decay } }, layers);
      const plain = weightsOf((await one(0)).model);
      const decayed = weightsOf((await one(wd)).model);
      // One step: the decay comes after the optimizer's update and outside its moments.
      const names = ['kernel', 'bias', 'kernel', 'bias'];
      decayed.forEach((w, i) => {
        const factor = names[i] === 'kernel' ? 1 - lr * wd : 1;
        w.forEach((v, j) => expect(v).toBeCloseTo(plain[i]![j]! * factor, 6));
      });
      // Over several steps the kernels end smaller than without decay.
      const norm = (ws: Float32Array[]) => ws[0]!.reduce((a, v) => a + v * v, 0) + ws[2]!.reduce((a, v) => a + v * v, 0);
      const many = (weight_decay: number) =>
        fit({ epochs: 3, batch_size: 8, optimizer: { name, learning_rate: 0.01, weight_decay } }, layers);
      expect(norm(weightsOf((await many(0.5)).model))).toBeLessThan(norm(weightsOf((await many(0)).model)));
    },
  );

  it('adamw keeps its default weight decay of 0.01; the other optimizers default to none', async () => {
    const { weightDecay } = await import('../src/train/optimizer.js');
    expect(weightDecay(trainCfg({ optimizer: { name: 'adamw' } }).optimizer)).toBe(0.01);
    for (const name of ['sgd', 'momentum', 'adam']) expect(weightDecay(trainCfg({ optimizer: { name } }).optimizer)).toBe(0);
  });
});

describe('globalavgpool and batchnorm', () => {
  it('train, export to ONNX (GlobalAveragePool, BatchNormalization) and quantize to int8', async () => {
    const loaded = await loadConfig(EXAMPLE_CONFIG, [
      'train.backend=wasm',
      'train.epochs=2',
      'train.batch_size=32',
      'data.limit.train=1200',
      'data.limit.test=300',
      'model.layers=' +
        JSON.stringify([
          { type: 'conv2d', filters: 8, kernel_size: 3, activation: 'relu' },
          { type: 'batchnorm', momentum: 0.8 },
          { type: 'conv2d', filters: 16, kernel_size: 3, strides: 2, activation: 'relu' },
          // Few steps: moving statistics that follow the batches quickly.
          { type: 'batchnorm', momentum: 0.8 },
          { type: 'globalavgpool' },
          { type: 'dense', units: 10, activation: 'softmax' },
        ]),
      'train.augment={"shift": 2, "erase": 0.2}',
      'train.label_smoothing=0.1',
      'train.optimizer={"name": "momentum", "learning_rate": 0.05, "weight_decay": 0.0005}',
    ]);
    const dir = tempDir('cdl-gap-');
    const out = path.join(dir, 'model');
    // train() checks that onnxruntime and TF.js agree on the exported model (within 1e-3).
    const t = await train({ loaded, outDir: out, log: () => {} });
    expect(t.metrics.onnx).toMatchObject({ parity: { examples: 100 } });
    expect(t.metrics.main_metric_value).toBeGreaterThan(0.3);
    const ops = OnnxGraph.fromBytes(new Uint8Array(readFileSync(path.join(out, 'model.onnx')))).nodes.map((n) => n.opType);
    expect(ops).toContain('GlobalAveragePool');
    expect(ops).toContain('BatchNormalization');
    const card = readFileSync(path.join(out, 'model-card.md'), 'utf8');
    for (const k of ['label_smoothing', 'weight_decay', 'augment', 'deterministic']) expect(card).toContain(`| ${k} |`);
    expect(t.lineage.hyperparameters).toMatchObject({
      deterministic: true,
      label_smoothing: 0.1,
      weight_decay: 0.0005,
      augment: { shift: 2, flip: false, rotate: 0, erase: 0.2 },
    });

    const r = await compressModel({
      loaded,
      model: out,
      outDir: path.join(dir, 'int8'),
      methods: ['int8-dynamic', 'int8-static'],
      maxAccuracyDrop: 100,
    });
    expect(r.record.results.map((x) => [x.method, x.ok])).toEqual([
      ['int8-dynamic', true],
      ['int8-static', true],
    ]);
    for (const x of r.record.results) expect(x.accuracy_drop_points!).toBeLessThan(5);
  });
});
