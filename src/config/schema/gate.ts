/** gate: the thresholds a candidate must pass against the baseline (cdl.yaml). */
import { z } from 'zod';
import { nonNegativeInt, positiveInt } from './primitives.js';

/** Metrics a gate can put thresholds on (the names in evaluation.json). */
export const GATE_METRICS = [
  'accuracy',
  'macro_f1',
  'log_loss',
  'ece',
  'top_3',
  'top_5',
  'mae',
  'rmse',
  'r2',
  'latency_p50_ms',
  'latency_p95_ms',
  'latency_p99_ms',
  'throughput',
  'size_bytes',
] as const;
export const SIGNIFICANCE_METHODS = ['bootstrap', 'mcnemar', 'none'] as const;

export const metricGate = z
  .strictObject({
    min: z.number().optional().describe('The candidate must reach at least this value'),
    max: z.number().optional().describe('The candidate must stay at or below this value'),
    direction: z
      .enum(['higher', 'lower'])
      .optional()
      .describe('Which way is better; known metrics have their own default (accuracy: higher, latency: lower)'),
    max_regression: z.number().min(0).optional().describe('How much worse than the baseline the candidate may be (0: no worse)'),
    min_improvement: z.number().optional().describe('How much better than the baseline the candidate must be'),
    relative: z
      .boolean()
      .default(false)
      .describe('max_regression and min_improvement are fractions of the baseline value (0.02 = 2%)'),
    significance: z
      .enum(SIGNIFICANCE_METHODS)
      .optional()
      .describe('Overrides gate.significance.method for this metric; mcnemar applies to accuracy only'),
  })
  .refine((g) => g.min === undefined || g.max === undefined || g.min <= g.max, {
    message: 'expected min <= max',
    path: ['max'],
  });

export const gateSection = z.strictObject({
  baseline: z
    .string()
    .default('production')
    .describe(
      'production (the version deployed to the production environment; before any deployment, the latest release), none, a model directory, a release tag, or artifact:<name>',
    ),
  metrics: z
    .partialRecord(z.enum(GATE_METRICS), metricGate)
    .default({})
    .describe(
      'Thresholds per metric; with none, the default gate: the main metric (accuracy, rmse) must not be significantly worse than the baseline',
    ),
  significance: z
    .strictObject({
      method: z
        .enum(SIGNIFICANCE_METHODS)
        .default('bootstrap')
        .describe('bootstrap: paired bootstrap confidence interval; mcnemar: exact test on per-example correctness'),
      confidence: z.number().gt(0.5).lt(1).default(0.95),
      resamples: positiveInt.default(1000).describe('bootstrap resamples'),
      seed: nonNegativeInt.default(0),
    })
    .default({ method: 'bootstrap', confidence: 0.95, resamples: 1000, seed: 0 })
    .describe('A change against the baseline counts only when it is more than noise'),
  benchmark: z
    .strictObject({
      latency_runs: nonNegativeInt.default(200).describe('batch-1 runs for the latency percentiles'),
      throughput_batches: nonNegativeInt.default(20).describe('batch-64 runs for the throughput'),
    })
    .default({ latency_runs: 200, throughput_batches: 20 }),
  fail_on_reject: z.boolean().default(true).describe('Fail the job (exit 1) when the candidate is rejected'),
});

export type GateSection = z.output<typeof gateSection>;
export type MetricGate = z.output<typeof metricGate>;
export type GateMetric = (typeof GATE_METRICS)[number];
