/**
 * Hostile and careless inputs to the cdl command, data and configuration, as real processes: each
 * gets a clear error naming what was wrong and the expected form (exit 2 usage, 1 refused input),
 * and nothing outside the folder the user named is touched.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isModelDir } from '../src/model-dir/index.js';
import { assertReplaceableModelDir } from '../src/model-dir/out-dir.js';
import { UsageError } from '../src/util/errors.js';
import { CDL_BIN, copyExample, EXAMPLE_CONFIG, exampleRepo, removeTempDirs, runCli, tempDir } from './helpers/example.js';
import { checkAliasName } from '../src/deploy/settings.js';
import { onnx } from '../src/onnx/proto.js';
import { dataSection } from '../src/config/schema/data.js';
import { loadConfig, parseConfig } from '../src/config/index.js';
import { loadDataset } from '../src/data/index.js';
import { decodeImage, imageSize, MAX_IMAGE_PIXELS } from '../src/data/images.js';
import { validateData } from '../src/data/validate.js';
import { pullData, pushData, readManifest, type DataManifest } from '../src/data/manifest.js';

afterAll(removeTempDirs);

/** Every file under `dir` with its SHA-256: a fingerprint to compare before and after. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const p = path.join(e.parentPath, e.name);
    const rel = path.relative(dir, p);
    if (e.isFile()) out[rel] = createHash('sha256').update(readFileSync(p)).digest('hex');
    else if (e.isDirectory()) out[rel + '/'] = 'dir';
  }
  return out;
}

function noStack(stderr: string): void {
  expect(stderr).not.toMatch(/\bat (async )?[\w.<>]+ \(/);
}

/** A folder that looks like a model directory cdl wrote (contents are never read by the guard). */
function fakeModelDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const f of ['model.onnx', 'metrics.json', 'lineage.json']) writeFileSync(path.join(dir, f), `${f}\n`);
  return dir;
}

