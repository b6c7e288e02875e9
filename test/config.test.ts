import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  applyOverride,
  canonicalJson,
  configHash,
  configJsonSchema,
  formatProblems,
  loadConfig,
  parseConfig,
} from '../src/config/index.js';
import { LAYER_TYPES } from '../src/config/schema/model.js';
import type { CdlConfig } from '../src/config/schema/cdl-config.js';
import { ConfigError, exitCodeOf } from '../src/util/errors.js';
import { EXAMPLE_CONFIG, removeTempDirs, tempDir } from './helpers/example.js';

afterAll(removeTempDirs);

const MINIMAL = `model:
  name: m
  layers:
    - { type: flatten }
    - { type: dense, units: 10, activation: softmax }
data:
  format: idx
  path: ./data
`;

function valid(text: string, overrides: string[] = []): CdlConfig {
  const r = parseConfig(text, overrides);
  expect(r.errors).toEqual([]);
  return r.value!;
}

function report(text: string, overrides: string[] = []): string[] {
  return formatProblems('cdl.yaml', parseConfig(text, overrides).errors).split('\n');
}

describe('validation messages', () => {
  it('names file, line, column, path, expectation and the value given', () => {
    const text = `${MINIMAL}train:\n  epochs: five\n`;
    expect(report(text)).toEqual(['cdl.yaml:10:11: train.epochs: expected a positive integer, got "five"']);
  });

  it('reports every problem of a file at once, each at its own line', () => {
    const text = `model:
  name: "bad name"
  layers:
    - { type: flatten }
    - { type: dense, units: 0 }
data:
  format: parquet
  path: ./data
train:
  epochs: -2
  batch_size: 1.5
  optimizer: { name: adam, learning_rate: 0 }
`;
    const r = parseConfig(text);
    expect(r.value).toBeUndefined();
    const byPath = Object.fromEntries(r.errors.map((e) => [e.path, e]));
    expect(Object.keys(byPath).sort()).toEqual(
      [
        'data.format',
        'model.layers[1].units',
        'model.name',
        'train.batch_size',
        'train.epochs',
        'train.optimizer.learning_rate',
      ].sort(),
    );
    expect(byPath['model.name']).toMatchObject({
      line: 2,
      message: 'expected letters, digits, ".", "_" and "-", got "bad name"',
    });
    expect(byPath['model.layers[1].units']).toMatchObject({ line: 5, message: 'expected a positive integer, got 0' });
    expect(byPath['data.format']).toMatchObject({ line: 7 });
    expect(byPath['data.format']!.message).toBe('expected one of "idx", "csv", "image-folder", got "parquet"');
    expect(byPath['train.epochs']).toMatchObject({ line: 10, message: 'expected a positive integer, got -2' });
    expect(byPath['train.batch_size']).toMatchObject({ line: 11, message: 'expected a positive integer, got 1.5' });
    expect(byPath['train.optimizer.learning_rate']).toMatchObject({ line: 12 });
  });

  it('explains an unknown layer type with the list of known ones', () => {
    const text = MINIMAL.replace('{ type: flatten }', '{ type: dense2, units: 3 }');
    expect(report(text)).toEqual([
      `cdl.yaml:4:15: model.layers[0].type: unknown layer type "dense2"; expected one of ${LAYER_TYPES.join(', ')}`,
    ]);
  });

  it('rejects unknown keys, at the top level and inside sections and layers', () => {
    const text = `${MINIMAL.replace('units: 10,', 'units: 10, unit: 3,')}trian:\n  epochs: 3\n`;
    const r = parseConfig(text);
    expect(r.errors.map((e) => `${e.path}: ${e.message}`).sort()).toEqual([
      '(root): unknown key(s) "trian"; expected one of "version", "model", "data", "train", "tune", "gate", "compress", "deploy", "release", "monitor"',
      'model.layers[1]: unknown key(s) "unit"',
    ]);
    expect(r.errors.find((e) => e.path === 'model.layers[1]')!.line).toBe(5);
  });

  it('asks for layers or module, unless a training command builds the model', () => {
    const noModel = 'model: { name: m }\ndata: { format: idx, path: . }\n';
    expect(report(noModel)).toEqual([
      'cdl.yaml:1:8: model.layers: expected either "layers" or "module" (or a train.command that builds the model)',
    ]);
    // Reported together with problems elsewhere.
    expect(parseConfig(`${noModel}train: { epochs: 0 }\n`).errors.map((e) => e.path)).toEqual(['train.epochs', 'model.layers']);
    const withCommand = parseConfig(`${noModel}train: { command: python3 train.py }\n`);
    expect(withCommand.errors).toEqual([]);
    expect(withCommand.warnings).toEqual([]);
  });

  it('reports a YAML syntax error with its line', () => {
    const r = parseConfig('model:\n  name: m\n  layers: [\n    { type: flatten }\ndata: {}\n');
    expect(r.errors.length).toBeGreaterThan(0);
    expect(r.errors[0]!.path).toBe('(yaml)');
    expect(r.errors[0]!.line).toBeGreaterThanOrEqual(3);
    expect(formatProblems('cdl.yaml', r.errors)).toMatch(/^cdl\.yaml:\d+:\d+: \(yaml\): \S/);
  });

  it('warns (without failing) when a training command makes layers pointless', () => {
    const r = parseConfig(`${MINIMAL}train:\n  command: python3 train.py\n`);
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([{ path: 'train.command', message: 'a training command is given; model.layers is ignored' }]);
  });
});

