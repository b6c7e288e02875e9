/**
 * The model server under load (autocannon, on 127.0.0.1).
 *
 *   npx tsx bench/serve.ts [--seconds 10] [--soak 60] [--models mlp,cnn]
 *
 * For each example model (trained here: one epoch on 2,000 images of the shipped subset):
 * 1. `cdl serve` in its own process, one image per request (JSON, [1,28,28,1] float32):
 *    throughput and p50/p99 latency at concurrency 1, 16 and 64, dynamic batching on
 *    (max_batch_size 64, max_queue_delay_ms 2);
 * 2. the same at concurrency 64 with dynamic batching off;
 * 3. a bare in-process onnxruntime-node session (same options) running the batches the server
 *    formed at concurrency 64 (their mean size), back to back: the ratio server / bare;
 * 4. a soak at concurrency 16 (--soak seconds), sampling the server's memory from /metrics.
 * Writes bench/results/serve.json and bench/results/serve.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { loadOrt } from '../src/runtime/onnxruntime.js';
import { CDL_VERSION } from '../src/version.js';

interface AutocannonResult {
  requests: { total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
/** autocannon ships no type declarations; this is the part used here. */
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: {
  url: string;
  method: string;
  body: string;
  headers: Record<string, string>;
  connections: number;
  duration: number;
}) => Promise<AutocannonResult>;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    soak: { type: 'string', default: '60' },
    models: { type: 'string', default: 'mlp,cnn' },
  },
});
const seconds = Number(values.seconds);
const soakSeconds = Number(values.soak);
const root = fileURLToPath(new URL('..', import.meta.url));
const cdl = path.join(root, 'bin', 'cdl.js');
const CONFIGS: Record<string, string> = {
  mlp: path.join(root, 'examples', 'fashion-mnist', 'cdl.yaml'),
  cnn: path.join(root, 'examples', 'fashion-mnist', 'cdl.cnn.yaml'),
};

const work = mkdtempSync(path.join(os.tmpdir(), 'cdl-bench-serve-'));
const log = (s: string) => process.stderr.write(s + '\n');

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
  });
}

