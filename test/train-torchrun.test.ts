/**
 * train.launcher: torchrun — the distributed PyTorch example trained for real by two CPU processes
 * (gloo) under Debian's torchrun, through `cdl train`'s code; a failing rank fails the step by name;
 * processes per node from the visible GPUs (a stand-in nvidia-smi).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { torchrunLauncher } from '../src/config/schema/train.js';
import { train } from '../src/train/training.js';
import { torchrunPlan, visibleGpuCount } from '../src/train/torchrun.js';
import { TrainError } from '../src/util/errors.js';
import { captureLog, EXAMPLE_DIR, removeTempDirs, siblings, tempDir } from './helpers/example.js';
import { torchAvailable } from './helpers/torch.js';
import { writeFakeNvidiaSmi } from './helpers/fake-nvidia-smi.js';

afterAll(() => removeTempDirs());

const TORCHRUN = torchAvailable() && existsSync('/usr/bin/torchrun');
const DDP = path.join(EXAMPLE_DIR, 'pytorch', 'cdl.ddp.yaml');
const QUICK = [
  'train.command=/usr/bin/python3 train.py',
  'train.launcher.torchrun=/usr/bin/torchrun',
  'train.launcher.nproc_per_node=2',
  'train.epochs=2',
  'train.hyperparameters.max_train_examples=1000',
  'train.hyperparameters.max_test_examples=500',
];

describe('train.launcher: torchrun', () => {
  it('counts the visible GPUs: CUDA_VISIBLE_DEVICES first, else nvidia-smi, else none', () => {
    expect(visibleGpuCount({ CUDA_VISIBLE_DEVICES: '2,3' })).toBe(2);
    expect(visibleGpuCount({ CUDA_VISIBLE_DEVICES: '' })).toBe(0);
    expect(visibleGpuCount({ CUDA_VISIBLE_DEVICES: '-1' })).toBe(0);
    expect(visibleGpuCount({ CUDA_VISIBLE_DEVICES: '0,-1,1' })).toBe(1);
    const smi = writeFakeNvidiaSmi(tempDir('cdl-smi-'), Array(4).fill({ name: 'A100-SXM4-80GB', memory: 81920 }));
    expect(visibleGpuCount({ PATH: `${smi}:/usr/bin:/bin` })).toBe(4);
    expect(visibleGpuCount({ PATH: '/nonexistent' })).toBe(0);
    const auto = torchrunLauncher.parse({ type: 'torchrun' });
    expect(torchrunPlan(auto, 'python3 train.py', '/r', { PATH: `${smi}:/usr/bin:/bin` }).nproc).toBe(4);
    expect(torchrunPlan(auto, 'python3 train.py', '/r', { PATH: '/nonexistent' }).nproc).toBe(1);
    const plan = torchrunPlan(torchrunLauncher.parse({ type: 'torchrun', nproc_per_node: 3 }), "python3 'a b.py'", '/r');
    expect(plan.command).toMatch(/^torchrun --standalone --nnodes 1 --nproc_per_node 3 .*--no_python \/bin\/sh -c '/);
    expect(plan.env).toMatchObject({ CDL_TRAIN_COMMAND: "python3 'a b.py'", CDL_RANKS_DIR: '/r', CDL_NPROC_PER_NODE: '3' });
  });

  it('a launcher needs a train.command', async () => {
    const dir = tempDir('cdl-launcher-');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      path.join(dir, 'cdl.yaml'),
      'model: { name: m, layers: [{ type: dense, units: 2 }] }\ndata: { format: csv, path: d.csv }\ntrain: { launcher: torchrun }\n',
    );
    await expect(loadConfig(path.join(dir, 'cdl.yaml'))).rejects.toThrow(/train\.launcher: a launcher starts train\.command/);
  });

  it.skipIf(!TORCHRUN)('two CPU processes (gloo) train the distributed example and write one model directory', async () => {
    const loaded = await loadConfig(DDP, QUICK);
    expect(loaded.warnings).toEqual([]);
    const out = path.join(tempDir('cdl-ddp-'), 'ddp');
    const cap = captureLog();
    const r = await train({ loaded, overrides: QUICK, outDir: out, log: cap.log });
    expect(cap.lines).toContain('running train.command under torchrun, 2 processes: /usr/bin/python3 train.py');
    expect(cap.lines.some((l) => /device cpu; 900 train, 100 validation, 500 test examples; 2 processes/.test(l))).toBe(true);
    // One model directory, written by rank 0; nothing else left beside it.
    expect(readdirSync(out).sort()).toEqual([
      'SHA256SUMS',
      'history.json',
      'lineage.json',
      'metrics.json',
      'model-card.md',
      'model.onnx',
    ]);
    expect(siblings(out)).toEqual(['ddp']);
    expect(r.lineage.trainer).toEqual({
      kind: 'command',
      command: '/usr/bin/python3 train.py',
      launcher: { type: 'torchrun', nproc_per_node: 2 },
    });
    const training = r.metrics.training as { reported: { world_size: number }; ranks: Array<Record<string, unknown>> };
    expect(training.reported.world_size).toBe(2);
    // Every rank's exit status and its own figures: each trained half of each batch.
    expect(training.ranks).toEqual(
      [0, 1].map((rank) => ({
        rank,
        exit_code: 0,
        metrics: expect.objectContaining({ rank, world_size: 2, device: 'cpu', examples_trained: 900 }),
      })),
    );
    expect(r.metrics.splits.test!.examples).toBe(500);
    expect(r.metrics.main_metric_value).toBeGreaterThan(0.3);
  });

  it.skipIf(!TORCHRUN)('a rank that fails fails the step, naming the rank, and leaves no model directory', async () => {
    const command = 'if [ "$RANK" = 1 ]; then echo "rank one gives up" >&2; exit 3; fi; exit 0';
    const overrides = [
      `train.command=${command}`,
      'train.launcher.torchrun=/usr/bin/torchrun',
      'train.launcher.nproc_per_node=2',
    ];
    const loaded = await loadConfig(DDP, overrides);
    const out = path.join(tempDir('cdl-ddp-'), 'ddp');
    const cap = captureLog();
    const err = await train({ loaded, overrides, outDir: out, log: cap.log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainError);
    expect((err as Error).message).toMatch(/^train\.command ".*" under torchrun failed in rank 1: rank 1 exited with code 3$/);
    expect(cap.lines).toContain('  | rank one gives up');
    expect(existsSync(out)).toBe(false);
    expect(siblings(out)).toEqual([]);
  });

  it.skipIf(TORCHRUN)('skipped: /usr/bin/torchrun with torch and numpy is missing (Debian: apt install python3-torch)', () => {});
});
