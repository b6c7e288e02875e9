import path from 'node:path';
import { loadConfig } from '../config/index.js';
import { UsageError } from '../util/errors.js';
import { defaultPaths } from '../util/state-paths.js';
import type { DistributedOptions } from '../tune/distributed.js';
import { parse } from './args.js';
import { COMMANDS } from './commands.js';

export async function tuneCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, COMMANDS.tune, 'tune');
  if (values.worker) {
    const { workerMain } = await import('../tune/trial-worker.js');
    await workerMain();
    process.exit(0);
  }
  const { tune } = await import('../tune/tuning.js');
  const overrides = [...(values.set as string[])];
  const count = (name: 'parallel' | 'trials' | 'trial' | 'rung', min = 1): number | undefined => {
    const v = values[name] as string | undefined;
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < min) {
      throw new UsageError(
        `tune: --${name} "${v}": expected ${min ? 'a positive integer' : 'an integer >= 0'} (cdl tune --help)`,
      );
    }
    return Number(v);
  };
  const trials = count('trials');
  if (trials !== undefined) overrides.push(`tune.trials=${trials}`);
  const loaded = await loadConfig(values.config as string, overrides);
  const outDir = (values.out as string | undefined) ?? defaultPaths.study(loaded.config.model.name);
  const log = (line: string) => process.stderr.write(line + '\n');
  const mode = values.mode as string;
  if (mode !== 'tune') return distributed(mode, { loaded, overrides, outDir, log }, values, count);
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

type Counter = (name: 'trial' | 'rung', min?: number) => number | undefined;

async function distributed(
  mode: string,
  o: DistributedOptions,
  values: Record<string, unknown>,
  count: Counter,
): Promise<number> {
  const { plan, runTrial, select } = await import('../tune/distributed.js');
  const need = (name: 'trial' | 'rung') => {
    const v = count(name, 0);
    if (v === undefined) throw new UsageError(`tune: --mode ${mode} needs --${name} (cdl tune --help)`);
    return v;
  };
  const resultsDir = (values.results as string | undefined) ?? path.join(o.outDir, 'results');
  if (mode === 'plan') {
    const r = await plan(o);
    process.stdout.write(JSON.stringify(r.matrix) + '\n');
    return 0;
  }
  if (mode === 'trial') {
    const trial = need('trial');
    const checkpointDir = (values.checkpoint as string | undefined) ?? path.join(o.outDir, 'trials', String(trial), 'checkpoint');
    const r = await runTrial({ ...o, trial, rung: need('rung'), checkpointDir, resultsDir });
    process.stdout.write(JSON.stringify({ trial: r.trial, rung: r.rung, epochs: r.epochs, value: r.value }) + '\n');
    return 0;
  }
  if (mode === 'select') {
    const r = await select({ ...o, rung: need('rung'), resultsDir, finalModel: (values['final-model'] as boolean) || undefined });
    process.stdout.write(
      JSON.stringify(r.done ? { done: true, best: r.outputs?.best ?? null } : { done: false, matrix: r.matrix }) + '\n',
    );
    return r.done && !r.outputs?.best ? 1 : 0;
  }
  throw new UsageError(`tune: --mode "${mode}": expected tune, plan, trial or select (cdl tune --help)`);
}
