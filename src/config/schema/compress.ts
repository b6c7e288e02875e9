/** compress: the methods `cdl compress` tries and the accuracy it may lose (cdl.yaml). */
import { z } from 'zod';
import { layerSpec } from './model.js';
import { nonNegativeInt, positiveInt } from './primitives.js';

export const COMPRESS_METHODS = ['int8-dynamic', 'int8-static', 'fp16', 'prune', 'distill'] as const;

export const compressSection = z.strictObject({
  methods: z
    .array(z.enum(COMPRESS_METHODS))
    .min(1)
    .default(['int8-static'])
    .describe('Methods to try, each on the parent model; the guard keeps those within max_accuracy_drop'),
  max_accuracy_drop: z
    .number()
    .min(0)
    .default(1)
    .describe(
      'Largest accepted drop of test accuracy against the parent, in percentage points (0.5: 91.0% → 90.5%); regression: largest RMSE increase in percent',
    ),
  objective: z
    .enum(['latency', 'throughput', 'size'])
    .default('latency')
    .describe(
      'What a variant must improve on the machine that runs the step: batch-1 latency, batch-64 throughput, or file size; a variant is kept only when it beats the parent on it by min_gain',
    ),
  min_gain: z
    .number()
    .min(0)
    .default(0.05)
    .describe('Smallest improvement over the parent on the objective (0.05: 5% faster or smaller), measured interleaved'),
  select: z
    .enum(['smallest', 'fastest', 'accurate'])
    .optional()
    .describe(
      'Which qualifying model becomes the output: the smallest file, the highest batch-64 throughput, or the most accurate; unset: the largest gain on the objective',
    ),
  benchmark: z
    .strictObject({
      latency_runs: nonNegativeInt.default(100).describe('batch-1 runs for the latency percentiles'),
      throughput_batches: nonNegativeInt.default(20).describe('batch-64 runs for the throughput'),
      rounds: positiveInt
        .default(15)
        .describe('Interleaved rounds (parent and variant alternately) the objective is measured in; the median counts'),
    })
    .default({ latency_runs: 100, throughput_batches: 20, rounds: 15 }),
  int8: z
    .strictObject({
      calibration: z
        .strictObject({
          samples: positiveInt.default(500).describe('int8-static: training examples the activation ranges are measured on'),
          method: z.enum(['minmax', 'percentile', 'entropy']).default('minmax'),
          percentile: z.number().gt(50).max(100).default(99.999).describe('percentile: the upper percentile kept'),
        })
        .default({ samples: 500, method: 'minmax', percentile: 99.999 }),
      reduce_range: z.boolean().default(false).describe('7-bit weights, for CPUs without VNNI'),
      dynamic_conv: z
        .enum(['weights', 'integer'])
        .default('weights')
        .describe('int8-dynamic Conv: int8 weights with float compute (fast in onnxruntime), or ConvInteger'),
      exclude: z.array(z.string()).default([]).describe('Node names left in float'),
    })
    .default({
      calibration: { samples: 500, method: 'minmax', percentile: 99.999 },
      reduce_range: false,
      dynamic_conv: 'weights',
      exclude: [],
    }),
  fp16: z
    .strictObject({ keep_io_types: z.boolean().default(true).describe('Keep float32 inputs and outputs') })
    .default({ keep_io_types: true }),
  prune: z
    .strictObject({
      sparsity: z.number().min(0).lt(1).default(0.8).describe('Fraction of Conv/Dense weights set to zero'),
      scope: z
        .enum(['global', 'layer'])
        .default('global')
        .describe('One magnitude threshold for all layers, or the same sparsity in each'),
      fine_tune_epochs: nonNegativeInt.default(2).describe('Epochs of fine-tuning with the masks kept (needs the tfjs/ model)'),
      learning_rate: z.number().positive().default(0.0005),
    })
    .default({ sparsity: 0.8, scope: 'global', fine_tune_epochs: 2, learning_rate: 0.0005 }),
  distill: z
    .strictObject({
      layers: z.array(layerSpec).min(1).optional().describe('The student model; required by the distill method'),
      temperature: z.number().positive().default(4),
      alpha: z.number().min(0).max(1).default(0.7).describe('Weight of the soft-target loss; 1 - alpha goes to the labels'),
      epochs: positiveInt.default(5),
      batch_size: positiveInt.default(128),
      learning_rate: z.number().positive().default(0.001),
    })
    .default({ temperature: 4, alpha: 0.7, epochs: 5, batch_size: 128, learning_rate: 0.001 }),
});

export type CompressSection = z.output<typeof compressSection>;
export type CompressMethod = (typeof COMPRESS_METHODS)[number];
