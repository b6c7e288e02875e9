/**
 * Bring your own trainer: train.command runs a script with CDL_* variables and cdl turns what it
 * writes into a model directory.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { layerSpec } from '../src/config/schema/model.js';
import { loadDataset } from '../src/data/index.js';
import type { Lineage, Metrics } from '../src/model-dir/index.js';
import { exportOnnx } from '../src/onnx/index.js';
import { loadBackend } from '../src/train/backend.js';
import { buildModel } from '../src/train/model-layers.js';
import { train } from '../src/train/training.js';
import { TrainError } from '../src/util/errors.js';
import { captureLog, EXAMPLE_DIR, removeTempDirs, siblings, tempDir } from './helpers/example.js';
import { torchAvailable } from './helpers/torch.js';

afterAll(removeTempDirs);

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

/** The user's script: behaviour chosen by the hyperparameter `mode`. */
const SCRIPT = `import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
const out = process.env.CDL_OUTPUT_DIR;
const hp = JSON.parse(process.env.CDL_HYPERPARAMETERS);
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('CDL_')));
console.log('hello from the script');
console.error('a warning on stderr');
const mode = hp.mode;
if (mode === 'fail') {
  console.error('giving up');
  process.exit(3);
}
writeFileSync(path.join(out, 'env.json'), JSON.stringify({ env, cwd: process.cwd() }));
mkdirSync(path.join(out, 'plots'));
writeFileSync(path.join(out, 'plots', 'curve.csv'), 'epoch,loss\\n1,0.9\\n');
if (mode !== 'no-onnx') copyFileSync(hp.onnx, path.join(out, 'model.onnx'));
const metrics = {
  ok: JSON.stringify({ test: { accuracy: 0.625, loss: 0.9, note: 'text is dropped' }, train: { accuracy: 0.7 }, device: 'cpu' }),
  flat: JSON.stringify({ accuracy: 0.5, loss: 1.25, device: 'cpu' }),
  'no-onnx': JSON.stringify({ accuracy: 0.5 }),
  'bad-json': '{"test": {"accuracy": ',
  list: '[0.9]',
  'no-number': JSON.stringify({ test: { accuracy: 'high' } }),
}[mode];
if (metrics !== undefined) writeFileSync(path.join(out, 'metrics.json'), metrics);
`;