describe('--out only ever replaces a model directory cdl wrote', () => {
  let project: string;
  let before: Record<string, string>;

  beforeAll(() => {
    project = tempDir('cdl-out-');
    copyExample(project);
    writeFileSync(path.join(project, 'notes.txt'), 'mine\n');
    fakeModelDir(path.join(project, 'parent'));
    mkdirSync(path.join(project, 'docs'));
    writeFileSync(path.join(project, 'docs', 'keep.md'), 'keep\n');
    before = snapshot(project);
  });

  for (const [out, what] of [
    ['.', /it is the current directory/],
    ['data', /it is the data folder \(data\.path\)/],
    ['docs', /it is a non-empty folder that is not a model directory/],
  ] as const) {
    it(`train --out ${out} exits 2, names the folder and leaves the project as it was`, async () => {
      const r = await runCli(['train', '--out', out, '--set', 'train.epochs=1'], { cwd: project });
      expect(r.stderr).toMatch(
        /--out .*: refusing to replace .*; expected a new or empty folder, or a model directory cdl wrote/,
      );
      expect(r.stderr).toMatch(what);
      expect(r.code).toBe(2);
      noStack(r.stderr);
      expect(snapshot(project)).toEqual(before);
      expect(readdirSync(path.dirname(project)).filter((f) => f.startsWith(path.basename(project) + '.'))).toEqual([]);
    });
  }

  it('compress --model M --out M exits 2 and keeps the parent', async () => {
    const r = await runCli(['compress', '--model', 'parent', '--out', 'parent'], { cwd: project });
    expect(r.stderr).toMatch(/--out parent: refusing to replace .*parent: it is the parent model \(--model\)/);
    expect(r.code).toBe(2);
    expect(snapshot(project)).toEqual(before);
  });

  it('accepts a missing folder, an empty one and a model directory cdl wrote; refuses a file and a symlink to the project', () => {
    const t = tempDir('cdl-out-unit-');
    expect(() => assertReplaceableModelDir(path.join(t, 'new', 'm'), '--out', [])).not.toThrow();
    mkdirSync(path.join(t, 'empty'));
    expect(() => assertReplaceableModelDir(path.join(t, 'empty'), '--out', [])).not.toThrow();
    const m = fakeModelDir(path.join(t, 'model'));
    expect(isModelDir(m)).toBe(true);
    expect(() => assertReplaceableModelDir(m, '--out', [])).not.toThrow();
    writeFileSync(path.join(t, 'file'), 'x');
    expect(() => assertReplaceableModelDir(path.join(t, 'file'), '--out', [])).toThrow(/is not a folder/);
    const proj = path.join(t, 'proj');
    mkdirSync(proj);
    writeFileSync(path.join(proj, 'cdl.yaml'), '');
    const link = path.join(t, 'link');
    symlinkSync(proj, link);
    expect(() => assertReplaceableModelDir(link, '--out', [{ path: proj, what: 'the project directory' }])).toThrow(UsageError);
    expect(() => assertReplaceableModelDir(t, '--out', [{ path: proj, what: 'the project directory' }])).toThrow(
      /it holds the project directory \(/,
    );
    expect(() =>
      assertReplaceableModelDir(path.join(proj, 'cdl.yaml'), '--out', [
        { path: path.join(proj, 'cdl.yaml'), what: 'the config file' },
      ]),
    ).toThrow(/it is the config file/);
    expect(statSync(path.join(proj, 'cdl.yaml')).isFile()).toBe(true);
  });
});

describe('--set overrides reach only keys of cdl.yaml', () => {
  const base = readFileSync(EXAMPLE_CONFIG, 'utf8');

  it('__proto__, constructor and prototype are refused and Object.prototype stays clean', () => {
    for (const o of ['__proto__.polluted=1', 'train.constructor.prototype.polluted=1', 'model.__proto__.x=1']) {
      const r = parseConfig(base, [o]);
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]!.path).toBe('--set');
      expect(r.errors[0]!.message).toMatch(/is not a key of cdl\.yaml; expected keys of the schema such as train\.epochs/);
      expect(r.errors[0]!.message).toContain(o);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('an index past the end of a list is refused without allocating; appending one item is allowed', () => {
    const huge = parseConfig(base, ['model.layers[99999999].units=1']);
    expect(huge.errors[0]!.message).toMatch(
      /^cannot set "model\.layers\[99999999\]\.units": index 99999999 is past the end of "model\.layers" \(\d+ item\(s\)\); expected an index from 0 to \d+$/,
    );
    const n = (parseConfig(base).value!.model.layers ?? []).length;
    const ok = parseConfig(base, [`model.layers[${n - 1}].units=10`]);
    expect(ok.errors).toEqual([]);
    const append = parseConfig(base, [`model.layers[${n}].type=flatten`]);
    expect(append.errors).toEqual([]);
    expect(append.value!.model.layers).toHaveLength(n + 1);
    expect(parseConfig(base, ['model.layers.units=1']).errors[0]!.message).toMatch(/is a list; expected an index such as \[0\]/);
  });

  it('the command exits 2 naming the override, with no stack trace', async () => {
    const r = await runCli([
      'validate',
      '--config',
      EXAMPLE_CONFIG,
      '--set',
      '__proto__.polluted=1',
      '--set',
      'model.layers[99999999].units=1',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid override "__proto__.polluted=1"');
    expect(r.stderr).toContain('index 99999999 is past the end of "model.layers"');
    noStack(r.stderr);
  });
});

describe('cdl.data.json is untrusted: paths stay inside the data folder, hashes are hex', () => {
  const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

  /** A project with one image-folder file, a store holding `payload`, and a manifest of `files`. */
  function setup(files: Array<{ path: string; size: number; sha256: string }>) {
    const root = tempDir('cdl-manifest-attack-');
    const dir = path.join(root, 'project');
    mkdirSync(path.join(dir, 'data', 'train', 'a'), { recursive: true });
    writeFileSync(path.join(dir, 'data', 'train', 'a', '0.png'), 'png');
    writeFileSync(
      path.join(dir, 'cdl.yaml'),
      'model: { name: m, layers: [{ type: flatten }, { type: dense, units: 2, activation: softmax }] }\n' +
        'data: { format: image-folder, path: ./data }\n',
    );
    const manifest = {
      schema_version: 1,
      version: 'sha256:' + '0'.repeat(64),
      format: 'image-folder',
      path: './data',
      cache_key: 'k',
      size: 0,
      split: null,
      files,
    };
    writeFileSync(path.join(dir, 'cdl.data.json'), JSON.stringify(manifest));
    const store = path.join(root, 'store');
    const payload = 'attacker bytes\n';
    mkdirSync(path.join(store, sha(payload).slice(0, 2)), { recursive: true });
    writeFileSync(path.join(store, sha(payload).slice(0, 2), sha(payload)), payload);
    const outside = path.join(root, 'outside');
    mkdirSync(outside);
    return { root, dir, store, payload, outside };
  }

  it('pull with path ../../x.gz exits 1 naming the entry and writes nothing outside data/', async () => {
    const payload = 'attacker bytes\n';
    const s = setup([{ path: '../../outside/x.gz', size: payload.length, sha256: sha(payload) }]);
    const before = snapshot(s.root);
    const r = await runCli(['data', 'pull', '--store', s.store], { cwd: s.dir });
    expect(r.stderr).toMatch(
      /cdl\.data\.json: files\[0\]\.path "\.\.\/\.\.\/outside\/x\.gz" has an empty, "\." or "\.\." part; expected a path inside the data folder/,
    );
    expect(r.code).toBe(1);
    noStack(r.stderr);
    expect(snapshot(s.root)).toEqual(before);
  });

  it('push of ../../etc/hostname and an absolute path copy nothing into the store', async () => {
    const host = readFileSync('/etc/hostname');
    for (const p of ['../../etc/hostname', '/etc/hostname', 'train\\..\\..\\x']) {
      const s = setup([{ path: p, size: host.length, sha256: sha(host) }]);
      const before = snapshot(s.root);
      await expect(readManifestOf(s.dir)).rejects.toThrow(/files\[0\]\.path .*; expected a path inside the data folder/);
      const raw = JSON.parse(readFileSync(path.join(s.dir, 'cdl.data.json'), 'utf8')) as DataManifest;
      await expect(pushData(path.join(s.dir, 'data'), raw, s.store)).rejects.toThrow(/expected a path inside the data folder/);
      expect(snapshot(s.root)).toEqual(before);
    }
  });

  it('sha256 ../../../etc/passwd is refused as not 64 lowercase hex digits', async () => {
    for (const h of ['../../../etc/passwd', 'A'.repeat(64), '0'.repeat(63)]) {
      const s = setup([{ path: 'train/a/1.png', size: 3, sha256: h }]);
      const before = snapshot(s.root);
      await expect(readManifestOf(s.dir)).rejects.toThrow(
        /files\[0\]\.sha256 .* \(train\/a\/1\.png\): expected 64 lowercase hexadecimal digits/,
      );
      await expect(
        pullData(path.join(s.dir, 'data'), { files: [{ path: 'train/a/1.png', size: 3, sha256: h }] } as DataManifest, s.store),
      ).rejects.toThrow(/expected 64 lowercase hexadecimal digits/);
      expect(snapshot(s.root)).toEqual(before);
    }
  });

  it('a symlinked folder inside data/ that leads outside is refused by pull and push', async () => {
    const payload = 'attacker bytes\n';
    const s = setup([{ path: 'link/x.gz', size: payload.length, sha256: sha(payload) }]);
    symlinkSync(s.outside, path.join(s.dir, 'data', 'link'));
    const m = await readManifestOf(s.dir);
    await expect(pullData(path.join(s.dir, 'data'), m, s.store)).rejects.toThrow(
      /link\/x\.gz leads outside the data folder .* through a symlink/,
    );
    expect(readdirSync(s.outside)).toEqual([]);
    writeFileSync(path.join(s.outside, 'x.gz'), payload);
    rmSync(path.join(s.store), { recursive: true });
    await expect(pushData(path.join(s.dir, 'data'), m, s.store)).rejects.toThrow(/leads outside the data folder/);
    expect(existsSync(s.store)).toBe(false);
  });
});

function readManifestOf(dir: string): Promise<DataManifest> {
  return readManifest(path.join(dir, 'cdl.data.json'));
}

describe('URL datasets are bounded in paths, time and size', () => {
  let server: http.Server;
  let base = '';
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url?.startsWith('/silent/')) return; // accepts, never answers
      if (req.url?.startsWith('/stall/')) {
        res.writeHead(200, { 'content-length': 1000 });
        res.write(Buffer.alloc(10)); // then nothing more
        return;
      }
      if (req.url?.startsWith('/big/')) {
        res.writeHead(200, { 'content-length': 5000 });
        res.end(Buffer.alloc(5000));
        return;
      }
      res.writeHead(404);
      res.end();
    });
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function validate(dataPath: string, env: Record<string, string>, extra: string[] = []) {
    const root = tempDir('cdl-url-');
    const cache = path.join(root, 'cache');
    mkdirSync(cache);
    const run = runCli(['data', 'validate', '-c', EXAMPLE_CONFIG, '--set', `data.path=${dataPath}`, ...extra], {
      env: { XDG_CACHE_HOME: cache, ...env },
      timeoutMs: 60_000,
    });
    return { root, run };
  }

  it('a server that never answers fails with the URL and the idle limit instead of hanging', async () => {
    const { run } = validate(`${base}/silent/fm`, { CDL_DOWNLOAD_IDLE_TIMEOUT_MS: '300' });
    const r = await run;
    expect(r.stdout + r.stderr).toMatch(
      new RegExp(
        `${base}/silent/fm/train-images-idx3-ubyte\\.gz: download failed \\(.*\\): nothing received for 300 ms \\(\\$CDL_DOWNLOAD_IDLE_TIMEOUT_MS\\)`,
      ),
    );
    expect(r.code).toBe(1);
  });

  it('a body that stops arriving, and one over the size limit, fail naming the URL; no partial file stays', async () => {
    const stall = validate(`${base}/stall/fm`, { CDL_DOWNLOAD_IDLE_TIMEOUT_MS: '300' });
    const r = await stall.run;
    expect(r.stdout + r.stderr).toMatch(
      /\/stall\/fm\/train-images-idx3-ubyte\.gz: download failed .*: nothing received for 300 ms/,
    );
    expect(r.code).toBe(1);
    const big = validate(`${base}/big/fm`, { CDL_DOWNLOAD_MAX_BYTES: '1000' });
    const b = await big.run;
    expect(b.stdout + b.stderr).toMatch(
      /\/big\/fm\/train-images-idx3-ubyte\.gz: download refused .*: 5000 bytes is more than 1000 \(\$CDL_DOWNLOAD_MAX_BYTES\)/,
    );
    expect(b.code).toBe(1);
    for (const root of [stall.root, big.root]) {
      expect(Object.keys(snapshot(root)).filter((f) => !f.endsWith('/'))).toEqual([]);
    }
  });

  it('train.images: ../../../x.gz is refused naming the field, and nothing is written outside the cache', async () => {
    const { root, run } = validate(`${base}/big/fm`, {}, ['--set', 'data.train.images=../../../x.gz']);
    const r = await run;
    expect(r.stdout + r.stderr).toMatch(
      /data\.train\.images "\.\.\/\.\.\/\.\.\/x\.gz" has an empty, "\." or "\.\." part; expected a path inside the dataset at http:\/\/127\.0\.0\.1:\d+\/big\/fm/,
    );
    expect(r.code).toBe(1);
    expect(Object.keys(snapshot(root)).filter((f) => f.includes('x.gz'))).toEqual([]);
  });
});

describe('data: image sizes from the header, symlinks, non-finite values, CSV width', () => {
  function pngHeader(width: number, height: number): Buffer {
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(width, 0);
    ihdr.writeUInt32BE(height, 4);
    ihdr.set([8, 0, 0, 0, 0], 8);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(13);
    // Signature and IHDR only: decoding this would fail, so only the header check can name the size.
    return Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      len,
      Buffer.from('IHDR'),
      ihdr,
      Buffer.alloc(4),
    ]);
  }
  function jpegHeader(width: number, height: number): Buffer {
    const sof = Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, 0, 0, 0, 0, 0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    sof.writeUInt16BE(height, 5);
    sof.writeUInt16BE(width, 7);
    const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
    return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof]);
  }

  it('a 20000×20000 PNG or JPEG is refused from its header, naming the file and the limit', () => {
    expect(imageSize(pngHeader(20000, 20000), 'big.png')).toEqual({ width: 20000, height: 20000 });
    expect(imageSize(jpegHeader(30000, 20000), 'big.jpg')).toEqual({ width: 30000, height: 20000 });
    expect(() => decodeImage(pngHeader(20000, 20000), 'big.png')).toThrow(
      `big.png: 20000×20000 pixels (height×width) is more than cdl decodes (${MAX_IMAGE_PIXELS} pixels); expected images of the model's input size`,
    );
    expect(() => decodeImage(jpegHeader(30000, 20000), 'big.jpg')).toThrow(
      /^big\.jpg: 20000×30000 pixels \(height×width\) is more than/,
    );
    expect(() => imageSize(Buffer.from([0xff, 0xd8, 0xff, 0xd9]), 'cut.jpg')).toThrow(
      /cut\.jpg: cannot decode the image: no valid size in its header/,
    );
  });

  function imageProject(): string {
    const root = tempDir('cdl-img-attack-');
    for (const split of ['train', 'test']) {
      for (const c of ['a', 'b']) {
        mkdirSync(path.join(root, 'data', split, c), { recursive: true });
        for (let i = 0; i < 2; i++) {
          const img = new PNG({ width: 4, height: 4 });
          img.data.fill(40 * i + (c === 'a' ? 10 : 100) + (split === 'test' ? 5 : 0));
          writeFileSync(path.join(root, 'data', split, c, `${i}.png`), PNG.sync.write(img));
        }
      }
    }
    writeFileSync(
      path.join(root, 'cdl.yaml'),
      'model: { name: m, input_shape: [4, 4, 1], layers: [{ type: flatten }, { type: dense, units: 2, activation: softmax }] }\n' +
        'data: { format: image-folder, path: ./data, validation: { fraction: 0 } }\n',
    );
    return root;
  }

  it('validate names a huge image by its header size and a symlink to /etc/passwd, exit 1', async () => {
    const root = imageProject();
    writeFileSync(path.join(root, 'data', 'train', 'a', 'huge.png'), pngHeader(20000, 20000));
    symlinkSync('/etc/passwd', path.join(root, 'data', 'train', 'b', 'evil.png'));
    const r = await runCli(['data', 'validate'], { cwd: root });
    expect(r.stdout).toContain('train/a/huge.png: 20000×20000 pixels; expected 4×4 (as the first image, train/a/0.png)');
    expect(r.stdout).toContain(
      'train/b/evil.png: a symlink to /etc/passwd, outside the data folder data; expected the image inside it',
    );
    expect(r.code).toBe(1);
    const loaded = await loadConfig(path.join(root, 'cdl.yaml'));
    await expect(loadDataset(loaded.config.data, { baseDir: root, task: 'classification' })).rejects.toThrow(
      /data\/train\/b: evil\.png -> \/etc\/passwd: symlink\(s\) leading outside the data folder .*; expected the images inside it/,
    );
  });

  it('a value that is not finite as a float is refused when loading, naming the file and row', async () => {
    const root = tempDir('cdl-csv-attack-');
    writeFileSync(path.join(root, 'train.csv'), 'a,b,label\n1,2,0\n3,1e39,1\n2,2,0\n1,1,1\n');
    writeFileSync(path.join(root, 'test.csv'), 'a,b,label\n1,2,0\n3,4,1\n');
    const data = dataSection.parse({ format: 'csv', path: root, validation: { fraction: 0 } });
    await expect(loadDataset(data, { baseDir: root, task: 'classification' })).rejects.toThrow(
      /train\.csv: line 3: column "b": 1e39 does not fit a 32-bit float; expected a finite number/,
    );
  });

  it('validate refuses CSV data whose width does not match model.input_shape', async () => {
    const root = tempDir('cdl-csv-width-');
    writeFileSync(path.join(root, 'train.csv'), 'a,b,c,label\n1,2,3,0\n3,1,2,1\n2,2,2,0\n1,1,1,1\n');
    writeFileSync(path.join(root, 'test.csv'), 'a,b,c,label\n1,2,9,0\n3,4,9,1\n');
    const data = dataSection.parse({ format: 'csv', path: root, validation: { fraction: 0 } });
    const v = await validateData(data, { baseDir: root, task: 'classification' }, { input_shape: [2] });
    expect(v.failed).toBe(true);
    expect(v.errors.map((e) => e.message)).toContainEqual(
      expect.stringMatching(
        /train\.csv: train examples have shape \[3\] \(3 feature columns\); expected model\.input_shape \[2\]$/,
      ),
    );
    const ok = await validateData(data, { baseDir: root, task: 'classification' }, { input_shape: [3] });
    expect(ok.errors).toEqual([]);
  });
});

