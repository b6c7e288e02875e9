/**
 * The runs dashboard at 1,000 runs: reading them from a cdl-runs branch (one file per run),
 * rendering the page, its size (raw and gzip, as GitHub Pages serves it) and its load in Chromium.
 * Records bench/results/runs-dashboard.md.
 *
 *   npx tsx bench/runs-dashboard.ts [--runs 1000]
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { writeDashboard } from '../src/runs/dashboard.js';
import { readRecords, recordPath } from '../src/runs/store.js';
import { syntheticRuns } from '../test/helpers/run-records.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argRuns = process.argv.indexOf('--runs');
const N = argRuns > 0 ? Number(process.argv[argRuns + 1]) : 1000;

const work = await mkdtemp(path.join(os.tmpdir(), 'cdl-bench-runs-'));
try {
  const git = (args: string[], env: Record<string, string> = {}, input?: string) =>
    execFileSync('git', args, { cwd: work, encoding: 'utf8', env: { ...process.env, ...env }, input }).trim();
  git(['init', '-q', '-b', 'main']);
  const runs = syntheticRuns(N);
  // The branch as N writers would have left it, built in one commit (appending is measured in tests).
  const index = { GIT_INDEX_FILE: path.join(work, '.bench-index') };
  for (const r of runs) {
    const blob = git(['hash-object', '-w', '--stdin'], {}, JSON.stringify(r, null, 2) + '\n');
    git(['update-index', '--add', '--cacheinfo', `100644,${blob},${recordPath(r)}`], index);
  }
  const tree = git(['write-tree'], index);
  const commit = git(['-c', 'user.name=b', '-c', 'user.email=b@l', 'commit-tree', tree, '-m', 'runs'], {});
  git(['update-ref', 'refs/heads/cdl-runs', commit]);

  const load0 = os.loadavg();
  const t0 = performance.now();
  const read = await readRecords(work, { remote: null });
  const t1 = performance.now();
  const file = await writeDashboard(
    read.map((s) => s.record),
    path.join(work, 'site'),
  );
  const t2 = performance.now();
  const html = await readFile(file);
  const gz = gzipSync(html, { level: 9 }).length;
  const svgs = (html.toString('utf8').match(/<svg role="img"/g) ?? []).length;

  let browserMs: number | null = null;
  const exe = [process.env.CHROMIUM_PATH, '/usr/bin/chromium'].find((f) => f && existsSync(f));
  if (exe) {
    const browser = await chromium.launch({
      executablePath: exe,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const b0 = performance.now();
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      browserMs = performance.now() - b0;
    } finally {
      await browser.close();
    }
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
  const md = `# Runs dashboard at ${N} runs

| figure | value |
|---|---|
| runs | ${N} (synthetic: pushes, pull requests, tuning trials, local runs, a release every 50; 5 epochs of history each) |
| read from the cdl-runs branch (${N} files, git cat-file --batch) | ${(t1 - t0).toFixed(0)} ms |
| render the page (${svgs} charts through Vega-Lite → SVG) | ${(t2 - t1).toFixed(0)} ms |
| page size | ${kib(html.length)} (${html.length} bytes) |
| page size, gzip -9 (as served) | ${kib(gz)} (${gz} bytes) |
| bytes per run | ${(html.length / N).toFixed(0)} raw, ${(gz / N).toFixed(0)} gzip |
| Chromium load (file://, until load) | ${browserMs === null ? 'not measured (no Chromium)' : `${browserMs.toFixed(0)} ms`} |

Size is linear in the runs: the table (one row each), the main-metric chart (one point each, tuning
trials excluded) and the parallel coordinates (one line each); the training curves are the 12
most recent runs only.

- Machine: ${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()}-${os.arch()}, Node ${process.version}
- Load average at the start: ${load0.map((x) => x.toFixed(2)).join(', ')} (a shared machine; timings are indicative, sizes are exact)
- Date: ${new Date().toISOString()}
- Command: \`npx tsx bench/runs-dashboard.ts --runs ${N}\`
`;
  await writeFile(path.join(root, 'bench', 'results', 'runs-dashboard.md'), md);
  process.stdout.write(md);
} finally {
  await rm(work, { recursive: true, force: true });
}
