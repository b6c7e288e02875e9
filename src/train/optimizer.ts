/**
 * Optimizers (SGD, momentum, Adam, AdamW) and per-epoch learning-rate schedules.
 *
 * Weight decay is decoupled for every optimizer (Loshchilov and Hutter's SGDW and AdamW): after
 * each step the kernels shrink by learning_rate * weight_decay, outside the gradient and the
 * optimizer's moments. For plain sgd that is the same as an L2 penalty of weight_decay / 2 * |w|^2;
 * for momentum and adam it is not (the decay does not pass through the moments); adam with a
 * weight_decay is adamw.
 */
import type { OptimizerSection, ScheduleSection } from '../config/schema/train.js';
import type { LayersModel, Tf } from './tf.js';

export type Optimizer = ReturnType<Tf['train']['adam']> | ReturnType<Tf['train']['sgd']>;

export interface TrainOptimizer {
  optimizer: Optimizer;
  /** Set the learning rate used by the next steps. */
  setLearningRate(lr: number): void;
  /** Called after every step; the decoupled weight decay is applied here. */
  afterStep(model: LayersModel, lr: number): void;
}

export function createOptimizer(tf: Tf, cfg: OptimizerSection): TrainOptimizer {
  const lr = cfg.learning_rate;
  let optimizer: Optimizer;
  switch (cfg.name) {
    case 'sgd':
      optimizer = tf.train.sgd(lr);
      break;
    case 'momentum':
      optimizer = tf.train.momentum(lr, cfg.momentum);
      break;
    case 'adam':
    case 'adamw':
      optimizer = tf.train.adam(lr, cfg.beta1, cfg.beta2, cfg.epsilon);
      break;
  }
  const setLearningRate = (next: number): void => {
    const o = optimizer as unknown as { setLearningRate?: (v: number) => void; learningRate: number };
    if (typeof o.setLearningRate === 'function') o.setLearningRate(next);
    else o.learningRate = next;
  };
  const decay = weightDecay(cfg);
  const afterStep = (model: LayersModel, currentLr: number): void => {
    if (decay <= 0) return;
    const factor = 1 - currentLr * decay;
    tf.tidy(() => {
      for (const w of model.trainableWeights) {
        // Decoupled weight decay on kernels only; biases and normalization parameters are left alone.
        if (!/kernel/.test(w.originalName)) continue;
        const v = w.read();
        w.write(tf.mul(v, factor));
      }
    });
  };
  return { optimizer, setLearningRate, afterStep };
}

/** The weight decay a configuration trains with: its own, else 0.01 for adamw and 0 for the others. */
export function weightDecay(cfg: OptimizerSection): number {
  return cfg.weight_decay ?? (cfg.name === 'adamw' ? 0.01 : 0);
}

/** Learning rate for a (0-based) epoch. */
export function learningRateAt(base: number, s: ScheduleSection, epoch: number, epochs: number): number {
  if (s.warmup_epochs > 0 && epoch < s.warmup_epochs) {
    return (base * (epoch + 1)) / (s.warmup_epochs + 1);
  }
  const e = epoch - s.warmup_epochs;
  const total = Math.max(1, epochs - s.warmup_epochs);
  switch (s.type) {
    case 'constant':
      return base;
    case 'step':
      return base * s.gamma ** Math.floor(e / s.step_epochs);
    case 'exponential':
      return base * s.gamma ** e;
    case 'cosine':
      return s.min_learning_rate + 0.5 * (base - s.min_learning_rate) * (1 + Math.cos((Math.PI * e) / total));
  }
}
