// File commands: the files a step's process writes ($GITHUB_OUTPUT, $GITHUB_ENV, $GITHUB_PATH,
// $GITHUB_STATE, $GITHUB_STEP_SUMMARY), made fresh for each process and read back after it.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseKeyValueFile } from './commands.js';

const ENV_FILES = ['GITHUB_OUTPUT', 'GITHUB_ENV', 'GITHUB_PATH', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY'] as const;

export type FileCommandFiles = Record<(typeof ENV_FILES)[number], string>;

interface FileCommandResults {
  outputs: Record<string, string>;
  /** GITHUB_ENV entries the job takes on. */
  env: Record<string, string>;
  /** GITHUB_ENV names refused because the runner sets them. */
  refused: string[];
  /** GITHUB_PATH entries, in the order written. */
  path: string[];
  state: Record<string, string>;
  summary: string;
}

/** Fresh, empty file-command files for process number `n` of a job, in `dir`. */
export async function createFileCommandFiles(dir: string, n: number): Promise<FileCommandFiles> {
  const files = {} as FileCommandFiles;
  for (const name of ENV_FILES) {
    const file = path.join(dir, `${String(n).padStart(3, '0')}-${name.slice(7).toLowerCase()}`);
    await writeFile(file, '');
    files[name] = file;
  }
  return files;
}

/** What a process wrote to its file commands. */
export async function readFileCommands(files: FileCommandFiles): Promise<FileCommandResults> {
  const read = (f: string) => readFile(f, 'utf8').catch(() => '');
  const outputs = parseKeyValueFile(await read(files.GITHUB_OUTPUT), 'GITHUB_OUTPUT');
  const env: Record<string, string> = {};
  const refused: string[] = [];
  for (const [k, v] of Object.entries(parseKeyValueFile(await read(files.GITHUB_ENV), 'GITHUB_ENV'))) {
    if (k !== 'NODE_OPTIONS' && /^(GITHUB_|RUNNER_)/.test(k)) refused.push(k);
    else env[k] = v;
  }
  const added = (await read(files.GITHUB_PATH))
    .split(/\r?\n/)
    .map((p) => p.trim())
    .filter(Boolean);
  const state = parseKeyValueFile(await read(files.GITHUB_STATE), 'GITHUB_STATE');
  const summary = await read(files.GITHUB_STEP_SUMMARY);
  return { outputs, env, refused, path: added, state, summary };
}
