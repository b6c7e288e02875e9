/** train: backend, optimizer, schedule, augmentation and the training command with its launcher (cdl.yaml). */
import { z } from 'zod';
import { nonNegativeInt, positiveInt } from './primitives.js';

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

export type TrainSection = z.output<typeof trainSection>;
export type OptimizerSection = z.output<typeof optimizerSection>;
export type AugmentSection = z.output<typeof augmentSection>;
export type ScheduleSection = z.output<typeof scheduleSection>;
export type Backend = (typeof BACKENDS)[number];
export type TorchrunLauncher = z.output<typeof torchrunLauncher>;
export type KubernetesLauncher = z.output<typeof kubernetesLauncher>;

/** train.launcher with its shorthand spelled out; undefined: the command runs as one process. */
export function trainLauncher(t: {
  launcher?: z.output<typeof launcherSection>;
}): TorchrunLauncher | KubernetesLauncher | undefined {
  return t.launcher === 'torchrun' ? torchrunLauncher.parse({ type: 'torchrun' }) : t.launcher;
}
