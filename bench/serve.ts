/**
 * The model server under load (autocannon, on 127.0.0.1).
 *
 *   npx tsx bench/serve.ts [--seconds 10] [--soak 60] [--models mlp,cnn] [--baseline DIR]
 *
 * For each example model (trained here: one epoch on 2,000 images of the shipped subset):
 * 1. `cdl serve` in its own process, one image per request ([1,28,28,1] float32), dynamic batching
 *    on (max_batch_size 64, max_queue_delay_ms 2): throughput and p50/p99 latency at concurrency
 *    1, 16 and 64, with JSON tensors and with the binary tensor data extension (input and output);
 * 2. the same at concurrency 64 with dynamic batching off;
 * 3. a bare onnxruntime-node session: the same number of sessions as the server's inference
 *    workers, the same intra-op threads and session options (spinning off, as the server's
 *    workers), each in a worker thread, replaying the exact
 *    batch sizes the server ran at concurrency 64 (from its batch_stats), back to back;
 * 4. CPU time: the server process's (every thread) per request, autocannon's (this process) per
 *    request, and the bare sessions' per row;
 * 5. a soak at concurrency 16 (--soak seconds), sampling the server's memory from /metrics.
 * --baseline DIR also runs the JSON measurements against the `cdl serve` of another checkout
 * (e.g. the commit before a change), interleaved with this one, so the two are compared under
 * the same load. Writes bench/results/serve.json and bench/results/serve.md.
 *
 *   npx tsx bench/serve.ts --attack [--bodies 4] [--body-mib 30]
 *
 * Attack mode instead: `cdl serve` with its default limits and the example MLP; /v2/health/live
 * is probed every 20 ms while idle, then while another process sends --bodies concurrent JSON
 * bodies of --body-mib MiB (a valid tensor of millions of numbers, refused with 400 after parsing),
 * then while it sends 60 MiB bodies (refused with 413 before they are read). Records the health
 * latencies (target: under 100 ms throughout), the answers and the server's peak memory in
 * bench/results/serve-attack.json and serve-attack.md.
 *
 *   npx tsx bench/serve.ts --grpc [--seconds 10]
 *
 * gRPC mode instead: the example MLP served by one `cdl serve --grpc-port 0` (dynamic batching
 * on); at concurrency 1, 16 and 64, gRPC ModelInfer with typed contents (fp32_contents) and with
 * raw_input_contents (a @grpc/grpc-js client from proto/open_inference_grpc.proto, one HTTP/2
 * connection, `concurrency` calls outstanding), then REST JSON and binary against the same
 * server (autocannon). Writes bench/results/serve-grpc.json and serve-grpc.md.
 *
 *   npx tsx bench/serve.ts --ratio [--seconds 5] [--rounds 3] [--baseline DIR] [--model DIR] [--note TEXT]
 *
 * Ratio mode instead: the REST server ÷ null-server ceiling at concurrency 64 for the example MLP,
 * JSON and binary bodies side by side: this checkout's `cdl serve`, the baseline checkout's (with
 * --baseline) and the null server all start at once and are loaded in turn, round after round, so
 * that every figure of one round shares the machine's load. --model reuses a trained model
 * directory instead of training one. Writes bench/results/serve-ratio.json and serve-ratio.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { CDL_VERSION } from '../src/version.js';

// A benchmark trains the example's configuration, which lives in this checkout: never record those runs here.
process.env.CDL_RUNS ??= 'off';

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
  body: string | Buffer;
  headers: Record<string, string>;
  connections: number;
  duration: number;
}) => Promise<AutocannonResult>;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    soak: { type: 'string', default: '60' },
    models: { type: 'string', default: 'mlp,cnn' },
    baseline: { type: 'string' },
    workers: { type: 'string' },
    threads: { type: 'string' },
    attack: { type: 'boolean', default: false },
    bodies: { type: 'string', default: '4' },
    'body-mib': { type: 'string', default: '30' },
    grpc: { type: 'boolean', default: false },
    ratio: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    model: { type: 'string' },
    note: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const soakSeconds = Number(values.soak);
const root = fileURLToPath(new URL('..', import.meta.url));
const cdl = path.join(root, 'bin', 'cdl.js');
const baselineCdl = values.baseline ? path.join(path.resolve(values.baseline), 'bin', 'cdl.js') : undefined;
const CONFIGS: Record<string, string> = {
  mlp: path.join(root, 'examples', 'fashion-mnist', 'cdl.yaml'),
  cnn: path.join(root, 'examples', 'fashion-mnist', 'cdl.cnn.yaml'),
};
const TICK = 100; // clock ticks per second in /proc/<pid>/stat (USER_HZ)

const work = mkdtempSync(path.join(os.tmpdir(), 'cdl-bench-serve-'));
const log = (s: string) => process.stderr.write(s + '\n');

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
  });
}

interface Server {
  url: string;
  child: ChildProcess;
}

async function startServer(repo: string, bin = cdl, args?: string[]): Promise<Server & { grpc?: string }> {
  const child = spawn(process.execPath, args ?? [bin, 'serve', '--repository', repo, '--port', '0', '--poll-ms', '0'], {
    cwd: path.dirname(path.dirname(bin)),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  for (let i = 0; i < 600; i++) {
    const m = /"msg":"listening","url":"([^"]+)"(?:,"grpc":"([^"]+)")?/.exec(err);
    if (m) return { url: m[1]!, child, ...(m[2] ? { grpc: m[2] } : {}) };
    if (child.exitCode !== null) throw new Error(`cdl serve exited: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`cdl serve did not start: ${err}`);
}

async function stopServer(s: Server): Promise<void> {
  const done = new Promise((r) => s.child.on('close', r));
  s.child.kill('SIGTERM');
  await done;
}

/** CPU seconds (user + system, every thread) of a process so far; NaN where /proc is missing. */
function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / TICK;
  } catch {
    return NaN;
  }
}

const image = Float32Array.from({ length: 784 }, (_, i) => Number((((i * 31) % 255) / 255).toFixed(4)));

type Encoding = 'json' | 'binary';

