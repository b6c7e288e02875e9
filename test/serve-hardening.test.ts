/**
 * `cdl serve` under hostile or careless clients, over real HTTP on 127.0.0.1 with a model trained
 * by cdl and real onnxruntime: an address it cannot listen on, bodies too large (declared or
 * chunked), too slow or still arriving at shutdown, health checks during large bodies, values
 * that are not finite numbers, ragged and zero-size tensors, bad URL escapes and out-of-range
 * serving configs. Each is answered with a 4xx JSON error naming the problem (or an exit code),
 * never a reset, a hang or a 500.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { serveCommand } from '../src/cli/serve.js';
import { BodyReader } from '../src/serve/body.js';
import { RequestParsers } from '../src/serve/request-parser.js';
import { validateModelConfig } from '../src/serve/config.js';
import { parseJsonBytes, NumberArray } from '../src/serve/json.js';
import { jsonLogger } from '../src/serve/log.js';
import { tensorSpec } from '../src/serve/tensors.js';
import { parseInferRequest } from '../src/serve/protocol.js';
import { ModelServer } from '../src/serve/server.js';
import { trainExample } from './evaluate-models.js';
import { CDL_BIN, REPO, removeTempDirs, tempDir } from './helpers/example.js';

let repo: string;
let server: ModelServer;
let base: string;
const LIMIT = 1024 * 1024;

const image = (seed: number) => Array.from({ length: 784 }, (_, i) => ((i * 7 + seed * 13) % 255) / 255);
const tensor = (extra: Record<string, unknown> = {}) => ({
  inputs: [{ name: 'input', shape: [1, 28, 28, 1], datatype: 'FP32', data: image(1), ...extra }],
});

async function call(
  method: string,
  p: string,
  body?: string | Uint8Array<ArrayBuffer>,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any }> {
  const res = await fetch(base + p, { method, body, headers });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = { text };
  }
  return { status: res.status, json };
}

/** A raw HTTP/1.1 exchange: `head` is written at once; what comes back is read until the server closes. */
function rawExchange(
  port: number,
  head: string,
): { socket: net.Socket; reply: Promise<{ status: number; json: any; raw: string }> } {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(head);
  const reply = new Promise<{ status: number; json: any; raw: string }>((resolve) => {
    let raw = '';
    socket.setEncoding('utf8').on('data', (d: string) => (raw += d));
    socket.on('error', () => {});
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(raw)?.[1] ?? 0);
      const body = raw.split('\r\n\r\n').slice(1).join('\r\n\r\n');
      let json: any;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      resolve({ status, json, raw });
    });
  });
  return { socket, reply };
}

/** `cdl serve` as a process; resolves its URL once it listens (or its exit code if it exits first). */
function startCli(args: string[]): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CDL_BIN, 'serve', ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stderr: () => err, exited };
}

async function until<T>(what: string, fn: () => T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  const modelDir = await trainExample(path.join(tempDir('cdl-harden-'), 'model'), [
    'train.epochs=1',
    'data.limit.train=300',
    'data.limit.test=100',
  ]);
  repo = tempDir('cdl-harden-repo-');
  cpSync(modelDir, path.join(repo, 'fashion', '1'), { recursive: true });
  cpSync(modelDir, path.join(repo, 'greedy', '1'), { recursive: true });
  writeFileSync(path.join(repo, 'greedy', 'config.yaml'), 'workers: 40\n');
  server = await ModelServer.start({
    repository: repo,
    port: 0,
    pollMs: 0,
    maxBodyBytes: LIMIT,
    bodyTimeoutMs: 1000,
    headersTimeoutMs: 1000,
    log: jsonLogger({ write: () => {} }),
  });
  base = server.url;
}, 240_000);

afterAll(async () => {
  await server?.shutdown('test end');
  removeTempDirs();
});