describe('deployment environment and alias names', () => {
  it('deploy --environment ../../etc exits 2 naming the flag and records nothing', async () => {
    const { dir } = exampleRepo();
    const before = snapshot(dir);
    const r = await runCli(['deploy', '--version', '1.0.0', '--environment', '../../etc'], { cwd: dir });
    expect(r.stderr).toContain('--environment: invalid name "../../etc"; expected a name of letters, digits');
    expect(r.code).toBe(2);
    noStack(r.stderr);
    expect(snapshot(dir)).toEqual(before);
  });

  it('cdl.yaml deploy.environment and deploy.aliases follow the same pattern', () => {
    const base = readFileSync(EXAMPLE_CONFIG, 'utf8');
    const r = parseConfig(base, ['deploy.environment=../../etc', 'deploy.aliases=[production, a/b]']);
    expect(r.errors.map((e) => e.path).sort()).toEqual(['deploy.aliases[1]', 'deploy.environment']);
    expect(r.errors[0]!.message).toMatch(/expected a name of letters, digits, "\.", "_" and "-"/);
    expect(() => checkAliasName('--alias', 'staging-2')).not.toThrow();
  });
});

describe('models from outside: declared input shapes, and onnxruntime leaving files behind', () => {
  /** A model directory whose model.onnx is Identity over input x [batch, dim]. */
  function identityModel(dir: string, dim: number): string {
    mkdirSync(dir, { recursive: true });
    const shape = { dim: [{ dimParam: 'batch' }, { dimValue: dim }] };
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      producerName: 'test',
      graph: {
        name: 'g',
        node: [{ opType: 'Identity', input: ['x'], output: ['y'] }],
        input: [{ name: 'x', type: { tensorType: { elemType: 1, shape } } }],
        output: [{ name: 'y', type: { tensorType: { elemType: 1, shape } } }],
      },
    });
    writeFileSync(path.join(dir, 'model.onnx'), onnx.ModelProto.encode(model).finish());
    return dir;
  }

  function csvProject(): string {
    const root = tempDir('cdl-gate-shape-');
    mkdirSync(path.join(root, 'data'));
    const rows = 'a,b,label\n0.9,0.1,0\n0.2,0.8,1\n0.7,0.3,0\n0.1,0.9,1\n';
    writeFileSync(path.join(root, 'data', 'train.csv'), rows);
    writeFileSync(path.join(root, 'data', 'test.csv'), rows);
    writeFileSync(
      path.join(root, 'cdl.yaml'),
      'model: { name: m, layers: [{ type: dense, units: 2, activation: softmax }] }\n' +
        'data: { format: csv, path: ./data, validation: { fraction: 0 } }\n',
    );
    return root;
  }

  /** Run cdl and report whether onnxruntime left /tmp/mat-debug-<pid>.log behind. */
  function cdlWithPid(args: string[], cwd: string): Promise<{ code: number | null; stderr: string; leftLog: boolean }> {
    return new Promise((resolve, reject) => {
      const env = { ...process.env };
      delete env.ORT_DISABLE_TELEMETRY;
      const child = spawn(process.execPath, [CDL_BIN, ...args], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => {
        const log = path.join(os.tmpdir(), `mat-debug-${child.pid}.log`);
        const leftLog = existsSync(log);
        rmSync(log, { force: true });
        resolve({ code, stderr, leftLog });
      });
    });
  }

  it('gate on a model whose input declares size -5 exits 1 naming the model file and the input', async () => {
    const root = csvProject();
    const m = identityModel(path.join(root, 'bad'), -5);
    const r = await cdlWithPid(['gate', '--model', m, '--baseline', 'none', '--no-comment'], root);
    expect(r.stderr).toMatch(
      /bad\/model\.onnx: the model's input "x" declares size -5 on axis 1 \(shape \[batch, \?\]\); expected sizes >= 0 or a symbolic name/,
    );
    expect(r.code).toBe(1);
    expect(existsSync(path.join(m, 'blessing.json'))).toBe(false);
  });

  it('a cdl process that runs an onnxruntime session leaves no /tmp/mat-debug-<pid>.log', async () => {
    const root = csvProject();
    const m = identityModel(path.join(root, 'ok'), 2);
    const r = await cdlWithPid(['evaluate', '--model', m], root);
    expect(r.stderr).not.toMatch(/onnxruntime cannot load/);
    expect(r.code).toBe(0);
    expect(r.leftLog).toBe(false);
  });
});