async function startServer(repo: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [cdl, 'serve', '--repository', repo, '--port', '0', '--poll-ms', '0'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  for (let i = 0; i < 600; i++) {
    const m = /"msg":"listening","url":"([^"]+)"/.exec(err);
    if (m) return { url: m[1]!, child };
    if (child.exitCode !== null) throw new Error(`cdl serve exited: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`cdl serve did not start: ${err}`);
}

async function stopServer(s: { child: ChildProcess }): Promise<void> {
  const done = new Promise((r) => s.child.on('close', r));
  s.child.kill('SIGTERM');
  await done;
}

function requestBody(): string {
  const data = Array.from({ length: 784 }, (_, i) => Number((((i * 31) % 255) / 255).toFixed(4)));
  return JSON.stringify({ inputs: [{ name: 'input', shape: [1, 28, 28, 1], datatype: 'FP32', data }] });
}

interface LoadResult {
  concurrency: number;
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  requests: number;
  errors: number;
  non_2xx: number;
  /** The machine's 1-minute load average around the measurement (2 means both cores busy). */
  load_average: number;
}

async function load(url: string, concurrency: number, duration: number): Promise<LoadResult> {
  const loadBefore = os.loadavg()[0]!;
  const r = await autocannon({
    url: `${url}/v2/models/fm/infer`,
    method: 'POST',
    body: requestBody(),
    headers: { 'content-type': 'application/json' },
    connections: concurrency,
    duration,
  });
  return {
    concurrency,
    requests_per_s: Math.round(r.requests.total / duration),
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    requests: r.requests.total,
    errors: r.errors + r.timeouts,
    non_2xx: r.non2xx,
    load_average: +Math.max(loadBefore, os.loadavg()[0]!).toFixed(1),
  };
}

async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

function metric(text: string, re: RegExp): number {
  const m = re.exec(text);
  return m ? Number(m[1]) : NaN;
}

async function bare(onnx: string, batch: number, duration: number): Promise<{ batch: number; rows_per_s: number }> {
  const { ort } = await loadOrt();
  const session = await ort.InferenceSession.create(readFileSync(onnx), {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: os.availableParallelism(),
    interOpNumThreads: 1,
  });
  const x = new Float32Array(batch * 784).map((_, i) => ((i * 31) % 255) / 255);
  let rows = 0;
  const end = performance.now() + duration * 1000;
  const t0 = performance.now();
  while (performance.now() < end) {
    const res = await session.run({ input: new ort.Tensor('float32', x, [batch, 28, 28, 1]) });
    void res.output!.data;
    rows += batch;
  }
  const rate = (rows * 1000) / (performance.now() - t0);
  await session.release();
  return { batch, rows_per_s: Math.round(rate) };
}

async function benchModel(kind: string) {
  const model = path.join(work, kind);
  log(`training the example ${kind} (1 epoch, 2,000 images)`);
  await run(process.execPath, [
    cdl,
    'train',
    '--config',
    CONFIGS[kind]!,
    '--set',
    'train.epochs=1',
    '--set',
    'data.limit.train=2000',
    '--out',
    model,
    '--quiet',
  ]);
  const repos: Record<string, string> = {};
  for (const [name, config] of [
    ['batching', 'max_batch_size: 64\nmax_queue_delay_ms: 2\nmax_queue_size: 4096\n'],
    ['no-batching', 'dynamic_batching: false\nmax_queue_size: 4096\n'],
  ] as const) {
    const repo = path.join(work, `${kind}-${name}`);
    mkdirSync(path.join(repo, 'fm'), { recursive: true });
    cpSync(model, path.join(repo, 'fm', '1'), { recursive: true });
    writeFileSync(path.join(repo, 'fm', 'config.yaml'), config);
    repos[name] = repo;
  }

  const loads: LoadResult[] = [];
  let meanBatch = 1;
  let server = await startServer(repos.batching!);
  try {
    await load(server.url, 16, 2); // warm-up
    for (const c of [1, 16, 64]) {
      const before = await scrape(server.url);
      log(`${kind}: concurrency ${c}, batching on`);
      loads.push(await load(server.url, c, seconds));
      if (c === 64) {
        const after = await scrape(server.url);
        const sum = (t: string) => metric(t, /^cdl_inference_batch_size_sum\{model="fm",version="1"\} (\S+)$/m);
        const count = (t: string) => metric(t, /^cdl_inference_batch_size_count\{model="fm",version="1"\} (\S+)$/m);
        meanBatch = (sum(after) - sum(before)) / (count(after) - count(before));
      }
    }
  } finally {
    await stopServer(server);
  }
  server = await startServer(repos['no-batching']!);
  let off: LoadResult;
  try {
    await load(server.url, 16, 2);
    log(`${kind}: concurrency 64, batching off`);
    off = await load(server.url, 64, seconds);
  } finally {
    await stopServer(server);
  }
  log(`${kind}: bare onnxruntime session, batch ${meanBatch.toFixed(1)}`);
  const bareRun = await bare(path.join(model, 'model.onnx'), Math.max(1, Math.round(meanBatch)), Math.min(seconds, 10));
  const bareOne = await bare(path.join(model, 'model.onnx'), 1, Math.min(seconds, 5));

  let soak:
    | {
        seconds: number;
        concurrency: number;
        requests_per_s: number;
        errors: number;
        samples: Array<{ s: number; rss_mib: number; heap_mib: number }>;
      }
    | undefined;
  if (soakSeconds > 0) {
    server = await startServer(repos.batching!);
    try {
      log(`${kind}: soak, ${soakSeconds} s at concurrency 16`);
      const samples: Array<{ s: number; rss_mib: number; heap_mib: number }> = [];
      const t0 = performance.now();
      const sample = async () => {
        const t = await scrape(server.url);
        samples.push({
          s: Math.round((performance.now() - t0) / 1000),
          rss_mib: +(metric(t, /^cdl_process_memory_bytes\{kind="rss"\} (\S+)$/m) / 2 ** 20).toFixed(1),
          heap_mib: +(metric(t, /^cdl_process_memory_bytes\{kind="heap_used"\} (\S+)$/m) / 2 ** 20).toFixed(1),
        });
      };
      await sample();
      const timer = setInterval(() => void sample(), 5000);
      const r = await load(server.url, 16, soakSeconds);
      clearInterval(timer);
      await sample();
      soak = { seconds: soakSeconds, concurrency: 16, requests_per_s: r.requests_per_s, errors: r.errors + r.non_2xx, samples };
    } finally {
      await stopServer(server);
    }
  }
  const c64 = loads.find((l) => l.concurrency === 64)!;
  const afterWarm = soak?.samples.find((s) => s.s >= 5) ?? soak?.samples[0];
  const last = soak?.samples.at(-1);
  return {
    model: kind,
    loads,
    batching_off_c64: off,
    mean_batch_c64: +meanBatch.toFixed(2),
    bare: bareRun,
    bare_batch_1: bareOne,
    ratio_to_bare_c64: +(c64.requests_per_s / bareRun.rows_per_s).toFixed(3),
    batching_speedup_c64: +(c64.requests_per_s / off.requests_per_s).toFixed(2),
    soak,
    soak_rss_growth_mib: afterWarm && last ? +(last.rss_mib - afterWarm.rss_mib).toFixed(1) : null,
    soak_heap_growth_mib: afterWarm && last ? +(last.heap_mib - afterWarm.heap_mib).toFixed(1) : null,
  };
}

try {
  const results = [];
  for (const kind of String(values.models).split(',')) results.push(await benchModel(kind.trim()));
  const machine = {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? '?',
    memory_gib: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
  };
  const out = {
    date: new Date().toISOString(),
    cdl_version: CDL_VERSION,
    command: `npx tsx bench/serve.ts --seconds ${seconds} --soak ${soakSeconds} --models ${values.models}`,
    machine,
    load_generator: 'autocannon 9, in the bench process on the same machine',
    results,
  };
  const resultsDir = path.join(root, 'bench', 'results');
  writeFileSync(path.join(resultsDir, 'serve.json'), JSON.stringify(out, null, 2) + '\n');
  const md: string[] = [
    '# Model server under load',
    '',
    `\`${out.command}\` — ${out.date.slice(0, 10)}, cdl ${CDL_VERSION}, ${machine.cpus} × ${machine.cpu}, Node ${machine.node}.`,
    'autocannon runs on the same cores as the server. One 28×28 image per request, JSON.',
    'The load average column shows what else ran: above about 3, other jobs shared the two cores and every figure is low.',
    '',
  ];
  for (const r of results) {
    md.push(`## ${r.model === 'mlp' ? 'Example MLP (cdl.yaml)' : 'Example CNN (cdl.cnn.yaml)'}`, '');
    md.push('| concurrency | batching | requests/s | p50 ms | p99 ms | errors | load average |', '|---|---|---|---|---|---|---|');
    const row = (l: LoadResult, batching: string) =>
      `| ${l.concurrency} | ${batching} | ${l.requests_per_s} | ${l.p50_ms} | ${l.p99_ms} | ${l.errors + l.non_2xx} | ${l.load_average} |`;
    for (const l of r.loads) md.push(row(l, 'on'));
    md.push(row(r.batching_off_c64, 'off'), '');
    md.push(
      `- mean batch at concurrency 64: ${r.mean_batch_c64} rows`,
      `- bare onnxruntime-node session on batches of ${r.bare.batch}: ${r.bare.rows_per_s} rows/s (batch 1: ${r.bare_batch_1.rows_per_s} rows/s)`,
      `- **server / bare at concurrency 64: ${r.ratio_to_bare_c64}** (target ≥ 0.8)`,
      `- **dynamic batching on / off at concurrency 64: ${r.batching_speedup_c64}×** (target ≥ 3×)`,
    );
    if (r.soak) {
      md.push(
        `- soak: ${r.soak.seconds} s at concurrency 16, ${r.soak.requests_per_s} requests/s, ${r.soak.errors} errors; ` +
          `RSS ${r.soak.samples[0]?.rss_mib} → ${r.soak.samples.at(-1)?.rss_mib} MiB, growth after the first 5 s: ${r.soak_rss_growth_mib} MiB RSS, ${r.soak_heap_growth_mib} MiB heap`,
      );
    }
    md.push('');
  }
  writeFileSync(path.join(resultsDir, 'serve.md'), md.join('\n'));
  process.stdout.write(md.join('\n') + '\n');
} finally {
  rmSync(work, { recursive: true, force: true });
}
