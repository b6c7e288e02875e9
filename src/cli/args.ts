/** Argument parsing on node:util parseArgs, with usage errors that name the flag. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../util/errors.js';

/** An unknown flag, a flag without its value or a stray argument: exit 2, and the command's usage is shown. */
export class FlagError extends UsageError {}

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, command: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true });
  } catch (e) {
    const msg = (e as Error).message
      .replace(/\. To specify a positional argument.*$/s, '')
      .replace(/^Unexpected argument '(.*)'\. This command does not take positional arguments$/s, (_m, arg: string) => {
        const flag =
          /\.ya?ml$/.test(arg) && 'config' in options ? `; to use ${arg} as the configuration, pass --config ${arg}` : '';
        return `unexpected argument "${arg}": cdl ${command.split(' ')[0]} takes flags only${flag}`;
      });
    throw new FlagError(`${command}: ${msg} (cdl ${command} --help)`);
  }
}
