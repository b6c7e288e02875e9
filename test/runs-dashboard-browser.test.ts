/**
 * The runs dashboard in a real browser (Debian's Chromium through playwright-core): the page
 * renders, every chart has its data marks drawn (points, lines, rules with area on the page and a
 * fill or a stroke), the runs table has a row per run, and the console stays free of errors.
 * Skipped when no Chromium is installed (CHROMIUM_PATH, else /usr/bin/chromium).
 */
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeDashboard } from '../src/runs/dashboard.js';
import { removeTempDirs, tempDir } from './helpers/example.js';
import { syntheticRuns } from './helpers/run-records.js';
import { CHROMIUM, launchChromium } from './helpers/browser.js';

const executable = CHROMIUM;

let browser: Browser;

beforeAll(async () => {
  if (!executable) return;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  removeTempDirs();
});

it.skipIf(!executable)('renders every chart with its marks drawn, the table, and no console errors', async () => {
  const runs = syntheticRuns(120);
  const file = await writeDashboard(runs, tempDir('cdl-runs-dash-'), { curves: 4 });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  try {
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const result = await page.evaluate(() => {
      const charts = [...document.querySelectorAll('svg[role="img"]')].map((svg) => {
        const box = svg.getBoundingClientRect();
        const marks = [
          ...svg.querySelectorAll('g.role-mark > path, g.role-mark > line, g.role-mark > circle, g.role-mark > text'),
        ] as SVGGraphicsElement[];
        const drawn = marks.filter((s) => {
          const r = s.getBoundingClientRect();
          const style = getComputedStyle(s);
          const painted = (style.fill !== 'none' && style.fill !== '') || (style.stroke !== 'none' && style.stroke !== '');
          return (r.width > 0 || r.height > 0) && painted && style.visibility !== 'hidden' && style.display !== 'none';
        }).length;
        return { label: svg.getAttribute('aria-label') ?? '', width: box.width, height: box.height, marks: marks.length, drawn };
      });
      return {
        title: document.querySelector('h1')?.textContent ?? '',
        charts,
        rows: document.querySelectorAll('table tbody tr').length,
        scripts: document.querySelectorAll('script').length,
      };
    });
    const shot = await page.screenshot({ fullPage: true });
    expect(errors).toEqual([]);
    expect(result.title).toBe('cdl runs');
    expect(result.scripts).toBe(0);
    expect(result.rows).toBe(120);
    expect(shot.length).toBeGreaterThan(50_000);
    expect(result.charts.map((c) => c.label)).toEqual([
      expect.stringMatching(/^fashion-mnist: accuracy over commits, 90 runs, 2 releases marked$/),
      expect.stringMatching(/^fashion-mnist: parallel coordinates of \d+ hyperparameters against accuracy, 120 runs$/),
      ...Array.from({ length: 4 }, () => expect.stringMatching(/^training curves of run /)),
    ]);
    for (const c of result.charts) {
      expect(c.width, c.label).toBeGreaterThan(200);
      expect(c.height, c.label).toBeGreaterThan(100);
      expect(c.marks, c.label).toBeGreaterThan(0);
      expect(c.drawn, c.label).toBe(c.marks);
    }
    // One point per push/PR/local/release run, two release rules and their labels; a line per run.
    expect(result.charts[0]!.drawn).toBe(90 + 2 + 2);
    expect(result.charts[1]!.drawn).toBe(120);
  } finally {
    await page.close();
  }
});
