#!/usr/bin/env node
// Bundle every action (actions/<name>/src/index.ts) with ncc into actions/<name>/dist.
//   node scripts/build-actions.mjs [--out DIR] [name ...]
// --out writes <DIR>/<name>/ instead, leaving the committed bundles alone (scripts/check-dist.sh rebuilds
// them in place and asks git whether anything changed).
// Native runtimes stay outside the bundles: onnxruntime-node is reached through src/runtime/onnxruntime.ts,
// and tfjs-node(-gpu) are optional. The tfjs wasm binaries are copied next to the bundle.
import { cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ncc from '@vercel/ncc';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const outIdx = args.indexOf('--out');
const outRoot = outIdx >= 0 ? path.resolve(args[outIdx + 1]) : null;
const names = args.filter((a, i) => outIdx < 0 || (i !== outIdx && i !== outIdx + 1));

const EXTERNALS = ['onnxruntime-node', 'onnxruntime-common', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];
const WASM = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

const all = (await readdir(path.join(root, 'actions'), { withFileTypes: true }))
  .filter((d) => d.isDirectory() && existsSync(path.join(root, 'actions', d.name, 'src', 'index.ts')))
  .map((d) => d.name)
  .sort();
const todo = names.length ? names : all;

for (const name of todo) {
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
  const { rename } = await import('node:fs/promises');
  await rename(tmp, dist);
  console.log(`actions/${name}: bundled in ${((Date.now() - t0) / 1000).toFixed(1)} s → ${path.relative(root, dist) || dist}`);
}
