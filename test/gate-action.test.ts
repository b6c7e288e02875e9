/**
 * actions/evaluate-gate as GitHub runs it: the committed bundle started with `node dist/index.js`,
 * inputs in INPUT_* variables, a pull-request event, GitHub's REST API played by a fake server on
 * 127.0.0.1 (every request checked against GitHub's OpenAPI description), and the candidate
 * fetched as a workflow artifact from cdl's local results server.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startResultsServer, type ResultsServer } from '../runner/results-server/index.js';
import { loadConfig } from '../src/config/index.js';
import { LocalForge } from '../src/forge/index.js';
import { openModelDir } from '../src/model-dir/index.js';
import { stageAssets } from '../src/registry/assets.js';
import { perturbModel, trainExample } from './evaluate-models.js';
import { startFakeGitHub, validateRequest, type FakeGitHub } from './helpers/fake-github.js';
import { REPO, removeTempDirs, tempDir } from './helpers/example.js';

const BUNDLE = path.join(REPO, 'actions', 'evaluate-gate', 'dist', 'index.js');
const HEAD = 'c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ff';
const GATE = [
  'gate.metrics.accuracy.min=0.6',
  'gate.metrics.accuracy.max_regression=0.01',
  'gate.metrics.macro_f1.max_regression=0.01',
  'gate.benchmark.latency_runs=10',
];

/** A blessed model directory as a release holds it: its files as assets, with SHA256SUMS. */
async function releaseAssets(dir: string, dest: string): Promise<Record<string, Uint8Array>> {
  // The release only has to be blessed; the example's own minimum is not what this test is about.
  const loaded = await loadConfig(path.join(REPO, 'examples', 'fashion-mnist', 'cdl.yaml'), [
    'gate.benchmark.latency_runs=0',
    'gate.metrics.accuracy.min=0.1',
  ]);
  const { runGate } = await import('../src/evaluate/pipeline.js');
  const gated = await runGate({
    loaded,
    candidate: dir,
    baseline: 'none',
    forge: new LocalForge({ root: dest }),
    publish: false,
    reportDir: path.join(dest, 'report'),
  });
  expect(gated.blessing.decision).toBe('blessed');
  const staged = await stageAssets(await openModelDir(dir), path.join(dest, 'assets'));
  return Object.fromEntries(readdirSync(staged.dir).map((f) => [f, readFileSync(path.join(staged.dir, f))]));
}

function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i]!);
    if (!m) continue;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i]!);
    out[m[1]!] = value.join('\n');
  }
  return out;
}