/** The request body: `rows` images (the same one) as JSON or as binary tensor data. */
function request(encoding: Encoding, rows = 1): { body: string | Buffer; headers: Record<string, string> } {
  const data = new Float32Array(rows * 784);
  for (let r = 0; r < rows; r++) data.set(image, r * 784);
  if (encoding === 'json') {
    return {
      body: JSON.stringify({ inputs: [{ name: 'input', shape: [rows, 28, 28, 1], datatype: 'FP32', data: [...data] }] }),
      headers: { 'content-type': 'application/json' },
    };
  }
  const header = JSON.stringify({
    inputs: [{ name: 'input', shape: [rows, 28, 28, 1], datatype: 'FP32', parameters: { binary_data_size: data.byteLength } }],
    parameters: { binary_data_output: true },
  });
  return {
    body: Buffer.concat([Buffer.from(header), Buffer.from(data.buffer)]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(Buffer.byteLength(header)) },
  };
}

/**
 * The floor: a node:http server that reads each request's body and answers with a fixed body of
 * the real answer's size, doing nothing else (no parsing, no inference). No server in Node can
 * answer faster on this machine; it bounds what "server / bare" can reach.
 */
const NULL_SERVER = `
const http = require('node:http');
const json = Buffer.alloc(Number(process.argv[1]), 0x20);
const binary = Buffer.alloc(Number(process.argv[2]), 0x20);
const server = http.createServer({ keepAliveTimeout: 65000 }, (req, res) => {
  const bin = req.headers['inference-header-content-length'] !== undefined;
  req.on('data', () => {});
  req.on('end', () => {
    const body = bin ? binary : json;
    res.writeHead(200, { 'content-type': bin ? 'application/octet-stream' : 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => process.stderr.write(JSON.stringify({ msg: 'listening', url: 'http://127.0.0.1:' + server.address().port }) + '\\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

interface LoadResult {
  concurrency: number;
  encoding: Encoding;
  rows_per_request: number;
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  requests: number;
  errors: number;
  non_2xx: number;
  /** CPU time of the server process (all its threads) per request answered. */
  server_cpu_us_per_request: number;
  /** CPU time of autocannon (this process) per request. */
  loadgen_cpu_us_per_request: number;
  /** The machine's 1-minute load average around the measurement (2 means both cores busy). */
  load_average: number;
}

async function load(
  server: Server,
  concurrency: number,
  duration: number,
  encoding: Encoding = 'json',
  rows = 1,
): Promise<LoadResult> {
  const loadBefore = os.loadavg()[0]!;
  const { body, headers } = request(encoding, rows);
  const cpu0 = cpuSeconds(server.child.pid!);
  const self0 = process.cpuUsage();
  const r = await autocannon({
    url: `${server.url}/v2/models/fm/infer`,
    method: 'POST',
    body,
    headers,
    connections: concurrency,
    duration,
  });
  const self = process.cpuUsage(self0);
  const cpu = cpuSeconds(server.child.pid!) - cpu0;
  const n = Math.max(1, r.requests.total);
  return {
    concurrency,
    encoding,
    rows_per_request: rows,
    requests_per_s: Math.round(r.requests.total / duration),
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    requests: r.requests.total,
    errors: r.errors + r.timeouts,
    non_2xx: r.non2xx,
    server_cpu_us_per_request: Math.round((cpu * 1e6) / n),
    loadgen_cpu_us_per_request: Math.round((self.user + self.system) / n),
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

interface Stats {
  workers: number;
  threads: number;
  batch_stats: Array<{ batch_size: number; count: number }>;
}

async function stats(url: string): Promise<Stats> {
  const s = (await (await fetch(`${url}/v2/models/fm/stats`)).json()) as { versions: Stats[] };
  return s.versions[0]!;
}

/** Batches run between two statistics snapshots, by size. */
function batchesBetween(a: Stats, b: Stats): Map<number, number> {
  const out = new Map<number, number>();
  for (const x of b.batch_stats) {
    const before = a.batch_stats.find((y) => y.batch_size === x.batch_size)?.count ?? 0;
    if (x.count > before) out.set(x.batch_size, x.count - before);
  }
  return out;
}

/** The batch sizes in an order that interleaves them (a fixed shuffle), every size as often as it ran. */
function sequence(batches: Map<number, number>): number[] {
  const seq = [...batches].flatMap(([size, count]) => Array<number>(count).fill(size));
  let seed = 1;
  for (let i = seq.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const j = seed % (i + 1);
    [seq[i], seq[j]] = [seq[j]!, seq[i]!];
  }
  return seq.length ? seq : [1];
}

/** A bare onnxruntime-node session in a worker thread: loads, then replays its batch sizes for `ms` when told. */
const BARE_WORKER = `
const { parentPort, workerData: w } = require('node:worker_threads');
const ort = require(w.ortPath);
(async () => {
  const s = await ort.InferenceSession.create(w.model, {
    graphOptimizationLevel: 'all', executionMode: 'sequential', intraOpNumThreads: w.threads, interOpNumThreads: 1,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  const xs = new Map();
  const input = (b) => {
    if (!xs.has(b)) { const x = new Float32Array(b * 784); for (let i = 0; i < x.length; i++) x[i] = w.image[i % 784]; xs.set(b, x); }
    return new ort.Tensor('float32', xs.get(b), [b, 28, 28, 1]);
  };
  for (const b of new Set(w.sizes)) await s.run({ input: input(b) });
  parentPort.postMessage('ready');
  parentPort.once('message', async () => {
    let rows = 0;
    let i = w.offset;
    const end = performance.now() + w.ms;
    while (performance.now() < end) {
      const b = w.sizes[i++ % w.sizes.length];
      const r = await s.run({ input: input(b) });
      void r.output.data;
      rows += b;
    }
    await s.release();
    parentPort.postMessage(rows);
  });
})();
`;

interface BareResult {
  sessions: number;
  threads: number;
  mean_batch: number;
  rows_per_s: number;
  cpu_us_per_row: number;
  load_average: number;
}

async function bare(onnx: string, sizes: number[], sessions: number, threads: number, seconds: number): Promise<BareResult> {
  const loadBefore = os.loadavg()[0]!;
  const ortPath = createRequire(path.join(root, 'package.json')).resolve('onnxruntime-node');
  const model = readFileSync(onnx);
  const workers = Array.from(
    { length: sessions },
    (_, k) =>
      new Worker(BARE_WORKER, {
        eval: true,
        workerData: {
          ortPath,
          model,
          threads,
          sizes,
          image,
          offset: Math.floor((k * sizes.length) / sessions),
          ms: seconds * 1000,
        },
      }),
  );
  await Promise.all(workers.map((w) => new Promise((r, j) => (w.once('message', r), w.once('error', j)))));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const rows = await Promise.all(
    workers.map((w) => {
      const done = new Promise<number>((r, j) => (w.once('message', r), w.once('error', j)));
      w.postMessage('go');
      return done;
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(workers.map((w) => w.terminate()));
  const total = rows.reduce((a, b) => a + b, 0);
  return {
    sessions,
    threads,
    mean_batch: +(sizes.reduce((a, b) => a + b, 0) / sizes.length).toFixed(2),
    rows_per_s: Math.round(total / elapsed),
    cpu_us_per_row: +((cpu.user + cpu.system) / total).toFixed(1),
    load_average: +Math.max(loadBefore, os.loadavg()[0]!).toFixed(1),
  };
}

/** The example model of `kind`, trained here (one epoch on 2,000 images); its directory. */
async function trainModel(kind: string): Promise<string> {
  if (values.model) return path.resolve(values.model);
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
  return model;
}

async function benchModel(kind: string) {
  const model = await trainModel(kind);
  const repos: Record<string, string> = {};
  for (const [name, config] of [
    ['batching', 'max_batch_size: 64\nmax_queue_size: 4096\n'],
    ['delay', 'max_batch_size: 64\nmax_queue_delay_ms: 2\nmax_queue_size: 4096\n'],
    ['no-batching', 'dynamic_batching: false\nmax_queue_size: 4096\n'],
  ] as const) {
    const repo = path.join(work, `${kind}-${name}`);
    mkdirSync(path.join(repo, 'fm'), { recursive: true });
    cpSync(model, path.join(repo, 'fm', '1'), { recursive: true });
    const pool = `${values.workers ? `workers: ${values.workers}\n` : ''}${values.threads ? `threads: ${values.threads}\n` : ''}`;
    writeFileSync(path.join(repo, 'fm', 'config.yaml'), config + pool);
    repos[name] = repo;
  }

  const loads: LoadResult[] = [];
  const baseline: LoadResult[] = [];
  const formed: Partial<Record<Encoding, Map<number, number>>> = {};
  let shape = { workers: 1, threads: 1 };
  const withServer = async <T>(repo: string, bin: string, fn: (s: Server) => Promise<T>, args?: string[]): Promise<T> => {
    const server = await startServer(repo, bin, args);
    try {
      await load(server, 16, 2); // warm-up
      return await fn(server);
    } finally {
      await stopServer(server);
    }
  };
  for (const c of [1, 16, 64]) {
    await withServer(repos.batching!, cdl, async (server) => {
      for (const encoding of ['json', 'binary'] as const) {
        log(`${kind}: concurrency ${c}, batching on, ${encoding}`);
        const before = await stats(server.url);
        loads.push(await load(server, c, seconds, encoding));
        const after = await stats(server.url);
        shape = { workers: after.workers, threads: after.threads };
        if (c === 64) formed[encoding] = batchesBetween(before, after);
      }
    });
    if (baselineCdl) {
      log(`${kind}: concurrency ${c}, batching on, baseline ${values.baseline}`);
      baseline.push(await withServer(repos.batching!, baselineCdl, (server) => load(server, c, seconds)));
    }
  }
  const off = await withServer(repos['no-batching']!, cdl, async (server) => {
    const out: LoadResult[] = [];
    for (const encoding of ['json', 'binary'] as const) {
      log(`${kind}: concurrency 64, batching off, ${encoding}`);
      out.push(await load(server, 64, seconds, encoding));
    }
    return out;
  });
  // A queue delay of 2 ms (the default was 2 before it became 0), JSON.
  const delayed = await withServer(repos.delay!, cdl, async (server) => {
    const out: LoadResult[] = [];
    for (const c of [16, 64]) {
      log(`${kind}: concurrency ${c}, max_queue_delay_ms 2, json`);
      out.push(await load(server, c, seconds, 'json'));
    }
    return out;
  });
  // Requests of several rows (binary): where the per-request cost of HTTP stops mattering.
  const multi: Array<{ load: LoadResult; batches: Map<number, number> }> = [];
  await withServer(repos.batching!, cdl, async (server) => {
    for (const rows of [8, 64]) {
      log(`${kind}: concurrency 64, ${rows} rows a request, binary`);
      const before = await stats(server.url);
      const l = await load(server, 64, seconds, 'binary', rows);
      multi.push({ load: l, batches: batchesBetween(before, await stats(server.url)) });
    }
  });
  // The floor: a server that only reads and answers (responses of the real ones' sizes).
  const sizes = await withServer(repos.batching!, cdl, async (server) => {
    const out: number[] = [];
    for (const e of ['json', 'binary'] as const) {
      const { body, headers } = request(e);
      const res = await fetch(`${server.url}/v2/models/fm/infer`, {
        method: 'POST',
        body: typeof body === 'string' ? body : new Uint8Array(body),
        headers,
      });
      out.push((await res.arrayBuffer()).byteLength);
    }
    return out;
  });
  const floor = await withServer(
    '',
    process.execPath,
    async (server) => {
      const out: LoadResult[] = [];
      for (const e of ['json', 'binary'] as const) {
        log(`${kind}: concurrency 64, the null server (no parsing, no inference), ${e}`);
        out.push(await load(server, 64, seconds, e));
      }
      return out;
    },
    ['-e', NULL_SERVER, String(sizes[0]), String(sizes[1])],
  );
  let baselineOff: LoadResult | undefined;
  if (baselineCdl) {
    log(`${kind}: concurrency 64, batching off, baseline`);
    baselineOff = await withServer(repos['no-batching']!, baselineCdl, (server) => load(server, 64, seconds));
  }

  const bareRuns: Partial<Record<Encoding, BareResult>> = {};
  for (const encoding of ['json', 'binary'] as const) {
    const seq = sequence(formed[encoding] ?? new Map([[1, 1]]));
    log(
      `${kind}: bare onnxruntime-node, ${shape.workers} session(s) × ${shape.threads} thread(s), the ${encoding} run's batches`,
    );
    bareRuns[encoding] = await bare(path.join(model, 'model.onnx'), seq, shape.workers, shape.threads, Math.min(seconds, 10));
  }
  const bareOne = await bare(path.join(model, 'model.onnx'), [1], shape.workers, shape.threads, Math.min(seconds, 5));
  const multiRuns = [];
  for (const m of multi) {
    const rows = m.load.rows_per_request;
    log(`${kind}: bare onnxruntime-node, the batches of the ${rows}-row run, and ${rows}-row batches`);
    const formedBare = await bare(
      path.join(model, 'model.onnx'),
      sequence(m.batches),
      shape.workers,
      shape.threads,
      Math.min(seconds, 5),
    );
    const ownBare = await bare(path.join(model, 'model.onnx'), [rows], shape.workers, shape.threads, Math.min(seconds, 5));
    const rowsPerS = m.load.requests_per_s * rows;
    multiRuns.push({
      load: m.load,
      rows_per_s: rowsPerS,
      batches: Object.fromEntries(m.batches),
      bare_formed: formedBare,
      bare_requests: ownBare,
      ratio_to_bare_formed: +(rowsPerS / formedBare.rows_per_s).toFixed(3),
      ratio_to_bare_requests: +(rowsPerS / ownBare.rows_per_s).toFixed(3),
    });
  }

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
    const server = await startServer(repos.batching!);
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
      const r = await load(server, 16, soakSeconds);
      clearInterval(timer);
      await sample();
      soak = { seconds: soakSeconds, concurrency: 16, requests_per_s: r.requests_per_s, errors: r.errors + r.non_2xx, samples };
    } finally {
      await stopServer(server);
    }
  }
  const at64 = (e: Encoding) => loads.find((l) => l.concurrency === 64 && l.encoding === e)!;
  const offOf = (e: Encoding) => off.find((l) => l.encoding === e)!;
  const afterWarm = soak?.samples.find((s) => s.s >= 5) ?? soak?.samples[0];
  const last = soak?.samples.at(-1);
  const compare = (e: Encoding) => ({
    bare: bareRuns[e]!,
    /** Requests per second over the bare sessions' rows per second on the same batches (wall clock). */
    ratio_to_bare_c64: +(at64(e).requests_per_s / bareRuns[e]!.rows_per_s).toFixed(3),
    /** The bare sessions' CPU per row over the server's CPU per request: the share of the server's work that is inference. */
    cpu_ratio_to_bare_c64: +(bareRuns[e]!.cpu_us_per_row / at64(e).server_cpu_us_per_request).toFixed(3),
    batching_speedup_c64: +(at64(e).requests_per_s / offOf(e).requests_per_s).toFixed(2),
    /** Over a bare session running the requests as they come (one image each, back to back). */
    ratio_to_bare_requests_c64: +(at64(e).requests_per_s / bareOne.rows_per_s).toFixed(3),
    /** The null server's requests per second over the bare rows per second: the most any Node server reaches. */
    floor: floorOf(e),
    floor_ratio_to_bare_c64: +(floorOf(e).requests_per_s / bareRuns[e]!.rows_per_s).toFixed(3),
  });
  const floorOf = (e: Encoding) => floor.find((l) => l.encoding === e)!;
  return {
    model: kind,
    workers: shape.workers,
    threads: shape.threads,
    loads,
    batching_off_c64: off,
    batches_c64: Object.fromEntries(Object.entries(formed).map(([e, m]) => [e, Object.fromEntries(m)])),
    bare_batch_1: bareOne,
    queue_delay_2ms: delayed,
    rows_per_request: multiRuns,
    json: compare('json'),
    binary: compare('binary'),
    baseline: baselineCdl
      ? {
          checkout: values.baseline,
          loads: baseline,
          batching_off_c64: baselineOff!,
          batching_speedup_c64: +(
            baseline.find((l) => l.concurrency === 64)!.requests_per_s / baselineOff!.requests_per_s
          ).toFixed(2),
        }
      : undefined,
    soak,
    soak_rss_growth_mib: afterWarm && last ? +(last.rss_mib - afterWarm.rss_mib).toFixed(1) : null,
    soak_heap_growth_mib: afterWarm && last ? +(last.heap_mib - afterWarm.heap_mib).toFixed(1) : null,
  };
}