describe('errors a user can cause name what was wrong and what was expected', () => {
  let project: string;
  beforeAll(() => {
    project = tempDir('cdl-errors-');
    copyExample(project);
  });

  it.each([
    [['train', '--epochs', '3'], 2, /^cdl: train: Unknown option '--epochs' \(cdl train --help\)\n\nUsage: cdl train/],
    [['train', '--set'], 2, /^cdl: train: Option '-s, --set <value>' argument missing \(cdl train --help\)\n\nUsage: cdl train/],
    [['run', '--input'], 2, /^cdl: run: Option '-i, --input <value>' argument missing \(cdl run --help\)\n\nUsage: cdl run/],
    [
      ['validate', 'nope.yaml'],
      2,
      /^cdl: validate: unexpected argument "nope\.yaml": cdl validate takes flags only; to use nope\.yaml as the configuration, pass --config nope\.yaml \(cdl validate --help\)\n\nUsage: cdl validate/,
    ],
    [
      ['evaluate', '--model', '.', 'extra'],
      2,
      /^cdl: evaluate: unexpected argument "extra": cdl evaluate takes flags only \(cdl evaluate --help\)/,
    ],
    [
      ['train', '--set', 'model.nope=1'],
      2,
      /^cdl: cdl\.yaml:\d+:\d+: model: unknown key\(s\) "nope"; expected one of "name", "task", "input_shape", "layers"/,
    ],
    [
      ['train', '--set', 'train.nope=1'],
      2,
      /^cdl: cdl\.yaml:\d+:\d+: train: unknown key\(s\) "nope"; expected one of "backend", .*"epochs", "batch_size"/,
    ],
    [
      ['models', 'show', '1', '2'],
      2,
      /^cdl: models show: expected one VERSION or TAG, e\.g\. cdl models show 1\.2\.0; got "1" "2"\n$/,
    ],
    [
      ['run', 'nope.yml'],
      2,
      /^cdl: \.github\/workflows\/nope\.yml: no such workflow file; expected a workflow file in the repository, e\.g\. \.github\/workflows\/ci\.yml \(or its name, ci\)\n$/,
    ],
    [
      ['data', 'validate', '--set', 'data.path=nope'],
      1,
      /no such file nope\/t10k-labels-idx1-ubyte\.gz \(data\.test\.labels\); expected the file there, or data\.path and data\.test\.labels changed to where it is/,
    ],
  ] as const)('cdl %j exits %i with a clear error', async (args, code, message) => {
    const r = await runCli([...args], { cwd: project, env: { CDL_FORGE: 'local' } });
    expect(r.stderr + r.stdout).toMatch(message);
    // The message, before the usage that follows it for flag errors: no stack trace.
    noStack(r.stderr.split('\n\n')[0]!);
    expect(r.code).toBe(code);
  });
});
