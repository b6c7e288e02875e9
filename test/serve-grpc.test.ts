/**
 * The Open Inference Protocol over gRPC, with a client generated at run time from the same proto
 * (proto-loader) against a real server on 127.0.0.1: the conformance cases of the REST tests
 * (metadata, inference with typed and raw contents, errors as gRPC status codes with messages),
 * the canary split, the shared metrics, and the repository extension.
 */
import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { protoPath } from '../src/serve/grpc.js';
import { jsonLogger } from '../src/serve/log.js';
import { ModelServer } from '../src/serve/server.js';
import { trainExample } from './evaluate-models.js';
import { removeTempDirs, tempDir } from './helpers/example.js';

let modelDir: string;
let repo: string;
let server: ModelServer;
let client: grpc.Client & Record<string, any>;

function image(seed: number): number[] {
  return Array.from({ length: 784 }, (_, i) => ((i * 7 + seed * 13) % 255) / 255);
}

function input(rows: number, seed = 1, extra: Record<string, unknown> = {}) {
  return {
    name: 'input',
    datatype: 'FP32',
    shape: [rows, 28, 28, 1],
    contents: { fp32_contents: Array.from({ length: rows }, (_, r) => image(seed + r)).flat() },
    ...extra,
  };
}

/** One unary call; resolves with the response or rejects with the ServiceError (code, details). */
function rpc(method: string, req: unknown): Promise<any> {
  return new Promise((resolve, reject) =>
    client[method](req, (e: grpc.ServiceError | null, r: unknown) => (e ? reject(e) : resolve(r))),
  );
}

async function failure(method: string, req: unknown): Promise<{ code: grpc.status; details: string }> {
  try {
    await rpc(method, req);
  } catch (e) {
    const err = e as grpc.ServiceError;
    return { code: err.code, details: err.details };
  }
  throw new Error(`${method} succeeded; expected an error`);
}