const NOTES = `## Notes

- "bare": plain onnxruntime-node sessions with the server's session options (\`graphOptimizationLevel: all\`,
  sequential, intra-op threads as the server's \`threads\`, spinning off), as many as the server's
  inference workers, each in its own worker thread, back to back, alone on the machine (no HTTP, no
  load generator). "On the batches the server formed" replays the multiset of batch sizes the server
  ran at concurrency 64 (from \`/v2/models/fm/stats\` \`batch_stats\`, shuffled). "On the requests as
  they come" runs what the clients sent, one request at a time, as an application calling
  onnxruntime in-process instead of over HTTP would.
- The CPU ratio divides the bare sessions' CPU per row by the server process's CPU per request (all
  its threads): the share of the server's work that is inference.
- The null server bounds the formed-batch ratio. For the MLP one row of inference costs about 3 µs of
  CPU in a batch, while receiving and answering one HTTP request in Node costs tens of microseconds
  (kernel included), and autocannon shares the two cores: even a server that does no work at all stays
  far below 0.8 of the bare session on the same batches. That ratio can only approach 1 when a request
  carries enough inference to hide the HTTP cost: see the rows-a-request lines (and the CNN, whose rows
  cost ten times more).
- Figures are from one run on a shared machine; compare rows of one run with each other, not across runs.
`;

