/** data: where the examples are, their format and split, and the checks of `cdl data validate` (cdl.yaml). */
import { z } from 'zod';
import { nonNegativeInt, positiveInt } from './primitives.js';

const idxSplit = z.strictObject({
  images: z.string().describe('IDX file of examples (gzipped or not), relative to data.path'),
  labels: z.string().describe('IDX file of labels, relative to data.path'),
});

const fraction01 = z.number().min(0).max(1);

/** data.checks: what `cdl data validate` reports as an error or a warning. */
export const dataChecks = z.strictObject({
  max_duplicate_fraction: fraction01
    .default(0.01)
    .describe('Identical examples within a split: above this fraction of the split an error, below it a warning'),
  max_leakage_fraction: fraction01
    .default(0)
    .describe(
      'Test examples identical to a training example: above this fraction of the test split an error, below it a warning',
    ),
  min_class_fraction: fraction01
    .default(0.01)
    .describe(
      'A class with a smaller share of a split is reported as imbalanced (a warning; an error when the class has no example)',
    ),
  value_range: z
    .tuple([z.number(), z.number()])
    .refine(([a, b]) => a <= b, { error: 'expected [low, high] with low <= high' })
    .optional()
    .describe('[low, high] every input value must lie in, after data.scale (e.g. [0, 1] for images)'),
  fail_on: z
    .enum(['error', 'warning', 'never'])
    .default('error')
    .describe('Fail the step on errors (default), on warnings too, or never'),
});

export const dataSection = z.strictObject({
  format: z.enum(['idx', 'csv', 'image-folder']),
  path: z.string().describe('Directory or http(s) URL holding the data; relative paths are resolved against cdl.yaml'),
  train: z
    .union([idxSplit, z.string()])
    .optional()
    .describe('idx: {images, labels}; csv: a file; image-folder: a folder with one subfolder per class'),
  test: z.union([idxSplit, z.string()]).optional(),
  label_column: z.string().default('label').describe('csv: the column holding the label'),
  classes: z.array(z.string()).min(2).optional().describe('Class names in label order'),
  image_size: z.tuple([positiveInt, positiveInt]).optional().describe('image-folder: [height, width] every image must have'),
  channels: z
    .union([z.literal(1), z.literal(3)])
    .default(1)
    .describe('image-folder: 1 (grey) or 3 (RGB)'),
  scale: z
    .number()
    .positive()
    .optional()
    .describe('Inputs are divided by this; default 255 for idx and image-folder (bytes to [0, 1]), 1 for csv'),
  limit: z
    .strictObject({ train: positiveInt.optional(), test: positiveInt.optional() })
    .optional()
    .describe('Use only the first N examples of a split (quick runs)'),
  validation: z
    .strictObject({
      fraction: z.number().min(0).lt(1).default(0.1),
      seed: nonNegativeInt.default(42),
    })
    .default({ fraction: 0.1, seed: 42 })
    .describe('Stratified validation split taken from the training data, fixed by the seed'),
  checks: dataChecks
    .default(dataChecks.parse({}))
    .describe('Thresholds of cdl data validate (the data action): what is an error, what a warning'),
});

export type DataSection = z.output<typeof dataSection>;
export type DataChecks = z.output<typeof dataChecks>;

/** The divisor applied to inputs: data.scale, else 255 for byte formats and 1 for csv. */
export function inputScale(data: Pick<DataSection, 'scale' | 'format'>): number {
  return data.scale ?? (data.format === 'csv' ? 1 : 255);
}
