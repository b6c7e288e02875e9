/** tune: the search space, the sampler and the early-stopping scheduler of `cdl tune` (cdl.yaml). */
import { z } from 'zod';
import { nonNegativeInt, positiveInt } from './primitives.js';

const finite = z.number().refine(Number.isFinite, { error: 'expected a finite number' });
const rangeCheck = (p: { low: number; high: number }) => p.low <= p.high;
const rangeMessage = (p: { low: number; high: number }) => `expected low <= high, got low ${p.low} above high ${p.high}`;

export const uniformParam = z
  .strictObject({ type: z.literal('uniform'), low: finite, high: finite })
  .refine(rangeCheck, { error: (i) => rangeMessage(i.input as { low: number; high: number }), path: ['low'] });
export const logUniformParam = z
  .strictObject({
    type: z.literal('loguniform'),
    low: finite.refine((v) => v > 0, { error: (i) => `expected a positive number on a log scale, got ${String(i.input)}` }),
    high: finite.refine((v) => v > 0, { error: (i) => `expected a positive number on a log scale, got ${String(i.input)}` }),
  })
  .refine(rangeCheck, { error: (i) => rangeMessage(i.input as { low: number; high: number }), path: ['low'] });
export const intParam = z
  .strictObject({
    type: z.literal('int'),
    low: z.number().int(),
    high: z.number().int(),
    step: positiveInt.default(1),
    log: z.boolean().default(false).describe('sample on a log scale (step must be 1)'),
  })
  .refine(rangeCheck, { error: (i) => rangeMessage(i.input as { low: number; high: number }), path: ['low'] })
  .refine((p) => !p.log || p.low > 0, { error: 'expected low > 0 on a log scale', path: ['low'] })
  .refine((p) => !p.log || p.step === 1, { error: 'expected step 1 on a log scale', path: ['step'] });
export const categoricalParam = z.strictObject({
  type: z.literal('categorical'),
  choices: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1),
});
export const searchParam = z.discriminatedUnion('type', [uniformParam, logUniformParam, intParam, categoricalParam]);

export const TUNE_METRICS = ['val_accuracy', 'val_loss', 'val_mae'] as const;

export const tuneSection = z.strictObject({
  space: z
    .record(z.string(), searchParam)
    .refine((s) => Object.keys(s).length > 0, { error: 'expected at least one hyperparameter' })
    .describe(
      'Hyperparameters to search: a short name (learning_rate, batch_size, optimizer, momentum, weight_decay, ...), a key of train.hyperparameters, or a --set path such as model.layers[1].units',
    ),
  metric: z
    .enum(TUNE_METRICS)
    .optional()
    .describe('Objective on the validation split; default val_accuracy (classification) or val_loss (regression)'),
  trials: positiveInt.default(20).describe('Number of configurations to try'),
  parallel: positiveInt.default(1).describe('Trials at a time in one job (separate processes)'),
  sampler: z
    .strictObject({
      type: z.enum(['random', 'grid', 'tpe']).default('tpe'),
      seed: nonNegativeInt.default(0),
      startup_trials: nonNegativeInt.default(10).describe('tpe: random trials before the Parzen estimators take over'),
      candidates: positiveInt.default(24).describe('tpe: candidates drawn from the good-trial density per suggestion'),
      prior_weight: z.number().positive().default(1).describe('tpe: weight of the prior (the uniform over the space)'),
      multivariate: z
        .boolean()
        .default(true)
        .describe('tpe: one joint density over all hyperparameters (captures interactions) instead of one per hyperparameter'),
      grid_points: positiveInt.default(3).describe('grid: values per continuous hyperparameter'),
    })
    .default({ type: 'tpe', seed: 0, startup_trials: 10, candidates: 24, prior_weight: 1, multivariate: true, grid_points: 3 }),
  scheduler: z
    .strictObject({
      type: z.enum(['none', 'asha', 'hyperband']).default('none'),
      reduction_factor: z.number().int().min(2).default(3),
      min_epochs: positiveInt.default(1).describe('Budget of the first rung'),
      max_epochs: positiveInt.optional().describe('Budget of the last rung; default train.epochs'),
      grace: nonNegativeInt
        .optional()
        .describe('asha/hyperband: results a rung needs before it promotes from it; default reduction_factor²'),
    })
    .refine((s) => s.max_epochs === undefined || s.min_epochs <= s.max_epochs, {
      error: 'expected min_epochs <= max_epochs',
      path: ['min_epochs'],
    })
    .default({ type: 'none', reduction_factor: 3, min_epochs: 1 }),
  final_model: z.boolean().default(false).describe('Train the final model with the best configuration'),
});

export type TuneSection = z.output<typeof tuneSection>;
export type SearchParam = z.output<typeof searchParam>;
