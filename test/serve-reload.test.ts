/**
 * The model server under change, over real HTTP on 127.0.0.1: a new version swapped in under load
 * with no failed request, corrupt and tampered versions rejected while the old one keeps answering,
 * and shutdown (in process and by SIGTERM to `cdl serve`) draining the requests in flight.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeChecksums } from '../src/model-dir/checksums.js';
import { jsonLogger } from '../src/serve/log.js';
import { ModelServer } from '../src/serve/server.js';
import { trainExample } from './evaluate-models.js';
import { CDL_BIN, REPO, removeTempDirs, runCli, tempDir } from './helpers/example.js';

let modelDir: string;

const body = (seed: number) =>
  JSON.stringify({
    inputs: [
      {
        name: 'input',
        shape: [1, 28, 28, 1],
        datatype: 'FP32',
        data: Array.from({ length: 784 }, (_, i) => ((i + seed) % 17) / 17),
      },
    ],
  });

/** Copy the trained model in as `<repo>/<model>/<version>`, atomically (a temporary name, then rename). */
async function install(
  repo: string,
  model: string,
  version: number,
  damage?: (dir: string) => Promise<void> | void,
): Promise<string> {
  const tmp = path.join(repo, model, `.incoming-${version}`);
  cpSync(modelDir, tmp, { recursive: true });
  await damage?.(tmp);
  const dir = path.join(repo, model, String(version));
  renameSync(tmp, dir);
  return dir;
}

/** Poll until fn gives a value; the bound is generous because a busy machine slows loading, not the logic. */
async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type Answer = { status: number; version?: string; error?: string; sentAfterMark: boolean };

/**
 * Clients that post inference requests in a loop until stopped; every answer is kept, in the order the
 * answers came, with whether its request was sent after mark() (so a test can tell requests sent after
 * an event from those already in flight, whatever the machine's speed).
 */
function loadLoop(url: string, clients: number): { answers: Answer[]; mark: () => void; stop: () => Promise<Answer[]> } {
  let running = true;
  let marked = false;
  const answers: Answer[] = [];
  const workers = Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; running; i++) {
      const sentAfterMark = marked;
      try {
        const res = await fetch(url, { method: 'POST', body: body(c * 1000 + i) });
        const json = (await res.json()) as { model_version?: string; error?: string };
        answers.push({ status: res.status, version: json.model_version, error: json.error, sentAfterMark });
      } catch (e) {
        answers.push({ status: 0, error: (e as Error).message, sentAfterMark });
      }
    }
  });
  return {
    answers,
    mark: () => (marked = true),
    stop: async () => {
      running = false;
      await Promise.all(workers);
      return answers;
    },
  };
}

beforeAll(async () => {
  modelDir = await trainExample(path.join(tempDir('cdl-serve-'), 'model'), [
    'train.epochs=1',
    'data.limit.train=1000',
    'data.limit.test=200',
  ]);
});

afterAll(() => removeTempDirs());