describe('the address', () => {
  it('exits 1 naming the address when the port is taken or the host is not local, and refuses a port out of range', async () => {
    const taken = startCli(['--repository', repo, '--port', String(server.port), '--poll-ms', '0']);
    const foreign = startCli(['--repository', repo, '--port', '0', '--host', '192.0.2.1', '--poll-ms', '0']);
    try {
      expect(await taken.exited).toBe(1);
      expect(taken.stderr()).toContain(`cdl: cannot listen on 127.0.0.1:${server.port}: the address is already in use`);
      expect(await foreign.exited).toBe(1);
      expect(foreign.stderr()).toContain('cdl: cannot listen on 192.0.2.1:0: no such local address');
    } finally {
      for (const c of [taken.child, foreign.child]) if (c.exitCode === null) c.kill('SIGKILL');
    }
    await expect(serveCommand(['--repository', repo, '--port', '70000'])).rejects.toThrow(
      'serve: --port must be an integer from 0 to 65535, got "70000"',
    );
    await expect(serveCommand(['--repository', repo, '--max-body-bytes', '1e12'])).rejects.toThrow(
      /--max-body-bytes must be an integer from 1024 to 1073741824/,
    );
  }, 180_000);

  it('SIGTERM does not wait for a client trickling a body', async () => {
    // A drain timeout far longer than the test: shutting down must not wait for a body that has not arrived.
    const cli = startCli(['--repository', repo, '--port', '0', '--poll-ms', '0', '--drain-timeout-ms', '600000']);
    try {
      const url = await until('cdl serve to listen', () => /"msg":"listening","url":"([^"]+)"/.exec(cli.stderr())?.[1], 120_000);
      const port = Number(new URL(url).port);
      const { socket } = rawExchange(
        port,
        'POST /v2/models/fashion/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"inputs"',
      );
      const trickle = setInterval(() => socket.write(' '), 200);
      await new Promise((r) => setTimeout(r, 500));
      const t0 = Date.now();
      cli.child.kill('SIGTERM');
      const code = await cli.exited;
      clearInterval(trickle);
      socket.destroy();
      expect(code).toBe(0);
      // Far below the 600 s drain timeout: the trickling request was refused, not waited for.
      expect(Date.now() - t0).toBeLessThan(60_000);
      expect(cli.stderr()).toContain('"msg":"stopped"');
    } finally {
      if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
    }
  }, 240_000);
});

describe('request bodies', () => {
  it('refuses a declared body over the limit with 413 JSON before reading it', async () => {
    // The headers announce 100 MB and not one byte of the body is sent: the answer comes anyway.
    const { socket, reply } = rawExchange(
      server.port,
      'POST /v2/models/fashion/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n',
    );
    const r = await reply;
    socket.destroy();
    expect(r.status).toBe(413);
    expect(r.raw).toMatch(/\r\nconnection: close\r\n/i);
    expect(r.json.error).toBe(
      'request body of 95.4 MiB (Content-Length) is over the limit of 1 MiB; send smaller batches or binary tensor data, or raise --max-body-bytes',
    );
  });

  it('answers 413 as a JSON response (no connection reset) to a client that sends the whole body', async () => {
    const big = JSON.stringify(tensor({ data: Array(400_000).fill(0.5) }));
    expect(big.length).toBeGreaterThan(LIMIT);
    for (let i = 0; i < 3; i++) {
      const r = await call('POST', '/v2/models/fashion/infer', big, { 'content-type': 'application/json' });
      expect(r).toMatchObject({ status: 413, json: { error: expect.stringContaining('over the limit of 1 MiB') } });
    }
    expect((await call('GET', '/v2/health/live')).status).toBe(200);
  });

  it('counts a chunked body as it arrives and refuses it past the limit with 413 JSON', async () => {
    const r = await new Promise<{ status: number; json: any }>((resolve, reject) => {
      const req = http.request(`${base}/v2/models/fashion/infer`, { method: 'POST' }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
      });
      req.on('error', reject);
      expect(req.getHeader('content-length')).toBeUndefined();
      const chunk = Buffer.alloc(256 * 1024, 0x20);
      let sent = 0;
      const more = () => {
        // Far more than the limit, unless the server has answered (then the rest is not needed).
        while (sent < 16 && req.write(chunk)) sent++;
        if (sent < 16) req.once('drain', () => (sent++, more()));
        else req.end();
      };
      more();
    });
    expect(r.status).toBe(413);
    expect(r.json.error).toMatch(/^request body over the limit of 1 MiB/);
  });

  it('limits the repository API to small bodies', async () => {
    const r = await call('POST', '/v2/repository/index', `{"ready": true, "pad": "${'x'.repeat(100_000)}"}`);
    expect(r.status).toBe(413);
    expect(r.json.error).toMatch(
      /^request body of 100\d{3} bytes \(Content-Length\) is over the limit of 65536 bytes; send smaller batches/,
    );
  });

  it('answers a body that does not arrive in time with 408 JSON, and closes a connection whose headers do not', async () => {
    const slow = rawExchange(
      server.port,
      'POST /v2/models/fashion/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"inp',
    );
    const r = await slow.reply;
    expect(r.status).toBe(408);
    expect(r.json.error).toMatch(/^request body not received within 1000 ms \(5 of 5000 bytes arrived\)/);
    // Headers that never end: the connection is closed (Node answers 408) instead of held open.
    const headers = rawExchange(server.port, 'GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const h = await headers.reply;
    expect([0, 408]).toContain(h.status);
  });
});

