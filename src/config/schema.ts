/**
 * The one schema of cdl.yaml. Types, validation and the editor JSON Schema all come from here.
 * Keys are snake_case as users write them in YAML.
 */
import { z } from 'zod';
import { DEFAULT_TAG_TEMPLATE } from '../forge/tags.js';

const posIntMsg = { error: 'expected a positive integer' };
const nonNegIntMsg = { error: 'expected an integer >= 0' };
const positiveInt = z.number(posIntMsg).int(posIntMsg).positive(posIntMsg);
const nonNegativeInt = z.number(nonNegIntMsg).int(nonNegIntMsg).nonnegative(nonNegIntMsg);
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

export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;

export const optimizerSection = z.strictObject({
  name: z.enum(['sgd', 'momentum', 'adam', 'adamw']).default('adam'),
  learning_rate: z.number().positive().default(0.001),
  momentum: z.number().min(0).lt(1).default(0.9).describe('momentum: the momentum coefficient'),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
  epsilon: z.number().positive().default(1e-7),
  weight_decay: z
    .number()
    .min(0)
    .optional()
    .describe(
      'Decoupled weight decay of the kernels (w -= learning_rate * weight_decay * w after each step; for sgd the same as L2) for every optimizer; default 0.01 for adamw, 0 for the others',
    ),
});

export const scheduleSection = z.strictObject({
  type: z.enum(['constant', 'step', 'exponential', 'cosine']).default('constant'),
  step_epochs: positiveInt.default(10).describe('step: epochs between decays'),
  gamma: z.number().positive().max(1).default(0.1).describe('step/exponential: decay factor'),
  min_learning_rate: z.number().min(0).default(0).describe('cosine: final learning rate'),
  warmup_epochs: nonNegativeInt.default(0),
});

export const earlyStoppingSection = z.strictObject({
  metric: z.enum(['val_loss', 'val_accuracy', 'val_mae']).default('val_loss'),
  patience: positiveInt.default(3),
  min_delta: z.number().min(0).default(0),
  restore_best: z.boolean().default(true),
});

export const augmentSection = z.strictObject({
  shift: nonNegativeInt.default(0).describe('Random shifts of up to this many pixels each way (zero padding, then a crop)'),
  flip: z.boolean().default(false).describe('Mirror half of the images left to right'),
  rotate: z.number().min(0).max(180).default(0).describe('Random rotations of up to this many degrees each way'),
  erase: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe('Probability of erasing (zeroing) a random rectangle of 2-25% of the image'),
});

export const torchrunLauncher = z.strictObject({
  type: z.literal('torchrun'),
  nproc_per_node: z
    .union([z.literal('auto'), positiveInt])
    .default('auto')
    .describe('Processes on this machine: auto = one per visible GPU (CUDA_VISIBLE_DEVICES, else nvidia-smi), 1 without a GPU'),
  torchrun: z
    .string()
    .min(1)
    .default('torchrun')
    .describe('How to start torchrun, e.g. "/usr/bin/python3 -m torch.distributed.run"'),
});

export const kubernetesLauncher = z.strictObject({
  type: z.literal('kubernetes'),
  image: z.string().min(1).describe('Container image with the training code, torch and python3'),
  namespace: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { error: 'expected a Kubernetes namespace name' })
    .default('default'),
  context: z.string().optional().describe('kubectl context; default the current one'),
  nodes: positiveInt.default(2).describe('Pods: one master and nodes - 1 workers'),
  nproc_per_node: positiveInt.default(1).describe('Processes (and GPUs) per pod'),
  gpus_per_node: nonNegativeInt.optional().describe('nvidia.com/gpu per pod; default nproc_per_node'),
  storage: z
    .strictObject({
      claim: z.string().min(1).describe('A ReadWriteMany PersistentVolumeClaim every pod mounts'),
      mount_path: z
        .string()
        .regex(/^\/[^\0]*$/, { error: 'expected an absolute path' })
        .default('/cdl'),
      local_path: z
        .string()
        .optional()
        .describe('Where the same volume is mounted on the machine running cdl, to collect the model directory'),
    })
    .describe('Shared storage: rank 0 writes the model directory there'),
  timeout_minutes: positiveInt.default(240),
});