/** Peak and current resident memory of a process (MiB), from /proc; NaN where it is missing. */
function memoryMib(pid: number): { peak: number; now: number } {
  try {
    const f = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(f)?.[1] ?? NaN);
    return { peak: +(kib('VmHWM') / 1024).toFixed(1), now: +(kib('VmRSS') / 1024).toFixed(1) };
  } catch {
    return { peak: NaN, now: NaN };
  }
}

interface Probe {
  phase: string;
  probes: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  answers?: Record<string, number>;
  server_peak_rss_mib: number;
  seconds: number;
  /** The server's own main-thread lag (its 20 ms timer), from /metrics: ticks, ticks late by over 50 and 100 ms, the worst bucket. */
  loop: { ticks: number; over_50ms: number; over_100ms: number; worst_under_s: string };
  load_average: number;
}

/** The server's event-loop lag histogram: bucket bound → cumulative count. */
async function loopLag(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^cdl_process_event_loop_lag_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm))
    out.set(m[1]!, Number(m[2]));
  return out;
}

function lagBetween(a: Map<string, number>, b: Map<string, number>): Probe['loop'] {
  const d = (le: string) => (b.get(le) ?? 0) - (a.get(le) ?? 0);
  const ticks = d('+Inf');
  const worst = [...b.keys()].find((le) => d(le) === ticks) ?? '+Inf';
  return { ticks, over_50ms: ticks - d('0.05'), over_100ms: ticks - d('0.1'), worst_under_s: worst };
}

