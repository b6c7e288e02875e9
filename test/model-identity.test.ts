/**
 * One model, one identity: along a release, each process hashes a model.onnx once at each trust
 * boundary it crosses (loading a directory, the forge taking an upload, a download) and hands the
 * hash on from there; staging, publishing and listing hash nothing again. Counted through the one
 * hashing helper (src/util/sha256.ts) with the real registry, local forge and deploy.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { datasetParses, loadDataset } from '../src/data/index.js';
import { deploy } from '../src/deploy/deploy-release.js';
import { DEFAULT_CANARY, type DeploySettings } from '../src/deploy/types.js';
import { loadTestData } from '../src/evaluate/pipeline.js';
import { LocalForge } from '../src/forge/local.js';
import { releaseModel } from '../src/registry/release-model.js';
import { NotBlessedError, Registry } from '../src/registry/registry.js';
import { observeHashing } from '../src/util/sha256.js';
import { EXAMPLE_DIR, exampleConfig, QUICK, removeTempDirs, tempDir } from './helpers/example.js';
import { candidate, project, sha256 } from './helpers/registry-models.js';

afterAll(removeTempDirs);

let stop: (() => void) | undefined;
afterEach(() => stop?.());

/** Every hash of a model (model.onnx, model-<variant>.onnx) taken in this process from now on. */
function modelHashes(): string[] {
  const seen: string[] = [];
  stop = observeHashing((e) => {
    if (/(^|[\\/])model(-[A-Za-z0-9_-]+)?\.onnx$/.test(e.what)) seen.push(e.what);
  });
  return seen;
}

const settings: DeploySettings = {
  tag: '{model}@v{version}',
  environment: 'production',
  target: 'release',
  kserve: { namespace: 'default', apply: 'never' },
  canary: DEFAULT_CANARY,
};

describe('the model is hashed once per process per trust boundary', () => {
  it('promote: loaded once, taken by the forge once; deploy: downloaded once', async () => {
    const p = project();
    const forge = new LocalForge({ root: p.dir });
    const commit = p.commit('train');
    const dir = candidate(path.join(tempDir('cdl-identity-'), 'model'), { bias: 2, commit });
    const full = candidate(path.join(tempDir('cdl-identity-'), 'full'), { bias: 3, commit });
    const registry = new Registry({ forge, model: 'lin' });

    const promoted = modelHashes();
    const r = await registry.promote(dir, { version: '1.0.0', variants: { full } });
    expect(r.status).toBe('released');
    const draft = path.join(forge.draftsDir, 'lin@v1.0.0');
    // Loaded: the candidate and the variant, each verified against its SHA256SUMS when opened.
    // The forge: the digest it reports, taken once as it receives each upload (GitHub does this on
    // its side). Staging the assets, their SHA256SUMS, publishing and listing reuse those hashes.
    expect(promoted.sort()).toEqual(
      [
        path.join(dir, 'model.onnx'),
        path.join(full, 'model.onnx'),
        path.join(draft, 'model.onnx'),
        path.join(draft, 'model-full.onnx'),
      ].sort(),
    );
    stop!();

    const deployed = modelHashes();
    const d = await deploy({ forge, model: 'lin', ref: '1.0.0', settings });
    expect(d).toMatchObject({ state: 'success', outcome: 'attached', source: 'release' });
    // The download is verified against the release's SHA256SUMS once per file; the release's
    // details are read once and the forge's recorded digests are not recomputed.
    expect(deployed.map((f) => path.basename(f)).sort()).toEqual(['model-full.onnx', 'model.onnx']);
    expect(deployed.every((f) => /\.assets-\d+[\\/]/.test(f))).toBe(true);

    // What shipped is what was blessed, byte for byte.
    const release = await forge.releaseDetails('lin@v1.0.0');
    const asset = release!.assets.find((a) => a.name === 'model.onnx')!;
    expect(asset.digest).toBe(`sha256:${sha256(readFileSync(path.join(dir, 'model.onnx')))}`);
  });
});

describe('the dataset is parsed once per process', () => {
  it('the gate and compress of one process share one parse; a changed file is parsed again', async () => {
    const data = path.join(tempDir('cdl-identity-data-'), 'data');
    cpSync(path.join(EXAMPLE_DIR, 'data'), data, { recursive: true });
    const loaded = await exampleConfig([...QUICK, `data.path=${data}`]);
    const before = datasetParses();
    // The gate's loader (test split only), then compress's (the configured validation split).
    const gate = await loadTestData(loaded);
    const compress = await loadDataset(loaded.config.data, { baseDir: loaded.dir, task: loaded.config.model.task });
    expect(datasetParses() - before).toBe(1);
    expect(compress.test).toBe(gate.test);
    expect(compress.version).toBe(gate.version);
    expect(gate.validation.n).toBe(0);
    expect(compress.validation.n).toBeGreaterThan(0);
    expect(compress.train.n + compress.validation.n).toBe(gate.train.n);

    // A file changed since (its content, not its size): parsed again, never served stale.
    const labels = path.join(data, 't10k-labels-idx1-ubyte.gz');
    const bytes = readFileSync(labels);
    bytes[bytes.length - 9] ^= 1; // the gzip trailer's CRC: same size, other content
    writeFileSync(labels, bytes);
    await expect(loadTestData(loaded)).rejects.toThrow(/t10k-labels/);
    expect(datasetParses() - before).toBe(2);
  });
});

describe('a release that retrains, in one process', () => {
  it('train writes and hashes the model once; the gate and the blessing check reuse it, and the data is parsed once', async () => {
    const p = project();
    const commit = p.commit('tagged, never trained');
    const loaded = await exampleConfig([...QUICK, 'release.on_missing_model=retrain']);
    const forge = new LocalForge({ root: p.dir });
    const dest = path.join(tempDir('cdl-identity-retrain-'), 'model');
    const parses = datasetParses();
    const hashed = modelHashes();
    // Blessed or rejected by the example's gate, the model is hashed once (as train writes it).
    const r = await releaseModel({ forge, loaded, commit, dest, log: () => {} }).catch((e: unknown) => e);
    if (!(r instanceof NotBlessedError)) expect(r).toMatchObject({ source: 'retrained', dir: dest });
    expect(hashed).toHaveLength(1);
    expect(hashed[0]).toMatch(/model\.partial-\d+[\\/]model\.onnx$/);
    expect(datasetParses() - parses).toBe(1);
    const lineage = JSON.parse(readFileSync(path.join(dest, 'lineage.json'), 'utf8')) as { release?: unknown };
    expect(lineage.release).toMatchObject({ retrained_at_release: true, commit });
  });
});