async function rest(p: string, body: unknown): Promise<any> {
  const r = await fetch(server.url + p, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  return r.json();
}

function addModel(name: string, versions: number[], config?: string): void {
  for (const v of versions) cpSync(modelDir, path.join(repo, name, String(v)), { recursive: true });
  if (config !== undefined) writeFileSync(path.join(repo, name, 'config.yaml'), config);
}

beforeAll(async () => {
  modelDir = await trainExample(path.join(tempDir('cdl-grpc-'), 'model'), [
    'train.epochs=1',
    'data.limit.train=1000',
    'data.limit.test=200',
  ]);
  repo = tempDir('cdl-grpc-repo-');
  addModel('fashion', [1, 2]);
  addModel('canary', [1, 2], 'version_policy: { latest: 2 }\ncanary: { version: 2, weight: 30 }\n');
  addModel('small', [1], 'max_queue_size: 2\nmax_queue_delay_ms: 2000\n');
  server = await ModelServer.start({
    repository: repo,
    port: 0,
    grpcPort: 0,
    pollMs: 0,
    maxBodyBytes: 64 * 1024,
    log: jsonLogger({ write: () => {} }),
  });
  // The client is generated from the proto file the server serves, as an external client's would be.
  const def = protoLoader.loadSync(protoPath(), { keepCase: true, longs: Number, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as any;
  client = new pkg.inference.GRPCInferenceService(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await server?.shutdown('test end');
  removeTempDirs();
});

describe('Open Inference Protocol over gRPC', () => {
  it('health, server metadata and model metadata have the protocol shapes', async () => {
    expect(server.grpcPort).toBeGreaterThan(0);
    expect(await rpc('ServerLive', {})).toEqual({ live: true });
    expect(await rpc('ServerReady', {})).toEqual({ ready: true });
    const meta = await rpc('ServerMetadata', {});
    expect(meta).toMatchObject({
      name: 'cdl',
      version: expect.any(String),
      extensions: expect.arrayContaining(['model_repository']),
    });
    const model = await rpc('ModelMetadata', { name: 'fashion' });
    expect(model).toMatchObject({
      name: 'fashion',
      versions: ['2'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 28, 28, 1] }],
      outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 10] }],
    });
    expect(await rpc('ModelMetadata', { name: 'canary', version: '1' })).toMatchObject({ name: 'canary', versions: ['1'] });
    expect(await rpc('ModelReady', { name: 'fashion' })).toEqual({ ready: true });
    expect(await rpc('ModelReady', { name: 'fashion', version: '2' })).toEqual({ ready: true });
    expect(await rpc('ModelReady', { name: 'fashion', version: '1' })).toEqual({ ready: false });
  });

  it('infers with typed contents: the same answer as REST, naming model, version and id', async () => {
    const r = await rpc('ModelInfer', { model_name: 'fashion', id: 'g-1', inputs: [input(3, 5)] });
    expect(r).toMatchObject({ model_name: 'fashion', model_version: '2', id: 'g-1', raw_output_contents: [] });
    expect(r.outputs).toHaveLength(1);
    const out = r.outputs[0];
    expect(out).toMatchObject({ name: 'output', datatype: 'FP32', shape: [3, 10] });
    expect(out.contents.fp32_contents).toHaveLength(30);
    const viaRest = await rest('/v2/models/fashion/infer', {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [3, 28, 28, 1], data: input(3, 5).contents.fp32_contents }],
    });
    // float32 on the wire both ways: equal to float32 precision
    out.contents.fp32_contents.forEach((v: number, i: number) => expect(v).toBeCloseTo(viaRest.outputs[0].data[i], 6));
    // an explicit version and an output asked for by name
    const v2 = await rpc('ModelInfer', {
      model_name: 'fashion',
      model_version: '2',
      inputs: [input(1, 5)],
      outputs: [{ name: 'output' }],
    });
    expect(v2.outputs[0].contents.fp32_contents).toEqual(out.contents.fp32_contents.slice(0, 10));
  });

  it('infers with raw_input_contents and answers with raw_output_contents, equal to typed contents', async () => {
    const x = Float32Array.from(input(2, 9).contents.fp32_contents);
    const r = await rpc('ModelInfer', {
      model_name: 'fashion',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 28, 28, 1] }],
      raw_input_contents: [Buffer.from(x.buffer)],
    });
    expect(r.outputs[0]).toMatchObject({ name: 'output', datatype: 'FP32', shape: [2, 10] });
    expect(r.outputs[0].contents).toBeNull();
    expect(r.raw_output_contents).toHaveLength(1);
    const raw: Buffer = r.raw_output_contents[0];
    expect(raw.length).toBe(2 * 10 * 4);
    const got = Array.from(new Float32Array(new Uint8Array(raw).buffer));
    const typed = await rpc('ModelInfer', { model_name: 'fashion', inputs: [input(2, 9)] });
    expect(got).toEqual(typed.outputs[0].contents.fp32_contents);
  });

  it('answers errors with gRPC status codes and messages that name the problem', async () => {
    const I = grpc.status.INVALID_ARGUMENT;
    const cases: Array<[string, unknown, grpc.status, RegExp]> = [
      ['ModelInfer', { model_name: 'fashion', inputs: [] }, I, /"inputs" must be a non-empty array/],
      ['ModelInfer', { model_name: '', inputs: [input(1)] }, I, /model_name: expected a model name/],
      [
        'ModelInfer',
        { model_name: 'fashion', inputs: [input(1, 1, { datatype: 'FP64', contents: { fp64_contents: image(1) } })] },
        I,
        /datatype FP64 does not match the model's FP32/,
      ],
      [
        'ModelInfer',
        { model_name: 'fashion', inputs: [input(1, 1, { datatype: 'FLOAT' })] },
        I,
        /"FLOAT" is not a protocol datatype/,
      ],
      [
        'ModelInfer',
        { model_name: 'fashion', inputs: [input(1, 1, { shape: [1, 28, 28] })] },
        I,
        /rank 3; the model expects \[-1, 28, 28, 1\]/,
      ],
      [
        'ModelInfer',
        { model_name: 'fashion', inputs: [input(1, 1, { shape: [2, 28, 28, 1] })] },
        I,
        /784 values in "data", but shape \[2, 28, 28, 1\] needs 1568/,
      ],
      [
        'ModelInfer',
        { model_name: 'fashion', inputs: [input(1, 1, { name: 'x' })] },
        I,
        /input "x": the model has no such input; expected "input"/,
      ],
      [
        'ModelInfer',
        { model_name: 'fashion', inputs: [input(1, 1, { contents: { fp64_contents: image(1) } })] },
        I,
        /values in contents.fp64_contents, but datatype FP32 takes contents.fp32_contents/,
      ],
      [
        'ModelInfer',
        { model_name: 'fashion', inputs: [input(1)], raw_input_contents: [Buffer.alloc(3136)] },
        I,
        /contents given beside raw_input_contents/,
      ],
      [
        'ModelInfer',
        {
          model_name: 'fashion',
          inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 28, 28, 1] }],
          raw_input_contents: [Buffer.alloc(100)],
        },
        I,
        /binary_data_size 100, but shape \[1, 28, 28, 1\] of FP32 needs 3136 bytes/,
      ],
      [
        'ModelInfer',
        {
          model_name: 'fashion',
          inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 28, 28, 1] }],
          raw_input_contents: [Buffer.alloc(3136), Buffer.alloc(4)],
        },
        I,
        /raw_input_contents has 2 entries for 1 inputs/,
      ],
      ['ModelInfer', { model_name: 'fashion', inputs: [input(1)], outputs: [{ name: 'logits' }] }, I, /no output "logits"/],
      [
        'ModelInfer',
        { model_name: 'nope', inputs: [input(1)] },
        grpc.status.NOT_FOUND,
        /unknown model "nope"; models: .*fashion/,
      ],
      [
        'ModelInfer',
        { model_name: 'fashion', model_version: '1', inputs: [input(1)] },
        grpc.status.NOT_FOUND,
        /no version "1" being served; serving: 2/,
      ],
      ['ModelMetadata', { name: 'nope' }, grpc.status.NOT_FOUND, /unknown model "nope"/],
      ['ModelReady', { name: 'nope' }, grpc.status.NOT_FOUND, /unknown model "nope"/],
      ['RepositoryModelLoad', { model_name: 'nope' }, grpc.status.NOT_FOUND, /no model "nope" in the repository/],
      // past the server's limit on request size (--max-body-bytes, 64 KiB here)
      ['ModelInfer', { model_name: 'fashion', inputs: [input(21)] }, grpc.status.RESOURCE_EXHAUSTED, /larger than max/i],
    ];
    for (const [method, req, code, message] of cases) {
      const f = await failure(method, req);
      expect({ message: String(message), code: f.code }).toEqual({ message: String(message), code });
      expect(f.details).toMatch(message);
    }
  });

  it('shares the batch queue and its limits with REST: a full queue is RESOURCE_EXHAUSTED at once', async () => {
    const codes = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        rpc('ModelInfer', { model_name: 'small', inputs: [input(1, i)] }).then(
          () => grpc.status.OK,
          (e: grpc.ServiceError) => e.code,
        ),
      ),
    );
    expect(codes.filter((c) => c === grpc.status.RESOURCE_EXHAUSTED)).toHaveLength(4);
    expect(codes.filter((c) => c === grpc.status.OK)).toHaveLength(2);
    const f = await Promise.all([
      rpc('ModelInfer', { model_name: 'small', inputs: [input(1)] }),
      rpc('ModelInfer', { model_name: 'small', inputs: [input(1)] }),
      failure('ModelInfer', { model_name: 'small', inputs: [input(1)] }),
    ]);
    expect(f[2].details).toMatch(/queue is full \(2 requests waiting, max_queue_size\); retry later/);
  });

  it('follows the canary split and counts requests in the same metrics as REST', async () => {
    const versions: string[] = [];
    for (let i = 0; i < 20; i++)
      versions.push((await rpc('ModelInfer', { model_name: 'canary', inputs: [input(1, i)] })).model_version);
    expect(versions.filter((v) => v === '2')).toHaveLength(6);
    expect(versions.filter((v) => v === '1')).toHaveLength(14);
    const metrics = await (await fetch(server.url + '/metrics')).text();
    expect(metrics).toContain('cdl_inference_requests_total{code="200",model="canary",version="2"} 6');
    expect(metrics).toContain('cdl_inference_requests_total{code="200",model="canary",version="1"} 14');
    expect(metrics).toMatch(/cdl_inference_requests_total\{code="400",model="fashion",version="2"\} \d+/);
  });

  it('repository extension: index with states, unload and load', async () => {
    const index = await rpc('RepositoryIndex', {});
    expect(index.models).toEqual(
      expect.arrayContaining([
        { name: 'fashion', version: '2', state: 'READY', reason: '' },
        expect.objectContaining({ name: 'fashion', version: '1', state: 'UNAVAILABLE' }),
      ]),
    );
    expect((await rpc('RepositoryIndex', { ready: true })).models.every((m: any) => m.state === 'READY')).toBe(true);
    expect(await rpc('RepositoryModelUnload', { model_name: 'canary' })).toEqual({});
    expect(await rpc('ModelReady', { name: 'canary' })).toEqual({ ready: false });
    expect((await failure('ModelInfer', { model_name: 'canary', inputs: [input(1)] })).code).toBe(grpc.status.NOT_FOUND);
    expect(await rpc('RepositoryModelLoad', { model_name: 'canary' })).toEqual({});
    expect(await rpc('ModelReady', { name: 'canary' })).toEqual({ ready: true });
  });
});