describe('train.command', () => {
  let project: string;
  let config: string;
  let fixture: Uint8Array;

  beforeAll(async () => {
    project = tempDir('cdl-cmd-');
    // A tiny real model for the script to hand back as its "trained" model.onnx.
    const { tf } = await loadBackend('cpu');
    const model = buildModel(
      tf,
      {
        input_shape: [28, 28, 1],
        layers: [layerSpec.parse({ type: 'flatten' }), layerSpec.parse({ type: 'dense', units: 10, activation: 'softmax' })],
      },
      { seed: 1, name: 'tiny' },
    );
    fixture = exportOnnx(model, { modelName: 'tiny' });
    model.dispose();
    writeFileSync(path.join(project, 'fixture.onnx'), fixture);
    writeFileSync(path.join(project, 'train.mjs'), SCRIPT);
    config = path.join(project, 'cdl.yaml');
    writeFileSync(
      config,
      `model: { name: byo }
data:
  format: idx
  path: ${JSON.stringify(path.join(EXAMPLE_DIR, 'data'))}
  train: { images: train-images-idx3-ubyte.gz, labels: train-labels-idx1-ubyte.gz }
  test: { images: t10k-images-idx3-ubyte.gz, labels: t10k-labels-idx1-ubyte.gz }
  classes: [a, b, c, d, e, f, g, h, i, j]
train:
  command: node train.mjs
  epochs: 3
  batch_size: 64
  hyperparameters: { mode: ok, onnx: fixture.onnx, width: 32 }
`,
    );
  });

  async function run(mode: string, outDir: string) {
    const loaded = await loadConfig(config, [`train.hyperparameters.mode=${mode}`]);
    const cap = captureLog();
    const result = await train({ loaded, outDir, log: cap.log }).catch((e: unknown) => e);
    return { loaded, result, lines: cap.lines };
  }

  it('turns the script outputs into a model directory, keeping its other files', async () => {
    const out = path.join(tempDir('cdl-out-'), 'byo');
    const { loaded, result, lines } = await run('ok', out);
    expect(result).not.toBeInstanceOf(Error);
    expect(readdirSync(out).sort()).toEqual([
      'SHA256SUMS',
      'env.json',
      'lineage.json',
      'metrics.json',
      'model-card.md',
      'model.onnx',
      'plots',
    ]);
    expect(readFileSync(path.join(out, 'plots', 'curve.csv'), 'utf8')).toBe('epoch,loss\n1,0.9\n');
    expect(readFileSync(path.join(out, 'model.onnx')).equals(fixture)).toBe(true);
    expect(siblings(out)).toEqual(['byo']);

    const m = readJson<Metrics>(path.join(out, 'metrics.json'));
    expect(m).toMatchObject({
      schema_version: 1,
      model: 'byo',
      task: 'classification',
      main_metric: 'accuracy',
      main_metric_value: 0.625,
      higher_is_better: true,
      classes: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'],
      splits: { test: { accuracy: 0.625, loss: 0.9 }, train: { accuracy: 0.7 } },
    });
    expect(m.splits.test).not.toHaveProperty('note');
    expect((m.training as { reported: unknown }).reported).toEqual({
      test: { accuracy: 0.625, loss: 0.9, note: 'text is dropped' },
      train: { accuracy: 0.7 },
      device: 'cpu',
    });

    const l = readJson<Lineage>(path.join(out, 'lineage.json'));
    expect(l.trainer).toEqual({ kind: 'command', command: 'node train.mjs' });
    expect(l.config.hash).toBe(loaded.hash);
    expect(l.config.overrides).toEqual([]);
    expect(l.data).toMatchObject({ format: 'idx', source: path.join(EXAMPLE_DIR, 'data') });
    expect(l.hyperparameters).toMatchObject({ epochs: 3, batch_size: 64, mode: 'ok', width: 32 });
    expect(readFileSync(path.join(out, 'model-card.md'), 'utf8')).toContain('Trainer: command — `node train.mjs`');

    // The script's output streamed to the log, stdout and stderr alike.
    expect(lines).toContain('running train.command: node train.mjs');
    expect(lines).toContain('  | hello from the script');
    expect(lines).toContain('  | a warning on stderr');
  });

  it('runs the script from the directory of cdl.yaml with the documented CDL_* variables', async () => {
    const out = path.join(tempDir('cdl-out-'), 'byo');
    await run('ok', out);
    const { env, cwd } = readJson<{ env: Record<string, string>; cwd: string }>(path.join(out, 'env.json'));
    expect(cwd).toBe(project);
    // The script writes into a temporary directory that becomes the model directory.
    expect(env.CDL_OUTPUT_DIR).toBe(`${path.resolve(out)}.partial-${process.pid}`);
    expect(env).toMatchObject({
      CDL_CONFIG: path.resolve(config),
      CDL_MODEL_NAME: 'byo',
      CDL_TASK: 'classification',
      CDL_EPOCHS: '3',
      CDL_BATCH_SIZE: '64',
      CDL_LEARNING_RATE: '0.001',
      CDL_SEED: '42',
      CDL_DATA_FORMAT: 'idx',
      CDL_DATA_DIR: path.join(EXAMPLE_DIR, 'data'),
      CDL_DATA_SCALE: '255',
      CDL_VALIDATION_FRACTION: '0.1',
      CDL_VALIDATION_SEED: '42',
    });
    expect(JSON.parse(env.CDL_HYPERPARAMETERS!)).toEqual({
      epochs: 3,
      batch_size: 64,
      optimizer: 'adam',
      learning_rate: 0.001,
      seed: 42,
      mode: 'ok',
      onnx: 'fixture.onnx',
      width: 32,
    });
    expect(JSON.parse(env.CDL_DATA_CLASSES!)).toHaveLength(10);
    const trainFiles = JSON.parse(env.CDL_DATA_TRAIN!) as { images: string; labels: string };
    expect(trainFiles.images).toBe(path.join(EXAMPLE_DIR, 'data', 'train-images-idx3-ubyte.gz'));
    expect(existsSync(trainFiles.images) && existsSync(trainFiles.labels)).toBe(true);
    expect(existsSync(JSON.parse(env.CDL_DATA_TEST!).labels as string)).toBe(true);
    expect(JSON.parse(env.CDL_CONFIG_JSON!)).toMatchObject({ model: { name: 'byo' }, train: { epochs: 3 } });
  });

  it('takes flat metrics as test metrics', async () => {
    const out = path.join(tempDir('cdl-out-'), 'byo');
    const { result } = await run('flat', out);
    const m = readJson<Metrics>(path.join(out, 'metrics.json'));
    expect(result).not.toBeInstanceOf(Error);
    expect(m.main_metric_value).toBe(0.5);
    expect(m.splits).toEqual({ test: { accuracy: 0.5, loss: 1.25 } });
  });

  describe('errors leave the previous model directory as it was and nothing half-written', () => {
    let out: string;
    let before: Buffer;

    beforeAll(async () => {
      out = path.join(tempDir('cdl-out-'), 'byo');
      await run('ok', out);
      before = readFileSync(path.join(out, 'metrics.json'));
    });

    async function failing(mode: string): Promise<{ message: string; lines: string[] }> {
      const { result, lines } = await run(mode, out);
      expect(result).toBeInstanceOf(TrainError);
      expect(readFileSync(path.join(out, 'metrics.json')).equals(before)).toBe(true);
      expect(readdirSync(out)).toContain('model.onnx');
      expect(siblings(out)).toEqual(['byo']);
      return { message: (result as Error).message, lines };
    }

    it('the script exits non-zero: names the command and the code', async () => {
      const { message, lines } = await failing('fail');
      expect(message).toBe('train.command "node train.mjs" exited with code 3');
      expect(lines).toContain('  | giving up');
    });

    it('the script writes no model.onnx: names the file and $CDL_OUTPUT_DIR', async () => {
      const { message } = await failing('no-onnx');
      expect(message).toBe(
        `train.command "node train.mjs" finished but wrote no model.onnx in ${path.resolve(out)}.partial-${process.pid} ($CDL_OUTPUT_DIR); ` +
          'expected the trained model exported to ONNX at $CDL_OUTPUT_DIR/model.onnx and its metrics as JSON at $CDL_OUTPUT_DIR/metrics.json',
      );
    });

    it('the script writes no metrics.json', async () => {
      const { message } = await failing('none');
      expect(message).toMatch(/^train\.command "node train\.mjs" finished but wrote no metrics\.json in .* \(\$CDL_OUTPUT_DIR\)/);
    });

    it('malformed metrics.json: names the file and the expected form', async () => {
      const metricsFile = `${path.resolve(out)}.partial-${process.pid}/metrics.json`;
      expect((await failing('bad-json')).message).toMatch(
        new RegExp(
          `^${metricsFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: invalid JSON \\(.+\\); expected an object such as \\{"test": \\{"accuracy": 0\\.91\\}\\} or \\{"accuracy": 0\\.91\\}$`,
        ),
      );
      expect((await failing('list')).message).toBe(
        `${metricsFile}: expected a JSON object such as {"test": {"accuracy": 0.91}} or {"accuracy": 0.91}, got a list`,
      );
      expect((await failing('no-number')).message).toBe(
        `${metricsFile}: no numeric metric found; expected for example {"test": {"accuracy": 0.91, "loss": 0.25}}`,
      );
    });

    it('a command that does not exist fails with the shell code 127', async () => {
      const loaded = await loadConfig(config, ['train.command=no-such-trainer-cdl --x']);
      const err = await train({ loaded, outDir: out, log: () => {} }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TrainError);
      expect((err as Error).message).toBe('train.command "no-such-trainer-cdl --x" exited with code 127');
      expect(readFileSync(path.join(out, 'metrics.json')).equals(before)).toBe(true);
      expect(siblings(out)).toEqual(['byo']);
    });
  });
});