describe('defaults', () => {
  it('fills every default of a minimal file', () => {
    const c = valid(MINIMAL);
    expect(c.version).toBe(1);
    expect(c.model.task).toBe('classification');
    expect(c.model.layers![1]).toEqual({ type: 'dense', units: 10, activation: 'softmax', use_bias: true });
    expect(c.data).toMatchObject({ label_column: 'label', channels: 1, validation: { fraction: 0.1, seed: 42 } });
    expect(c.train).toEqual({
      backend: 'auto',
      kernels: 'auto',
      epochs: 10,
      batch_size: 128,
      optimizer: {
        name: 'adam',
        learning_rate: 0.001,
        momentum: 0.9,
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-7,
      },
      schedule: { type: 'constant', step_epochs: 10, gamma: 0.1, min_learning_rate: 0, warmup_epochs: 0 },
      seed: 42,
      deterministic: true,
      label_smoothing: 0,
      hyperparameters: {},
    });
  });

  it('fills defaults inside a partly given section', () => {
    const c = valid(`${MINIMAL}train:\n  optimizer: { name: sgd }\n  early_stopping: { patience: 5 }\n`);
    expect(c.train.optimizer).toMatchObject({ name: 'sgd', learning_rate: 0.001 });
    expect(c.train.early_stopping).toEqual({ metric: 'val_loss', patience: 5, min_delta: 0, restore_best: true });
    expect(c.train.epochs).toBe(10);
  });

  it('accepts both shipped example files', () => {
    for (const f of ['cdl.yaml', 'cdl.cnn.yaml']) {
      const r = parseConfig(readFileSync(path.join(path.dirname(EXAMPLE_CONFIG), f), 'utf8'));
      expect(r.errors, f).toEqual([]);
      expect(r.warnings, f).toEqual([]);
    }
  });
});

