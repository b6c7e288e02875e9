/** `cdl serve`: a thin handler over src/serve; runs until SIGTERM or SIGINT, then drains. */
import { ModelServer, SERVE_LIMITS } from '../serve/server.js';
import { jsonLogger, LOG_LEVELS, type LogLevel } from '../serve/log.js';
import { UsageError } from '../util/errors.js';
import { parse } from './args.js';
import { COMMANDS } from './commands.js';

function int(value: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^[0-9]+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`serve: ${flag} must be an integer from ${min} to ${max}, got "${value}"`);
  return n;
}

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, COMMANDS.serve, 'serve');
  if (!values.repository)
    throw new UsageError('serve: --repository DIR is required (a directory of <model>/<version>/model.onnx)');
  const level = (values['log-level'] ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(level))
    throw new UsageError(`serve: --log-level must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  const host = values.host ?? '127.0.0.1';
  if (!host.trim()) throw new UsageError('serve: --host must be an address, e.g. 127.0.0.1 or 0.0.0.0, got ""');
  const limit = (flag: string, k: keyof typeof SERVE_LIMITS) =>
    int(values[flag as 'port'], `--${flag}`, SERVE_LIMITS[k].min, SERVE_LIMITS[k].max);
  const log = jsonLogger({ level });
  const server = await ModelServer.start({
    repository: values.repository,
    host,
    port: int(values.port, '--port', 0, 65535) ?? 8000,
    grpcPort: int(values['grpc-port'], '--grpc-port', 0, 65535),
    pollMs: int(values['poll-ms'], '--poll-ms', 0, 86_400_000) ?? 2000,
    drainTimeoutMs: limit('drain-timeout-ms', 'drainTimeoutMs'),
    maxBodyBytes: limit('max-body-bytes', 'maxBodyBytes'),
    bodyTimeoutMs: limit('body-timeout-ms', 'bodyTimeoutMs'),
    headersTimeoutMs: limit('headers-timeout-ms', 'headersTimeoutMs'),
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