describe('hot reload', () => {
  let server: ModelServer;
  const logs: Array<Record<string, unknown>> = [];
  let repo: string;

  beforeAll(async () => {
    repo = tempDir('cdl-serve-repo-');
    mkdirSync(path.join(repo, 'fm'));
    writeFileSync(path.join(repo, 'fm', 'config.yaml'), 'max_queue_delay_ms: 5\n');
    await install(repo, 'fm', 1);
    server = await ModelServer.start({
      repository: repo,
      port: 0,
      pollMs: 100,
      log: jsonLogger({ write: (l) => logs.push(JSON.parse(l) as Record<string, unknown>) }),
    });
  });

  afterAll(() => server?.shutdown());

  const index = async () =>
    (await (await fetch(`${server.url}/v2/repository/index`, { method: 'POST' })).json()) as Array<Record<string, string>>;

  it('swaps in a new version under load without one failed request', async () => {
    const load = loadLoop(`${server.url}/v2/models/fm/infer`, 8);
    await until('version 1 to answer', async () => (load.answers.some((a) => a.version === '1') ? true : undefined));
    await install(repo, 'fm', 2);
    await until('version 2 to serve', async () =>
      (await index()).some((e) => e.version === '2' && e.state === 'READY') ? true : undefined,
    );
    load.mark();
    await until('8 answers to requests sent after the swap', async () =>
      load.answers.filter((a) => a.sentAfterMark).length >= 8 ? true : undefined,
    );
    const results = await load.stop();
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    const versions = results.map((r) => r.version);
    expect(versions).toContain('1');
    // Requests still in flight at the swap may be answered by version 1; every one sent after it by 2.
    expect(new Set(results.filter((r) => r.sentAfterMark).map((r) => r.version))).toEqual(new Set(['2']));
    await until('version 1 to drain', async () =>
      logs.some((l) => l.msg === 'model version unloaded' && l.version === 1) ? true : undefined,
    );
    expect(await index()).toContainEqual({
      name: 'fm',
      version: '1',
      state: 'UNAVAILABLE',
      reason: 'not selected by version_policy {"latest":1}',
    });
  });

  it('rejects a corrupt version and a SHA-256 mismatch while the old version keeps answering, and says why', async () => {
    const load = loadLoop(`${server.url}/v2/models/fm/infer`, 4);
    const corrupt = await install(repo, 'fm', 3, (dir) => {
      const bytes = readFileSync(path.join(dir, 'model.onnx'));
      writeFileSync(path.join(dir, 'model.onnx'), bytes.subarray(0, bytes.length >> 1));
    });
    const v3 = await until('version 3 to fail', async () => (await index()).find((e) => e.version === '3' && e.reason));
    expect(v3.state).toBe('UNAVAILABLE');
    expect(v3.reason).toContain(path.join(corrupt, 'model.onnx'));
    // valid ONNX whose weights changed after SHA256SUMS was written: only the checksum catches it
    const tampered = await install(repo, 'fm', 4, async (dir) => {
      await writeChecksums(dir);
      const onnx = readFileSync(path.join(dir, 'model.onnx'));
      onnx[onnx.length - 8] = onnx[onnx.length - 8]! ^ 0xff;
      writeFileSync(path.join(dir, 'model.onnx'), onnx);
    });
    const v4 = await until('version 4 to fail', async () =>
      (await index()).find((e) => e.version === '4' && /SHA-256/.test(e.reason ?? '')),
    );
    expect(v4.state).toBe('UNAVAILABLE');
    expect(v4.reason).toMatch(
      new RegExp(`${path.join(tampered, 'model.onnx')}: SHA-256 [0-9a-f]{64} does not match [0-9a-f]{64} in SHA256SUMS`),
    );
    const during = await load.stop();
    expect(during.length).toBeGreaterThan(0);
    expect(during.filter((r) => r.status !== 200 || r.version !== '2')).toEqual([]);
    expect(logs.some((l) => l.msg === 'model version failed to load' && l.version === 4)).toBe(true);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('cdl_model_load_failures_total{model="fm",version="3"} 1');

    // the release is fixed: fresh checksums, and version 4 takes over
    await writeChecksums(tampered);
    await until('version 4 to serve', async () =>
      (await index()).some((e) => e.version === '4' && e.state === 'READY') ? true : undefined,
    );
    const r = (await (await fetch(`${server.url}/v2/models/fm/infer`, { method: 'POST', body: body(1) })).json()) as {
      model_version: string;
    };
    expect(r.model_version).toBe('4');
    // A tampered model.onnx next to an empty or partial SHA256SUMS (model.onnx not listed) is refused too.
    for (const [version, keep] of [
      [5, () => false],
      [6, (l: string) => !l.endsWith('  model.onnx')],
    ] as const) {
      const dir = await install(repo, 'fm', version, (d) => {
        const onnx = readFileSync(path.join(d, 'model.onnx'));
        onnx[onnx.length - 8] = onnx[onnx.length - 8]! ^ 0xff;
        writeFileSync(path.join(d, 'model.onnx'), onnx);
        const sums = readFileSync(path.join(d, 'SHA256SUMS'), 'utf8').split('\n').filter(keep);
        writeFileSync(path.join(d, 'SHA256SUMS'), sums.join('\n'));
      });
      const v = await until(`version ${version} to fail`, async () =>
        (await index()).find((e) => e.version === String(version) && e.reason),
      );
      expect(v.state).toBe('UNAVAILABLE');
      expect(v.reason).toContain(`${path.join(dir, 'model.onnx')}: not listed in SHA256SUMS`);
    }
    const after = (await (await fetch(`${server.url}/v2/models/fm/infer`, { method: 'POST', body: body(1) })).json()) as {
      model_version: string;
    };
    expect(after.model_version).toBe('4');
  });
});

