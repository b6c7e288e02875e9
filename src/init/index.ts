/**
 * `cdl init`: look at the data of a repository and write its first cdl.yaml and the starter
 * workflow. What can be read from the data is not asked: the format (IDX files, train.csv and
 * test.csv, train/ and test/ image folders), the input shape and the classes come from reading it
 * with the loaders cdl trains with, so a cdl.yaml that init writes loads as written.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type { DataSection } from '../config/schema/data.js';
import { dataSection } from '../config/schema/data.js';
import { loadDataset } from '../data/index.js';
import { displayPath } from '../data/util.js';
import { DataError } from '../util/errors.js';
import { CDL_REPOSITORY, CDL_VERSION } from '../version.js';

export interface Inferred {
  /** data.* as written to cdl.yaml (path relative to the repository root). */
  data: Record<string, unknown>;
  format: DataSection['format'];
  shape: number[];
  classes: string[];
  examples: { train: number; test: number };
}

const IDX = /-idx\d-ubyte(\.gz)?$/;
const IMAGE = /\.(png|jpe?g)$/i;

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Whether `dir` holds one subfolder per class with at least one image in one of them. */
function isClassFolder(dir: string): boolean {
  if (!isDir(dir)) return false;
  return readdirSync(dir, { withFileTypes: true }).some(
    (d) => d.isDirectory() && !d.name.startsWith('.') && readdirSync(path.join(dir, d.name)).some((f) => IMAGE.test(f)),
  );
}

/** The IDX pair of a split: files named like train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz. */
function idxPair(files: string[], split: 'train' | 'test'): { images: string; labels: string } | undefined {
  const prefixes = split === 'train' ? ['train'] : ['t10k', 'test'];
  for (const p of prefixes) {
    const images = files.find((f) => f.startsWith(`${p}-images`) && IDX.test(f));
    const labels = files.find((f) => f.startsWith(`${p}-labels`) && IDX.test(f));
    if (images && labels) return { images, labels };
  }
  return undefined;
}

/**
 * The data section for `dataPath` (a folder, or a CSV file with a test file beside it), relative
 * to `root`. Refuses (DataError, naming the path and the expected layout) what it cannot place.
 */
export function detectData(dataPath: string, root: string): Record<string, unknown> {
  const abs = path.resolve(root, dataPath);
  const rel = path.relative(root, abs).split(path.sep).join('/');
  if (rel.startsWith('..') || path.isAbsolute(rel))
    throw new DataError(`${displayPath(abs)}: the data must be inside the repository (${displayPath(root)})`);
  const within = (p: string) => (p === '' ? '.' : `./${p}`);
  if (!existsSync(abs)) throw new DataError(`${displayPath(abs)}: no such file or directory (--data)`);
  if (!isDir(abs)) {
    if (!/\.csv$/i.test(abs))
      throw new DataError(`${displayPath(abs)}: expected a folder of data or a CSV file (one header row, a label column)`);
    const dir = path.dirname(abs);
    const name = path.basename(abs);
    const testName = [name.replace(/train/i, 'test'), 'test.csv'].find((n) => n !== name && existsSync(path.join(dir, n)));
    if (!testName)
      throw new DataError(
        `${displayPath(abs)}: no test file beside it; expected ${name.includes('train') ? name.replace(/train/i, 'test') + ' or ' : ''}test.csv in ${displayPath(dir)} (the examples the gate measures the model on)`,
      );
    return {
      format: 'csv',
      path: within(path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel)),
      train: name,
      test: testName,
    };
  }
  const files = readdirSync(abs);
  const train = idxPair(files, 'train');
  const test = idxPair(files, 'test');
  if (train && test) return { format: 'idx', path: within(rel === '.' ? '' : rel), train, test };
  if (files.includes('train.csv') && files.includes('test.csv'))
    return { format: 'csv', path: within(rel === '.' ? '' : rel), train: 'train.csv', test: 'test.csv' };
  if (isClassFolder(path.join(abs, 'train')) && isClassFolder(path.join(abs, 'test')))
    return { format: 'image-folder', path: within(rel === '.' ? '' : rel), train: 'train', test: 'test' };
  throw new DataError(
    `${displayPath(abs)}: cannot tell the format of the data; expected IDX files (train-images-idx3-ubyte.gz, ` +
      'train-labels-idx1-ubyte.gz, t10k-images-…, t10k-labels-…), train.csv and test.csv with a label column, or ' +
      'train/ and test/ folders with one subfolder of PNG or JPEG images per class',
  );
}

/** The first place under `root` that holds data cdl can read: ./data, else the root itself. */
export function findData(root: string): string {
  for (const candidate of ['data', '.']) {
    try {
      detectData(candidate, root);
      return candidate;
    } catch {
      // Not there; try the next.
    }
  }
  throw new DataError(
    `${displayPath(root)}: found no data in ./data or at the root; name it with --data PATH (a folder of IDX files, train.csv and test.csv, or train/ and test/ image folders)`,
  );
}

