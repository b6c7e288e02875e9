/**
 * The model server over real HTTP on 127.0.0.1, with a model trained by cdl: the Open Inference
 * Protocol's JSON shapes for every endpoint, errors that name the problem, the canary split,
 * dynamic batching, a full queue answered with 503 and recovered from, timeouts, /metrics,
 * serving configs and SHA256SUMS.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertChecksums, parseChecksums, sha256Bytes, verifyChecksums, writeChecksums } from '../src/model-dir/checksums.js';
import { loadOrt } from '../src/runtime/onnxruntime.js';
import { validateModelConfig, readModelConfig } from '../src/serve/config.js';
import { jsonLogger } from '../src/serve/log.js';
import { ModelServer } from '../src/serve/server.js';
import { trainExample } from './evaluate-models.js';
import { removeTempDirs, tempDir } from './helpers/example.js';

let modelDir: string;
let repo: string;
let server: ModelServer;
let base: string;
const logLines: string[] = [];

function image(seed: number): number[] {
  return Array.from({ length: 784 }, (_, i) => ((i * 7 + seed * 13) % 255) / 255);
}

function inferBody(rows: number, seed = 1, extra: Record<string, unknown> = {}) {
  return {
    inputs: [
      {
        name: 'input',
        shape: [rows, 28, 28, 1],
        datatype: 'FP32',
        data: Array.from({ length: rows }, (_, r) => image(seed + r)).flat(),
      },
    ],
    ...extra,
  };
}

async function call(method: string, p: string, body?: unknown): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(base + p, {
    method,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    headers: body === undefined ? undefined : { 'content-type': 'application/json' },
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

function addModel(name: string, versions: number[], config?: string): void {
  for (const v of versions) cpSync(modelDir, path.join(repo, name, String(v)), { recursive: true });
  if (config !== undefined) writeFileSync(path.join(repo, name, 'config.yaml'), config);
}

beforeAll(async () => {
  modelDir = await trainExample(path.join(tempDir('cdl-serve-'), 'model'), [
    'train.epochs=1',
    'data.limit.train=1000',
    'data.limit.test=200',
  ]);
  repo = tempDir('cdl-serve-repo-');
  addModel('fashion', [1, 2]);
  addModel('canary', [1, 2], 'version_policy: { latest: 2 }\ncanary: { version: 2, weight: 30 }\n');
  // The six requests of the full-queue test must all arrive within the queue delay, even on a busy machine.
  addModel('small', [1], 'max_queue_size: 2\nmax_queue_delay_ms: 2000\n');
  addModel('slow', [1], 'max_queue_delay_ms: 1000\ntimeout_ms: 50\n');
  // Sixteen concurrent requests must all queue within the delay to form full batches, even on a busy machine.
  addModel('batch', [1], 'max_batch_size: 8\nmax_queue_delay_ms: 2000\n');
  addModel('crash', [1], 'max_queue_delay_ms: 20\nworkers: 2\nthreads: 1\n');
  server = await ModelServer.start({ repository: repo, port: 0, pollMs: 0, log: jsonLogger({ write: (l) => logLines.push(l) }) });
  base = server.url;
});

afterAll(async () => {
  await server?.shutdown('test end');
  removeTempDirs();
});

describe('Open Inference Protocol endpoints', () => {
  it('health, server metadata and model metadata have the protocol shapes', async () => {
    expect(await call('GET', '/v2/health/live')).toMatchObject({ status: 200, json: { live: true } });
    expect(await call('GET', '/v2/health/ready')).toMatchObject({ status: 200, json: { ready: true } });
    const meta = await call('GET', '/v2');
    expect(meta.status).toBe(200);
    expect(meta.json).toMatchObject({
      name: 'cdl',
      version: expect.any(String),
      extensions: expect.arrayContaining(['model_repository']),
    });
    const model = await call('GET', '/v2/models/fashion');
    expect(model.status).toBe(200);
    expect(model.json).toMatchObject({
      name: 'fashion',
      versions: ['2'], // latest 1 by default
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 28, 28, 1] }],
      outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 10] }],
    });
    expect(model.json.parameters.classes).toHaveLength(10);
    expect((await call('GET', '/v2/models/canary/versions/1')).json).toMatchObject({ name: 'canary', versions: ['1'] });
    expect(await call('GET', '/v2/models/fashion/ready')).toMatchObject({ status: 200, json: { name: 'fashion', ready: true } });
    expect(await call('GET', '/v2/models/fashion/versions/2/ready')).toMatchObject({
      status: 200,
      json: { version: '2', ready: true },
    });
    expect((await call('GET', '/v2/models/fashion/versions/1/ready')).json).toMatchObject({ ready: false });
  });

  it('infers: the response names model, version and id, and matches a bare onnxruntime session', async () => {
    const r = await call('POST', '/v2/models/fashion/infer', inferBody(3, 5, { id: 'req-1', parameters: { note: 'ignored' } }));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ model_name: 'fashion', model_version: '2', id: 'req-1' });
    expect(r.json.outputs).toHaveLength(1);
    const out = r.json.outputs[0];
    expect(out).toMatchObject({ name: 'output', datatype: 'FP32', shape: [3, 10] });
    expect(out.data).toHaveLength(30);
    const { ort } = await loadOrt();
    const session = await ort.InferenceSession.create(readFileSync(path.join(modelDir, 'model.onnx')));
    const x = Float32Array.from(inferBody(3, 5).inputs[0]!.data);
    const expected = (await session.run({ input: new ort.Tensor('float32', x, [3, 28, 28, 1]) })).output!.data as Float32Array;
    await session.release();
    for (let i = 0; i < 30; i++) expect(out.data[i]).toBeCloseTo(expected[i]!, 6);
    // nested data, an explicit version, and an output asked for by name
    const nested = inferBody(1, 5, { outputs: [{ name: 'output' }] });
    nested.inputs[0]!.data = [
      [...Array(28)].map((_, r) =>
        image(5)
          .slice(r * 28, r * 28 + 28)
          .map((v) => [v]),
      ),
    ] as any;
    const n = await call('POST', '/v2/models/fashion/versions/2/infer', nested);
    expect(n.status).toBe(200);
    expect(n.json.outputs[0].data).toEqual(out.data.slice(0, 10));
  });

  it('answers malformed requests with 400 and unknown models or versions with 404, naming the problem', async () => {
    const cases: Array<[string, string, unknown, number, RegExp]> = [
      ['POST', '/v2/models/fashion/infer', '{"inputs": [', 400, /malformed JSON/],
      ['POST', '/v2/models/fashion/infer', { inputs: [] }, 400, /"inputs" must be a non-empty array/],
      [
        'POST',
        '/v2/models/fashion/infer',
        { inputs: [{ ...inferBody(1).inputs[0], datatype: 'FP64' }] },
        400,
        /datatype FP64 does not match the model's FP32/,
      ],
      [
        'POST',
        '/v2/models/fashion/infer',
        { inputs: [{ ...inferBody(1).inputs[0], datatype: 'FLOAT' }] },
        400,
        /"FLOAT" is not a protocol datatype/,
      ],
      [
        'POST',
        '/v2/models/fashion/infer',
        { inputs: [{ ...inferBody(1).inputs[0], shape: [1, 28, 28] }] },
        400,
        /rank 3; the model expects \[-1, 28, 28, 1\]/,
      ],
      [
        'POST',
        '/v2/models/fashion/infer',
        { inputs: [{ ...inferBody(1).inputs[0], shape: [1, 28, 27, 1] }] },
        400,
        /at dimension 2/,
      ],
      [
        'POST',
        '/v2/models/fashion/infer',
        { inputs: [{ ...inferBody(1).inputs[0], shape: [2, 28, 28, 1] }] },
        400,
        /784 values in "data", but shape \[2, 28, 28, 1\] needs 1568/,
      ],
      [
        'POST',
        '/v2/models/fashion/infer',
        { inputs: [{ ...inferBody(1).inputs[0], name: 'x' }] },
        400,
        /input "x": the model has no such input; expected "input"/,
      ],
      [
        'POST',
        '/v2/models/fashion/infer',
        { inputs: [{ ...inferBody(1).inputs[0], data: ['a', ...image(1).slice(1)] }] },
        400,
        /data\[0\] is "a"; expected a number/,
      ],
      [
        'POST',
        '/v2/models/fashion/infer',
        inferBody(1, 1, { parameters: { binary_data_output: 'yes' } }),
        400,
        /parameters.binary_data_output: expected true or false/,
      ],
      [
        'POST',
        '/v2/models/fashion/infer',
        { inputs: [{ ...inferBody(1).inputs[0], data: undefined, parameters: { binary_data_size: 3136 } }] },
        400,
        /binary_data_size given, but the request has no binary part/,
      ],
      ['POST', '/v2/models/fashion/infer', inferBody(1, 1, { outputs: [{ name: 'logits' }] }), 400, /no output "logits"/],
      ['POST', '/v2/models/fashion/infer', inferBody(65), 400, /65 rows exceed the model's max_batch_size 64/],
      ['POST', '/v2/models/nope/infer', inferBody(1), 404, /unknown model "nope"; models: .*fashion/],
      ['POST', '/v2/models/fashion/versions/1/infer', inferBody(1), 404, /no version "1" being served; serving: 2/],
      ['POST', '/v2/models/fashion/versions/x/infer', inferBody(1), 404, /no version "x"/],
      ['GET', '/v2/models/nope', undefined, 404, /unknown model "nope"/],
      ['GET', '/v2/models/fashion/infer', undefined, 405, /method not allowed; expected POST/],
      ['GET', '/v3', undefined, 404, /the API is under \/v2/],
    ];
    for (const [method, p, body, status, message] of cases) {
      const r = await call(method, p, body);
      expect({ p, status: r.status }).toEqual({ p, status });
      expect(r.json.error).toMatch(message);
    }
  });

  it('repository API: index with states and reasons, unload and load', async () => {
    // a model added while serving, with an invalid config: loading it fails and names the fields
    addModel('broken', [1], 'max_batch_size: many\nversion_policy: { newest: 1 }\n');
    const failed = await call('POST', '/v2/repository/models/broken/load');
    expect(failed.status).toBe(400);
    expect(failed.json.error).toMatch(/broken.*config\.yaml: max_batch_size/s);
    const index = await call('POST', '/v2/repository/index');
    expect(index.status).toBe(200);
    // A READY version reports the SHA-256 of the model.onnx it serves.
    const sha = sha256Bytes(readFileSync(path.join(modelDir, 'model.onnx')));
    expect(index.json).toContainEqual({ name: 'fashion', version: '2', state: 'READY', reason: '', sha256: sha });
    expect((await call('GET', '/v2/models/fashion/versions/2')).json.parameters.sha256).toBe(sha);
    expect(index.json).toContainEqual({
      name: 'fashion',
      version: '1',
      state: 'UNAVAILABLE',
      reason: 'not selected by version_policy {"latest":1}',
    });
    const broken = index.json.find((e: any) => e.name === 'broken');
    expect(broken.state).toBe('UNAVAILABLE');
    expect(broken.reason).toContain(
      `${path.join(repo, 'broken', 'config.yaml')}: max_batch_size: expected an integer from 1 to 4096, got "many"`,
    );
    expect(broken.reason).toContain('version_policy: unknown policy "newest"');
    expect((await call('POST', '/v2/repository/index', { ready: true })).json.every((e: any) => e.state === 'READY')).toBe(true);
    expect(await call('GET', '/v2/health/ready')).toMatchObject({ status: 503, json: { ready: false } }); // broken has nothing serving

    expect(await call('POST', '/v2/repository/models/fashion/unload')).toMatchObject({ status: 200, json: {} });
    expect((await call('POST', '/v2/models/fashion/infer', inferBody(1))).status).toBe(404);
    expect((await call('POST', '/v2/repository/index')).json).toContainEqual({
      name: 'fashion',
      version: '2',
      state: 'UNAVAILABLE',
      reason: 'unloaded',
    });
    expect(await call('POST', '/v2/repository/models/fashion/load')).toMatchObject({ status: 200, json: {} });
    expect((await call('POST', '/v2/models/fashion/infer', inferBody(1))).status).toBe(200);
    expect((await call('POST', '/v2/repository/models/nope/load')).status).toBe(404);
    await call('POST', '/v2/repository/models/broken/unload');
    expect(await call('GET', '/v2/health/ready')).toMatchObject({ status: 200, json: { ready: true } });
  });
});

describe('serving behaviour', () => {
  it('splits unversioned traffic 70/30 between the primary and the canary, reported per version', async () => {
    const versions: string[] = [];
    for (let i = 0; i < 100; i++)
      versions.push((await call('POST', '/v2/models/canary/infer', inferBody(1, i))).json.model_version);
    expect(versions.filter((v) => v === '2')).toHaveLength(30);
    expect(versions.filter((v) => v === '1')).toHaveLength(70);
    const stats = await call('GET', '/v2/models/canary/stats');
    expect(stats.json.canary).toEqual({ version: '2', weight: 30, primary: '1' });
    expect(stats.json.versions.map((v: any) => [v.version, v.routed_requests])).toEqual([
      ['2', 30],
      ['1', 70],
    ]);
    const metrics = (await call('GET', '/metrics')).text;
    expect(metrics).toContain('cdl_inference_requests_total{code="200",model="canary",version="2"} 30');
    expect(metrics).toContain('cdl_inference_requests_total{code="200",model="canary",version="1"} 70');
    expect(metrics).toContain('cdl_model_canary_weight_percent{model="canary",version="2"} 30');
  });

  it('batches concurrent requests into one run up to max_batch_size', async () => {
    const rs = await Promise.all(
      Array.from({ length: 16 }, (_, i) => call('POST', '/v2/models/batch/infer', inferBody(1, i, { id: `b${i}` }))),
    );
    expect(rs.map((r) => r.status)).toEqual(Array(16).fill(200));
    expect(rs.map((r) => r.json.id)).toEqual(Array.from({ length: 16 }, (_, i) => `b${i}`));
    // each answer is its own row: equal to the same image sent alone
    const alone = await call('POST', '/v2/models/batch/infer', inferBody(1, 7));
    expect(rs[7]!.json.outputs[0].data).toEqual(alone.json.outputs[0].data);
    const batches = await server.metrics.histogramTotals(server.metrics.batchSize, { model: 'batch', version: '1' });
    expect(batches.sum).toBe(17);
    expect(batches.count).toBeLessThanOrEqual(5); // 16 rows in batches of at most 8, plus the one alone
  });

  it('answers a full queue with 503 at once, and recovers', async () => {
    const answered: number[] = [];
    const rs = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        call('POST', '/v2/models/small/infer', inferBody(1, i)).then((r) => (answered.push(r.status), r)),
      ),
    );
    // At once: every refusal is answered while the two accepted requests still wait in the queue.
    expect(answered).toEqual([503, 503, 503, 503, 200, 200]);
    const refused = rs.find((r) => r.status === 503)!;
    expect(refused.json.error).toMatch(/queue is full \(2 requests waiting, max_queue_size\); retry later/);
    expect((await call('POST', '/v2/models/small/infer', inferBody(1))).status).toBe(200);
    expect((await call('GET', '/metrics')).text).toContain(
      'cdl_inference_rejected_total{model="small",reason="queue_full",version="1"} 4',
    );
  });

  it('answers 504 past timeout_ms', async () => {
    const r = await call('POST', '/v2/models/slow/infer', inferBody(1));
    expect(r.status).toBe(504);
    expect(r.json.error).toMatch(/no answer within timeout_ms 50 \(still queued\)/);
  });

  it('exposes Prometheus metrics: requests, latency, batch sizes, queue depth, rejections, predicted classes', async () => {
    const r = await fetch(base + '/metrics');
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await r.text();
    for (const name of [
      'cdl_inference_requests_total',
      'cdl_inference_request_duration_seconds_bucket',
      'cdl_inference_batch_size_bucket',
      'cdl_inference_queue_depth',
      'cdl_inference_rejected_total',
      'cdl_predicted_class_total',
      'cdl_process_memory_bytes',
    ]) {
      expect(text).toMatch(new RegExp(`^${name}\\{`, 'm'));
    }
    expect(text).toMatch(/^# TYPE cdl_inference_request_duration_seconds histogram$/m);
    expect(text).toMatch(/^cdl_inference_request_duration_seconds_bucket\{le="\+Inf",model="fashion",version="2"\} \d+$/m);
    expect(text).toMatch(/^cdl_predicted_class_total\{class="[^"]+",model="canary",version="1"\} \d+$/m);
    let predicted = 0;
    for (const m of text.matchAll(/^cdl_predicted_class_total\{[^}]*model="canary"[^}]*\} (\d+)$/gm)) predicted += Number(m[1]);
    expect(predicted).toBe(100);
    expect(logLines.some((l) => JSON.parse(l).msg === 'listening')).toBe(true);
  });
});

describe('binary tensor data and inference workers', () => {
  function binaryRequest(
    rows: number,
    seed: number,
    json: Record<string, unknown>,
  ): { body: Uint8Array<ArrayBuffer>; header: number } {
    const x = Float32Array.from(inferBody(rows, seed).inputs[0]!.data);
    const head = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'input', shape: [rows, 28, 28, 1], datatype: 'FP32', parameters: { binary_data_size: x.byteLength } }],
        ...json,
      }),
    );
    return { body: new Uint8Array(Buffer.concat([head, Buffer.from(x.buffer)])), header: head.length };
  }

  it('takes binary inputs and answers binary outputs (Inference-Header-Content-Length), equal to JSON', async () => {
    const json = await call('POST', '/v2/models/fashion/infer', inferBody(2, 9));
    const { body, header } = binaryRequest(2, 9, { id: 'bin', parameters: { binary_data_output: true } });
    const res = await fetch(`${base}/v2/models/fashion/infer`, {
      method: 'POST',
      body,
      headers: { 'inference-header-content-length': String(header) },
    });
    expect(res.status).toBe(200);
    const n = Number(res.headers.get('inference-header-content-length'));
    const bytes = Buffer.from(await res.arrayBuffer());
    const head = JSON.parse(bytes.subarray(0, n).toString('utf8'));
    expect(head).toMatchObject({
      model_name: 'fashion',
      id: 'bin',
      outputs: [{ name: 'output', datatype: 'FP32', shape: [2, 10], parameters: { binary_data_size: 80 } }],
    });
    const out = new Float32Array(bytes.buffer.slice(bytes.byteOffset + n, bytes.byteOffset + bytes.length));
    expect(out).toHaveLength(20);
    out.forEach((v, i) => expect(v).toBeCloseTo(json.json.outputs[0].data[i], 6));
    // binary in, JSON out (no binary_data_output); and the header's length checked against the parts
    const plain = binaryRequest(2, 9, {});
    const r2 = await fetch(`${base}/v2/models/fashion/infer`, {
      method: 'POST',
      body: plain.body,
      headers: { 'inference-header-content-length': String(plain.header) },
    });
    expect(((await r2.json()) as any).outputs[0].data).toEqual(json.json.outputs[0].data);
    const short = await fetch(`${base}/v2/models/fashion/infer`, {
      method: 'POST',
      body: plain.body.subarray(0, plain.body.length - 4),
      headers: { 'inference-header-content-length': String(plain.header) },
    });
    expect(short.status).toBe(400);
    expect(((await short.json()) as any).error).toMatch(/the binary part ends after 6268 of this input's 6272 bytes/);
  });

  it('a dead inference worker fails its batch with 500 naming it, marks the version unavailable, and a load recovers it', async () => {
    const stats = await call('GET', '/v2/models/crash/stats');
    expect(stats.json.versions[0]).toMatchObject({ workers: 2, threads: 1 });
    expect((await call('POST', '/v2/models/crash/infer', inferBody(1))).status).toBe(200);
    const mv = server.repository.versions('crash')![0]!;
    const pool = mv.pool as any;
    const run = pool.run.bind(pool);
    // the next batch goes to a worker that is being stopped: it never answers
    pool.run = (feeds: unknown) => {
      void pool.slots[0].worker.terminate();
      void pool.slots[1].worker.terminate();
      return run(feeds);
    };
    const rs = await Promise.all(Array.from({ length: 3 }, (_, i) => call('POST', '/v2/models/crash/infer', inferBody(1, i))));
    expect(rs.map((r) => r.status)).toEqual([500, 500, 500]);
    expect(rs[0]!.json.error).toMatch(
      /the inference worker for model "crash" version 1 exited unexpectedly \(exit code 1\); the version is marked unavailable/,
    );
    const index = await call('POST', '/v2/repository/index');
    const entry = index.json.find((e: any) => e.name === 'crash');
    expect(entry).toMatchObject({
      version: '1',
      state: 'UNAVAILABLE',
      reason: expect.stringMatching(/inference worker .* exited/),
    });
    const after = await call('POST', '/v2/models/crash/infer', inferBody(1));
    expect(after.status).toBe(404);
    expect(after.json.error).toMatch(/no version being served \(version 1: the inference worker .* exited/);
    expect((await call('GET', '/metrics')).text).toContain('cdl_inference_worker_crashes_total{model="crash",version="1"} 1');
    expect(await call('POST', '/v2/repository/models/crash/load')).toMatchObject({ status: 200 });
    expect((await call('POST', '/v2/models/crash/infer', inferBody(1))).status).toBe(200);
  });
});

describe('serving configuration and checksums', () => {
  it('validates config.yaml, naming the file and every field', async () => {
    const { value, errors } = validateModelConfig(
      { max_batch_size: 0, timeout_ms: 'x', version_policy: { specific: [1, 2] }, canary: { version: 3, weight: 120 }, batch: 1 },
      'm/config.yaml',
    );
    expect(errors).toEqual([
      'm/config.yaml: batch: unknown field; expected one of max_batch_size, max_queue_delay_ms, max_queue_size, timeout_ms, dynamic_batching, workers, threads, version_policy, canary, shadow',
      'm/config.yaml: max_batch_size: expected an integer from 1 to 4096, got 0',
      'm/config.yaml: timeout_ms: expected an integer from 1 to 3600000 (milliseconds), got "x"',
      'm/config.yaml: canary.weight: expected a percentage from 0 to 100, got 120',
    ]);
    expect(value.version_policy).toEqual({ specific: [1, 2] });
    expect(
      validateModelConfig({ version_policy: { specific: [1] }, canary: { version: 2, weight: 5 } }, 'c.json').errors[0],
    ).toMatch(/canary.version: version 2 is not in version_policy.specific \[1\]/);
    const dir = tempDir();
    writeFileSync(path.join(dir, 'config.json'), '{"max_queue_delay_ms": 5, "version_policy": {"all": true}}');
    expect((await readModelConfig(dir)).config).toMatchObject({
      max_queue_delay_ms: 5,
      version_policy: { all: true },
      max_batch_size: 64,
    });
  });

  it('writes and verifies SHA256SUMS in sha256sum format', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'tfjs'));
    writeFileSync(path.join(dir, 'model.onnx'), 'abc');
    writeFileSync(path.join(dir, 'tfjs', 'weights.bin'), 'w');
    const sums = await writeChecksums(dir);
    expect(readFileSync(path.join(dir, 'SHA256SUMS'), 'utf8')).toBe(
      `ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  model.onnx\n${sums.get('tfjs/weights.bin')}  tfjs/weights.bin\n`,
    );
    expect(await verifyChecksums(dir)).toEqual({ present: true, verified: ['model.onnx', 'tfjs/weights.bin'], mismatches: [] });
    writeFileSync(path.join(dir, 'model.onnx'), 'abd');
    await expect(assertChecksums(dir)).rejects.toThrow(
      /model\.onnx: SHA-256 [0-9a-f]{64} does not match ba7816bf.* in SHA256SUMS/,
    );
    expect(await verifyChecksums(tempDir())).toEqual({ present: false, verified: [], mismatches: [] });
    expect(() => parseChecksums('xyz  model.onnx\n', 'S')).toThrow(/S:1: expected "<64 hex digits> {2}<file>"/);
    expect(() => parseChecksums(`${'a'.repeat(64)}  ../etc/passwd\n`, 'S')).toThrow(/outside the directory/);
    expect(parseChecksums(`${'A'.repeat(64)} *model.onnx\n`).get('model.onnx')).toBe('a'.repeat(64));
  });
});