/** Probe health every 20 ms while `during` runs (or for `ms`), in this process; the attack runs in another. */
async function probeWhile(url: string, phase: string, pid: number, during: Promise<unknown>): Promise<Probe> {
  const latencies: number[] = [];
  let on = true;
  const lagBefore = await loopLag(url);
  const t0 = performance.now();
  void during.finally(() => (on = false));
  while (on) {
    const t = performance.now();
    const r = await fetch(`${url}/v2/health/live`);
    await r.text();
    latencies.push(performance.now() - t);
    await new Promise((res) => setTimeout(res, 20));
  }
  const result = (await during) as Record<string, number> | undefined;
  const loop = lagBetween(lagBefore, await loopLag(url));
  latencies.sort((a, b) => a - b);
  const q = (p: number) => +latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(1);
  return {
    phase,
    probes: latencies.length,
    p50_ms: q(0.5),
    p99_ms: q(0.99),
    max_ms: +latencies.at(-1)!.toFixed(1),
    ...(result ? { answers: result } : {}),
    server_peak_rss_mib: memoryMib(pid).peak,
    seconds: +((performance.now() - t0) / 1000).toFixed(1),
    loop,
    load_average: +os.loadavg()[0]!.toFixed(1),
  };
}

/** Another process sends `count` bodies from `file` at once; resolves the count of each answer (status or error). */
function sendBodies(url: string, file: string, count: number): Promise<Record<string, number>> {
  const script = `import { readFileSync } from 'node:fs';
const body = readFileSync(${JSON.stringify(file)});
const seen = {};
await Promise.all(Array.from({ length: ${count} }, async () => {
  let k;
  try { const r = await fetch(${JSON.stringify(url)}, { method: 'POST', body, headers: { 'content-type': 'application/json' } }); await r.json(); k = String(r.status); }
  catch (e) { k = 'error: ' + (e.cause?.code ?? e.message); }
  seen[k] = (seen[k] ?? 0) + 1;
}));
process.stdout.write(JSON.stringify(seen));`;
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out) as Record<string, number>) : reject(new Error(`attack exited ${code}`)),
    );
  });
}

async function attack(): Promise<void> {
  const model = await trainModel('mlp');
  const repo = path.join(work, 'attack');
  cpSync(model, path.join(repo, 'fm', '1'), { recursive: true });
  const bodies = Number(values.bodies);
  const mib = Number(values['body-mib']);
  const n = Math.floor((mib * 2 ** 20) / 12);
  const parsed = path.join(work, 'parsed.json');
  writeFileSync(
    parsed,
    `{"inputs":[{"name":"input","shape":[1,28,28,1],"datatype":"FP32","data":[${'0.123456789,'.repeat(n - 1)}0.5]}]}`,
  );
  const refused = path.join(work, 'refused.json');
  writeFileSync(refused, Buffer.alloc(60 * 2 ** 20, 0x20));
  const server = await startServer(repo);
  const pid = server.child.pid!;
  const infer = `${server.url}/v2/models/fm/infer`;
  const phases: Probe[] = [];
  const loadAtStart = +os.loadavg()[0]!.toFixed(1);
  try {
    const idle = new Promise((r) => setTimeout(r, 3000));
    phases.push(await probeWhile(server.url, 'idle', pid, idle));
    phases.push(
      await probeWhile(
        server.url,
        `${bodies} × ${mib} MiB JSON bodies at once (parsed, then 400)`,
        pid,
        sendBodies(infer, parsed, bodies),
      ),
    );
    phases.push(
      await probeWhile(
        server.url,
        `${bodies} × 60 MiB bodies at once (413 before reading)`,
        pid,
        sendBodies(infer, refused, bodies),
      ),
    );
    phases.push(await probeWhile(server.url, 'idle again', pid, new Promise((r) => setTimeout(r, 3000))));
  } finally {
    await stopServer(server);
  }
  // The same with a limit raised to 64 MiB, so that 60 MiB bodies are read and parsed in full.
  const big = path.join(work, 'parsed-60.json');
  const n60 = Math.floor((60 * 2 ** 20) / 12);
  writeFileSync(
    big,
    `{"inputs":[{"name":"input","shape":[1,28,28,1],"datatype":"FP32","data":[${'0.123456789,'.repeat(n60 - 1)}0.5]}]}`,
  );
  const raised = await startServer(repo, cdl, [
    cdl,
    'serve',
    '--repository',
    repo,
    '--port',
    '0',
    '--poll-ms',
    '0',
    '--max-body-bytes',
    String(64 * 2 ** 20),
  ]);
  try {
    phases.push(
      await probeWhile(raised.url, 'idle (--max-body-bytes 64 MiB)', raised.child.pid!, new Promise((r) => setTimeout(r, 3000))),
    );
    phases.push(
      await probeWhile(
        raised.url,
        `${bodies} × 60 MiB JSON bodies at once, limit 64 MiB (parsed, then 400)`,
        raised.child.pid!,
        sendBodies(`${raised.url}/v2/models/fm/infer`, big, bodies),
      ),
    );
  } finally {
    await stopServer(raised);
  }
  const machine = {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? '?',
    node: process.version,
    load_average: +os.loadavg()[0]!.toFixed(1),
    load_average_at_start: loadAtStart,
  };
  const command = `npx tsx bench/serve.ts --attack --bodies ${bodies} --body-mib ${mib}`;
  const out = { date: new Date().toISOString(), cdl_version: CDL_VERSION, command, machine, target_health_ms: 100, phases };
  const resultsDir = path.join(root, 'bench', 'results');
  writeFileSync(path.join(resultsDir, 'serve-attack.json'), JSON.stringify(out, null, 2) + '\n');
  const md = [
    '# Model server under large-body attack',
    '',
    `\`${command}\` — ${out.date.slice(0, 10)}, cdl ${CDL_VERSION}, ${machine.cpus} × ${machine.cpu}, Node ${machine.node}, load average ${machine.load_average_at_start} at the start and ${machine.load_average} at the end.`,
    '`cdl serve` with its default limits (32 MiB bodies, 30 s body timeout); /v2/health/live probed every 20 ms from the bench process, the bodies sent by another process. Target: health under 100 ms throughout.',
    '',
    '| phase | probes | health p50 ms | p99 ms | max ms | answers | server main-thread lag: 20 ms ticks, late > 50 ms, late > 100 ms, worst ≤ s | server peak RSS MiB | seconds | load average |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...phases.map(
      (p) =>
        `| ${p.phase} | ${p.probes} | ${p.p50_ms} | ${p.p99_ms} | ${p.max_ms} | ${
          p.answers
            ? Object.entries(p.answers)
                .map(([k, v]) => `${v}× ${k}`)
                .join(', ')
            : '—'
        } | ${p.loop.ticks}, ${p.loop.over_50ms}, ${p.loop.over_100ms}, ${p.loop.worst_under_s} | ${p.server_peak_rss_mib} | ${p.seconds} | ${p.load_average} |`,
    ),
    '',
    'Figures are from one run; on a shared machine (load average above the core count) the latencies include time the server was not scheduled at all. The lag column is measured inside the server (cdl_process_event_loop_lag_seconds on /metrics): how late its main thread ran a 20 ms timer, so a late tick is time it answered nothing; it too includes time the process was not scheduled. Large bodies are parsed on parser threads, and test/serve-hardening.test.ts checks the structure that keeps the main thread free: no whole-body copy or concatenation, the buffer moved to the parser thread and tensors moved back as typed data.',
    '',
  ];
  writeFileSync(path.join(resultsDir, 'serve-attack.md'), md.join('\n'));
  process.stdout.write(md.join('\n'));
}