describe('--set overrides', () => {
  it('keeps numbers, booleans and lists typed', () => {
    const c = valid(MINIMAL, [
      'train.epochs=3',
      'train.optimizer.learning_rate=1e-2',
      'train.early_stopping.restore_best=false',
      'model.input_shape=[28, 28, 1]',
      'data.classes=[a, b, c]',
    ]);
    expect(c.train.epochs).toBe(3);
    expect(c.train.optimizer.learning_rate).toBe(0.01);
    expect(c.train.early_stopping!.restore_best).toBe(false);
    expect(c.model.input_shape).toEqual([28, 28, 1]);
    expect(c.data.classes).toEqual(['a', 'b', 'c']);
  });

  it('creates missing nested sections and indexes into lists', () => {
    const c = valid(MINIMAL, [
      'data.limit.train=100',
      'model.layers[1].units=64',
      'model.layers[0].type=flatten',
      'train.hyperparameters.dropout=0.2',
    ]);
    expect(c.data.limit).toEqual({ train: 100 });
    expect(c.model.layers![1]).toMatchObject({ type: 'dense', units: 64, activation: 'softmax' });
    expect(c.train.hyperparameters).toEqual({ dropout: 0.2 });
  });

  it('keeps strings, including empty ones and values with "="', () => {
    const c = valid(MINIMAL, ['model.name=other', 'train.command=python3 train.py --flag=1']);
    expect(c.model.name).toBe('other');
    expect(c.train.command).toBe('python3 train.py --flag=1');
  });

  it('later overrides win and the input object is not modified', () => {
    const raw = parseYaml(MINIMAL) as Record<string, unknown>;
    const before = structuredClone(raw);
    const out = applyOverride(applyOverride(raw, 'train.epochs=3'), 'train.epochs=4') as { train: { epochs: number } };
    expect(out.train.epochs).toBe(4);
    expect(raw).toEqual(before);
  });

  it('validates overridden values like file values', () => {
    const r = parseConfig(MINIMAL, ['train.epochs=five', 'model.layers[1].units=-1']);
    expect(r.errors.map((e) => `${e.path}: ${e.message}`).sort()).toEqual([
      'model.layers[1].units: expected a positive integer, got -1',
      'train.epochs: expected a positive integer, got "five"',
    ]);
  });

  it('rejects malformed overrides with the accepted form', () => {
    const cases: Array<[string, RegExp]> = [
      ['train.epochs', /invalid override "train\.epochs"; expected key=value, e\.g\. train\.epochs=3/],
      ['=3', /invalid override "=3"; expected key=value/],
      ['train..epochs=3', /invalid key path "train\.\.epochs"; expected dotted keys/],
      ['model.name.first=x', /cannot set "model\.name\.first": "model\.name" is "m", not a mapping/],
    ];
    for (const [o, re] of cases) {
      const r = parseConfig(MINIMAL, [o]);
      expect(r.value, o).toBeUndefined();
      expect(r.errors, o).toHaveLength(1);
      expect(r.errors[0]!.path, o).toBe('--set');
      expect(r.errors[0]!.message, o).toMatch(re);
    }
  });
});

describe('loadConfig', () => {
  it('throws a ConfigError (exit code 2) listing every problem with the file name', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'cdl.yaml');
    writeFileSync(file, `${MINIMAL}train:\n  epochs: five\n  batch_size: 0\n`);
    const err = await loadConfig(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(exitCodeOf(err)).toBe(2);
    expect((err as Error).message.split('\n')).toEqual([
      `${file}:10:11: train.epochs: expected a positive integer, got "five"`,
      `${file}:11:15: train.batch_size: expected a positive integer, got 0`,
    ]);
  });

  it('names a missing file and how to pass one', async () => {
    const err = await loadConfig('/nonexistent/cdl.yaml').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe('/nonexistent/cdl.yaml: no such file; expected a cdl.yaml (pass --config PATH)');
  });

  it('resolves the directory of the file and hashes the overridden configuration', async () => {
    const a = await loadConfig(EXAMPLE_CONFIG);
    const b = await loadConfig(EXAMPLE_CONFIG, ['train.epochs=1']);
    expect(a.dir).toBe(path.dirname(EXAMPLE_CONFIG));
    expect(a.hash).toBe(configHash(a.config));
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.hash).not.toBe(a.hash);
  });
});

