/**
 * Where int8-static spends its time: the fp32 parent of bench/compress.ts and its int8-static form
 * (quantizeStatic with default options, MinMax on 1000 training images) in onnxruntime-node at
 * batch 64, with onnxruntime's profiler giving each optimized node's median kernel time over 50
 * runs, and the throughput ratio measured as in bench/compress.ts (alternating rounds of 20
 * batches, median of the rounds).
 *
 * Run: npx tsx bench/compress-profile.ts [--min-conv-input-channels N] [--threads N] [--rounds N]
 * (after bench/compress.ts has trained the parent); writes bench/results/compress.profile.md.
 */
import { readFileSync, readdirSync, rmSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { quantizeStatic } from '../src/onnx/quantize-static.js';
import { loadOrt } from '../src/runtime/onnxruntime.js';

// A benchmark trains the example's configuration, which lives in this checkout: never record those runs here.
process.env.CDL_RUNS ??= 'off';

const root = fileURLToPath(new URL('..', import.meta.url));
const FULL = '/usr/share/datasets/fashion-mnist';
const { values } = parseArgs({
  options: {
    'min-conv-input-channels': { type: 'string' },
    threads: { type: 'string' },
    rounds: { type: 'string', default: '15' },
  },
});
const { ort } = await loadOrt();
const parent = new Uint8Array(readFileSync(path.join(root, '.cdl', 'bench', 'compress', 'parent', 'model.onnx')));
const images = (f: string, n: number): Float32Array => {
  const b = gunzipSync(readFileSync(path.join(FULL, f)));
  return Float32Array.from(b.subarray(16, 16 + n * 784), (v) => v / 255);
};
const minConv = values['min-conv-input-channels'] ? Number(values['min-conv-input-channels']) : undefined;
const candidate = (
  await quantizeStatic(parent, {
    ort,
    calibration: { x: images('train-images-idx3-ubyte.gz', 1000), n: 1000, shape: [28, 28, 1] },
    method: 'minmax',
    minConvInputChannels: minConv,
  })
).bytes;
const x = images('t10k-images-idx3-ubyte.gz', 64);
const opts = { graphOptimizationLevel: 'all' as const, ...(values.threads ? { intraOpNumThreads: Number(values.threads) } : {}) };
const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
const loadBefore = os.loadavg();

const sessions = await Promise.all([parent, candidate].map((b) => ort.InferenceSession.create(b, opts)));
const feeds = sessions.map((s) => ({ [s.inputNames[0]!]: new ort.Tensor('float32', x, [64, 28, 28, 1]) }));
for (let i = 0; i < 2; i++) for (let k = 0; k < 5; k++) await sessions[i]!.run(feeds[i]!);
const ratios: number[] = [];
const perSecond: number[][] = [[], []];
for (let round = 0; round < Number(values.rounds); round++) {
  const ms: number[] = [];
  for (let i = 0; i < 2; i++) {
    const t = performance.now();
    for (let k = 0; k < 20; k++) await sessions[i]!.run(feeds[i]!);
    ms.push(performance.now() - t);
    perSecond[i]!.push((64 * 20 * 1000) / ms[i]!);
  }
  ratios.push(ms[0]! / ms[1]!);
}
for (const s of sessions) await s.release();

/** Median kernel time (µs) of each node of the optimized graph, in execution order. */
async function profile(bytes: Uint8Array): Promise<Array<[string, number]>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cdl-profile-'));
  const s = await ort.InferenceSession.create(bytes, { ...opts, enableProfiling: true, profileFilePrefix: path.join(dir, 'p') });
  const f = { [s.inputNames[0]!]: new ort.Tensor('float32', x, [64, 28, 28, 1]) };
  for (let k = 0; k < 50; k++) await s.run(f);
  await s.release();
  const file = readdirSync(dir).find((n) => n.endsWith('.json'))!;
  const events = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Array<{
    cat: string;
    name: string;
    dur: number;
    args?: { op_name?: string };
  }>;
  rmSync(dir, { recursive: true, force: true });
  const times = new Map<string, number[]>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const k = `${e.args?.op_name ?? '?'} \`${e.name.replace(/_kernel_time$/, '')}\``;
    (times.get(k) ?? times.set(k, []).get(k)!).push(e.dur);
  }
  return [...times].map(([k, v]) => [k, median(v)]);
}
const profiles = [await profile(parent), await profile(candidate)];
const table = (p: Array<[string, number]>) => [
  '| node | µs |',
  '|---|---:|',
  ...p.map(([k, v]) => `| ${k} | ${v} |`),
  `| total | ${p.reduce((a, [, v]) => a + v, 0)} |`,
];
const md = [
  '# int8-static per-node profile (example CNN, batch 64)',
  '',
  `\`npx tsx bench/compress-profile.ts${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}\` on ${os.cpus()[0]?.model} (${os.cpus().length} cores shared with other work), ${new Date().toISOString().slice(0, 10)}, onnxruntime-node ${ort.env.versions.common}, ${values.threads ? `${values.threads} intra-op threads` : 'default threads'}; load average (1, 5, 15 min) ${loadBefore.map((v) => v.toFixed(2)).join(', ')} before, ${os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(', ')} after.`,
  '',
  `Throughput ratio int8-static / parent: **${median(ratios).toFixed(2)}** (median of ${ratios.length} alternating rounds of 20 batches; parent ${median(perSecond[0]!).toFixed(0)}/s, int8-static ${median(perSecond[1]!).toFixed(0)}/s).`,
  '',
  "Median kernel time of each node of onnxruntime's optimized graph over 50 runs:",
  '',
  '## parent (fp32)',
  '',
  ...table(profiles[0]!),
  '',
  `## int8-static${minConv !== undefined ? ` (minConvInputChannels ${minConv})` : ''}`,
  '',
  ...table(profiles[1]!),
  '',
].join('\n');
if (minConv === undefined && !values.threads) writeFileSync(path.join(root, 'bench', 'results', 'compress.profile.md'), md);
process.stdout.write(md);