export const launcherSection = z
  .union([z.literal('torchrun'), torchrunLauncher, kubernetesLauncher])
  .describe('How train.command is started: torchrun (several processes on this machine) or a Kubeflow PyTorchJob');

export const trainSection = z.strictObject({
  backend: z.enum(BACKENDS).default('auto'),
  kernels: z
    .enum(['auto', 'fast', 'reference'])
    .default('auto')
    .describe('wasm backend: cdl fast kernels (auto/fast) or the stock ones (reference)'),
  epochs: positiveInt.default(10),
  batch_size: positiveInt.default(128),
  optimizer: optimizerSection.default(optimizerSection.parse({})),
  schedule: scheduleSection.default(scheduleSection.parse({})),
  early_stopping: earlyStoppingSection.optional(),
  seed: nonNegativeInt.default(42),
  deterministic: z
    .boolean()
    .default(true)
    .describe(
      'The same configuration, data, seed and machine give the same weights bit for bit (fixed kernel choices, seeded dropout); false lets the wasm kernel layer pick the fastest kernels by timing',
    ),
  augment: augmentSection
    .optional()
    .describe('Image data augmentation of the training batches ([height, width, channels] data), seeded by train.seed'),
  label_smoothing: z
    .number()
    .min(0)
    .lt(1)
    .default(0)
    .describe('classification: train on (1 - e) * one-hot + e / classes instead of one-hot labels'),
  hyperparameters: z
    .record(z.string(), z.unknown())
    .default({})
    .describe('Free-form values handed to a model module or a training command'),
  command: z
    .string()
    .optional()
    .describe('Bring your own trainer: a shell command that writes model.onnx and metrics.json into $CDL_OUTPUT_DIR'),
  timeout_minutes: positiveInt.optional(),
  launcher: launcherSection.optional(),
});

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

/** monitor: production traffic against the model's reference statistics (cdl monitor, the monitor action). */
export const monitorSection = z.strictObject({
  source: z
    .string()
    .optional()
    .describe(
      'Where the production statistics come from: the model server URL (http://host:8000) or a stats JSON file; the --source option overrides it',
    ),
  version: z.string().optional().describe('The served version to watch (default: the newest the server reports)'),
  psi: z
    .strictObject({
      warn: z
        .number()
        .positive()
        .default(0.1)
        .describe('Population stability index from which a distribution is reported as shifting'),
      alert: z.number().positive().default(0.25).describe('PSI from which it is drift'),
    })
    .refine((p) => p.warn <= p.alert, { error: 'expected warn <= alert', path: ['warn'] })
    .default({ warn: 0.1, alert: 0.25 }),
  ks_p_value: z
    .number()
    .gt(0)
    .lt(1)
    .default(0.01)
    .describe(
      'Inputs: a summary past psi.warn is drift when its Kolmogorov–Smirnov p-value is below this (Bonferroni-corrected over the summaries)',
    ),
  min_samples: positiveInt.default(200).describe('Fewer production examples than this: no verdict, only a note'),
  issue: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Open or update one issue with the findings when there is drift'),
      title: z.string().optional().describe('Default: "Drift detected: <model>"'),
      labels: z.array(z.string()).default(['cdl-monitor']),
    })
    .default({ enabled: true, labels: ['cdl-monitor'] }),
  retrain: z
    .strictObject({
      workflow: z.string().describe('Workflow file name or id to dispatch (workflow_dispatch), e.g. train.yml'),
      ref: z.string().optional().describe('Branch or tag to run it on (default: the repository default branch)'),
      on: z.enum(['alert', 'warn']).default('alert').describe('Dispatch on drift alerts only, or on warnings too'),
      inputs: z.record(z.string(), z.string()).default({}).describe('workflow_dispatch inputs'),
    })
    .optional()
    .describe('The feedback loop: dispatch a retraining workflow when drift is found'),
});

