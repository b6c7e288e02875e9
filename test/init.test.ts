/**
 * `cdl init` as a new user meets it: a fresh git repository with an image folder or a CSV file,
 * `cdl init --yes`, commit, and the starter it wrote runs under `cdl run` through train and gate
 * with no edit (cdl's own workflows and actions come from the cdl that runs them). Also: what it
 * infers, and that it never overwrites without --force.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../src/config/index.js';
import { git, removeTempDirs, runCli, tempDir } from './helpers/example.js';
import { csvFiles, imageFolder } from './helpers/init-data.js';

afterAll(() => removeTempDirs());

function repo(prefix: string): string {
  const dir = path.join(tempDir(prefix), 'my-model');
  mkdirSync(dir);
  git(dir, 'init', '-q', '-b', 'main');
  return dir;
}

async function initAndRun(dir: string, args: string[]) {
  const init = await runCli(['init', '--yes', ...args], { cwd: dir, timeoutMs: 120_000 });
  expect(init.code, init.stderr).toBe(0);
  expect(init.stdout).toMatch(/Next:\n {2}1\. .*cdl run cdl\.yml/);
  const starter = readFileSync(path.join(dir, '.github', 'workflows', 'cdl.yml'), 'utf8');
  expect(starter.trimEnd().split('\n').length).toBeLessThanOrEqual(16);
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'cdl init');
  // The next step, as printed.
  const run = await runCli(['run', 'cdl.yml', '--event', 'push', '--runs-on-any'], {
    cwd: dir,
    env: { CDL_FORGE: 'local' },
    timeoutMs: 600_000,
  });
  expect(run.code, run.stdout.slice(-3000) + run.stderr).toBe(0);
  expect(run.stdout).toMatch(/cdl \/ model \/ train\s+success/);
  expect(run.stdout).toMatch(/cdl \/ model \/ gate\s+success/);
  return {
    init,
    run,
    config: parseYaml(readFileSync(path.join(dir, 'cdl.yaml'), 'utf8')) as Record<string, Record<string, unknown>>,
  };
}

describe('cdl init', () => {
  it('an image folder: image-folder format, [8, 8, 1], the class folders; the starter trains and gates with no edit', async () => {
    const dir = repo('cdl-init-images-');
    imageFolder(dir);
    const { config, init } = await initAndRun(dir, []);
    expect(init.stdout).toContain(
      './data: image-folder, 120 training and 40 test examples of shape [8, 8, 1], 2 classes (bright, dark)',
    );
    expect(config.model).toMatchObject({ name: 'my-model', input_shape: [8, 8, 1] });
    expect(config.data).toMatchObject({
      format: 'image-folder',
      path: './data',
      train: 'train',
      test: 'test',
      classes: ['bright', 'dark'],
    });
    expect(config.gate).toEqual({ metrics: { accuracy: { min: 0.7, max_regression: 0.01 } } });
    expect(readFileSync(path.join(dir, '.gitignore'), 'utf8')).toContain('.cdl/');
  });

  it('a CSV file: csv format, four features, the label names; the starter trains and gates with no edit', async () => {
    const dir = repo('cdl-init-csv-');
    csvFiles(dir);
    const { config } = await initAndRun(dir, ['--data', 'data/train.csv']);
    expect(config.model).toMatchObject({ input_shape: [4] });
    expect(config.data).toMatchObject({
      format: 'csv',
      path: './data',
      train: 'train.csv',
      test: 'test.csv',
      classes: ['no', 'yes'],
    });
    // The file loads as written, comments and all.
    expect((await loadConfig(path.join(dir, 'cdl.yaml'))).config.model.layers?.at(-1)).toMatchObject({ units: 2 });
  });

  it('refuses to overwrite without --force, naming the file; refuses data it cannot place, naming what it expected', async () => {
    const dir = repo('cdl-init-refuse-');
    csvFiles(dir);
    writeFileSync(path.join(dir, 'cdl.yaml'), 'mine\n');
    const refused = await runCli(['init', '--yes'], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('cdl.yaml exists; cdl init leaves it alone (--force to overwrite it)');
    expect(readFileSync(path.join(dir, 'cdl.yaml'), 'utf8')).toBe('mine\n');
    expect(existsSync(path.join(dir, '.github'))).toBe(false);
    const forced = await runCli(['init', '--yes', '--force'], { cwd: dir });
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'cdl.yaml'), 'utf8')).toContain('format: csv');

    const empty = repo('cdl-init-empty-');
    const none = await runCli(['init', '--yes'], { cwd: empty });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/found no data in \.\/data or at the root; name it with --data PATH/);
    writeFileSync(path.join(empty, 'only.csv'), 'a,label\n1,x\n');
    const lone = await runCli(['init', '--yes', '--data', 'only.csv'], { cwd: empty });
    expect(lone.code).toBe(1);
    expect(lone.stderr).toContain('no test file beside it; expected test.csv');
    const usage = await runCli(['init'], { cwd: dir });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('pass --yes');
  });
});
