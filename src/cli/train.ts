import { loadConfig } from '../config/index.js';
import { recordTrainRun } from '../runs/record.js';
import { train } from '../train/training.js';
import { defaultPaths } from '../util/state-paths.js';
import { parse } from './args.js';
import { COMMANDS } from './commands.js';

export async function trainCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, COMMANDS.train, 'train');
  const overrides = values.set as string[];
  const loaded = await loadConfig(values.config as string, overrides);
  const outDir = (values.out as string | undefined) ?? defaultPaths.model(loaded.config.model.name);
  const log = (line: string) => process.stderr.write(line + '\n');
  const result = await train({
    loaded,
    overrides,
    outDir,
    resume: values.resume as boolean,
    log,
    progress: !values.quiet && Boolean(process.stderr.isTTY),
  });
  // The run belongs to the repository of the configuration it trained, wherever cdl was started.
  await recordTrainRun(loaded, result, { log, dir: loaded.dir });
  if (values.json) process.stdout.write(JSON.stringify(result.metrics, null, 2) + '\n');
  return 0;
}