/** `concurrency` ModelInfer calls kept outstanding on one gRPC channel for `duration` seconds. */
async function grpcLoad(
  server: Server & { grpc?: string },
  concurrency: number,
  duration: number,
  encoding: 'typed' | 'raw',
): Promise<Omit<LoadResult, 'encoding' | 'non_2xx'> & { encoding: string }> {
  const grpc = await import('@grpc/grpc-js');
  const protoLoader = await import('@grpc/proto-loader');
  const { protoPath } = await import('../src/serve/grpc.js');
  const def = protoLoader.loadSync(protoPath(), { keepCase: true, longs: Number, defaults: true, oneofs: true });
  const Service = (grpc.loadPackageDefinition(def) as any).inference.GRPCInferenceService;
  const client = new Service(server.grpc, grpc.credentials.createInsecure());
  const req =
    encoding === 'typed'
      ? {
          model_name: 'fm',
          inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 28, 28, 1], contents: { fp32_contents: [...image] } }],
        }
      : {
          model_name: 'fm',
          inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 28, 28, 1] }],
          raw_input_contents: [Buffer.from(image.buffer, image.byteOffset, image.byteLength)],
        };
  const call = () =>
    new Promise<void>((resolve, reject) => client.ModelInfer(req, (e: Error | null) => (e ? reject(e) : resolve())));
  await Promise.all(Array.from({ length: 16 }, call)); // warm-up, and the connection
  const loadBefore = os.loadavg()[0]!;
  const cpu0 = cpuSeconds(server.child.pid!);
  const self0 = process.cpuUsage();
  const lat: number[] = [];
  let errors = 0;
  const end = performance.now() + duration * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          await call();
          lat.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  const self = process.cpuUsage(self0);
  const cpu = cpuSeconds(server.child.pid!) - cpu0;
  client.close();
  lat.sort((a, b) => a - b);
  const q = (p: number) => +(lat[Math.min(lat.length - 1, Math.floor((lat.length * p) / 100))] ?? 0).toFixed(2);
  const n = Math.max(1, lat.length);
  return {
    concurrency,
    encoding,
    rows_per_request: 1,
    requests_per_s: Math.round(lat.length / duration),
    p50_ms: q(50),
    p99_ms: q(99),
    requests: lat.length,
    errors,
    server_cpu_us_per_request: Math.round((cpu * 1e6) / n),
    loadgen_cpu_us_per_request: Math.round((self.user + self.system) / n),
    load_average: +Math.max(loadBefore, os.loadavg()[0]!).toFixed(1),
  };
}

async function grpcBench(): Promise<void> {
  const model = await trainModel('mlp');
  const repo = path.join(work, 'grpc');
  mkdirSync(path.join(repo, 'fm'), { recursive: true });
  cpSync(model, path.join(repo, 'fm', '1'), { recursive: true });
  writeFileSync(path.join(repo, 'fm', 'config.yaml'), 'max_batch_size: 64\nmax_queue_size: 4096\n');
  const server = await startServer(repo, cdl, [
    cdl,
    'serve',
    '--repository',
    repo,
    '--port',
    '0',
    '--grpc-port',
    '0',
    '--poll-ms',
    '0',
  ]);
  const rows: Array<{ protocol: string; encoding: string } & Record<string, unknown>> = [];
  try {
    await load(server, 16, 2); // warm-up
    for (const c of [1, 16, 64]) {
      for (const e of ['typed', 'raw'] as const) {
        log(`grpc ${e}, concurrency ${c}`);
        rows.push({ protocol: 'grpc', ...(await grpcLoad(server, c, seconds, e)) });
      }
      for (const e of ['json', 'binary'] as const) {
        log(`rest ${e}, concurrency ${c}`);
        rows.push({ protocol: 'rest', ...(await load(server, c, seconds, e)) });
      }
    }
  } finally {
    await stopServer(server);
  }
  const out = {
    date: new Date().toISOString(),
    cdl_version: CDL_VERSION,
    command: `npx tsx bench/serve.ts --grpc --seconds ${seconds}`,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? '?', node: process.version },
    rows,
  };
  const resultsDir = path.join(root, 'bench', 'results');
  writeFileSync(path.join(resultsDir, 'serve-grpc.json'), JSON.stringify(out, null, 2) + '\n');
  const md = [
    '# Model server under load: gRPC beside REST',
    '',
    `\`${out.command}\` — ${out.date.slice(0, 10)}, cdl ${CDL_VERSION}, ${out.machine.cpus} × ${out.machine.cpu}, Node ${out.machine.node}.`,
    'The example MLP (1 epoch, 2,000 images), one `cdl serve --grpc-port 0` with dynamic batching on (max_batch_size 64), one 28×28 image a request.',
    'gRPC: a @grpc/grpc-js client from proto/open_inference_grpc.proto in the bench process, one HTTP/2 connection with `concurrency` calls outstanding;',
    'typed = fp32_contents in and out, raw = raw_input_contents in, raw_output_contents out. REST: autocannon, `concurrency` connections, JSON or binary tensor data.',
    'Both load generators run on the same cores as the server; the load average column shows what else ran (the machine is shared).',
    '',
    '| protocol | tensors | concurrency | requests/s | p50 ms | p99 ms | errors | server CPU µs/req | client CPU µs/req | load average |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r: any) =>
        `| ${r.protocol} | ${r.encoding} | ${r.concurrency} | ${r.requests_per_s} | ${r.p50_ms} | ${r.p99_ms} | ${r.errors + (r.non_2xx ?? 0)} | ${r.server_cpu_us_per_request} | ${r.loadgen_cpu_us_per_request} | ${r.load_average} |`,
    ),
    '',
  ];
  writeFileSync(path.join(resultsDir, 'serve-grpc.md'), md.join('\n'));
  process.stdout.write(md.join('\n'));
}

