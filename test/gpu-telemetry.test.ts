/**
 * GPU telemetry while training, from a stand-in nvidia-smi run as one sampling child process:
 * the summary (peak memory, mean utilisation, GPU-hours, energy), only the GPUs of
 * CUDA_VISIBLE_DEVICES, null without a GPU or without power readings, and the fields in lineage,
 * metrics and the model card.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { writeTrainSummary } from '../src/github/summary.js';
import { startGpuTelemetry, summarise } from '../src/train/gpu-telemetry.js';
import { train } from '../src/train/training.js';
import { removeTempDirs, tempDir } from './helpers/example.js';
import { writeFakeNvidiaSmi, type FakeGpu } from './helpers/fake-nvidia-smi.js';

afterAll(() => removeTempDirs());

const TWO: FakeGpu[] = [
  { name: 'A100-SXM4-80GB', memory: 81920, utilization: 50, memoryUsed: 1000, power: 100 },
  { name: 'A100-SXM4-80GB', memory: 81920, utilization: 70, memoryUsed: 3000, power: 200 },
];

/** Sample until the stand-in has answered at least `n` times (no wall-clock assumption). */
async function sampleUntil(env: NodeJS.ProcessEnv, lines: number) {
  const s = startGpuTelemetry({ intervalMs: 20, env });
  // The stand-in writes a marker per sample; wait for enough of them.
  const marker = path.join(env.FAKE_SMI_DIR!, 'count');
  for (;;) {
    await new Promise((r) => setTimeout(r, 20));
    let n = 0;
    try {
      n = readFileSync(marker, 'utf8').length;
    } catch {
      /* not yet */
    }
    if (n >= lines) break;
  }
  return s.stop();
}

function fakeEnv(gpus: FakeGpu[], extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const dir = writeFakeNvidiaSmi(tempDir('cdl-smi-'), gpus);
  // Count the samples the stand-in printed, one character each, beside it.
  const file = path.join(dir, 'nvidia-smi');
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace(
      'const print = () => {',
      `const print = () => { require('node:fs').appendFileSync(${JSON.stringify(path.join(dir, 'count'))}, '.');`,
    ),
  );
  return { PATH: `${dir}:/usr/bin:/bin`, FAKE_SMI_DIR: dir, ...extra };
}

