/**
 * The speed a compressed variant is judged on: the parent and the variant run alternately in
 * rounds on the same examples, and the median of the per-round ratios is kept, so that load from
 * other processes hits both alike (sequential measurements drift with it). The ratio is the
 * parent's time over the variant's: above 1 the variant is faster.
 */
import type { Ort } from '../runtime/onnxruntime.js';
import { examplesFor } from './data.js';

export type CompressObjective = 'latency' | 'throughput' | 'size';

export interface ObjectiveMeasurement {
  /** Parent ÷ variant for latency and throughput (time), parent size ÷ variant size for size: above 1 is better. */
  ratio: number;
  /** How the figure was obtained, for the record. */
  how: string;
  /** Per-round ratios (interleaved measurements), sorted. */
  rounds?: number[];
}

export interface MeasureRequest {
  objective: CompressObjective;
  method: string;
  parent: Uint8Array;
  candidate: Uint8Array;
}

/** Measures a variant against the parent on the objective; injectable so tests can use recorded figures. */
export type MeasureObjective = (req: MeasureRequest) => Promise<ObjectiveMeasurement>;

/** The objective test of one variant that passed the accuracy guard. */
export interface ObjectiveResult {
  name: CompressObjective;
  /** Parent ÷ variant (time or bytes): above 1 the variant is better. */
  ratio: number;
  min_gain: number;
  passed: boolean;
  how: string;
  rounds?: number[];
}

const fmtGain = (g: number): string => `${+(g * 100).toFixed(2)}%`;

/** Why a variant within the guard was kept or refused on the objective, in words. */
export function objectiveReason(o: ObjectiveResult): string {
  const what = o.name === 'size' ? 'size' : o.name === 'latency' ? 'batch-1 latency' : 'batch-64 throughput';
  const better = o.name === 'size' ? 'smaller' : 'faster';
  const worse = o.name === 'size' ? 'larger' : 'slower';
  const rel = o.ratio >= 1 ? `×${o.ratio.toFixed(2)} ${better}` : `×${(1 / o.ratio).toFixed(2)} ${worse}`;
  return o.passed
    ? `${what} ${rel} than the parent, at least ${fmtGain(o.min_gain)} better (${o.how})`
    : `refused: ${what} ${rel} than the parent, needs ${fmtGain(o.min_gain)} better (${o.how})`;
}

export interface InterleavedOptions {
  ort: Ort;
  /** Examples in the dataset layout (HWC for images) and its shape. */
  x: Float32Array;
  available: number;
  dataShape: number[];
  rounds: number;
}

function median(sorted: number[]): number {
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
}

/** The measurement cdl uses: interleaved onnxruntime runs at batch 1 (latency) or 64 (throughput); bytes for size. */
export function interleavedMeasure(o: InterleavedOptions): MeasureObjective {
  return async ({ objective, parent, candidate }) => {
    if (objective === 'size') {
      return { ratio: parent.length / candidate.length, how: `model.onnx ${parent.length} ÷ ${candidate.length} bytes` };
    }
    const batch = Math.max(1, Math.min(objective === 'latency' ? 1 : 64, o.available));
    // Enough runs per round that a round lasts well above the timer's resolution.
    const runs = objective === 'latency' ? 100 : 10;
    const models = [parent, candidate];
    const sessions = await Promise.all(models.map((b) => o.ort.InferenceSession.create(b, { graphOptimizationLevel: 'all' })));
    try {
      const feeds = sessions.map((s, i) => {
        const ex = examplesFor(models[i]!, o.x, batch, o.dataShape);
        return { [s.inputNames[0]!]: new o.ort.Tensor('float32', ex.x, [batch, ...ex.shape]) };
      });
      for (let i = 0; i < 2; i++) for (let k = 0; k < 3; k++) await sessions[i]!.run(feeds[i]!);
      const ratios: number[] = [];
      for (let round = 0; round < o.rounds; round++) {
        const ms: number[] = [];
        // Alternate which model goes first, so neither always runs on a warm cache.
        const order = round % 2 ? [1, 0] : [0, 1];
        for (const i of order) {
          const t = performance.now();
          for (let k = 0; k < runs; k++) await sessions[i]!.run(feeds[i]!);
          ms[i] = performance.now() - t;
        }
        ratios.push(ms[0]! / Math.max(ms[1]!, 1e-6));
      }
      ratios.sort((a, b) => a - b);
      return {
        ratio: median(ratios),
        rounds: ratios,
        how: `median of ${o.rounds} interleaved rounds of ${runs} runs at batch ${batch}`,
      };
    } finally {
      for (const s of sessions) await s.release();
    }
  };
}
