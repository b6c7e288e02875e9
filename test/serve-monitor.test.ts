/**
 * The model server keeps production statistics against the model's reference.json and serves
 * them on /v2/models/{name}[/versions/{v}]/monitor; `cdl monitor`'s drift comparison reads them
 * over HTTP: real test images pass as clean, the same images brightened are flagged.
 */
import { cpSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { loadDataset, type Dataset } from '../src/data/index.js';
import { writeChecksums } from '../src/model-dir/checksums.js';
import { compareDrift } from '../src/monitor/drift.js';
import { readProductionStats, readReferenceFile } from '../src/monitor/monitor-model.js';
import { jsonLogger } from '../src/serve/log.js';
import { ModelServer } from '../src/serve/server.js';
import { trainExample } from './evaluate-models.js';
import { EXAMPLE_CONFIG, removeTempDirs, tempDir } from './helpers/example.js';

let modelDir: string;
let server: ModelServer;
let dataset: Dataset;

async function infer(model: string, rows: Float32Array, n: number): Promise<void> {
  const res = await fetch(`${server.url}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'input', shape: [n, 28, 28, 1], datatype: 'FP32', data: Array.from(rows) }] }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  await res.arrayBuffer();
}

/** Send `count` test images (from `offset`) in requests of 50, optionally brightened. */
async function send(model: string, offset: number, count: number, brighten = 0): Promise<void> {
  const size = 784;
  for (let i = 0; i < count; i += 50) {
    const n = Math.min(50, count - i);
    const rows = dataset.test.x.slice((offset + i) * size, (offset + i + n) * size);
    if (brighten) for (let k = 0; k < rows.length; k++) rows[k] = Math.min(1, rows[k]! + brighten);
    await infer(model, rows, n);
  }
}

beforeAll(async () => {
  modelDir = await trainExample(path.join(tempDir('cdl-serve-monitor-'), 'model'), [
    'train.epochs=1',
    'data.limit.train=2000',
    'data.limit.test=2000',
  ]);
  dataset = await loadDataset((await loadConfig(EXAMPLE_CONFIG)).config.data, {
    baseDir: path.dirname(EXAMPLE_CONFIG),
    task: 'classification',
  });
  const repo = tempDir('cdl-serve-monitor-repo-');
  cpSync(modelDir, path.join(repo, 'clean', '1'), { recursive: true });
  cpSync(modelDir, path.join(repo, 'bright', '1'), { recursive: true });
  cpSync(modelDir, path.join(repo, 'noref', '1'), { recursive: true });
  rmSync(path.join(repo, 'noref', '1', 'reference.json'));
  // A model directory written without one (a train.command's): SHA256SUMS lists what is there.
  await writeChecksums(path.join(repo, 'noref', '1'));
  server = await ModelServer.start({ repository: repo, port: 0, pollMs: 0, log: jsonLogger({ write: () => {} }) });
});

afterAll(async () => {
  await server?.shutdown('test end');
  removeTempDirs();
});

describe('production statistics on the model server', () => {
  it('counts every example and prediction in the bins of the reference', async () => {
    await send('clean', 0, 1000);
    const stats = await readProductionStats(server.url, 'clean');
    expect(stats.model).toBe('clean');
    expect(stats.version).toBe('1');
    expect(stats.examples).toBe(1000);
    expect(stats.predictions.kind).toBe('classes');
    expect(stats.predictions.counts.reduce((a, b) => a + b, 0)).toBe(1000);
    for (const counts of stats.inputs!.counts) expect(counts.reduce((a, b) => a + b, 0)).toBe(1000);
    const reference = await readReferenceFile(modelDir);
    expect(stats.inputs!.features).toEqual(reference.inputs.features.map((f) => f.name));
  });

  it('clean traffic is not flagged; brightened traffic is', async () => {
    const reference = await readReferenceFile(modelDir);
    const clean = compareDrift(reference, await readProductionStats(server.url, 'clean', '1'));
    expect(clean.status).toBe('ok');
    await send('bright', 1000, 1000, 0.15);
    const bright = compareDrift(reference, await readProductionStats(server.url, 'bright'));
    expect(['warn', 'alert']).toContain(bright.status);
  });

  it('a model without reference.json answers 404 naming why', async () => {
    const res = await fetch(`${server.url}/v2/models/noref/monitor`);
    expect(res.status).toBe(404);
    expect(JSON.stringify(await res.json())).toContain('no reference.json');
    await infer('noref', dataset.test.x.slice(0, 784), 1);
  });
});
