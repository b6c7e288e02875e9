/** The `cdl` command. Each subcommand is a plain function loaded lazily; errors map to exit codes here. */
import { UsageError, exitCodeOf, messageOf } from '../util/errors.js';
import { CDL_VERSION } from '../version.js';
import { FlagError } from './args.js';
import { COMMANDS, mainHelp } from './commands.js';

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      const topic = name === 'help' ? rest[0] : undefined;
      if (topic) {
        const cmd = COMMANDS[topic];
        if (!cmd) throw new UsageError(`unknown command "${topic}"; run cdl --help for the list`);
        process.stdout.write(cmd.help + '\n');
      } else process.stdout.write(mainHelp() + '\n');
      return name ? 0 : 2;
    }
    if (name === '--version' || name === '-v' || name === 'version') {
      process.stdout.write(`cdl ${CDL_VERSION}\n`);
      return 0;
    }
    const cmd = COMMANDS[name];
    if (!cmd) throw new UsageError(`unknown command "${name}"; expected one of ${Object.keys(COMMANDS).join(', ')} (cdl --help)`);
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(cmd.help + '\n');
      return 0;
    }
    const run = await cmd.load();
    return (await run(rest)) ?? 0;
  } catch (e) {
    process.stderr.write(`cdl: ${messageOf(e)}\n`);
    // A flag cdl does not know, or one without its value: the usage follows.
    const cmd = name ? COMMANDS[name] : undefined;
    if (e instanceof FlagError && cmd) process.stderr.write(`\n${cmd.help}\n`);
    if (process.env.CDL_DEBUG && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
    return exitCodeOf(e);
  }
}
