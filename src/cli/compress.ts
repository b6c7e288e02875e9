/** `cdl compress`: a thin handler over src/compress. */
import { loadConfig } from '../config/index.js';
import { parseMethods } from '../compress/method-names.js';
import { compressModel } from '../compress/compress-model.js';
import { UsageError } from '../util/errors.js';
import { defaultPaths } from '../util/state-paths.js';
import { parse } from './args.js';
import { COMMANDS } from './commands.js';

const log = (line: string) => process.stderr.write(line + '\n');

export async function compressCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, COMMANDS.compress, 'compress');
  if (!values.model) throw new UsageError('compress: --model DIR is required (the parent model directory)');
  const methods = parseMethods(values.method as string[]);
  const dropText = values['max-accuracy-drop'] as string | undefined;
  const maxAccuracyDrop = dropText === undefined ? undefined : Number(dropText);
  if (maxAccuracyDrop !== undefined && !(maxAccuracyDrop >= 0)) {
    throw new UsageError(`compress: --max-accuracy-drop expects a number of percentage points >= 0, got "${dropText}"`);
  }
  const loaded = await loadConfig(values.config as string, values.set as string[]);
  const outDir = (values.out as string | undefined) ?? defaultPaths.compressedModel(loaded.config.model.name);
  const result = await compressModel({
    loaded,
    model: values.model as string,
    outDir,
    methods,
    maxAccuracyDrop,
    candidatesDir: values['keep-candidates'] as string | undefined,
    log,
  });
  if (values.json) process.stdout.write(JSON.stringify(result.record, null, 2) + '\n');
  else process.stdout.write(result.markdown + '\n');
  return 0;
}
