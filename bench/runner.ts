/**
 * cdl run overhead and artifact throughput.
 *
 *   npx tsx bench/runner.ts [--steps 50] [--mib 64] [--repeat 3]
 *
 * 1. Per-step overhead: a job of N trivial `run:` steps under cdl run, against the same N commands
 *    in one bash script (a fresh bash each, as cdl run starts one per step, and all in one bash).
 * 2. Artifact throughput on loopback: the unmodified @actions/artifact uploads and downloads a file
 *    of random bytes through the results server.
 * Writes bench/results/runner.json and bench/results/runner.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { runWorkflow } from '../runner/engine/workflow-run.js';
import { startResultsServer } from '../runner/results-server/index.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '50' },
    mib: { type: 'string', default: '64' },
    repeat: { type: 'string', default: '3' },
  },
});
const steps = Number(values.steps);
const mib = Number(values.mib);
const repeat = Number(values.repeat);
const root = fileURLToPath(new URL('..', import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const repo = mkdtempSync(path.join(os.tmpdir(), 'cdl-bench-runner-'));
try {
  mkdirSync(path.join(repo, '.github', 'workflows'), { recursive: true });
  const commands = Array.from({ length: steps }, (_, i) => `echo "step ${i + 1}" > /dev/null`);
  const wf = [
    'on: push',
    'jobs:',
    '  trivial:',
    '    runs-on: self-hosted',
    '    steps:',
    ...commands.map((c) => `      - run: ${c}`),
  ].join('\n');
  writeFileSync(path.join(repo, '.github', 'workflows', 'steps.yml'), wf + '\n');
  writeFileSync(path.join(repo, 'all.sh'), commands.join('\n') + '\n');
  execFileSync('git', ['init', '-q'], { cwd: repo });

  const runner: number[] = [];
  const oneShell: number[] = [];
  const shellEach: number[] = [];
  for (let r = 0; r < repeat; r++) {
    let t = performance.now();
    const s = await runWorkflow({ workflow: '.github/workflows/steps.yml', repoRoot: repo, write: () => undefined });
    runner.push(performance.now() - t);
    if (s.exitCode !== 0) throw new Error('the benchmark workflow failed');
    t = performance.now();
    spawnSync('bash', ['-e', path.join(repo, 'all.sh')]);
    oneShell.push(performance.now() - t);
    t = performance.now();
    for (const c of commands) spawnSync('bash', ['-e', '-c', c]);
    shellEach.push(performance.now() - t);
  }

  // artifact throughput
  const server = await startResultsServer({ root: path.join(repo, 'results'), runId: '1', jobId: 'bench' });
  Object.assign(process.env, await server.env());
  const { DefaultArtifactClient } = await import('@actions/artifact');
  const client = new DefaultArtifactClient();
  const dataDir = path.join(repo, 'data');
  mkdirSync(dataDir);
  const file = path.join(dataDir, 'random.bin');
  writeFileSync(file, randomBytes(mib * 1024 * 1024));
  const up: number[] = [];
  const down: number[] = [];
  for (let r = 0; r < repeat; r++) {
    let t = performance.now();
    const { id } = await client.uploadArtifact(`bench-${r}`, [file], dataDir, { compressionLevel: 0 });
    up.push(performance.now() - t);
    t = performance.now();
    await client.downloadArtifact(id as number, { path: path.join(repo, `dl-${r}`) });
    down.push(performance.now() - t);
  }
  await server.close();

  const result = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    steps,
    runner_ms: median(runner),
    one_shell_script_ms: median(oneShell),
    bash_per_command_ms: median(shellEach),
    overhead_per_step_ms: (median(runner) - median(oneShell)) / steps,
    overhead_per_step_vs_bash_each_ms: (median(runner) - median(shellEach)) / steps,
    artifact_mib: mib,
    upload_mib_s: mib / (median(up) / 1000),
    download_mib_s: mib / (median(down) / 1000),
    repeat,
  };
  mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(path.join(root, 'bench', 'results', 'runner.json'), JSON.stringify(result, null, 2) + '\n');
  const md = `# cdl run: overhead and artifact throughput

\`npx tsx bench/runner.ts --steps ${steps} --mib ${mib} --repeat ${repeat}\` on ${result.machine.cpus} × ${result.machine.model}, Node ${result.machine.node} (medians of ${repeat}).

| measure | value |
|---|---|
| ${steps} trivial steps under cdl run (whole run: parse, results server, job) | ${result.runner_ms.toFixed(0)} ms |
| the same ${steps} commands in one bash script | ${result.one_shell_script_ms.toFixed(0)} ms |
| the same ${steps} commands, one bash each | ${result.bash_per_command_ms.toFixed(0)} ms |
| overhead per step against one script | ${result.overhead_per_step_ms.toFixed(1)} ms |
| overhead per step against one bash per command | ${result.overhead_per_step_vs_bash_each_ms.toFixed(1)} ms |
| artifact upload, ${mib} MiB random, @actions/artifact → 127.0.0.1 | ${result.upload_mib_s.toFixed(0)} MiB/s |
| artifact download, same | ${result.download_mib_s.toFixed(0)} MiB/s |
`;
  writeFileSync(path.join(root, 'bench', 'results', 'runner.md'), md);
  process.stdout.write(md);
} finally {
  rmSync(repo, { recursive: true, force: true });
}
