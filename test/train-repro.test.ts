/**
 * Reproducible training (train.deterministic, the default): separate `cdl train` processes with
 * one configuration, data and seed write byte-identical model.onnx files, and a run killed after
 * an epoch and resumed in a new process ends byte-identical to an uninterrupted one. Separate
 * processes matter: the wasm kernel layer's choices between onnxruntime and wasm live in the
 * process, so runs inside one process would agree even with choices made by timing.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { train } from '../src/train/training.js';
import { CDL_BIN, EXAMPLE_CONFIG, exampleConfig, REPO, removeTempDirs, runCli, tempDir } from './helpers/example.js';

afterAll(removeTempDirs);

// The example with dropout, augmentation, label smoothing and weight decay: every seeded path.
const SETS = [
  'train.backend=wasm',
  'train.epochs=2',
  'data.limit.train=800',
  'data.limit.test=200',
  'model.layers[2]={"type": "dropout", "rate": 0.2}',
  'train.augment={"shift": 2, "flip": true, "rotate": 10, "erase": 0.25}',
  'train.label_smoothing=0.1',
  'train.optimizer={"name": "adam", "learning_rate": 0.002, "weight_decay": 0.001}',
];
const args = (out: string, extra: string[] = []) => [
  'train',
  '--config',
  EXAMPLE_CONFIG,
  ...SETS.flatMap((s) => ['--set', s]),
  '--out',
  out,
  '--quiet',
  ...extra,
];

const onnx = (dir: string) => readFileSync(path.join(dir, 'model.onnx'));

/** Start a training process and kill it once its checkpoint holds `epochs` epochs. */
function killAfterEpochs(out: string, epochs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CDL_BIN, ...args(out)], { cwd: REPO, stdio: 'ignore' });
    const state = path.join(`${out}.checkpoint`, 'state.json');
    const timer = setInterval(() => {
      try {
        if (existsSync(state) && (JSON.parse(readFileSync(state, 'utf8')) as { epoch: number }).epoch >= epochs) {
          child.kill('SIGKILL');
        }
      } catch {
        /* renamed while read: try again */
      }
    }, 10);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(timer);
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`the run ended by itself (code ${code}) before it could be killed`));
    });
  });
}

describe('deterministic training', () => {
  it('two processes write byte-identical model.onnx; a killed run resumed in a new process too', async () => {
    const root = tempDir('cdl-repro-');
    const [a, b, c] = ['a', 'b', 'c'].map((n) => path.join(root, n)) as [string, string, string];
    for (const out of [a, b]) {
      const r = await runCli(args(out));
      expect(r.code, r.stderr).toBe(0);
    }
    expect(onnx(b).equals(onnx(a))).toBe(true);
    expect(readFileSync(path.join(b, 'tfjs', 'weights.bin')).equals(readFileSync(path.join(a, 'tfjs', 'weights.bin')))).toBe(
      true,
    );
    const lineage = JSON.parse(readFileSync(path.join(a, 'lineage.json'), 'utf8')) as {
      trainer: { kernels: { policy?: string; choices?: Record<string, string> } };
    };
    expect(lineage.trainer.kernels.policy).toBe('fixed');
    expect(Object.keys(lineage.trainer.kernels.choices ?? {}).length).toBeGreaterThan(0);

    await killAfterEpochs(c, 1);
    expect(existsSync(c)).toBe(false);
    const resumed = await runCli(args(c, ['--resume']));
    expect(resumed.code, resumed.stderr).toBe(0);
    // The log goes to stderr; killed in the second epoch, or just after it while exporting.
    expect(resumed.stderr).toMatch(/resuming after epoch [12]\/2/);
    expect(onnx(c).equals(onnx(a))).toBe(true);
  }, 240_000);

  it('train.deterministic: false lets the kernel layer choose by timing, and says so in the lineage', async () => {
    const loaded = await exampleConfig([
      'train.backend=wasm',
      'train.epochs=1',
      'data.limit.train=300',
      'data.limit.test=100',
      'train.deterministic=false',
    ]);
    const r = await train({ loaded, outDir: path.join(tempDir('cdl-repro-'), 'timed'), log: () => {} });
    const k = r.lineage.trainer.kernels as { policy?: string; notes: string[] };
    expect(k.policy).toBe('timed');
    if (k.notes.some((n) => n.includes('synchronous binding'))) expect(k.notes.join('\n')).toContain('by timing');
  });
});
