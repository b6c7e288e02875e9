#!/usr/bin/env node
// Bundle every action (actions/<name>/src/index.ts) with ncc into actions/<name>/dist.
//   node scripts/build-actions.mjs [--out DIR] [--jobs N] [name ...]
// --out writes <DIR>/<name>/ instead, leaving the committed bundles alone (scripts/check-dist.sh rebuilds
// them in place and asks git whether anything changed).
// Each bundle is built in a process of its own, --jobs at a time (default 1): in one process ncc's heap grew
// from bundle to bundle (4.4 GB resident by the seventh; one bundle alone needs about 1.2 GB).
// Native runtimes stay outside the bundles: onnxruntime-node is reached through src/runtime/onnxruntime.ts,
// and tfjs-node(-gpu) are optional. The tfjs wasm binaries are copied next to the bundle.
import { spawn } from 'node:child_process';
import { cp, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const script = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const option = (flag) => {
  const i = args.indexOf(flag);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) usage(`${flag} needs a value`);
  args.splice(i, 2);
  return v;
};
function usage(message) {
  console.error(`build-actions: ${message}\nusage: node scripts/build-actions.mjs [--out DIR] [--jobs N] [name ...]`);
  process.exit(2);
}
const outArg = option('--out');
const jobsArg = option('--jobs');
const outRoot = outArg === undefined ? null : path.resolve(outArg);
const jobs = jobsArg === undefined ? 1 : Number(jobsArg);
if (!Number.isInteger(jobs) || jobs < 1) usage(`--jobs must be an integer >= 1, got "${jobsArg}"`);
const names = args;
const EXTERNALS = ['onnxruntime-node', 'onnxruntime-common', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];
const WASM = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

const all = (await readdir(path.join(root, 'actions'), { withFileTypes: true }))
  .filter((d) => d.isDirectory() && existsSync(path.join(root, 'actions', d.name, 'src', 'index.ts')))
  .map((d) => d.name)
  .sort();
for (const n of names) if (!all.includes(n)) usage(`no action "${n}"; expected one of ${all.join(', ')}`);
const todo = names.length ? names : all;

if (todo.length === 1) await bundle(todo[0]);
else await buildEach(todo);

/** One process per bundle, `jobs` of them at a time. */
async function buildEach(list) {
  const queue = [...list];
  const failed = [];
  const t0 = Date.now();
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const code = await new Promise((resolve) => {
        const child = spawn(process.execPath, [script, ...(outRoot ? ['--out', outRoot] : []), name], { stdio: 'inherit' });
        child.on('error', () => resolve(1));
        child.on('close', (c) => resolve(c ?? 1));
      });
      if (code !== 0) failed.push(name);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, list.length) }, worker));
  if (failed.length) {
    console.error(`build-actions: failed to bundle ${failed.join(', ')}`);
    process.exit(1);
  }
  console.log(`${list.length} bundles in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${jobs} at a time`);
}

async function bundle(name) {
  const { default: ncc } = await import('@vercel/ncc');
  const entry = path.join(root, 'actions', name, 'src', 'index.ts');
  const dist = outRoot ? path.join(outRoot, name) : path.join(root, 'actions', name, 'dist');
  const t0 = Date.now();
  const { code, assets } = await ncc(entry, {
    externals: EXTERNALS,
    minify: false,
    sourceMap: false,
    license: 'licenses.txt',
    quiet: true,
    target: 'es2022',
    cache: false,
  });
  const tmp = `${dist}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await writeFile(path.join(tmp, 'index.js'), code);
  for (const [file, asset] of Object.entries(assets)) {
    // ncc copies the whole package.json; the bundle only needs to be marked as ESM.
    if (file === 'package.json') continue;
    const p = path.join(tmp, file);
    await mkdir(path.dirname(p), { recursive: true });
    await writeFile(p, asset.source);
  }
  await writeFile(path.join(tmp, 'package.json'), '{ "type": "module" }\n');
  await mkdir(path.join(tmp, 'wasm'));
  for (const w of WASM) {
    await cp(path.join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist', w), path.join(tmp, 'wasm', w));
  }
  await rm(dist, { recursive: true, force: true });
  await mkdir(path.dirname(dist), { recursive: true });
  await rename(tmp, dist);
  const cpu = process.cpuUsage();
  console.log(
    `actions/${name}: bundled in ${((Date.now() - t0) / 1000).toFixed(1)} s ` +
      `(${((cpu.user + cpu.system) / 1e6).toFixed(1)} s of CPU) → ${path.relative(root, dist) || dist}`,
  );
}
