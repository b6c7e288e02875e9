/** The `cdl` command. Each subcommand is a plain function loaded lazily; errors map to exit codes here. */
import { UsageError, exitCodeOf, messageOf } from '../util/errors.js';
import { CDL_VERSION } from '../version.js';
import { FlagError, renderHelp } from './args.js';
import { COMMANDS, commandSpec, mainHelp } from './commands.js';

export type CommandFn = (argv: string[]) => Promise<number | void>;

/** The handler of each declared command, loaded when it runs. */
const HANDLERS: Record<keyof typeof COMMANDS, () => Promise<CommandFn>> = {
  init: async () => (await import('./init.js')).initCommand,
  train: async () => (await import('./train.js')).trainCommand,
  tune: async () => (await import('./tune.js')).tuneCommand,
  run: async () => (await import('./run.js')).runCommand,
  evaluate: async () => (await import('./evaluate.js')).evaluateCommand,
  gate: async () => (await import('./evaluate.js')).gateCommand,
  serve: async () => (await import('./serve.js')).serveCommand,
  compress: async () => (await import('./compress.js')).compressCommand,
  data: async () => (await import('./data.js')).dataCommand,
  models: async () => (await import('./models.js')).modelsCommand,
  runs: async () => (await import('./runs.js')).runsCommand,
  deploy: async () => (await import('./models.js')).deployCommand,
  monitor: async () => (await import('./monitor.js')).monitorCommand,
  validate: async () => (await import('./validate.js')).validateCommand,
  schema: async () => (await import('./validate.js')).schemaCommand,
};

function help(name: string): string | undefined {
  const spec = commandSpec(name);
  return spec && renderHelp(name, spec);
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      const topic = name === 'help' ? rest[0] : undefined;
      if (topic) {
        const text = help(topic);
        if (!text) throw new UsageError(`unknown command "${topic}"; run cdl --help for the list`);
        process.stdout.write(text + '\n');
      } else process.stdout.write(mainHelp() + '\n');
      return name ? 0 : 2;
    }
    if (name === '--version' || name === '-v' || name === 'version') {
      process.stdout.write(`cdl ${CDL_VERSION}\n`);
      return 0;
    }
    const load = commandSpec(name) && HANDLERS[name as keyof typeof COMMANDS];
    if (!load)
      throw new UsageError(`unknown command "${name}"; expected one of ${Object.keys(COMMANDS).join(', ')} (cdl --help)`);
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(help(name) + '\n');
      return 0;
    }
    const run = await load();
    return (await run(rest)) ?? 0;
  } catch (e) {
    process.stderr.write(`cdl: ${messageOf(e)}\n`);
    // A flag cdl does not know, or one without its value: the usage follows.
    const usage = name ? help(name) : undefined;
    if (e instanceof FlagError && usage) process.stderr.write(`\n${usage}\n`);
    if (process.env.CDL_DEBUG && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
    return exitCodeOf(e);
  }
}
