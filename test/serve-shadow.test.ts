/**
 * Shadow traffic over real HTTP and gRPC on 127.0.0.1: a version configured as the shadow gets
 * a copy of a share of production requests; clients only ever get production's answers; the
 * comparison (agreement, latency) is reported in /monitor, the statistics endpoint and /metrics.
 */
import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeChecksums } from '../src/model-dir/checksums.js';
import { protoPath } from '../src/serve/grpc.js';
import { jsonLogger } from '../src/serve/log.js';
import { ModelServer } from '../src/serve/server.js';
import type { ShadowReport } from '../src/serve/shadow.js';
import { perturbModel, trainExample } from './evaluate-models.js';
import { removeTempDirs, tempDir } from './helpers/example.js';

let server: ModelServer;

function image(seed: number): number[] {
  return Array.from({ length: 784 }, (_, i) => ((i * 7 + seed * 13) % 255) / 255);
}

async function infer(model: string, seed: number, version?: string): Promise<{ status: number; json: any }> {
  const r = await fetch(`${server.url}/v2/models/${model}${version ? `/versions/${version}` : ''}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 28, 28, 1], data: image(seed) }] }),
  });
  return { status: r.status, json: await r.json() };
}

async function shadowOf(model: string, copies: number): Promise<ShadowReport> {
  // The copies are answered in the background: wait until all are counted.
  let r: { shadow: ShadowReport[] } = { shadow: [] };
  for (let i = 0; i < 600; i++) {
    r = (await (await fetch(`${server.url}/v2/models/${model}/monitor`)).json()) as { shadow: ShadowReport[] };
    const s = r.shadow?.[0];
    if (s && s.requests === copies && s.rows + s.errors === copies) return s;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`the shadow of ${model} did not answer ${copies} copies: ${JSON.stringify(r.shadow)}`);
}

beforeAll(async () => {
  const model = await trainExample(path.join(tempDir('cdl-shadow-'), 'model'), [
    'train.epochs=1',
    'data.limit.train=1000',
    'data.limit.test=200',
  ]);
  const repo = tempDir('cdl-shadow-repo-');
  // "changed": version 2 is the model with heavy noise on its weights; "same": an exact copy.
  cpSync(model, path.join(repo, 'changed', '1'), { recursive: true });
  const noisy = perturbModel(model, path.join(repo, 'changed', '2'), 3, 11);
  await writeChecksums(noisy);
  writeFileSync(
    path.join(repo, 'changed', 'config.yaml'),
    'version_policy: { latest: 2 }\nshadow: { version: 2, fraction: 0.5 }\n',
  );
  cpSync(model, path.join(repo, 'same', '1'), { recursive: true });
  cpSync(model, path.join(repo, 'same', '2'), { recursive: true });
  writeFileSync(path.join(repo, 'same', 'config.yaml'), 'version_policy: { latest: 2 }\nshadow: { version: 2 }\n');
  server = await ModelServer.start({ repository: repo, port: 0, grpcPort: 0, pollMs: 0, log: jsonLogger({ write: () => {} }) });
});

afterAll(async () => {
  await server?.shutdown('test end');
  removeTempDirs();
});

describe('shadow traffic', () => {
  it('copies a share of production requests to the shadow, answers clients with production only, and reports the agreement', async () => {
    const answers: any[] = [];
    for (let i = 0; i < 20; i++) answers.push(await infer('changed', i));
    // Every answer is production's: version 1, equal to asking version 1 by name.
    expect(answers.map((a) => [a.status, a.json.model_version])).toEqual(Array(20).fill([200, '1']));
    for (const i of [0, 7, 19]) expect((await infer('changed', i, '1')).json.outputs).toEqual(answers[i].json.outputs);
    // The shadow answers no client, even one that names it.
    const named = await infer('changed', 1, '2');
    expect(named.status).toBe(404);
    expect(named.json.error).toMatch(/version 2 is its shadow: it gets copies of production requests and answers none/);
    // Metadata describes production.
    expect((await (await fetch(`${server.url}/v2/models/changed`)).json()).versions).toEqual(['2', '1']);

    // fraction 0.5 of the 23 production requests (those naming version 1 too): every other one
    const changed = await shadowOf('changed', 11);
    expect(changed).toMatchObject({ version: '2', fraction: 0.5, requests: 11, errors: 0, rows: 11, last_error: null });
    expect(changed.agreed_rows).toBeLessThan(11); // heavy noise changes predictions
    expect(changed.agreement_rate).toBeCloseTo(changed.agreed_rows / 11, 6);
    expect(changed.latency_ms.production).toBeGreaterThan(0);
    expect(changed.latency_ms.shadow).toBeGreaterThan(0);

    // An exact copy as the shadow agrees on every row; gRPC traffic is copied the same way.
    const def = protoLoader.loadSync(protoPath(), { keepCase: true, longs: Number, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(def) as any;
    const client = new pkg.inference.GRPCInferenceService(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
    const grpcVersions: string[] = [];
    for (let i = 0; i < 4; i++) {
      const req = {
        model_name: 'same',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 28, 28, 1], contents: { fp32_contents: image(i) } }],
      };
      grpcVersions.push(
        await new Promise<string>((res, rej) =>
          client.ModelInfer(req, (e: Error | null, r: any) => (e ? rej(e) : res(r.model_version))),
        ),
      );
    }
    client.close();
    for (let i = 4; i < 8; i++) expect((await infer('same', i)).json.model_version).toBe('1');
    expect(grpcVersions).toEqual(['1', '1', '1', '1']);
    const same = await shadowOf('same', 8);
    expect(same).toMatchObject({ version: '2', fraction: 1, requests: 8, rows: 8, agreed_rows: 8, agreement_rate: 1 });

    const stats = await (await fetch(`${server.url}/v2/models/changed/stats`)).json();
    expect(stats.shadow[0]).toMatchObject({ version: '2', requests: 11 });
    expect(stats.versions.find((v: any) => v.version === '2').routed_requests).toBe(0);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const ratio = /^cdl_shadow_agreement_ratio\{model="changed",version="2"\} (\S+)$/m.exec(metrics);
    expect(Number(ratio?.[1])).toBeCloseTo(changed.agreed_rows / 11, 6);
    expect(metrics).toContain('cdl_shadow_agreement_ratio{model="same",version="2"} 1');
    expect(metrics).toContain('cdl_shadow_requests_total{model="same",outcome="agree",version="2"} 8');
    expect(metrics).toMatch(/^cdl_shadow_request_duration_seconds_count\{model="changed",role="shadow",version="2"\} 11$/m);
    // The process's standard metrics (prom-client) come after the server's.
    expect(metrics).toMatch(/^process_cpu_seconds_total \d/m);
    expect(metrics).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(metrics).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    // Client requests are counted for production only.
    expect(metrics).toContain('cdl_inference_requests_total{code="200",model="changed",version="1"} 23');
    expect(metrics).not.toMatch(/cdl_inference_requests_total\{code="200",model="(changed|same)",version="2"\}/);
  });

  it('refuses a shadow config that names the canary or a version outside the policy', async () => {
    const { validateModelConfig } = await import('../src/serve/config.js');
    expect(validateModelConfig({ canary: { version: 2, weight: 10 }, shadow: { version: 2 } }, 'c.yaml').errors).toEqual([
      'c.yaml: shadow.version: version 2 is also the canary; a shadow version never answers clients',
    ]);
    expect(
      validateModelConfig({ version_policy: { specific: [1] }, shadow: { version: 2, fraction: 1.5, x: 1 } }, 'c.yaml').errors,
    ).toEqual([
      'c.yaml: shadow.fraction: expected the share of production requests copied, above 0 and at most 1, got 1.5',
      'c.yaml: shadow.x: unknown field; expected version, fraction',
    ]);
    expect(validateModelConfig({ version_policy: { specific: [1] }, shadow: { version: 2 } }, 'c.yaml').errors).toEqual([
      'c.yaml: shadow.version: version 2 is not in version_policy.specific [1]; the shadow must be served',
    ]);
  });
});
