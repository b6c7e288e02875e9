/** Optimizers (SGD, momentum, Adam, AdamW) and per-epoch learning-rate schedules. */
import type { OptimizerSection, ScheduleSection } from '../config/schema.js';
import type { LayersModel, Tf } from './tf.js';

export type Optimizer = ReturnType<Tf['train']['adam']> | ReturnType<Tf['train']['sgd']>;

export interface TrainOptimizer {
  optimizer: Optimizer;
  /** Set the learning rate used by the next steps. */
  setLearningRate(lr: number): void;
  /** Called after every step; AdamW applies its decoupled weight decay here. */
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
  const decay = cfg.name === 'adamw' ? cfg.weight_decay : 0;
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
