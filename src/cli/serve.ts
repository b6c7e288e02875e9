/** `cdl serve`: a thin handler over src/serve; runs until SIGTERM or SIGINT, then drains. */
import { ModelServer } from '../serve/server.js';
import { jsonLogger, LOG_LEVELS, type LogLevel } from '../serve/log.js';
import { UsageError } from '../util/errors.js';
import { parse } from './args.js';

function int(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`serve: ${flag} must be an integer >= ${min}, got "${value}"`);
  return n;
}

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      repository: { type: 'string', short: 'r' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      'poll-ms': { type: 'string' },
      'drain-timeout-ms': { type: 'string' },
      'log-level': { type: 'string' },
    },
    'serve',
  );
  if (!values.repository)
    throw new UsageError('serve: --repository DIR is required (a directory of <model>/<version>/model.onnx)');
  const level = (values['log-level'] ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(level))
    throw new UsageError(`serve: --log-level must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  const log = jsonLogger({ level });
  const server = await ModelServer.start({
    repository: values.repository,
    host: values.host ?? '127.0.0.1',
    port: int(values.port, '--port', 0) ?? 8000,
    pollMs: int(values['poll-ms'], '--poll-ms', 0) ?? 2000,
    drainTimeoutMs: int(values['drain-timeout-ms'], '--drain-timeout-ms', 0),
    log,
  });
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      void server.shutdown(signal).then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return 0;
}