/** deploy: release tags, the target a release is deployed to, and the canary rollout (docs/deploy.md). */
/** Deployment environments and aliases: names that are safe as a path part, a ref part and a GitHub environment. */
export const ALIAS_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const ALIAS_EXPECTED =
  'expected a name of letters, digits, ".", "_" and "-" (at most 63, starting with a letter or digit), e.g. production';

export const deploySection = z.strictObject({
  tag: z
    .string()
    .refine((t) => t.includes('{version}'), { error: 'expected a {version} placeholder, e.g. {model}@v{version}' })
    .default(DEFAULT_TAG_TEMPLATE)
    .describe('Release tag convention of model versions: {model} and {version} (semantic versioning) are filled in'),
  environment: z
    .string()
    .regex(ALIAS_NAME, { error: ALIAS_EXPECTED })
    .default('production')
    .describe('The alias a deployment moves (production, staging, or your own); also the GitHub environment'),
  aliases: z
    .array(z.string().regex(ALIAS_NAME, { error: ALIAS_EXPECTED }))
    .default(['production', 'staging'])
    .describe('Aliases cdl models lists; any other name can be used too'),
  target: z
    .enum(['server', 'kserve', 'release'])
    .default('release')
    .describe('server: a running cdl serve; kserve: an InferenceService manifest; release: verify and keep the assets only'),
  server: z
    .strictObject({
      url: z.string().describe('Base URL of the running cdl serve, e.g. http://127.0.0.1:8000'),
      repository: z.string().describe('Its model repository directory, relative to cdl.yaml'),
      model_name: z.string().optional().describe('Name of the model in the repository (default model.name)'),
      ready_timeout_s: z.number().positive().default(120).describe('How long to wait for the new version to be ready'),
    })
    .optional(),
  kserve: z
    .strictObject({
      name: z.string().optional().describe('InferenceService name (default model.name)'),
      namespace: z.string().default('default'),
      storage_uri: z
        .string()
        .optional()
        .describe(
          'Where KServe fetches the model; {tag}, {version}, {model}, {repository} are filled in (default the release asset on GitHub)',
        ),
      runtime: z.string().optional().describe('ServingRuntime to use, e.g. kserve-tritonserver'),
      service_account: z.string().optional(),
      apply: z
        .enum(['auto', 'always', 'never'])
        .default('auto')
        .describe('auto: kubectl apply when kubectl has a current context, else publish the manifest as an artifact'),
    })
    .default({ namespace: 'default', apply: 'auto' }),
  canary: z
    .strictObject({
      percent: z
        .number()
        .min(0)
        .max(100)
        .default(0)
        .describe('Share of traffic for the new version during the window; 0: no canary'),
      window_s: z.number().positive().default(300).describe('How long the canary is watched, in seconds'),
      interval_s: z.number().positive().default(10).describe('How often the server metrics are read, in seconds'),
      max_error_rate: z.number().min(0).max(1).default(0.01).describe('Largest share of non-200 responses of the canary'),
      max_latency_ms: z.number().positive().optional().describe('Largest p95 latency of the canary, in milliseconds'),
      min_requests: nonNegativeInt
        .default(20)
        .describe('Fewer canary requests in the window: rolled back, nothing shows it works'),
    })
    .default({ percent: 0, window_s: 300, interval_s: 10, max_error_rate: 0.01, min_requests: 20 }),
  shadow: z
    .strictObject({
      fraction: z
        .number()
        .min(0)
        .max(1)
        .default(0)
        .describe(
          'Server target: start the new version in shadow, copying this share of production requests to it; it answers no client and production stays (0: no shadow)',
        ),
      window_s: z.number().positive().default(300).describe('How long the shadow comparison is watched before it is reported'),
      interval_s: z.number().positive().default(10).describe("How often the server's comparison is read, in seconds"),
    })
    .default({ fraction: 0, window_s: 300, interval_s: 10 }),
});

