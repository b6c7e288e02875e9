/** The cdl command as a real process: help, usage errors, config errors, data errors, exit codes. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configJsonSchema } from '../src/config/index.js';
import type { Lineage, Metrics } from '../src/model-dir/index.js';
import { CDL_VERSION } from '../src/version.js';
import { copyExample, EXAMPLE_CONFIG, removeTempDirs, runCli, siblings, tempDir } from './helpers/example.js';

afterAll(removeTempDirs);

/** No stack frames on stderr: messages only. */
function noStack(stderr: string): void {
  expect(stderr).not.toMatch(/^\s+at .+\(.*:\d+:\d+\)$/m);
  expect(stderr).not.toMatch(/\bat (async )?[\w.<>]+ \(/);
}

describe('cdl help and usage', () => {
  it('--help lists the commands, exit 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`cdl ${CDL_VERSION}`);
    expect(r.stdout).toMatch(/^Commands:$/m);
    for (const c of ['train', 'validate', 'schema']) expect(r.stdout).toMatch(new RegExp(`^  ${c} +\\S`, 'm'));
    expect(r.stderr).toBe('');
  });

  it('no command prints the help and exits 2', async () => {
    const r = await runCli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^Commands:$/m);
  });

  it('train --help shows its options, exit 0', async () => {
    const r = await runCli(['train', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: cdl train /);
    for (const f of ['--config', '--out', '--set', '--resume']) expect(r.stdout).toContain(f);
    expect(r.stdout).toContain('Exit codes: 0 success, 1 failure, 2 usage or configuration error.');
  });

  it('--version prints the version', async () => {
    const r = await runCli(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `cdl ${CDL_VERSION}\n` });
  });

  it('an unknown command exits 2 and lists the known ones', async () => {
    const r = await runCli(['trian']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^cdl: unknown command "trian"; expected one of [a-z, ]*\btrain\b[a-z, ]*\bvalidate\b[a-z, ]* \(cdl --help\)\n$/,
    );
  });

  it('an unknown flag exits 2, names the flag and shows the usage', async () => {
    const r = await runCli(['train', '--epochs', '3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^cdl: train: .*'--epochs'.*\(cdl train --help\)\n\nUsage: cdl train /);
    noStack(r.stderr.split('\n\n')[0]!);
    const v = await runCli(['validate', '--bogus']);
    expect(v.code).toBe(2);
    expect(v.stderr).toContain("'--bogus'");
  });
});

describe('cdl validate and schema', () => {
  let dir: string;

  beforeAll(() => {
    dir = tempDir('cdl-cli-');
    copyExample(dir);
  });

  it('accepts the example, exit 0', async () => {
    const r = await runCli(['validate', '--config', EXAMPLE_CONFIG]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${EXAMPLE_CONFIG}: valid\n`);
  });

  it('a bad config exits 2 with file:line:col, path and message for every problem, and no stack trace', async () => {
    const file = path.join(dir, 'bad.yaml');
    const text = readFileSync(path.join(dir, 'cdl.yaml'), 'utf8')
      .replace('epochs: 8', 'epochs: five')
      .replace('batch_size: 128', 'batch_size: 0');
    writeFileSync(file, text);
    const lines = text.split('\n');
    const epochsLine = lines.findIndex((l) => l.includes('epochs: five')) + 1;
    const batchLine = lines.findIndex((l) => l.includes('batch_size: 0')) + 1;
    const r = await runCli(['validate', '-c', file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `cdl: ${file}:${epochsLine}:11: train.epochs: expected a positive integer, got "five"\n` +
        `${file}:${batchLine}:15: train.batch_size: expected a positive integer, got 0\n`,
    );
    noStack(r.stderr);
  });

  it('--set overrides are validated too', async () => {
    const r = await runCli(['validate', '-c', EXAMPLE_CONFIG, '--set', 'train.epochs=0', '--set', 'model.layers[1].units=64']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/train\.epochs: expected a positive integer, got 0\n$/);
    expect(r.stderr).not.toContain('units');
  });

  it('a missing config file exits 2 and names it', async () => {
    const missing = path.join(dir, 'nope.yaml');
    const v = await runCli(['validate', '-c', missing]);
    expect(v.code).toBe(2);
    expect(v.stderr).toBe(`cdl: ${missing}: no such file; expected a cdl.yaml (pass --config PATH)\n`);
    // train without --config looks for ./cdl.yaml
    const t = await runCli(['train'], { cwd: tempDir('cdl-empty-') });
    expect(t.code).toBe(2);
    expect(t.stderr).toBe('cdl: cdl.yaml: no such file; expected a cdl.yaml (pass --config PATH)\n');
  });

  it('an unknown layer type exits 2 (validate and train)', async () => {
    const msg = /cdl\.yaml:\d+:\d+: model\.layers\[1\]\.type: unknown layer type "dense2"; expected one of dense, conv2d/;
    const v = await runCli(['validate', '-c', EXAMPLE_CONFIG, '--set', 'model.layers[1].type=dense2']);
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(msg);
    const t = await runCli([
      'train',
      '-c',
      EXAMPLE_CONFIG,
      '--set',
      'model.layers[1].type=dense2',
      '--out',
      path.join(dir, 'never'),
    ]);
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(msg);
    noStack(t.stderr);
  });

  it('schema prints the JSON Schema, and --out writes it', async () => {
    const r = await runCli(['schema']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(configJsonSchema());
    const out = path.join(dir, 'schema.json');
    const w = await runCli(['schema', '--out', out]);
    expect(w.code).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(configJsonSchema());
  });
});

describe('cdl train', () => {
  let dir: string;
  let config: string;

  beforeAll(() => {
    dir = tempDir('cdl-cli-train-');
    config = copyExample(dir);
  });

  it('a missing dataset directory exits 1 and names the path', async () => {
    const out = path.join(dir, 'out-missing');
    const r = await runCli(['train', '-c', config, '--set', 'data.path=./no-data-here', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^cdl: .*no-data-here: no such directory \(data\.path\); expected the folder holding the data/m);
    noStack(r.stderr);
    expect(siblings(out)).toEqual([]);
  });

  it('a model input shape that does not match the data exits 1 and names both shapes', async () => {
    const out = path.join(dir, 'out-shape');
    const r = await runCli([
      'train',
      '-c',
      config,
      '--set',
      'model.input_shape=[32,32,1]',
      '--set',
      'data.limit.train=100',
      '--out',
      out,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^cdl: .*cdl\.yaml: model\.input_shape is \[32, 32, 1\] but the data \(.*\) has examples of shape \[28, 28, 1\]; expected them to match$/m,
    );
    noStack(r.stderr);
    expect(siblings(out)).toEqual([]);
  });

  it('trains with overrides and writes the model directory, exit 0', async () => {
    const out = path.join(dir, 'models', 'fm');
    const r = await runCli([
      'train',
      '--config',
      config,
      '--set',
      'train.epochs=1',
      '--set',
      'data.limit.train=1000',
      '--out',
      out,
      '--quiet',
      '--json',
    ]);
    expect(r.stderr).toContain('epoch 1/1');
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout) as Metrics;
    const m = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8')) as Metrics;
    expect(printed).toEqual(m);
    expect(m.training).toMatchObject({ epochs_run: 1 });
    expect(m.splits.test!.examples).toBe(2000);
    const l = JSON.parse(readFileSync(path.join(out, 'lineage.json'), 'utf8')) as Lineage;
    expect(l.config.overrides).toEqual(['train.epochs=1', 'data.limit.train=1000']);
    expect(l.data!.examples).toMatchObject({ train: 898, validation: 102 });
    expect(siblings(out)).toEqual(['fm']);
  });
});
