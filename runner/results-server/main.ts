// Standalone results server:
//   npx tsx runner/results-server/main.ts --root DIR [--port N] [--host H]
//        [--run-id ID] [--job-id ID] [--repository OWNER/REPO] [--log] [--json]
// Prints the environment a step needs (shell `export` lines, or JSON with
// --json) and the run's GITHUB_TOKEN for the REST routes, and serves until
// interrupted. Tokens are signed with a key drawn at start: they end with the server.
import { parseArgs } from 'node:util';
import { startResultsServer } from './index.js';
import { REPOSITORY_PATTERN } from './token.js';

const USAGE = `usage: main.ts --root DIR [--port N] [--host 127.0.0.1] [--run-id ID] [--job-id ID] [--repository OWNER/REPO] [--log] [--json]`;

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        root: { type: 'string' },
        port: { type: 'string', default: '0' },
        host: { type: 'string', default: '127.0.0.1' },
        'run-id': { type: 'string' },
        'job-id': { type: 'string' },
        repository: { type: 'string' },
        log: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.root) {
    process.stderr.write(`--root is required\n${USAGE}\n`);
    process.exit(2);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port must be an integer between 0 and 65535\n`);
    process.exit(2);
  }
  if (values.repository !== undefined && !REPOSITORY_PATTERN.test(values.repository)) {
    process.stderr.write(`--repository must be OWNER/REPO (got ${JSON.stringify(values.repository)})\n`);
    process.exit(2);
  }
  const server = await startResultsServer({
    root: values.root,
    host: values.host,
    port,
    runId: values['run-id'],
    jobId: values['job-id'],
    repository: values.repository,
    log: values.log,
  });
  const env = await server.env();
  const githubToken = await server.githubToken();
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ url: server.url, env, githubToken }, null, 2)}\n`);
  } else {
    process.stdout.write(`# results server listening on ${server.url} (root ${server.root})\n`);
    process.stdout.write(`# GITHUB_TOKEN for the /repos/.../actions/artifacts routes: ${githubToken}\n`);
    for (const [key, value] of Object.entries(env)) process.stdout.write(`export ${key}=${shellQuote(value)}\n`);
  }
  const stop = () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`results server: ${(error as Error).message}\n`);
  process.exit(1);
});
