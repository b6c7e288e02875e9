/** `cdl monitor`: a thin handler over src/monitor. */
import { loadConfig } from '../config/index.js';
import { selectForge } from '../forge/index.js';
import { failsOn } from '../monitor/fail-on.js';
import { driftText } from '../monitor/report.js';
import { monitoredModelDir, runMonitor } from '../monitor/monitor-model.js';
import { withTempDir, writeFileAtomic } from '../util/fs.js';
import { parse } from './args.js';
import { COMMANDS } from './commands.js';

const log = (line: string) => process.stderr.write(line + '\n');

export async function monitorCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, COMMANDS.monitor, 'monitor');
  const loaded = await loadConfig(values.config as string, values.set as string[]);
  const forge = await selectForge({ log, root: loaded.dir });
  return withTempDir('cdl-monitor-', async (workDir) => {
    const modelDir = await monitoredModelDir({
      given: values.model as string | undefined,
      forge,
      model: loaded.config.model.name,
      tagTemplate: loaded.config.deploy?.tag,
      workDir,
      log,
    });
    const out = await runMonitor({
      modelDir,
      source: values.source as string | undefined,
      monitor: loaded.config.monitor,
      forge,
      issue: values['no-issue'] ? false : undefined,
      retrain: !values['no-retrain'],
      log,
    });
    if (values.report) await writeFileAtomic(values.report as string, out.markdown);
    process.stdout.write((values.json ? JSON.stringify(out.report, null, 2) : driftText(out.report)) + '\n');
    return failsOn(out.report.status, values['fail-on'] as string) ? 1 : 0;
  });
}
