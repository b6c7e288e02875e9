/**
 * Simulated production traffic for measuring the drift detector: clean traffic (examples drawn
 * from data the model was not evaluated on), a brightness shift, and a class imbalance in the
 * requests. Each batch goes through the model (onnxruntime) and the server's recorder
 * (src/serve/input-stats.ts), then through compareDrift — the path production statistics take.
 */
import path from 'node:path';
import { mulberry32 } from '../data/prng.js';
import type { Split } from '../data/split.js';
import type { ReferenceStats } from '../data/stats.js';
import { MODEL_FILES } from '../model-dir/files.js';
import { loadOrt } from '../runtime/onnxruntime.js';
import { InputStatsRecorder } from '../serve/input-stats.js';
import { compareDrift, type DriftReport, type DriftThresholds } from './drift.js';

export type Scenario =
  { kind: 'clean' } | { kind: 'brightness'; delta: number } | { kind: 'imbalance'; class: number; share: number };

export function scenarioName(s: Scenario): string {
  if (s.kind === 'clean') return 'clean';
  if (s.kind === 'brightness') return `brightness ${s.delta >= 0 ? '+' : ''}${s.delta}`;
  return `imbalance: ${Math.round(100 * s.share)}% class ${s.class}`;
}

/** `count` example rows of `pool` for a scenario and seed (inputs as the model takes them). */
export function sampleTraffic(pool: Split, rowSize: number, scenario: Scenario, count: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const x = new Float32Array(count * rowSize);
  let ofClass: number[] = [];
  if (scenario.kind === 'imbalance') for (let i = 0; i < pool.n; i++) if (pool.y[i] === scenario.class) ofClass.push(i);
  if (!ofClass.length) ofClass = [];
  for (let j = 0; j < count; j++) {
    const i =
      scenario.kind === 'imbalance' && ofClass.length && rand() < scenario.share
        ? ofClass[Math.floor(rand() * ofClass.length)]!
        : Math.floor(rand() * pool.n);
    const row = pool.x.subarray(i * rowSize, (i + 1) * rowSize);
    if (scenario.kind === 'brightness')
      for (let k = 0; k < rowSize; k++) x[j * rowSize + k] = Math.min(1, Math.max(0, row[k]! + scenario.delta));
    else x.set(row, j * rowSize);
  }
  return x;
}

export interface ScenarioResult {
  scenario: string;
  examples: number;
  seeds: number;
  /** Runs whose status was warn or alert. */
  flagged: number;
  alerts: number;
  warnings: number;
  prediction_psi: { mean: number; max: number };
  input_max_psi: { mean: number; max: number };
  input_min_p: { min: number; median: number };
}

export interface SimulationOptions {
  modelDir: string;
  reference: ReferenceStats;
  /** Examples the traffic is drawn from (not the reference's test split). */
  pool: Split;
  shape: number[];
  scenarios: Scenario[];
  seeds: number[];
  examples: number;
  thresholds: DriftThresholds;
  /** Called with every report. */
  onReport?: (scenario: string, seed: number, r: DriftReport) => void;
}

const stat = (v: number[]) => ({ mean: v.reduce((a, b) => a + b, 0) / v.length, max: Math.max(...v) });

export async function simulateDrift(o: SimulationOptions): Promise<ScenarioResult[]> {
  const { ort } = await loadOrt();
  const session = await ort.InferenceSession.create(path.join(o.modelDir, MODEL_FILES.onnx));
  const rowSize = o.shape.reduce((a, b) => a * b, 1);
  const results: ScenarioResult[] = [];
  try {
    for (const scenario of o.scenarios) {
      const name = scenarioName(scenario);
      const reports: DriftReport[] = [];
      for (const seed of o.seeds) {
        const x = sampleTraffic(o.pool, rowSize, scenario, o.examples, seed);
        const recorder = new InputStatsRecorder(o.reference, o.reference.model, '1');
        // Batches of 100 requests' worth, as a server would see them.
        for (let from = 0; from < o.examples; from += 100) {
          const n = Math.min(100, o.examples - from);
          const xb = x.subarray(from * rowSize, (from + n) * rowSize);
          const res = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', xb, [n, ...o.shape]) });
          recorder.record(xb, n, res[session.outputNames[0]!]!.data as Float32Array);
        }
        const r = compareDrift(o.reference, recorder.snapshot(), o.thresholds);
        o.onReport?.(name, seed, r);
        reports.push(r);
      }
      const ps = reports.map((r) => r.predictions?.psi ?? NaN);
      const ip = reports.map((r) => r.inputs?.max_psi ?? NaN);
      const mp = reports.map((r) => r.inputs?.min_p_value ?? NaN).sort((a, b) => a - b);
      results.push({
        scenario: name,
        examples: o.examples,
        seeds: o.seeds.length,
        flagged: reports.filter((r) => r.status === 'warn' || r.status === 'alert').length,
        alerts: reports.filter((r) => r.status === 'alert').length,
        warnings: reports.filter((r) => r.status === 'warn').length,
        prediction_psi: stat(ps),
        input_max_psi: stat(ip),
        input_min_p: { min: mp[0]!, median: mp[Math.floor(mp.length / 2)]! },
      });
    }
  } finally {
    await session.release?.();
  }
  return results;
}

export function simulationMarkdown(results: ScenarioResult[]): string {
  const lines = [
    '| traffic | examples | runs | flagged (warn or alert) | alerts | prediction PSI mean / max | input max PSI mean / max | input min KS p (min / median) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const f = (v: number) => v.toFixed(3);
  const p = (v: number) => (v < 1e-4 ? v.toExponential(1) : v.toFixed(4));
  for (const r of results) {
    lines.push(
      `| ${r.scenario} | ${r.examples} | ${r.seeds} | ${r.flagged} (${((100 * r.flagged) / r.seeds).toFixed(0)}%) | ${r.alerts} | ${f(r.prediction_psi.mean)} / ${f(r.prediction_psi.max)} | ${f(r.input_max_psi.mean)} / ${f(r.input_max_psi.max)} | ${p(r.input_min_p.min)} / ${p(r.input_min_p.median)} |`,
    );
  }
  return lines.join('\n');
}
