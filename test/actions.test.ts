/**
 * The actions as GitHub runs them: the committed bundle, started with `node dist/index.js`, inputs in
 * INPUT_* variables, file commands in GITHUB_OUTPUT / GITHUB_STEP_SUMMARY, and the unmodified
 * @actions/artifact client talking to cdl's local results server over HTTP on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startResultsServer, type ResultsServer } from '../runner/results-server/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const actionsDir = path.join(root, 'actions');
const actionNames = readdirSync(actionsDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(path.join(actionsDir, d.name, 'action.yml')))
  .map((d) => d.name);

function runNode(
  args: string[],
  env: Record<string, string>,
  cwd = root,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: os.homedir(), CDL_RUNS: 'off', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Parse the GITHUB_OUTPUT file format (name<<delimiter ... delimiter). */
function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i]!);
    if (m) {
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i]!);
      out[m[1]!] = value.join('\n');
    } else if (lines[i]!.includes('=')) {
      const [k, ...v] = lines[i]!.split('=');
      out[k!] = v.join('=');
    }
  }
  return out;
}

describe('action metadata', () => {
  // The inputs and outputs each entry point may use are checked against action.yml in test/action-names.test.ts.
  it.each(actionNames)('%s: action.yml runs its committed bundle on node24', (name) => {
    const meta = parseYaml(readFileSync(path.join(actionsDir, name, 'action.yml'), 'utf8')) as {
      runs: { using: string; main: string };
    };
    expect(meta.runs.using).toBe('node24');
    expect(existsSync(path.join(actionsDir, name, meta.runs.main))).toBe(true);
  });
});

// Whether each bundle matches a fresh build of its sources is .ci/run's check-dist step
// (scripts/check-dist.sh): rebuilding seven bundles takes minutes and has no place inside a test timeout.
describe('committed bundles', () => {
  const files = (dir: string) =>
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
      .sort();

  it.each(actionNames)('%s: an ES module bundle with the tfjs wasm binaries beside it', (name) => {
    const dist = path.join(actionsDir, name, 'dist');
    const list = files(dist);
    expect(list).toContain('index.js');
    expect(JSON.parse(readFileSync(path.join(dist, 'package.json'), 'utf8'))).toEqual({ type: 'module' });
    for (const wasm of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
      expect(list).toContain(path.join('wasm', wasm));
    }
  });

  it.each(actionNames)('%s: carries no native runtime (onnxruntime-node and tfjs-node are reached at run time)', (name) => {
    const dist = path.join(actionsDir, name, 'dist');
    const list = files(dist);
    expect(list.filter((f) => /\.(node|so(\.\d+)*|dylib|dll)$/.test(f))).toEqual([]);
    for (const f of list.filter((f) => f.endsWith('.js'))) {
      const code = readFileSync(path.join(dist, f), 'utf8');
      // The native bindings' loaders name their binaries; a bundle that inlined the package would carry them.
      expect(code, `actions/${name}/dist/${f}`).not.toMatch(/onnxruntime_binding|tfjs_binding/);
    }
  });
});

describe('actions/train bundle', () => {
  let server: ResultsServer;
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'cdl-train-action-'));
    server = await startResultsServer({ root: path.join(work, 'results') });
  });
  afterAll(async () => {
    await server?.close();
    await rm(work, { recursive: true, force: true });
  });

  async function runAction(inputs: Record<string, string>, extra: Record<string, string> = {}) {
    const output = path.join(work, `output-${Math.random().toString(36).slice(2)}`);
    const summary = `${output}.summary`;
    await writeFile(output, '');
    await writeFile(summary, '');
    const env: Record<string, string> = {
      ...(await server.env()),
      GITHUB_ACTIONS: 'true',
      GITHUB_OUTPUT: output,
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
      GITHUB_REPOSITORY: 'octo/models',
      GITHUB_RUN_ID: '1',
      GITHUB_WORKSPACE: root,
      RUNNER_TEMP: work,
      ...extra,
    };
    for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v;
    const r = await runNode([path.join(actionsDir, 'train', 'dist', 'index.js')], env);
    return { ...r, outputs: parseOutputs(await readFile(output, 'utf8')), summary: await readFile(summary, 'utf8') };
  }

  it('trains, uploads the model directory as model-<sha>, sets outputs and writes the job summary', async () => {
    const out = path.join(work, 'model');
    const r = await runAction({
      config: 'examples/fashion-mnist/cdl.yaml',
      set: 'train.epochs=1\ndata.limit.train=2000\ndata.limit.test=500',
      out,
    });
    expect(r.code, r.stdout.slice(-3000)).toBe(0);
    expect(r.stdout).toContain('backend: wasm');
    expect(r.outputs['artifact-name']).toBe('model-0123456789abcdef0123456789abcdef01234567');
    expect(r.outputs['model-dir']).toBe(out);
    const metrics = JSON.parse(r.outputs.metrics!) as { main_metric: string; main_metric_value: number; schema_version: number };
    expect(metrics.schema_version).toBe(1);
    expect(metrics.main_metric).toBe('accuracy');
    expect(Number(r.outputs['main-metric'])).toBe(metrics.main_metric_value);
    expect(metrics.main_metric_value).toBeGreaterThan(0.5);
    expect(r.summary).toContain('| split |');
    expect(r.summary).toContain('model-0123456789abcdef0123456789abcdef01234567');

    // The artifact is really there: download it with the unmodified toolkit and compare bytes.
    const { DefaultArtifactClient } = await import('@actions/artifact');
    Object.assign(process.env, await server.env());
    const client = new DefaultArtifactClient();
    const { artifact } = await client.getArtifact('model-0123456789abcdef0123456789abcdef01234567');
    const dl = path.join(work, 'downloaded');
    await client.downloadArtifact(artifact.id, { path: dl });
    for (const f of ['model.onnx', 'metrics.json', 'lineage.json', 'model-card.md', 'tfjs/model.json', 'tfjs/weights.bin']) {
      expect(readFileSync(path.join(dl, f)).equals(readFileSync(path.join(out, f))), f).toBe(true);
    }
  });

  it('fails with a message naming the file and field for a bad configuration', async () => {
    const cfg = path.join(work, 'bad.yaml');
    const text = readFileSync(path.join(root, 'examples/fashion-mnist/cdl.yaml'), 'utf8').replace('epochs: 8', 'epochs: five');
    await writeFile(cfg, text);
    const r = await runAction({ config: cfg, upload: 'false' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/::error::.*bad\.yaml:\d+:\d+: train\.epochs: expected a positive integer, got "five"/);
    expect(r.outputs['model-dir']).toBeUndefined();
  });

  it('rejects an invalid boolean input by name', async () => {
    const r = await runAction({
      config: 'examples/fashion-mnist/cdl.yaml',
      upload: 'maybe',
      set: 'train.epochs=1\ndata.limit.train=500',
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("Invalid input 'upload'");
  });
});
