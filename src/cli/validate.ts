import { readFile } from 'node:fs/promises';
import { configJsonSchema, formatProblems, parseConfig } from '../config/index.js';
import { ConfigError, UsageError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { parse } from './args.js';
import { COMMANDS } from './commands.js';

export async function validateCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, COMMANDS.validate, 'validate');
  const file = values.config as string;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UsageError(`${file}: no such file; expected a cdl.yaml (pass --config PATH)`);
  }
  const result = parseConfig(text, values.set as string[]);
  if (result.warnings.length) process.stderr.write(formatProblems(file, result.warnings).replace(/^/gm, 'warning: ') + '\n');
  if (result.errors.length) throw new ConfigError(formatProblems(file, result.errors));
  process.stdout.write(`${file}: valid\n`);
  return 0;
}

export async function schemaCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, COMMANDS.schema, 'schema');
  const text = JSON.stringify(configJsonSchema(), null, 2) + '\n';
  if (values.out) await writeFileAtomic(values.out as string, text);
  else process.stdout.write(text);
  return 0;
}
