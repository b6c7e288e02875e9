/** tune.space: a bad search space is a clear error that names the key. */
import { describe, expect, it } from 'vitest';
import { applyOverride, parseConfig, validateConfig } from '../src/config/index.js';
import type { CdlConfig } from '../src/config/schema/cdl-config.js';
import { assignmentOverrides, resolveSpace } from '../src/tune/space.js';
import { configOverlay } from '../src/tune/output.js';

const BASE = `
version: 1
model:
  name: m
  layers: [{ type: flatten }, { type: dense, units: 64, activation: relu }, { type: dense, units: 10 }]
data: { format: idx, path: ./data }
train:
  hyperparameters: { width: 3 }
`;

function parse(space: string, extra = ''): { config?: CdlConfig; errors: string[] } {
  const r = parseConfig(`${BASE}tune:\n${extra}  space:\n${space}`);
  return { config: r.value, errors: r.errors.map((e) => `${e.path}: ${e.message}`) };
}

function resolveErrors(space: string, extra = ''): string {
  const { config, errors } = parse(space, extra);
  expect(errors).toEqual([]);
  try {
    resolveSpace(config!, 'cdl.yaml');
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

describe('search space validation', () => {
  it('low above high names the key', () => {
    const { errors } = parse(
      '    learning_rate: { type: uniform, low: 0.1, high: 0.01 }\n    model.layers[1].units: { type: int, low: 512, high: 32 }\n',
    );
    expect(errors).toEqual([
      'tune.space.learning_rate.low: expected low <= high, got low 0.1 above high 0.01',
      'tune.space.model.layers[1].units.low: expected low <= high, got low 512 above high 32',
    ]);
  });

  it('a log scale with a non-positive bound names the key', () => {
    const { errors } = parse(
      '    learning_rate: { type: loguniform, low: 0, high: 0.1 }\n    units: { type: int, low: 0, high: 8, log: true }\n',
    );
    expect(errors).toContain('tune.space.learning_rate.low: expected a positive number on a log scale, got 0');
    expect(errors).toContain('tune.space.units.low: expected low > 0 on a log scale');
  });

  it('an unknown hyperparameter names the key, whether a short name or a path', () => {
    expect(resolveErrors('    learnin_rate: { type: loguniform, low: 0.001, high: 0.1 }\n')).toMatch(
      /^cdl\.yaml: tune\.space\.learnin_rate: unknown hyperparameter "learnin_rate"; expected one of learning_rate, batch_size, .*width, or a configuration path/,
    );
    expect(resolveErrors('    train.optimizer.learning_rat: { type: uniform, low: 0.001, high: 0.1 }\n')).toMatch(
      /^cdl\.yaml: tune\.space\.train\.optimizer\.learning_rat: unknown hyperparameter "train\.optimizer\.learning_rat" \(train\.optimizer: unknown key\(s\) "learning_rat"; expected one of .*"learning_rate".*\)$/,
    );
    expect(resolveErrors('    model.layers[1].unit: { type: int, low: 8, high: 64 }\n')).toContain(
      'tune.space.model.layers[1].unit: unknown hyperparameter',
    );
  });

  it('a range the configuration refuses names the key and the end', () => {
    expect(resolveErrors('    momentum: { type: uniform, low: 0.5, high: 1.5 }\n')).toBe(
      'cdl.yaml: tune.space.momentum: high 1.5 is not a valid train.optimizer.momentum (train.optimizer.momentum: expected a number < 1, got 1.5)',
    );
    expect(resolveErrors('    optimizer: { type: categorical, choices: [adam, rmsprop] }\n')).toContain(
      'tune.space.optimizer: choice "rmsprop" is not a valid train.optimizer.name',
    );
  });

  it('every problem at once; epochs cannot be tuned under a scheduler that sets them', () => {
    const msg = resolveErrors(
      '    foo: { type: uniform, low: 0, high: 1 }\n    train.epochs: { type: int, low: 1, high: 5 }\n    bar: { type: uniform, low: 0, high: 1 }\n',
      '  scheduler: { type: asha }\n',
    );
    expect(msg.split('\n').map((l) => l.split(':')[1]!.trim())).toEqual([
      'tune.space.foo',
      'tune.space.train.epochs',
      'tune.space.bar',
    ]);
  });

  it('the trainer options are tunable: label smoothing, weight decay and augmentation, with no train.augment written', () => {
    const { config } = parse(
      '    label_smoothing: { type: uniform, low: 0, high: 0.2 }\n    weight_decay: { type: loguniform, low: 0.00001, high: 0.01 }\n' +
        '    augment_shift: { type: int, low: 0, high: 3 }\n    augment_flip: { type: categorical, choices: [true, false] }\n' +
        '    augment_rotate: { type: uniform, low: 0, high: 15 }\n    augment_erase: { type: uniform, low: 0, high: 0.5 }\n',
    );
    const space = resolveSpace(config!);
    expect(space.map((p) => p.path)).toEqual([
      'train.label_smoothing',
      'train.optimizer.weight_decay',
      'train.augment.shift',
      'train.augment.flip',
      'train.augment.rotate',
      'train.augment.erase',
    ]);
    let raw: unknown = config;
    const a = {
      label_smoothing: 0.1,
      weight_decay: 0.001,
      augment_shift: 2,
      augment_flip: true,
      augment_rotate: 8,
      augment_erase: 0.25,
    };
    for (const o of assignmentOverrides(space, a)) raw = applyOverride(raw as CdlConfig, o);
    const { value, errors } = validateConfig(raw);
    expect(errors).toEqual([]);
    expect(value!.train).toMatchObject({
      label_smoothing: 0.1,
      optimizer: { weight_decay: 0.001 },
      augment: { shift: 2, flip: true, rotate: 8, erase: 0.25 },
    });
    expect(resolveErrors('    label_smoothing: { type: uniform, low: 0, high: 1 }\n')).toContain(
      'tune.space.label_smoothing: high 1 is not a valid train.label_smoothing',
    );
  });

  it('good keys resolve to paths, overrides and an overlay', () => {
    const { config } = parse(
      '    learning_rate: { type: loguniform, low: 0.0001, high: 0.1 }\n    width: { type: int, low: 1, high: 4 }\n    model.layers[1].units: { type: int, low: 32, high: 128, step: 32 }\n    optimizer: { type: categorical, choices: [adam, sgd] }\n',
    );
    const space = resolveSpace(config!);
    expect(space.map((p) => p.path)).toEqual([
      'train.optimizer.learning_rate',
      'train.hyperparameters.width',
      'model.layers[1].units',
      'train.optimizer.name',
    ]);
    const a = { learning_rate: 0.01, width: 2, 'model.layers[1].units': 96, optimizer: 'sgd' };
    expect(assignmentOverrides(space, a)).toEqual([
      'train.optimizer.learning_rate=0.01',
      'train.hyperparameters.width=2',
      'model.layers[1].units=96',
      'train.optimizer.name="sgd"',
    ]);
    const overlay = configOverlay(config, space, a) as {
      train: { optimizer: Record<string, unknown>; hyperparameters: unknown };
      model: { layers: Array<{ units?: number }> };
    };
    expect(overlay.train.optimizer).toEqual({ learning_rate: 0.01, name: 'sgd' });
    expect(overlay.train.hyperparameters).toEqual({ width: 2 });
    expect(overlay.model.layers.map((l) => l.units)).toEqual([undefined, 96, 10]);
  });
});