describe('health checks while large bodies are parsed', () => {
  it('answers /v2/health/live during four concurrent bodies at the default 32 MiB limit, which get 400 JSON', async () => {
    const attack = await ModelServer.start({ repository: repo, port: 0, pollMs: 0, log: jsonLogger({ write: () => {} }) });
    try {
      // A valid JSON tensor of 2.6 million numbers (30 MiB) for an input of 784: parsed in full, then refused.
      const n = 2_600_000;
      const file = path.join(tempDir('cdl-harden-body-'), 'body.json');
      writeFileSync(
        file,
        `{"inputs":[{"name":"input","shape":[1,28,28,1],"datatype":"FP32","data":[${'0.123456789,'.repeat(n - 1)}0.5]}]}`,
      );
      const size = statSync(file).size;
      expect(size).toBeLessThan(32 * 1024 * 1024);
      // The attackers are another process, so that sending does not load the event loop measured here.
      const attackers = spawn(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `import { readFileSync } from 'node:fs';
const body = readFileSync(${JSON.stringify(file)});
const answers = await Promise.all(Array.from({ length: 4 }, async () => {
  const r = await fetch(${JSON.stringify(`${attack.url}/v2/models/fashion/infer`)}, { method: 'POST', body });
  return { status: r.status, json: await r.json() };
}));
process.stdout.write(JSON.stringify(answers));`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      attackers.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      const done = new Promise((r) => attackers.on('close', r));
      const latencies: number[] = [];
      let attacking = true;
      const probe = (async () => {
        while (attacking) {
          const t = performance.now();
          const r = await fetch(`${attack.url}/v2/health/live`);
          await r.text();
          latencies.push(performance.now() - t);
          await new Promise((res) => setTimeout(res, 20));
        }
      })();
      await done;
      attacking = false;
      await probe;
      const answers = JSON.parse(out) as Array<{ status: number; json: { error: string } }>;
      expect(answers).toHaveLength(4);
      for (const a of answers) {
        expect(a.status).toBe(400);
        expect(a.json.error).toBe('input "input": 2600000 values in "data", but shape [1, 28, 28, 1] needs 784');
      }
      latencies.sort((a, b) => a - b);
      const worst = latencies.at(-1)!;
      console.info(
        `health during 4 × ${(size / 2 ** 20).toFixed(1)} MiB bodies: ${latencies.length} probes, median ${latencies[latencies.length >> 1]!.toFixed(1)} ms, worst ${worst.toFixed(1)} ms`,
      );
      expect(latencies.length).toBeGreaterThan(3);
      // Generous (a shared, loaded machine): bench/serve.ts --attack measures the 100 ms target on a quiet one.
      expect(worst).toBeLessThan(10_000);
    } finally {
      await attack.shutdown('test end');
    }
  }, 240_000);
});

describe('large bodies never occupy the main thread', () => {
  it('a chunked body is read into one buffer of its own (no concatenation), moved to the parser thread without a copy, and comes back as typed tensor data', async () => {
    const rows = 1000;
    const body = Buffer.from(
      `{"inputs":[{"name":"input","shape":[${rows},784],"datatype":"FP32","data":[${'0.123456789,'.repeat(rows * 784 - 1)}0.5]}]}`,
    );
    expect(body.length).toBeGreaterThan(8 * 2 ** 20);
    const reader = new BodyReader({ maxBytes: 16 * 2 ** 20, timeoutMs: 60_000 });
    const concat = vi.spyOn(Buffer, 'concat');
    let raw: Buffer | undefined;
    const srv = http.createServer((req, res) => {
      reader.read(req).then(
        (b) => {
          raw = b;
          res.end('ok');
        },
        (e: Error) => res.end(e.message),
      );
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const parsers = new RequestParsers(1);
    try {
      const port = (srv.address() as net.AddressInfo).port;
      // Chunked (no Content-Length), in 64 KiB writes.
      await new Promise<void>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/' }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        for (let i = 0; i < body.length; i += 65_536) req.write(body.subarray(i, i + 65_536));
        req.end();
      });
      const bigConcat = concat.mock.calls.filter(([list]) => list.reduce((a, b) => a + b.length, 0) > 2 ** 20);
      expect(bigConcat).toEqual([]);
      expect(raw!.equals(body)).toBe(true);
      const spec = tensorSpec({ name: 'input', type: 'FLOAT', shape: [-1, 784] });
      const parsed = await parsers.parse(
        { bytes: raw!, signature: { inputs: [spec], outputs: [], batched: true }, maxRows: 10_000 },
        { ownsBuffer: true },
      );
      // Moved, not copied: the main thread's buffer is detached.
      expect(raw!.buffer.byteLength).toBe(0);
      // Back as binary tensor data (moved too), not an array of 784,000 numbers to convert here.
      const input = parsed.inputs.get('input')!;
      expect(input.values).toBeUndefined();
      expect(input.bytes!.byteLength).toBe(rows * 784 * 4);
      const values = new Float32Array(input.bytes!.buffer, input.bytes!.byteOffset, rows * 784);
      expect(values[0]).toBeCloseTo(0.123456789, 6);
      expect(values.at(-1)).toBe(0.5);
    } finally {
      concat.mockRestore();
      await parsers.close();
      await new Promise((r) => srv.close(r));
    }
  }, 120_000);
});

describe('tensor values and shapes', () => {
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    call(
      'POST',
      '/v2/models/fashion/infer',
      typeof body === 'string' || body instanceof Uint8Array ? (body as Uint8Array<ArrayBuffer>) : JSON.stringify(body),
      headers,
    );

  it('refuses values that are not finite numbers of the datatype, in JSON and in binary tensor data', async () => {
    const json = JSON.stringify(tensor()).replace(/"data":\[([^,]+),([^,]+),([^,]+),([^,]+),/, '"data":[$1,$2,$3,1e999,');
    expect(await post(json)).toMatchObject({
      status: 400,
      json: {
        error:
          'input "input": data[3] is 1e999; expected a finite number (FP32, magnitude below 3.4e38); NaN and Infinity are refused',
      },
    });
    const past = JSON.stringify(tensor()).replace(/"data":\[([^,]+),/, '"data":[3.5e38,');
    expect((await post(past)).json.error).toMatch(/^input "input": data\[0\] is 3.5e38; expected a finite number \(FP32/);
    const boxed = { inputs: [{ name: 'input', shape: [1, 28, 28, 1], datatype: 'FP32', data: ['a', ...image(1).slice(1)] }] };
    expect((await post(boxed)).json.error).toMatch(/data\[0\] is "a"; expected a number \(FP32\)/);
    for (const [bad, shown] of [
      [NaN, 'NaN'],
      [Infinity, 'Infinity'],
      [-Infinity, '-Infinity'],
    ] as const) {
      const values = Float32Array.from(image(2));
      values[5] = bad;
      const head = JSON.stringify({
        inputs: [{ name: 'input', shape: [1, 28, 28, 1], datatype: 'FP32', parameters: { binary_data_size: values.byteLength } }],
      });
      const r = await post(Buffer.concat([Buffer.from(head), Buffer.from(values.buffer)]), {
        'inference-header-content-length': String(Buffer.byteLength(head)),
      });
      expect(r).toMatchObject({
        status: 400,
        json: {
          error: `input "input" (binary): data[5] is ${shown}; expected a finite number (FP32, magnitude below 3.4e38); NaN and Infinity are refused`,
        },
      });
    }
  });

  it('refuses nested data that does not follow the shape (ragged), naming the element', async () => {
    const rows = Array.from({ length: 28 }, (_, r) =>
      image(1)
        .slice(r * 28, r * 28 + 28)
        .map((v) => [v]),
    );
    rows[0]!.push([0.5]); // 29 columns in row 0 ...
    rows[1]!.pop(); // ... 27 in row 1: still 784 values in all
    const r = await post(tensor({ data: [rows] }));
    expect(r.status).toBe(400);
    expect(r.json.error).toBe(
      'input "input": data[0][0] has 29 elements where 28 are needed at dimension 2, but shape [1, 28, 28, 1] needs nested "data" to follow it (or to be flat)',
    );
    // A nesting one level short, with the right number of values.
    const shallow = await post(tensor({ data: [Array.from({ length: 28 }, (_, k) => image(1).slice(k * 28, k * 28 + 28))] }));
    expect(shallow.json.error).toMatch(/data\[0\]\[0\]\[0\] is a number where dimension 3 is needed/);
    // The same rule for arrays that are not all numbers (here a BOOL input), checked without the fast parser.
    const sig = { inputs: [tensorSpec({ name: 'b', type: 'BOOL', shape: [2, 2] })], outputs: [], batched: false };
    expect(() =>
      parseInferRequest({ inputs: [{ name: 'b', shape: [2, 2], datatype: 'BOOL', data: [[true, false, true], [false]] }] }, sig),
    ).toThrow(/input "b": data\[0\] has 3 elements, but shape \[2, 2\] needs 2 at dimension 1/);
    const parsed = parseJsonBytes(Buffer.from('[[1, 2], [3, 4]]')) as NumberArray;
    expect(parsed.nestingError([2, 2])).toBeNull();
    expect(parsed.nestingError([4])).toBe('data[0] is an array where shape has no dimension 1');
  });

  it('refuses zero-size and oversized shapes with 400, in JSON and in binary tensor data', async () => {
    expect(await post(tensor({ shape: [1, 0, 28, 1], data: [] }))).toMatchObject({
      status: 400,
      json: { error: 'input "input": shape [1, 0, 28, 1] has dimension 1 of 0; expected sizes from 1 to 2147483647' },
    });
    const head = JSON.stringify({
      inputs: [{ name: 'input', shape: [0, 28, 28, 1e15], datatype: 'FP32', parameters: { binary_data_size: 0 } }],
    });
    const r = await post(head, { 'inference-header-content-length': String(Buffer.byteLength(head)) });
    expect(r).toMatchObject({
      status: 400,
      json: { error: expect.stringMatching(/^input "input": shape \[0, 28, 28, 1000000000000000\] has dimension 0 of 0/) },
    });
  });

  it('answers a malformed %-escape in the URL with 400, and other client mistakes with 4xx JSON', async () => {
    for (const p of ['/v2/models/%E0%A4%A', '/v2/models/fa%ZZ/infer', '/v2/repository/models/%FF/load']) {
      const r = await call(
        p.endsWith('load') || p.endsWith('infer') ? 'POST' : 'GET',
        p,
        p.endsWith('/infer') ? '{}' : undefined,
      );
      expect({ p, status: r.status }).toEqual({ p, status: 400 });
      expect(r.json.error).toMatch(/^malformed %-escape in the URL path ".*"; expected %XX of UTF-8 bytes$/);
    }
    const cases: Array<[string, string, string | undefined, Record<string, string>, number, RegExp]> = [
      ['POST', '/v2/models/fashion/infer', 'null', {}, 400, /expected a JSON object with "inputs", got null/],
      ['POST', '/v2/models/fashion/infer', '', {}, 400, /malformed JSON/],
      [
        'POST',
        '/v2/models/fashion/infer',
        '{}',
        { 'inference-header-content-length': '-1' },
        400,
        /Inference-Header-Content-Length: "-1"/,
      ],
      ['POST', '/v2/models/fashion/infer', '{}', { 'inference-header-content-length': '99' }, 400, /at most the body's 2/],
      ['POST', '/v2/repository/index', '{"ready": tru', {}, 400, /malformed JSON/],
      ['POST', '/v2/repository/models/%2E%2E%2Fx/load', '', {}, 404, /^no model "\.\.\/x" in the repository /],
      ['POST', '/v2/repository/models/fashion%2F1/load', '', {}, 404, /^no model "fashion\/1" in the repository /],
      ['DELETE', '/v2/health/live', undefined, {}, 405, /method not allowed; expected GET/],
      ['GET', '/v2/models/fashion/versions', undefined, {}, 404, /expected \/v2\/models\/fashion\/versions\/<version>/],
    ];
    for (const [method, p, body, headers, status, message] of cases) {
      const r = await call(method, p, body, headers);
      expect({ p, status: r.status }).toEqual({ p, status });
      expect(r.json.error).toMatch(message);
    }
  });
});

describe('serving configuration ranges', () => {
  it('refuses numeric knobs out of range, naming the file and field (workers: 40 included)', async () => {
    const { errors } = validateModelConfig(
      {
        workers: 40,
        threads: 100_000,
        max_batch_size: 1e6,
        max_queue_size: 1e9,
        timeout_ms: 1e12,
        max_queue_delay_ms: 1e9,
        version_policy: { latest: 1000 },
      },
      'm/config.yaml',
    );
    expect(errors).toEqual([
      'm/config.yaml: max_batch_size: expected an integer from 1 to 4096, got 1000000',
      'm/config.yaml: max_queue_size: expected an integer from 1 to 100000, got 1000000000',
      'm/config.yaml: timeout_ms: expected an integer from 1 to 3600000 (milliseconds), got 1000000000000',
      expect.stringMatching(
        /^m\/config.yaml: workers: expected an integer from 0 to \d+ \(0: automatic; at most 16 and this machine's \d+ cores\), got 40$/,
      ),
      expect.stringMatching(
        /^m\/config.yaml: threads: expected an integer from 0 to \d+ \(0: cores \/ workers; at most this machine's \d+ cores\), got 100000$/,
      ),
      'm/config.yaml: max_queue_delay_ms: expected a number of milliseconds from 0 to 10000, got 1000000000',
      'm/config.yaml: version_policy.latest: expected an integer from 1 to 100, got 1000',
    ]);
    // Served: the model with workers: 40 does not load, and the index says why.
    const index = await call('POST', '/v2/repository/index', '{}');
    const greedy = index.json.find((e: { name: string }) => e.name === 'greedy');
    expect(greedy.state).toBe('UNAVAILABLE');
    expect(greedy.reason).toContain(`${path.join(repo, 'greedy', 'config.yaml')}: workers: expected an integer from 0 to`);
  });
});