describe('actions/evaluate-gate bundle', () => {
  let gh: FakeGitHub;
  let results: ResultsServer;
  let work: string;
  let good: string;
  let damaged: string;
  let event: string;

  beforeAll(async () => {
    work = tempDir('cdl-gate-action-');
    gh = await startFakeGitHub();
    results = await startResultsServer({ root: path.join(work, 'results') });
    good = await trainExample(path.join(work, 'good'), ['train.epochs=2', 'data.limit.train=4000']);
    const weak = await trainExample(path.join(work, 'weak'), ['train.epochs=1', 'data.limit.train=300']);
    damaged = perturbModel(good, path.join(work, 'damaged'), 1.0, 7);
    // Production: nothing was deployed yet, so the latest release of the model (blessed, with SHA256SUMS).
    gh.addRelease('fashion-mnist@v1.0.0', await releaseAssets(weak, tempDir('cdl-gate-release-')));
    event = path.join(work, 'event.json');
    await writeFile(
      event,
      JSON.stringify({ action: 'synchronize', number: 3, pull_request: { number: 3, head: { sha: HEAD } } }),
    );
  });
  afterAll(async () => {
    await gh?.close();
    await results?.close();
    removeTempDirs();
  });

  async function runAction(inputs: Record<string, string>) {
    const output = path.join(work, `output-${Math.random().toString(36).slice(2)}`);
    const summary = `${output}.summary`;
    await writeFile(output, '');
    await writeFile(summary, '');
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: os.homedir(),
      // The step runs in this checkout: it must never record runs here, let alone push them to its origin.
      CDL_RUNS: 'off',
      ...(await results.env()),
      GITHUB_API_URL: gh.url,
      GITHUB_ACTIONS: 'true',
      GITHUB_REPOSITORY: 'octo/models',
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: event,
      GITHUB_SHA: '1111111111111111111111111111111111111111',
      GITHUB_RUN_ID: '42',
      GITHUB_ACTOR: 'octocat',
      GITHUB_OUTPUT: output,
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_WORKSPACE: REPO,
      RUNNER_TEMP: work,
    };
    const all = { config: 'examples/fashion-mnist/cdl.yaml', set: GATE.join('\n'), token: 'ghs_test', ...inputs };
    for (const [k, v] of Object.entries(all)) env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v;
    const r = await new Promise<{ code: number; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [BUNDLE], { cwd: REPO, env });
      let stdout = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stdout += d));
      child.on('close', (code) => resolve({ code: code ?? 1, stdout }));
    });
    return { ...r, outputs: parseOutputs(readFileSync(output, 'utf8')), summary: readFileSync(summary, 'utf8') };
  }

  it('blesses a better candidate fetched as an artifact, comments on the pull request and sets the status', async () => {
    // actions/train uploads the model directory as model-<sha>; the gate downloads it by that name.
    const { DefaultArtifactClient } = await import('@actions/artifact');
    Object.assign(process.env, await results.env());
    const files = readdirSync(good, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.join(e.parentPath, e.name));
    await new DefaultArtifactClient().uploadArtifact('model-candidate', files, good);

    const r = await runAction({ model: 'model-candidate' });
    expect(r.code, r.stdout.slice(-3000)).toBe(0);
    expect(r.outputs.blessed).toBe('true');
    expect(r.outputs.decision).toBe('blessed');
    expect(r.outputs['model-dir']).toBe(path.join(work, 'cdl-candidate-model-candidate'));
    const metrics = JSON.parse(r.outputs.metrics!) as {
      metrics: { accuracy: number };
      baseline: { metrics: { accuracy: number } };
    };
    expect(metrics.metrics.accuracy).toBeGreaterThan(metrics.baseline.metrics.accuracy);
    expect(readFileSync(r.outputs.report!, 'utf8')).toContain('production: release `fashion-mnist@v1.0.0`');
    expect(existsSync(path.join(path.dirname(r.outputs.report!), 'report.html'))).toBe(true);
    expect(JSON.parse(readFileSync(r.outputs.blessing!, 'utf8'))).toMatchObject({
      decision: 'blessed',
      baseline: { tag: 'fashion-mnist@v1.0.0' },
    });
    expect(gh.comments).toHaveLength(1);
    expect(gh.comments[0]).toMatchObject({ issue: 3 });
    expect(gh.comments[0]!.body).toMatch(
      /^<!-- cdl-report: model=fashion-mnist -->\n## ✅ cdl evaluate-gate: fashion-mnist — blessed/,
    );
    expect(gh.statuses.at(-1)).toMatchObject({
      sha: HEAD,
      body: {
        state: 'success',
        context: 'cdl/evaluate-gate (fashion-mnist)',
        target_url: expect.stringContaining('/octo/models/actions/runs/42'),
      },
    });
    expect(r.summary).toContain('| accuracy |');
  });

  it('on the next push updates the same comment, and a damaged candidate fails the job naming the metrics', async () => {
    // The good model was released meanwhile: it is production now.
    gh.addRelease('fashion-mnist@v1.1.0', await releaseAssets(good, tempDir('cdl-gate-release-')));
    const r = await runAction({ model: damaged });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/baseline: production = (release )?fashion-mnist@v1\.1\.0/);
    expect(r.stdout).toMatch(/::error::fashion-mnist rejected: failed: accuracy .*macro_f1/);
    expect(r.outputs.blessed).toBe('false');
    expect(gh.comments).toHaveLength(1);
    expect(gh.comments[0]!.body).toContain('## ❌ cdl evaluate-gate: fashion-mnist — rejected');
    expect(gh.statuses.at(-1)).toMatchObject({ sha: HEAD, body: { state: 'failure' } });

    const soft = await runAction({ model: damaged, 'fail-on-reject': 'false', comment: 'false' });
    expect(soft.code, soft.stdout.slice(-2000)).toBe(0);
    expect(soft.stdout).toMatch(/::warning::fashion-mnist rejected/);
    expect(soft.outputs.blessed).toBe('false');

    const forced = await runAction({ model: damaged, 'force-bless': 'known regression, accepted in review' });
    expect(forced.code).toBe(0);
    expect(forced.outputs.blessed).toBe('true');
    expect(gh.comments).toHaveLength(1);
    expect(gh.comments[0]!.body).toContain('Force-blessed by octocat: known regression, accepted in review');

    const bad = await runAction({ model: damaged, 'force-bless': 'true' });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('::error::force-bless needs a reason');
  });

  it('made only requests that GitHub’s OpenAPI description allows', () => {
    expect(gh.requests.length).toBeGreaterThan(5);
    for (const req of gh.requests) {
      expect(validateRequest(req).errors, `${req.method} ${req.path}`).toEqual([]);
    }
  });
});
