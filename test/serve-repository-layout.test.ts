// The model repository's layout, which the server and deploy both read through one module: which
// folders are versions (and in what order), which config file a model has, and how it is written.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repositoryVersions } from '../src/deploy/server.js';
import { configFileOf, readConfigFile, versionDirs, writeConfigFile } from '../src/serve/repository-layout.js';
import { ConfigError } from '../src/util/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cdl-layout-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('the model repository layout', () => {
  it('takes positive integer folders as versions, highest first; deploy lists them lowest first with their tags', async () => {
    for (const d of ['1', '2', '10', '01', '0', 'x', '.3.partial-1']) await mkdir(path.join(dir, d));
    await writeFile(path.join(dir, '4'), 'a file, not a version');
    await writeFile(path.join(dir, '2', 'cdl-release.json'), JSON.stringify({ tag: 'fm-v2' }));
    expect(await versionDirs(dir)).toEqual([10, 2, 1]);
    expect(await repositoryVersions(dir)).toEqual([
      { version: 1, tag: null },
      { version: 2, tag: 'fm-v2' },
      { version: 10, tag: null },
    ]);
  });

  it('reads the first config file of config.yaml, config.yml, config.json', async () => {
    expect(await readConfigFile(dir)).toEqual({ file: null, raw: undefined });
    expect(configFileOf(dir, null)).toBe(path.join(dir, 'config.yaml'));
    await writeFile(path.join(dir, 'config.json'), '{"max_batch_size": 8}');
    await writeFile(path.join(dir, 'config.yml'), 'max_batch_size: 4\n');
    expect(await readConfigFile(dir)).toEqual({ file: path.join(dir, 'config.yml'), raw: { max_batch_size: 4 } });
  });

  it('refuses a config file that does not parse with a ConfigError naming it', async () => {
    await writeFile(path.join(dir, 'config.json'), '{');
    await expect(readConfigFile(dir)).rejects.toThrow(ConfigError);
    await expect(readConfigFile(dir)).rejects.toThrow(`${path.join(dir, 'config.json')}: cannot parse`);
  });

  it.each(['config.json', 'config.yaml'])('writes %s in its own format', async (name) => {
    const file = path.join(dir, name);
    await writeConfigFile(file, { version_policy: { specific: [1, 2] } });
    expect((await readConfigFile(dir)).raw).toEqual({ version_policy: { specific: [1, 2] } });
    const text = await readFile(file, 'utf8');
    expect(text.trimStart().startsWith('{')).toBe(name.endsWith('.json'));
  });
});
