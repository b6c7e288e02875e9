/**
 * The HTML report in a real browser (Debian's Chromium through playwright-core): it renders, its
 * charts draw (every SVG chart has a size and its bars, lines and points have area on the page),
 * and the console stays free of errors. Two reports: one of a trained model gated by `cdl gate`
 * without a baseline, and one against a production baseline with a release history.
 * Skipped when no Chromium is installed (CHROMIUM_PATH, else /usr/bin/chromium).
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateSection } from '../src/config/schema.js';
import { decide, type EvaluatedModel, type Evaluation } from '../src/evaluate/index.js';
import { htmlReport } from '../src/report/index.js';
import { EXAMPLE_CONFIG, QUICK, removeTempDirs, runCli, tempDir } from './helpers/example.js';

const executable = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((f) => f && existsSync(f));

interface PageCheck {
  title: string;
  errors: string[];
  charts: Array<{ label: string; width: number; height: number; shapes: number; drawn: number }>;
  tables: number;
  /** Size of a full-page PNG screenshot: a blank page compresses to almost nothing. */
  screenshotBytes: number;
}

let browser: Browser;

beforeAll(async () => {
  if (!executable) return;
  browser = await chromium.launch({
    executablePath: executable,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
});

afterAll(async () => {
  await browser?.close();
  removeTempDirs();
});

async function open(file: string): Promise<PageCheck> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  try {
    const response = await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    expect(response?.ok() ?? true).toBe(true);
    const result = await page.evaluate(() => {
      const charts = [...document.querySelectorAll('svg')].map((svg) => {
        const box = svg.getBoundingClientRect();
        const shapes = [...svg.querySelectorAll('rect, path, circle, line, polyline')] as SVGGraphicsElement[];
        // Drawn: the shape has area on the page and is painted (a fill or a stroke).
        const drawn = shapes.filter((s) => {
          const r = s.getBoundingClientRect();
          const style = getComputedStyle(s);
          const painted = (style.fill !== 'none' && style.fill !== '') || (style.stroke !== 'none' && style.stroke !== '');
          return (r.width > 0 || r.height > 0) && painted && style.visibility !== 'hidden' && style.display !== 'none';
        }).length;
        return {
          label: svg.getAttribute('aria-label') ?? '',
          width: box.width,
          height: box.height,
          shapes: shapes.length,
          drawn,
        };
      });
      return {
        title: document.querySelector('h1')?.textContent ?? '',
        charts,
        tables: document.querySelectorAll('table').length,
      };
    });
    const shot = await page.screenshot({ fullPage: true });
    return { ...result, errors, screenshotBytes: shot.length };
  } finally {
    await page.close();
  }
}

function expectCharts(check: PageCheck, labels: RegExp[]): void {
  expect(check.errors).toEqual([]);
  expect(check.screenshotBytes).toBeGreaterThan(20_000);
  expect(check.charts.map((c) => c.label)).toEqual(labels.map((l) => expect.stringMatching(l)));
  for (const c of check.charts) {
    expect(c.width, c.label).toBeGreaterThan(100);
    expect(c.height, c.label).toBeGreaterThan(50);
    expect(c.shapes, c.label).toBeGreaterThan(0);
    expect(c.drawn, c.label).toBe(c.shapes);
  }
}

const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

function evaluated(accuracy: number, sha: string): EvaluatedModel {
  const n = 200;
  const correct = Array.from({ length: n }, (_, i) => (i / n < accuracy ? 1 : 0));
  const confusion = CLASSES.map((_, t) =>
    CLASSES.map((__, p) => (p === t ? Math.round(20 * accuracy) : p === (t + 1) % 10 ? 20 - Math.round(20 * accuracy) : 0)),
  );
  const evaluation: Evaluation = {
    schema_version: 1,
    model: {
      dir: `/m/${sha}`,
      name: 'fashion-mnist',
      sha256: sha.repeat(64).slice(0, 64),
      size_bytes: 940_000,
      input: { name: 'input', shape: ['N', 28, 28, 1], layout: 'as-is', fed: [28, 28, 1] },
      outputs: 'probabilities',
      producer: 'cdl',
      commit: null,
    },
    task: 'classification',
    data: { split: 'test', examples: n, version: 'sha256:0123456789abcdef0123', source: '/data' },
    metrics: { accuracy, macro_f1: accuracy - 0.01, latency_p95_ms: 0.2, size_bytes: 940_000 },
    classes: CLASSES,
    per_class: CLASSES.map((c, i) => ({
      class: c,
      precision: accuracy - i * 0.02,
      recall: accuracy - i * 0.01,
      f1: accuracy - i * 0.015,
      support: 20,
    })),
    confusion,
    timing: { predict_seconds: 0.01, examples_per_second: 20_000, latency_runs: 10, throughput_batches: 0 },
    created_at: '2026-01-01T00:00:00.000Z',
  };
  const labels = new Int32Array(n);
  return {
    evaluation,
    perExample: { labels, pred: Int32Array.from(correct, (c) => (c ? 0 : 1)), correct: Uint8Array.from(correct), classes: 10 },
    modelDir: { dir: `/m/${sha}`, onnxPath: '', hasTfjs: false, onnx: new Uint8Array(0), sha256: sha },
  };
}

describe.skipIf(!executable)('the HTML report in Chromium', () => {
  it('against production with a release history: per-class F1 and the metric across releases draw', async () => {
    const cand = evaluated(0.82, 'c');
    const base = evaluated(0.86, 'b');
    const gate = gateSection.parse({ metrics: { accuracy: { min: 0.7, max_regression: 0.01 } } });
    const blessing = decide(cand, {
      gate,
      model: 'fashion-mnist',
      baseline: { evaluated: base, identity: { kind: 'release', ref: 'production', tag: 'fashion-mnist@v1.1.0' } },
    });
    const file = path.join(tempDir('cdl-report-html-'), 'report.html');
    const history = [
      { label: 'fashion-mnist@v1.0.0', value: 0.84 },
      { label: 'fashion-mnist@v1.1.0', value: 0.86 },
    ];
    writeFileSync(file, htmlReport({ blessing, candidate: cand.evaluation, baseline: base.evaluation, history }));
    const check = await open(file);
    expect(check.title).toMatch(/fashion-mnist — rejected/);
    expect(check.tables).toBeGreaterThanOrEqual(3);
    expectCharts(check, [/^Per-class F1$/, /^accuracy across releases$/]);
    // The line across releases passes through one point per release and one for the candidate.
    expect(check.charts[1]!.shapes).toBe(4);
  });

  it('the checks are live: a script error and a chart that draws nothing are caught', async () => {
    const file = path.join(tempDir('cdl-report-broken-'), 'report.html');
    writeFileSync(
      file,
      '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>x</title></head><body><h1>x</h1>' +
        '<svg aria-label="Per-class F1" width="300" height="100"><rect width="0" height="0" fill="red"/><path d="M0,0 L10,10" stroke="none" fill="none"/></svg>' +
        '<script>undefinedFunction()</script></body></html>',
    );
    const check = await open(file);
    expect(check.errors).toEqual([expect.stringMatching(/page error: .*undefinedFunction/)]);
    expect(check.charts).toEqual([{ label: 'Per-class F1', width: 300, height: 100, shapes: 2, drawn: 0 }]);
    expect(check.screenshotBytes).toBeLessThan(20_000);
  });

  it('of a model trained and gated by cdl: renders with its chart and no console errors', async () => {
    const dir = tempDir('cdl-report-real-');
    const model = path.join(dir, 'model');
    const set = QUICK.flatMap((s) => ['--set', s]);
    const trained = await runCli(['train', '--config', EXAMPLE_CONFIG, '--out', model, ...set], { cwd: dir });
    expect(trained.code, trained.stderr).toBe(0);
    const reportDir = path.join(dir, 'report');
    const gated = await runCli(
      [
        'gate',
        '--config',
        EXAMPLE_CONFIG,
        '--model',
        model,
        '--baseline',
        'none',
        '--no-comment',
        '--report-dir',
        reportDir,
        ...set,
      ],
      {
        cwd: dir,
        env: { CDL_FORGE: 'local' },
      },
    );
    expect(gated.code, gated.stderr).toBe(0);
    const check = await open(path.join(reportDir, 'report.html'));
    expect(check.title).toMatch(/fashion-mnist — blessed/);
    expectCharts(check, [/^Per-class F1$/]);
  });
});