describe('shutdown', () => {
  function slowRepo(): string {
    const repo = tempDir('cdl-serve-repo-');
    mkdirSync(path.join(repo, 'fm'));
    writeFileSync(path.join(repo, 'fm', 'config.yaml'), 'max_queue_delay_ms: 1500\n');
    cpSync(modelDir, path.join(repo, 'fm', '1'), { recursive: true });
    return repo;
  }

  it('stops accepting, reports not ready, and lets a request still uploading finish', async () => {
    const server = await ModelServer.start({ repository: slowRepo(), port: 0, pollMs: 0, log: jsonLogger({ write: () => {} }) });
    const payload = body(3);
    const reading = new Promise<void>((resolve) => server.server.once('request', () => resolve()));
    let req!: http.ClientRequest;
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      req = http.request(
        `${server.url}/v2/models/fm/infer`,
        { method: 'POST', headers: { 'content-length': Buffer.byteLength(payload) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.write(payload.slice(0, 1000));
    });
    await reading; // the server has the request's head and the first part of its body
    const stopped = server.shutdown('test');
    expect(server.isReady).toBe(false);
    await expect(fetch(`${server.url}/v2/health/live`)).rejects.toThrow();
    req.end(payload.slice(1000)); // the rest of the body arrives after shutdown began
    const r = await answer;
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text).model_version).toBe('1');
    await stopped;
  });

  it('cdl serve drains the requests in flight on SIGTERM and exits 0', async () => {
    const child = spawn(process.execPath, [CDL_BIN, 'serve', '--repository', slowRepo(), '--port', '0', '--poll-ms', '0'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      const url = await until('cdl serve to listen', async () => /"msg":"listening","url":"([^"]+)"/.exec(stderr)?.[1], 60_000);
      const pending = Array.from({ length: 8 }, (_, i) => fetch(`${url}/v2/models/fm/infer`, { method: 'POST', body: body(i) }));
      await until('8 queued requests', async () => {
        const m = await (await fetch(`${url}/metrics`)).text();
        return /cdl_inference_queue_depth\{model="fm",version="1"\} 8/.test(m) ? true : undefined;
      });
      child.kill('SIGTERM');
      const answers = await Promise.all(pending);
      expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
      expect(await exited).toBe(0);
      await expect(fetch(`${url}/v2/health/live`)).rejects.toThrow();
      const lines = stderr
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.find((l) => l.msg === 'draining')).toMatchObject({ reason: 'SIGTERM', inflight: 8 });
      expect(lines.at(-1)).toMatchObject({ level: 'info', msg: 'stopped' });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('cdl serve names what is missing or wrong on its command line (exit 2) and in the repository (exit 1)', async () => {
    const none = await runCli(['serve']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/serve: --repository DIR is required/);
    const port = await runCli(['serve', '--repository', '.', '--port', 'http']);
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/--port must be an integer from 0 to 65535, got "http"/);
    const missing = await runCli(['serve', '--repository', path.join(tempDir(), 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope: no such directory; expected a model repository/);
  });
});