export type DeploySection = z.infer<typeof deploySection>;

/** release: what a release does when the tagged commit has no blessed model (docs/pipeline.md). */
export const releaseSection = z.strictObject({
  on_missing_model: z
    .enum(['stop', 'retrain'])
    .default('stop')
    .describe(
      'When no blessed model-<sha> artifact exists for the released commit: stop (name the commit and what to do), or retrain at release (recorded in lineage)',
    ),
});

export type ReleaseSection = z.output<typeof releaseSection>;

export const configSchema = z
  .strictObject({
    version: z.literal(1).default(1),
    model: modelSection,
    data: dataSection,
    train: trainSection.default(trainSection.parse({})),
    // Filled by later steps of the pipeline; kept as free-form sections until they are defined.
    tune: tuneSection.optional(),
    gate: gateSection.optional(),
    compress: compressSection.optional(),
    deploy: deploySection.optional(),
    release: releaseSection.optional(),
    monitor: monitorSection.optional(),
  })
  .refine(
    // A training command builds its own model: then the model section needs neither.
    (c) => c.model?.layers !== undefined || c.model?.module !== undefined || typeof c.train?.command === 'string',
    {
      message: 'expected either "layers" or "module" (or a train.command that builds the model)',
      path: ['model', 'layers'],
      // Checked even when other sections have problems, so every problem is reported at once.
      when: (p) => typeof (p.value as { model?: unknown })?.model === 'object' && (p.value as { model?: unknown }).model !== null,
    },
  )
  .refine((c) => c.train?.launcher === undefined || typeof c.train?.command === 'string', {
    message: 'a launcher starts train.command: expected train.command too',
    path: ['train', 'launcher'],
  });

export type TorchrunLauncher = z.output<typeof torchrunLauncher>;
export type KubernetesLauncher = z.output<typeof kubernetesLauncher>;

/** train.launcher with its shorthand spelled out; undefined: the command runs as one process. */
export function trainLauncher(t: {
  launcher?: z.output<typeof launcherSection>;
}): TorchrunLauncher | KubernetesLauncher | undefined {
  return t.launcher === 'torchrun' ? torchrunLauncher.parse({ type: 'torchrun' }) : t.launcher;
}

export type CdlConfig = z.output<typeof configSchema>;
export type CdlConfigInput = z.input<typeof configSchema>;
export type ModelSection = z.output<typeof modelSection>;
export type LayerSpec = z.output<typeof layerSpec>;
export type DataSection = z.output<typeof dataSection>;
export type DataChecks = z.output<typeof dataChecks>;
export type MonitorSection = z.output<typeof monitorSection>;

/** The divisor applied to inputs: data.scale, else 255 for byte formats and 1 for csv. */
export function inputScale(data: Pick<DataSection, 'scale' | 'format'>): number {
  return data.scale ?? (data.format === 'csv' ? 1 : 255);
}
export type TrainSection = z.output<typeof trainSection>;
export type GateSection = z.output<typeof gateSection>;
export type CompressSection = z.output<typeof compressSection>;
export type CompressMethod = (typeof COMPRESS_METHODS)[number];
export type MetricGate = z.output<typeof metricGate>;
export type GateMetric = (typeof GATE_METRICS)[number];
export type OptimizerSection = z.output<typeof optimizerSection>;
export type AugmentSection = z.output<typeof augmentSection>;
export type ScheduleSection = z.output<typeof scheduleSection>;
export type Activation = (typeof ACTIVATIONS)[number];
export type Backend = (typeof BACKENDS)[number];
export type TuneSection = z.output<typeof tuneSection>;
export type SearchParam = z.output<typeof searchParam>;