/** Reads the data as training will, for its shape and classes. */
export async function inferData(dataPath: string, root: string): Promise<Inferred> {
  const data = detectData(dataPath, root);
  const section = dataSection.parse({ ...data, validation: { fraction: 0 } });
  const ds = await loadDataset(section, { baseDir: root, task: 'classification' });
  if (ds.classes.length < 2)
    throw new DataError(
      `${displayPath(path.resolve(root, dataPath))}: found ${ds.classes.length} class; a classifier needs two or more`,
    );
  return {
    data,
    format: section.format,
    shape: ds.shape,
    classes: ds.classes,
    examples: { train: ds.train.n, test: ds.test.n },
  };
}

/** A model for the data: a small CNN for images of 16×16 and more, else the example's dense network. */
export function modelLayers(shape: number[], classes: number): Array<Record<string, unknown>> {
  const out = { type: 'dense', units: classes, activation: 'softmax' };
  if (shape.length === 3 && shape[0]! >= 16 && shape[1]! >= 16) {
    return [
      { type: 'conv2d', filters: 32, kernel_size: 3, activation: 'relu' },
      { type: 'maxpool', pool_size: 2 },
      { type: 'conv2d', filters: 64, kernel_size: 3, activation: 'relu' },
      { type: 'maxpool', pool_size: 2 },
      { type: 'flatten' },
      { type: 'dense', units: 128, activation: 'relu' },
      { type: 'dropout', rate: 0.3 },
      out,
    ];
  }
  const wide = shape.reduce((a, b) => a * b, 1) >= 256;
  return [
    ...(shape.length > 1 ? [{ type: 'flatten' }] : []),
    { type: 'dense', units: wide ? 256 : 64, activation: 'relu' },
    { type: 'dense', units: wide ? 128 : 32, activation: 'relu' },
    out,
  ];
}

/** A model name from the repository's folder name: letters, digits, ".", "_" and "-". */
export function modelName(root: string): string {
  const n = path
    .basename(path.resolve(root))
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '');
  return n || 'model';
}

/** A top-level section under a comment: one line per key, its value in flow style. */
function section(comment: string, key: string, value: Record<string, unknown>): string {
  const lines = comment.split('\n').map((l) => `# ${l}`);
  lines.push(`${key}:`);
  for (const [k, v] of Object.entries(value)) lines.push(`  ${k}: ${flowed(v)}`);
  return lines.join('\n');
}

function flowed(v: unknown): string {
  return stringify(v, { collectionStyle: 'flow', flowCollectionPadding: true, lineWidth: 0 }).trim();
}

/** cdl.yaml for the inferred data, with a comment per section. */
export function renderConfig(inf: Inferred, name: string): string {
  const layers = modelLayers(inf.shape, inf.classes.length);
  const small = inf.examples.train < 1000;
  const data = { ...inf.data, classes: inf.classes, validation: { fraction: 0.1, seed: 42 } };
  const lines = [
    `# yaml-language-server: $schema=https://raw.githubusercontent.com/${CDL_REPOSITORY}/v${CDL_VERSION}/schema/cdl.schema.json`,
    `# Written by cdl init from ${inf.data.path} (${inf.format}: ${inf.examples.train} training and ${inf.examples.test} test examples).`,
    'version: 1',
    '# The model: its name names the artifacts and releases; the layers suit the data, change them freely.',
    'model:',
    `  name: ${name}`,
    '  task: classification',
    `  input_shape: ${flowed(inf.shape)}`,
    '  layers:',
    ...layers.map((l) => `    - ${flowed(l)}`),
    section(
      'The data, relative to this file: the test split is what the gate measures; a stratified tenth of\nthe training data validates each epoch.',
      'data',
      data,
    ),
    section('Training: the built-in trainer, seeded so a run can be repeated; batches and epochs suit the data size.', 'train', {
      epochs: small ? 30 : 8,
      batch_size: inf.examples.train >= 10_000 ? 128 : small ? 16 : 64,
      optimizer: { name: 'adam', learning_rate: 0.001 },
      early_stopping: { metric: 'val_accuracy', patience: small ? 5 : 3 },
      seed: 42,
    }),
    section(
      'The gate: at least 0.7 accuracy, and no more than one point below production (the version deployed\nto the production environment) beyond noise. Every other metric is compared and reported.',
      'gate',
      { metrics: { accuracy: { min: 0.7, max_regression: 0.01 } } },
    ),
  ];
  return lines.join('\n') + '\n';
}

/** The starter workflow, triggered on pushes to `branch` (the repository's default branch). */
export function renderStarter(templatesDir: string, branch: string): string {
  const text = readFileSync(path.join(templatesDir, 'cdl.yml'), 'utf8');
  return text.replace('branches: [main] }', `branches: [${JSON.stringify(branch).slice(1, -1)}] }`);
}
