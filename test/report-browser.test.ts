/**
 * The HTML report in a real browser (Debian's Chromium through playwright-core): it renders, its
 * charts draw (every SVG chart has a size and its bars, lines and points have area on the page),
 * the thumbnails of the changed examples load and show, and the console stays free of errors. Two reports: one of a trained model gated by `cdl gate`
 * without a baseline, and one against a production baseline with a release history.
 * Skipped when no Chromium is installed (CHROMIUM_PATH, else /usr/bin/chromium).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateSection } from '../src/config/schema/gate.js';
import { decide, predictionChanges, type EvaluatedModel, type Evaluation } from '../src/evaluate/index.js';
import { htmlReport, thumbnailUris } from '../src/report/index.js';
import { EXAMPLE_CONFIG, QUICK, removeTempDirs, runCli, tempDir } from './helpers/example.js';
import { CHROMIUM, launchChromium } from './helpers/browser.js';

const executable = CHROMIUM;

interface PageCheck {
  title: string;
  errors: string[];
  /** Every SVG: its size, its data marks (Vega's role-mark groups; every shape in a hand-made SVG) and how many are painted. */
  charts: Array<{ label: string; width: number; height: number; shapes: number; drawn: number }>;
  /** Thumbnails of the changed examples: loaded, decoded and with area on the page. */
  thumbnails: Array<{ alt: string; visible: boolean }>;
  tables: number;
  /** Size of a full-page PNG screenshot: a blank page compresses to almost nothing. */
  screenshotBytes: number;
}

let browser: Browser;

beforeAll(async () => {
  if (!executable) return;
  browser = await launchChromium();
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
        const all = 'rect, path, circle, line, polyline';
        const marks = all
          .split(', ')
          .map((t) => `g.role-mark > ${t}`)
          .join(', ');
        const shapes = [...svg.querySelectorAll(svg.querySelector('g.role-mark') ? marks : all)] as SVGGraphicsElement[];
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
      const thumbnails = [...document.querySelectorAll('#changed-examples img')].map((el) => {
        const img = el as HTMLImageElement;
        const r = img.getBoundingClientRect();
        return { alt: img.alt, visible: img.complete && img.naturalWidth > 0 && r.width > 20 && r.height > 20 };
      });
      return {
        title: document.querySelector('h1')?.textContent ?? '',
        charts,
        thumbnails,
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

/** 200 test examples, label i % 10; the model is right where ((i + shift) mod 200) / 200 < accuracy. */
function evaluated(accuracy: number, sha: string, shift = 0): EvaluatedModel {
  const n = 200;
  const correct = Array.from({ length: n }, (_, i) => (((i + shift) % n) / n < accuracy ? 1 : 0));
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
  const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
  return {
    evaluation,
    perExample: {
      labels,
      pred: Int32Array.from(correct, (c, i) => (c ? labels[i]! : (labels[i]! + 1) % 10)),
      correct: Uint8Array.from(correct),
      classes: 10,
    },
    modelDir: { dir: `/m/${sha}`, onnxPath: '', hasTfjs: false, onnx: new Uint8Array(0), sha256: sha },
  };
}

describe.skipIf(!executable)('the HTML report in Chromium', () => {
  it('against production: per-class F1 and its change, the changed examples as thumbnails, both training curves and the releases draw', async () => {
    const cand = evaluated(0.82, 'c', 30);
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
    // Production is wrong on examples 172–199, the candidate on 134–169: 28 fixed, 36 broken.
    const changes = predictionChanges(cand.perExample, base.perExample, CLASSES)!;
    expect([changes.fixed, changes.broken]).toEqual([28, 36]);
    // 28×28 test images: a bright square whose size and place depend on the example.
    const x = new Float32Array(200 * 784);
    for (let i = 0; i < 200; i++)
      for (let r = 4; r < 10 + (i % 14); r++) for (let c = 2 + (i % 7); c < 20; c++) x[i * 784 + r * 28 + c] = 0.9;
    const listed = [...changes.examples.fixed, ...changes.examples.broken].map((e) => e.index);
    const epochs = (acc: number[]) =>
      acc.map((a, i) => ({ epoch: i + 1, loss: 1.2 - a, accuracy: a, val_loss: 1.3 - a, val_accuracy: a - 0.01 }));
    const html = await htmlReport({
      blessing,
      candidate: cand.evaluation,
      baseline: base.evaluation,
      history,
      changes,
      thumbnails: thumbnailUris(x, [28, 28, 1], listed),
      curves: { candidate: epochs([0.7, 0.78, 0.82]), baseline: epochs([0.72, 0.8, 0.84, 0.86]) },
    });
    writeFileSync(file, html);
    const check = await open(file);
    // 28 fixed against 36 broken is within noise: the gate lets it through.
    expect(check.title).toMatch(/fashion-mnist — blessed/);
    expect(check.tables).toBeGreaterThanOrEqual(4);
    expectCharts(check, [
      /^Per-class F1$/,
      /^Per-class change of recall against production$/,
      /^Loss per epoch$/,
      /^accuracy per epoch$/,
      /^accuracy across releases$/,
    ]);
    // Bars: one per class and model; one per class for the change.
    expect(check.charts[0]!.shapes).toBe(20);
    expect(check.charts[1]!.shapes).toBe(10);
    // Curves: a line per model and split (4) and a point per epoch (2 × (3 + 4)).
    expect(check.charts[2]!.shapes).toBe(4 + 14);
    // The line across releases passes through one point per release and one for the candidate.
    expect(check.charts[4]!.shapes).toBe(4);
    // Every changed example is shown as a thumbnail that loaded: the 36 broken first, then the 28 fixed.
    expect(check.thumbnails).toHaveLength(64);
    expect(check.thumbnails.every((t) => t.visible)).toBe(true);
    expect(check.thumbnails.map((t) => Number(/test example (\d+)/.exec(t.alt)![1]))).toEqual([
      ...changes.examples.broken.map((e) => e.index),
      ...changes.examples.fixed.map((e) => e.index),
    ]);
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
    // No baseline: no changes to show, but the candidate's own training curves.
    expectCharts(check, [/^Per-class F1$/, /^Loss per epoch$/, /^accuracy per epoch$/]);
    expect(check.thumbnails).toEqual([]);
  });
});