/** The answer's size in bytes for each encoding, from one real request. */
async function answerSizes(url: string): Promise<[number, number]> {
  const out: number[] = [];
  for (const e of ['json', 'binary'] as const) {
    const { body, headers } = request(e);
    const res = await fetch(`${url}/v2/models/fm/infer`, {
      method: 'POST',
      body: typeof body === 'string' ? body : new Uint8Array(body),
      headers,
    });
    out.push((await res.arrayBuffer()).byteLength);
  }
  return [out[0]!, out[1]!];
}

/** Fewer requests than this in a measurement (a starved bench) leave the round out of the ratios. */
const MIN_REQUESTS = 300;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function ratioBench(): Promise<void> {
  const rounds = Number(values.rounds);
  const model = await trainModel('mlp');
  const repo = path.join(work, 'ratio');
  mkdirSync(path.join(repo, 'fm'), { recursive: true });
  cpSync(model, path.join(repo, 'fm', '1'), { recursive: true });
  writeFileSync(path.join(repo, 'fm', 'config.yaml'), 'max_batch_size: 64\nmax_queue_size: 4096\n');
  const servers: Array<{ who: string; server: Server }> = [];
  try {
    servers.push({ who: 'this', server: await startServer(repo) });
    if (baselineCdl) servers.push({ who: 'baseline', server: await startServer(repo, baselineCdl) });
    const [jsonBytes, binaryBytes] = await answerSizes(servers[0]!.server.url);
    servers.push({
      who: 'null server',
      server: await startServer('', process.execPath, ['-e', NULL_SERVER, String(jsonBytes), String(binaryBytes)]),
    });
    for (const { server } of servers) await load(server, 16, 2); // warm-up
    const rows: Array<{ round: number; who: string } & LoadResult> = [];
    for (let round = 1; round <= rounds; round++) {
      for (const encoding of ['json', 'binary'] as const) {
        for (const { who, server } of servers) {
          log(`round ${round}/${rounds}: ${who}, ${encoding}, concurrency 64`);
          rows.push({ round, who, ...(await load(server, 64, seconds, encoding)) });
        }
      }
    }
    const summary = servers
      .filter((s) => s.who !== 'null server')
      .flatMap(({ who }) =>
        (['json', 'binary'] as const).map((encoding) => {
          // A round counts only where both servers answered enough requests for the figures to mean
          // anything: on a machine loaded far past its cores a niced bench can get almost no CPU.
          const used = (r: LoadResult) => r.requests >= MIN_REQUESTS && r.errors + r.non_2xx === 0;
          const pairs = rows
            .filter((r) => r.who === who && r.encoding === encoding)
            .map(
              (r) => [r, rows.find((n) => n.who === 'null server' && n.encoding === encoding && n.round === r.round)!] as const,
            )
            .filter(([r, n]) => used(r) && used(n));
          const m = (f: (p: (typeof pairs)[number]) => number) => (pairs.length ? +median(pairs.map(f)).toFixed(3) : null);
          return {
            server: who,
            encoding,
            rounds_used: pairs.map(([r]) => r.round),
            requests_per_s: m(([r]) => r.requests_per_s),
            null_requests_per_s: m(([, n]) => n.requests_per_s),
            ratio_to_null: m(([r, n]) => r.requests_per_s / n.requests_per_s),
            ratios: pairs.map(([r, n]) => +(r.requests_per_s / n.requests_per_s).toFixed(3)),
            server_cpu_us_per_request: m(([r]) => r.server_cpu_us_per_request),
            null_cpu_us_per_request: m(([, n]) => n.server_cpu_us_per_request),
            cpu_ratio_to_null: m(([r, n]) => n.server_cpu_us_per_request / r.server_cpu_us_per_request),
          };
        }),
      );
    const out = {
      date: new Date().toISOString(),
      cdl_version: CDL_VERSION,
      command: `npx tsx bench/serve.ts --ratio --seconds ${seconds} --rounds ${rounds}${values.baseline ? ` --baseline ${values.baseline}` : ''}${values.model ? ' --model DIR' : ''}`,
      machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? '?', node: process.version },
      load_average_start_end: [rows[0]?.load_average, rows.at(-1)?.load_average],
      note: values.note ?? '',
      summary,
      rows,
    };
    const resultsDir = path.join(root, 'bench', 'results');
    writeFileSync(path.join(resultsDir, 'serve-ratio.json'), JSON.stringify(out, null, 2) + '\n');
    const md = [
      '# REST server ÷ null server at concurrency 64 (example MLP)',
      '',
      `\`${out.command}\` — ${out.date.slice(0, 16).replace('T', ' ')} UTC, cdl ${CDL_VERSION}, ${out.machine.cpus} × ${out.machine.cpu}, Node ${out.machine.node}.`,
      'One 28×28 image a request, dynamic batching on (max_batch_size 64); autocannon in the bench process, 64 connections.',
      `The servers run side by side and are loaded in turn, ${rounds} round(s) of ${seconds} s each per server and encoding; the ratio is the median over rounds of server ÷ null server within a round.`,
      "The null server reads each body and answers a fixed body of the real answer's size (no parsing, no inference): the ceiling of any Node server on this machine.",
      ...(out.note ? ['', `Load: ${out.note}`] : []),
      '',
      `Rounds where either server answered fewer than ${MIN_REQUESTS} requests, or any with errors, are left out (the bench got too little CPU to measure anything).`,
      "CPU ratio: the null server's CPU per request ÷ the server's, which depends less on what else runs than requests/s does.",
      '',
      '| server | tensors | rounds used | requests/s (median) | null server requests/s | server ÷ null | per round | server CPU µs/req | null CPU µs/req | CPU ratio |',
      '|---|---|---|---|---|---|---|---|---|---|',
      ...summary.map(
        (r) =>
          `| ${r.server} | ${r.encoding} | ${r.rounds_used.join(', ') || 'none'} | ${r.requests_per_s ?? '—'} | ${r.null_requests_per_s ?? '—'} | **${r.ratio_to_null ?? '—'}** | ${r.ratios.join(', ')} | ${r.server_cpu_us_per_request ?? '—'} | ${r.null_cpu_us_per_request ?? '—'} | ${r.cpu_ratio_to_null ?? '—'} |`,
      ),
      '',
      '| round | server | tensors | requests/s | p50 ms | p99 ms | errors | server CPU µs/req | autocannon CPU µs/req | load average |',
      '|---|---|---|---|---|---|---|---|---|---|',
      ...rows.map(
        (r) =>
          `| ${r.round} | ${r.who} | ${r.encoding} | ${r.requests_per_s} | ${r.p50_ms} | ${r.p99_ms} | ${r.errors + r.non_2xx} | ${r.server_cpu_us_per_request} | ${r.loadgen_cpu_us_per_request} | ${r.load_average} |`,
      ),
      '',
    ];
    writeFileSync(path.join(resultsDir, 'serve-ratio.md'), md.join('\n'));
    process.stdout.write(md.join('\n'));
  } finally {
    for (const { server } of servers) await stopServer(server);
  }
}

