// `cdl run`: run a repository's GitHub workflow on this machine (runner/engine).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;
import { UsageError } from '../util/errors.js';
import { FlagError } from './args.js';

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

const OPTIONS = {
  event: { type: 'string', short: 'e' as const },
  ref: { type: 'string' },
  input: { type: 'string', short: 'i', multiple: true, default: [] as string[] },
  payload: { type: 'string' },
  secret: { type: 'string', short: 's', multiple: true, default: [] as string[] },
  'secrets-file': { type: 'string' },
  var: { type: 'string', multiple: true, default: [] as string[] },
  job: { type: 'string', short: 'j' },
  'runs-on-any': { type: 'boolean' },
  'actions-dir': { type: 'string' },
  'max-parallel': { type: 'string' },
  'state-dir': { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
} satisfies ParseArgsOptionsConfig;

export async function runCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new FlagError(`run: ${(e as Error).message} (cdl run --help)`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1)
    throw new UsageError('run: expected one workflow file (cdl run .github/workflows/ci.yml; cdl run --help)');
  let workflow = positionals[0] as string;
  const repoRoot = process.cwd();
  if (!workflow.includes('/') && !workflow.endsWith('.yml') && !workflow.endsWith('.yaml')) {
    workflow = path.join('.github', 'workflows', `${workflow}.yml`);
  }
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
  const { runWorkflow } = await import('../../runner/engine/run.js');
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