describe('configHash', () => {
  const reordered = `data:
  path: ./data
  format: idx
model:
  layers:
    - { type: flatten }
    - { activation: softmax, units: 10, type: dense }
  name: m
`;

  it('does not depend on key order, nor on whether defaults are written out', () => {
    const h = configHash(valid(MINIMAL));
    expect(configHash(valid(reordered))).toBe(h);
    expect(configHash(valid(`${MINIMAL}train:\n  epochs: 10\n  optimizer: { learning_rate: 0.001 }\n`))).toBe(h);
  });

  it('changes with any value, and with the order of layers', () => {
    const h = configHash(valid(MINIMAL));
    expect(configHash(valid(MINIMAL, ['train.epochs=11']))).not.toBe(h);
    expect(configHash(valid(MINIMAL, ['train.hyperparameters.x=1']))).not.toBe(h);
    expect(configHash(valid(MINIMAL, ['model.layers[1].units=11']))).not.toBe(h);
    const swapped = MINIMAL.replace(
      '    - { type: flatten }\n    - { type: dense, units: 10, activation: softmax }',
      '    - { type: dense, units: 10, activation: softmax }\n    - { type: flatten }',
    );
    expect(swapped).not.toBe(MINIMAL);
    expect(configHash(valid(swapped))).not.toBe(h);
  });

  it('canonical JSON sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 2 }], c: undefined } })).toBe('{"a":{"d":[2,{"e":2,"f":1}]},"b":1}');
  });
});

/** The JSON Schema checked by a real draft 2020-12 validator, as editors check cdl.yaml against it. */
const validateConfig = new Ajv2020({ allErrors: true, strict: false }).compile(configJsonSchema());
function schemaErrors(value: unknown): string[] {
  validateConfig(value);
  return (validateConfig.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.keyword}`);
}

describe('JSON Schema', () => {
  const schema = configJsonSchema() as {
    $schema: string;
    required: string[];
    additionalProperties: boolean;
    properties: Record<
      string,
      { properties: Record<string, { enum?: unknown[]; items?: { oneOf: Array<{ properties: { type: { const: string } } }> } }> }
    >;
  };

  it('is draft 2020-12 with the required sections and closed objects', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.required.sort()).toEqual(['data', 'model']);
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['version', 'model', 'data', 'train']));
    expect(schema.properties.model!.properties.task!.enum).toEqual(['classification', 'regression']);
    expect(schema.properties.data!.properties.format!.enum).toEqual(['idx', 'csv', 'image-folder']);
    expect(schema.properties.train!.properties.backend!.enum).toEqual(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
    const kinds = schema.properties.model!.properties.layers!.items!.oneOf.map((s) => s.properties.type.const);
    expect(kinds).toEqual([...LAYER_TYPES]);
  });

  it('accepts both example files and rejects what validation rejects', () => {
    for (const f of ['cdl.yaml', 'cdl.cnn.yaml']) {
      const doc = parseYaml(readFileSync(path.join(path.dirname(EXAMPLE_CONFIG), f), 'utf8'));
      expect(schemaErrors(doc), f).toEqual([]);
    }
    const base = parseYaml(MINIMAL) as Record<string, unknown>;
    expect(schemaErrors(base)).toEqual([]);
    expect(schemaErrors(applyOverride(base, 'train.epochs=five'))).toEqual(['/train/epochs type']);
    expect(schemaErrors(applyOverride(base, 'train.epochs=0'))).toEqual(['/train/epochs exclusiveMinimum']);
    expect(schemaErrors(applyOverride(base, 'trian=1'))).toEqual(['/ additionalProperties']);
    expect(schemaErrors(applyOverride(base, 'model.layers[0].type=dense2'))).toContain('/model/layers/0 oneOf');
    expect(schemaErrors(applyOverride(base, 'data.format=parquet'))).toEqual(['/data/format enum']);
  });
});