if (values.ratio) {
  try {
    await ratioBench();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  process.exit(0);
}

if (values.grpc) {
  try {
    await grpcBench();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  process.exit(0);
}

if (values.attack) {
  try {
    await attack();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  process.exit(0);
}

try {
  const results: Array<Awaited<ReturnType<typeof benchModel>>> = [];
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
    command: `npx tsx bench/serve.ts --seconds ${seconds} --soak ${soakSeconds} --models ${values.models}${values.workers ? ` --workers ${values.workers}` : ''}${values.threads ? ` --threads ${values.threads}` : ''}${values.baseline ? ` --baseline ${values.baseline}` : ''}`,
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
    'autocannon runs in the bench process, on the same cores as the server. One 28×28 image per request unless said otherwise.',
    'The load average column shows what else ran: above about 3, other jobs shared the two cores and every figure is low.',
    'CPU columns: microseconds of CPU per request, of the server process (all its threads) and of autocannon.',
    '',
  ];
  const at = (r: (typeof results)[number], e: Encoding): LoadResult =>
    r.loads.find((l) => l.concurrency === 64 && l.encoding === e)!;
  for (const r of results) {
    md.push(
      `## ${r.model === 'mlp' ? 'Example MLP (cdl.yaml)' : 'Example CNN (cdl.cnn.yaml)'}: ${r.workers} inference worker(s) × ${r.threads} onnxruntime thread(s)`,
      '',
    );
    md.push(
      '| server | concurrency | batching | tensors | requests/s | p50 ms | p99 ms | errors | server CPU µs/req | autocannon CPU µs/req | load average |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
    );
    const row = (l: LoadResult, batching: string, who = 'this') =>
      `| ${who} | ${l.concurrency} | ${batching} | ${l.encoding} | ${l.requests_per_s} | ${l.p50_ms} | ${l.p99_ms} | ${l.errors + l.non_2xx} | ${l.server_cpu_us_per_request} | ${l.loadgen_cpu_us_per_request} | ${l.load_average} |`;
    for (const l of r.loads) md.push(row(l, 'on'));
    for (const l of r.batching_off_c64) md.push(row(l, 'off'));
    for (const l of r.queue_delay_2ms) md.push(row(l, 'on, max_queue_delay_ms 2'));
    for (const l of r.json.floor ? [r.json.floor, r.binary.floor] : []) md.push(row(l, '—', 'null server'));
    if (r.baseline) {
      for (const l of r.baseline.loads) md.push(row(l, 'on', 'baseline'));
      md.push(row(r.baseline.batching_off_c64, 'off', 'baseline'));
    }
    md.push('');
    for (const e of ['json', 'binary'] as const) {
      const c = r[e];
      md.push(
        `- **${e}**, concurrency 64: ${at(r, e).requests_per_s} requests/s. Batches the server formed: mean ${c.bare.mean_batch} rows (${Object.entries(
          r.batches_c64[e] ?? {},
        )
          .map(([b, n]) => `${n}×${b}`)
          .join(', ')}).`,
        `  - **dynamic batching on / off: ${c.batching_speedup_c64}×** (target ≥ 3×)`,
        `  - **server / bare session on the requests as they come** (one image each, back to back: ${r.bare_batch_1.rows_per_s} rows/s): **${c.ratio_to_bare_requests_c64}** (target ≥ 0.8)`,
        `  - **server / bare session on the batches the server formed** (${c.bare.sessions} session(s) × ${c.bare.threads} thread(s), ${c.bare.rows_per_s} rows/s, ${c.bare.cpu_us_per_row} µs CPU a row): **${c.ratio_to_bare_c64}**; ${c.cpu_ratio_to_bare_c64} by CPU time (bare CPU per row ÷ server CPU per request)`,
        `  - the null server (reads each body and answers a fixed body of the real answer's size; no parsing, no inference) reaches ${c.floor.requests_per_s} requests/s = **${c.floor_ratio_to_bare_c64}** of the bare session on the formed batches: the ceiling of that ratio for any server in Node on this machine`,
      );
    }
    for (const m of r.rows_per_request) {
      md.push(
        `- **${m.load.rows_per_request} rows a request** (binary, concurrency 64): ${m.load.requests_per_s} requests/s = ${m.rows_per_s} rows/s, p50 ${m.load.p50_ms} ms, p99 ${m.load.p99_ms} ms; ` +
          `server / bare on the batches formed (mean ${m.bare_formed.mean_batch} rows, ${m.bare_formed.rows_per_s} rows/s): **${m.ratio_to_bare_formed}**; ` +
          `server / bare on the requests' own ${m.load.rows_per_request}-row batches (${m.bare_requests.rows_per_s} rows/s): **${m.ratio_to_bare_requests}**`,
      );
    }
    md.push(`- bare, batch 1: ${r.bare_batch_1.rows_per_s} rows/s, ${r.bare_batch_1.cpu_us_per_row} µs CPU a row`);
    if (r.baseline)
      md.push(
        `- baseline (${r.baseline.checkout}): batching on / off at concurrency 64, JSON: ${r.baseline.batching_speedup_c64}×`,
      );
    if (r.soak) {
      md.push(
        `- soak: ${r.soak.seconds} s at concurrency 16 (JSON), ${r.soak.requests_per_s} requests/s, ${r.soak.errors} errors; ` +
          `RSS ${r.soak.samples[0]?.rss_mib} → ${r.soak.samples.at(-1)?.rss_mib} MiB, growth after the first 5 s: ${r.soak_rss_growth_mib} MiB RSS, ${r.soak_heap_growth_mib} MiB heap`,
      );
    }
    md.push('');
  }
  md.push(NOTES);
  writeFileSync(path.join(resultsDir, 'serve.md'), md.join('\n'));
  process.stdout.write(md.join('\n') + '\n');
} finally {
  rmSync(work, { recursive: true, force: true });
}
