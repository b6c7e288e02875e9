/** model: the network cdl trains, as layers or a module (cdl.yaml). */
import { z } from 'zod';
import { positiveInt } from './primitives.js';

const pair = z.union([positiveInt, z.tuple([positiveInt, positiveInt])]);

export const ACTIVATIONS = ['linear', 'relu', 'relu6', 'sigmoid', 'tanh', 'softmax', 'elu', 'softplus'] as const;
export const activation = z.enum(ACTIVATIONS);

export const denseLayer = z.strictObject({
  type: z.literal('dense'),
  units: positiveInt,
  activation: activation.optional(),
  use_bias: z.boolean().default(true),
});
export const conv2dLayer = z.strictObject({
  type: z.literal('conv2d'),
  filters: positiveInt,
  kernel_size: pair,
  strides: pair.default(1),
  padding: z.enum(['valid', 'same']).default('valid'),
  activation: activation.optional(),
  use_bias: z.boolean().default(true),
});
const poolFields = {
  pool_size: pair.default(2),
  strides: pair.optional(),
  padding: z.enum(['valid', 'same']).default('valid'),
};
export const maxpoolLayer = z.strictObject({ type: z.literal('maxpool'), ...poolFields });
export const avgpoolLayer = z.strictObject({ type: z.literal('avgpool'), ...poolFields });
export const flattenLayer = z.strictObject({ type: z.literal('flatten') });
/** The mean of each channel over height and width: [h, w, c] -> [c]. */
export const globalavgpoolLayer = z.strictObject({ type: z.literal('globalavgpool') });
export const dropoutLayer = z.strictObject({
  type: z.literal('dropout'),
  rate: z.number().min(0).lt(1),
});
export const batchnormLayer = z.strictObject({
  type: z.literal('batchnorm'),
  momentum: z.number().gt(0).lt(1).default(0.99),
  epsilon: z.number().positive().default(1e-3),
});
export const activationLayer = z.strictObject({
  type: z.literal('activation'),
  activation,
});

export const LAYER_TYPES = [
  'dense',
  'conv2d',
  'maxpool',
  'avgpool',
  'globalavgpool',
  'flatten',
  'dropout',
  'batchnorm',
  'activation',
] as const;

export const layerSpec = z.discriminatedUnion('type', [
  denseLayer,
  conv2dLayer,
  maxpoolLayer,
  avgpoolLayer,
  globalavgpoolLayer,
  flattenLayer,
  dropoutLayer,
  batchnormLayer,
  activationLayer,
]);

export const modelSection = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-"')
    .describe('Model name, used in artifact and release names'),
  task: z.enum(['classification', 'regression']).default('classification'),
  input_shape: z
    .array(positiveInt)
    .min(1)
    .max(3)
    .optional()
    .describe('Shape of one example, without the batch axis, e.g. [28, 28, 1]; read from the data when absent'),
  layers: z.array(layerSpec).min(1).optional().describe('Declarative model; the last layer produces the outputs'),
  module: z
    .string()
    .optional()
    .describe(
      'A JavaScript module (relative to cdl.yaml) whose default export builds the model: (hyperparameters, tf, info) => tf.LayersModel',
    ),
});

export type ModelSection = z.output<typeof modelSection>;
export type LayerSpec = z.output<typeof layerSpec>;
export type Activation = (typeof ACTIVATIONS)[number];
