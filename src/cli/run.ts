// `cdl run`: run a repository's GitHub workflow on this machine (runner/engine).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../util/errors.js';
import { parse } from './args.js';
import { COMMANDS } from './commands.js';

function pairs(list: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`run: ${flag} ${JSON.stringify(item)}: expected NAME=VALUE`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** NAME=value lines (a .env file): blank lines and # comments are skipped, values may be quoted. */
export function parseSecretsFile(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (!t || t.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(t);
    if (!m) throw new UsageError(`${file}:${i + 1}: expected NAME=value`);
    let value = m[2] as string;
    if (/^".*"$/.test(value)) value = JSON.parse(value) as string;
    else if (/^'.*'$/.test(value)) value = value.slice(1, -1);
    out[m[1] as string] = value;
  });
  return out;
}

/** The repository holding `dir`: the nearest directory upward with a .git, else `dir` itself. */
export function repositoryRoot(dir: string): string {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (existsSync(path.join(d, '.git'))) return d;
    if (path.dirname(d) === d) return path.resolve(dir);
  }
}

/**
 * The workflow file a `cdl run` argument names: a path (relative to the current directory, or else
 * to the repository's root, so `.github/workflows/ci.yml` works from any folder of the repository),
 * or a bare name (`release.yml`, `release`) of a file in the repository's .github/workflows/ unless
 * a file of that name is in the current directory.
 */
export function workflowFile(arg: string, repoRoot: string): string {
  if (arg.includes('/') || arg.includes(path.sep)) {
    const here = path.resolve(arg);
    const fromRoot = path.resolve(repoRoot, arg);
    return !existsSync(here) && !path.isAbsolute(arg) && existsSync(fromRoot) ? fromRoot : here;
  }
  if (/\.ya?ml$/.test(arg) && existsSync(arg)) return path.resolve(arg);
  return path.join(repoRoot, '.github', 'workflows', /\.ya?ml$/.test(arg) ? arg : `${arg}.yml`);
}

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, COMMANDS.run, 'run');
  if (positionals.length !== 1)
    throw new UsageError('run: expected one workflow file (cdl run .github/workflows/ci.yml; cdl run --help)');
  const repoRoot = repositoryRoot(process.cwd());
  const workflow = workflowFile(positionals[0] as string, repoRoot);
  const secrets: Record<string, string> = {};
  if (values['secrets-file']) {
    const file = values['secrets-file'] as string;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      throw new UsageError(`run: --secrets-file ${file}: no such file`);
    }
    Object.assign(secrets, parseSecretsFile(text, file));
  }
  Object.assign(secrets, pairs(values.secret as string[], '--secret'));
  let maxParallel: number | undefined;
  if (values['max-parallel'] !== undefined) {
    maxParallel = Number(values['max-parallel']);
    if (!Number.isInteger(maxParallel) || maxParallel < 1) throw new UsageError('run: --max-parallel expects a positive integer');
  }
  const { runWorkflow } = await import('../../runner/engine/workflow-run.js');
  const summary = await runWorkflow({
    workflow,
    repoRoot,
    event: values.event as string | undefined,
    ref: values.ref as string | undefined,
    inputs: pairs(values.input as string[], '--input'),
    payloadFile: values.payload as string | undefined,
    secrets,
    vars: pairs(values.var as string[], '--var'),
    job: values.job as string | undefined,
    runsOnAny: Boolean(values['runs-on-any']),
    actionsDir: values['actions-dir'] as string | undefined,
    maxParallel,
    stateDir: values['state-dir'] as string | undefined,
    verbose: Boolean(values.verbose),
  });
  return summary.exitCode;
}
