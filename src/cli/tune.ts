import path from 'node:path';
import { loadConfig } from '../config/index.js';
import { UsageError } from '../util/errors.js';
import { parse } from './args.js';

export async function tuneCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      config: { type: 'string', short: 'c', default: 'cdl.yaml' },
      out: { type: 'string', short: 'o' },
      set: { type: 'string', short: 's', multiple: true, default: [] },
      parallel: { type: 'string', short: 'p' },
      trials: { type: 'string', short: 'n' },
      fresh: { type: 'boolean', default: false },
      'final-model': { type: 'boolean', default: false },
      verbose: { type: 'boolean', short: 'v', default: false },
      json: { type: 'boolean', default: false },
      worker: { type: 'boolean', default: false },
    },
    'tune',
  );
  if (values.worker) {
    const { workerMain } = await import('../tune/run.js');
    await workerMain();
    process.exit(0);
  }
  const { tune } = await import('../tune/run.js');
  const overrides = [...(values.set as string[])];
  const count = (name: 'parallel' | 'trials'): number | undefined => {
    const v = values[name] as string | undefined;
    if (v === undefined) return undefined;
    if (!/^[1-9]\d*$/.test(v)) throw new UsageError(`tune: --${name} "${v}": expected a positive integer (cdl tune --help)`);
    return Number(v);
  };
  const trials = count('trials');
  if (trials !== undefined) overrides.push(`tune.trials=${trials}`);
  const loaded = await loadConfig(values.config as string, overrides);
  const outDir = (values.out as string | undefined) ?? path.join('.cdl', 'tune', loaded.config.model.name);
  const log = (line: string) => process.stderr.write(line + '\n');
  const result = await tune({
    loaded,
    overrides,
    outDir,
    log,
    parallel: count('parallel'),
    fresh: values.fresh as boolean,
    finalModel: (values['final-model'] as boolean) || undefined,
    verbose: values.verbose as boolean,
  });
  if (values.json) process.stdout.write(JSON.stringify(result.best ?? null, null, 2) + '\n');
  return result.best ? 0 : 1;
}