describe('GPU telemetry', () => {
  it('summarises peak memory, mean utilisation, GPU-hours and energy of every visible GPU', async () => {
    const t = await sampleUntil(fakeEnv(TWO), 3);
    expect(t).toMatchObject({ gpus: 2, names: ['NVIDIA A100-SXM4-80GB', 'NVIDIA A100-SXM4-80GB'], interval_ms: 20 });
    expect(t!.samples).toBeGreaterThanOrEqual(4);
    expect(t!.peak_memory_mib).toBe(3000);
    expect(t!.mean_utilization_percent).toBe(60);
    expect(t!.gpu_hours).toBeCloseTo((2 * t!.seconds) / 3600, 10);
    // 300 W in all, for at most the sampled time.
    expect(t!.energy_wh).toBeGreaterThan(0);
    expect(t!.energy_wh!).toBeLessThanOrEqual((300 * t!.seconds) / 3600 + 1e-9);
  });

  it('samples only the GPUs of CUDA_VISIBLE_DEVICES, and none when it hides them all', async () => {
    const t = await sampleUntil(fakeEnv(TWO, { CUDA_VISIBLE_DEVICES: '1' }), 2);
    expect(t).toMatchObject({ gpus: 1, peak_memory_mib: 3000, mean_utilization_percent: 70 });
    expect(await startGpuTelemetry({ env: fakeEnv(TWO, { CUDA_VISIBLE_DEVICES: '-1' }) }).stop()).toBeNull();
  });

  it('a run that ends before nvidia-smi printed its first sample still gets that sample', async () => {
    const t = await startGpuTelemetry({ intervalMs: 60_000, env: fakeEnv(TWO) }).stop();
    expect(t).toMatchObject({ gpus: 2, samples: 2, peak_memory_mib: 3000 });
  });

  it('is null without a GPU, and energy is null when the driver reports no power', async () => {
    expect(await startGpuTelemetry({ env: { PATH: '/nonexistent' } }).stop()).toBeNull();
    const noPower = await sampleUntil(fakeEnv([{ ...TWO[0]!, power: null }]), 2);
    expect(noPower).toMatchObject({ gpus: 1, peak_memory_mib: 1000, energy_wh: null });
  });

  it('integrates power over time, each sample until the next', () => {
    const s = (t: number, power: number | null) => ({ t, gpu: '0', name: 'G', util: 10, mem: 5, power });
    const t = summarise([s(0, 100), s(1800_000, 300)], 0, 3600_000, 1000);
    expect(t).toMatchObject({ gpus: 1, samples: 2, seconds: 3600, gpu_hours: 1, energy_wh: 200, peak_memory_mib: 5 });
    expect(summarise([], 0, 1000, 1000)).toBeNull();
  });

  describe('in the model directory', () => {
    const saved = process.env.PATH;
    afterEach(() => {
      process.env.PATH = saved;
      delete process.env.FAKE_SMI_DIR;
    });
    const project = () => {
      const dir = tempDir('cdl-telemetry-');
      writeFileSync(
        path.join(dir, 'cdl.yaml'),
        [
          'model: { name: m, task: classification }',
          'data: { format: csv, path: d.csv }',
          'train:',
          `  command: "printf onnx > \\"$CDL_OUTPUT_DIR/model.onnx\\"; echo '{\\"accuracy\\": 0.5}' > \\"$CDL_OUTPUT_DIR/metrics.json\\"; while [ -n \\"$FAKE_SMI_DIR\\" ] && [ ! -s \\"$FAKE_SMI_DIR/count\\" ]; do sleep 0.05; done"`,
          '',
        ].join('\n'),
      );
      return path.join(dir, 'cdl.yaml');
    };

    it('lineage, metrics and the model card carry the telemetry of a GPU run', async () => {
      const env = fakeEnv(TWO);
      process.env.PATH = `${env.PATH}:${saved}`;
      // The command ends once the stand-in answered at least once.
      process.env.FAKE_SMI_DIR = env.FAKE_SMI_DIR;
      const loaded = await loadConfig(project());
      const r = await train({ loaded, outDir: path.join(tempDir('cdl-out-'), 'm'), log: () => {} });
      const t = r.lineage.hardware.gpu_telemetry as { gpus: number; peak_memory_mib: number };
      expect(t).toMatchObject({ gpus: 2, peak_memory_mib: 3000 });
      expect(r.metrics.training!.gpu_telemetry).toEqual(t);
      const line =
        /^- GPU telemetry: 2 × NVIDIA A100-SXM4-80GB, \d+ samples: peak memory 3000 MiB, mean utilisation 60\.0 %, [\d.]+ GPU-hours, energy [\d.]+ Wh$/m;
      expect(readFileSync(path.join(r.outDir, 'model-card.md'), 'utf8')).toMatch(line);
      // The train action's job summary says the same.
      const summary = path.join(tempDir('cdl-summary-'), 'summary.md');
      writeFileSync(summary, '');
      process.env.GITHUB_STEP_SUMMARY = summary;
      try {
        await writeTrainSummary(r.metrics, { gpuTelemetry: r.lineage.hardware.gpu_telemetry });
      } finally {
        delete process.env.GITHUB_STEP_SUMMARY;
      }
      expect(readFileSync(summary, 'utf8')).toMatch(line);
    });

    it('and null without a GPU, never invented', async () => {
      process.env.PATH = `/usr/bin:/bin`;
      const loaded = await loadConfig(project());
      const r = await train({ loaded, outDir: path.join(tempDir('cdl-out-'), 'm'), log: () => {} });
      expect(r.lineage.hardware.gpu_telemetry).toBeNull();
      expect(r.metrics.training!.gpu_telemetry).toBeNull();
      expect(readFileSync(path.join(r.outDir, 'model-card.md'), 'utf8')).toContain(
        '- GPU telemetry: none (no GPU was visible while training)',
      );
    });
  });
});