const TORCH = torchAvailable();

describe('the PyTorch example (examples/fashion-mnist/pytorch)', () => {
  it.skipIf(!TORCH)(
    'trains, exports an NHWC softmax model.onnx that onnxruntime runs, and reports its test accuracy',
    async () => {
      const file = path.join(EXAMPLE_DIR, 'pytorch', 'cdl.yaml');
      const overrides = [
        'train.command=/usr/bin/python3 train.py',
        'train.epochs=1',
        'train.hyperparameters.max_train_examples=2000',
      ];
      const loaded = await loadConfig(file, overrides);
      expect(loaded.warnings).toEqual([]);
      const out = path.join(tempDir('cdl-out-'), 'pt');
      const cap = captureLog();
      const r = await train({ loaded, overrides, outDir: out, log: cap.log });
      expect(readdirSync(out).sort()).toEqual([
        'SHA256SUMS',
        'history.json',
        'lineage.json',
        'metrics.json',
        'model-card.md',
        'model.onnx',
      ]);
      expect(r.lineage.trainer).toEqual({ kind: 'command', command: '/usr/bin/python3 train.py' });
      const reported = r.metrics.training!.reported as { device: string; framework: string };
      expect(['cpu', 'cuda']).toContain(reported.device);
      expect(reported.framework).toMatch(/^pytorch /);
      expect(r.metrics.splits.test!.examples).toBe(2000);
      expect(r.metrics.splits.train!.examples).toBe(1800);
      expect(r.metrics.main_metric_value).toBeGreaterThan(0.4);
      expect(readJson<unknown[]>(path.join(out, 'history.json'))).toHaveLength(1);
      expect(cap.lines.some((l) => /^ {2}\| test accuracy 0\.\d{4} on (cpu|cuda)$/.test(l))).toBe(true);

      // model.onnx: NHWC [N, 28, 28, 1] in, probabilities out, and the accuracy the script reported.
      const ds = await loadDataset(loaded.config.data, { baseDir: loaded.dir, task: 'classification' });
      const session = await ort.InferenceSession.create(path.join(out, 'model.onnx'));
      const n = ds.test.n;
      const res = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', ds.test.x.slice(), [n, 28, 28, 1]) });
      const probs = res[session.outputNames[0]!]!;
      await session.release();
      expect(probs.dims).toEqual([n, 10]);
      const p = probs.data as Float32Array;
      let correct = 0;
      for (let i = 0; i < n; i++) {
        const row = p.subarray(i * 10, i * 10 + 10);
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
        let best = 0;
        for (let c = 1; c < 10; c++) if (row[c]! > row[best]!) best = c;
        if (best === ds.test.y[i]) correct++;
      }
      expect(Math.abs(correct / n - r.metrics.main_metric_value!)).toBeLessThanOrEqual(2 / n);
    },
  );

  it.skipIf(TORCH)('skipped: /usr/bin/python3 cannot import torch and numpy (Debian: apt install python3-torch)', () => {});
});
