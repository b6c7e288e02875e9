/**
 * The layout of a model repository, owned here for the server that reads it (repository.ts) and
 * for deploy, which writes versions into it: `<root>/<model>/<version>/` folders whose names are
 * positive integers without leading zeros (as in Triton), and at most one config file per model,
 * the first of config.yaml, config.yml, config.json that exists (what it may hold: config.ts).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';

export const CONFIG_FILES = ['config.yaml', 'config.yml', 'config.json'] as const;

/** Whether a folder name is a version: a positive integer without leading zeros. */
export const isVersionDir = (name: string): boolean => /^[1-9][0-9]*$/.test(name);

/** The versions of a model on disk (its version folders), highest first. */
export async function versionDirs(modelDir: string): Promise<number[]> {
  const entries = await readdir(modelDir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && isVersionDir(e.name))
    .map((e) => Number(e.name))
    .sort((a, b) => b - a);
}

/**
 * A model's config file and its parsed content, not yet validated (file null: there is none).
 * A file that does not parse is a ConfigError naming it.
 */
export async function readConfigFile(modelDir: string): Promise<{ file: string | null; raw: unknown }> {
  for (const name of CONFIG_FILES) {
    const file = path.join(modelDir, name);
    if (!existsSync(file)) continue;
    const text = await readFile(file, 'utf8');
    try {
      return { file, raw: name.endsWith('.json') ? JSON.parse(text) : YAML.parse(text) };
    } catch (e) {
      throw new ConfigError(`${file}: cannot parse: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return { file: null, raw: undefined };
}

/** The file a model's config is written to: the one it has, else config.yaml. */
export const configFileOf = (modelDir: string, found: string | null): string => found ?? path.join(modelDir, CONFIG_FILES[0]);

/** Write a model's config, in its file's format (JSON or YAML), atomically: the server never reads half of it. */
export async function writeConfigFile(file: string, value: Record<string, unknown>): Promise<void> {
  await writeFileAtomic(file, file.endsWith('.json') ? JSON.stringify(value, null, 2) + '\n' : YAML.stringify(value));
}
