#!/usr/bin/env node
// Bundle every action (actions/<name>/src/index.ts) with esbuild into actions/<name>/dist.
//   node scripts/build-actions.mjs [--out DIR] [name ...]
// --out writes <DIR>/<name>/ instead, leaving the committed bundles alone (scripts/check-dist.sh rebuilds
// them in place and asks git whether anything changed).
//
// Each dist/ holds: index.js (one ES module, no chunks), package.json marking it as ESM, wasm/ with the
// tfjs wasm binaries (src/train/backend.ts looks for them beside the bundle), and licenses.txt naming
// every bundled third-party package with its licence text.
// Native runtimes stay outside the bundles: onnxruntime-node is reached through src/runtime/onnxruntime.ts,
// and tfjs-node(-gpu) are optional. `canvas` is an optional dependency of vega that cdl does not use.
//
// esbuild replaced ncc (webpack): a bundle takes seconds and little memory instead of about 50 s and 1.2 GB.
// The output is byte-for-byte reproducible and free of this machine's paths: module comments are relative
// to the repository root and symlinks are not followed (a shared, symlinked node_modules gives the same
// bytes as a clone's own install).
import { cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
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
  console.error(`build-actions: ${message}\nusage: node scripts/build-actions.mjs [--out DIR] [name ...]`);
  process.exit(2);
}
const outArg = option('--out');
const outRoot = outArg === undefined ? null : path.resolve(outArg);
const unknown = args.find((a) => a.startsWith('--'));
if (unknown) usage(`unknown option ${unknown}`);
const names = args;
const EXTERNALS = ['onnxruntime-node', 'onnxruntime-common', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'canvas'];
const WASM = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];
// An ES module has no require, __filename or __dirname; the bundled CommonJS packages use them. The names
// are private to the banner; `define` points the bundled code's free uses at them.
const BANNER = [
  "import { createRequire as __cdlCreateRequire } from 'node:module';",
  "import { dirname as __cdlDirname } from 'node:path';",
  "import { fileURLToPath as __cdlFileURLToPath } from 'node:url';",
  'const require = __cdlCreateRequire(import.meta.url);',
  'const __cdl_filename = __cdlFileURLToPath(import.meta.url);',
  'const __cdl_dirname = __cdlDirname(__cdl_filename);',
].join('\n');

const all = (await readdir(path.join(root, 'actions'), { withFileTypes: true }))
  .filter((d) => d.isDirectory() && existsSync(path.join(root, 'actions', d.name, 'src', 'index.ts')))
  .map((d) => d.name)
  .sort();
for (const n of names) if (!all.includes(n)) usage(`no action "${n}"; expected one of ${all.join(', ')}`);
const todo = names.length ? names : all;

const t0 = Date.now();
const failed = [];
for (const name of todo) {
  try {
    await bundle(name);
  } catch (e) {
    // esbuild has printed its errors already.
    console.error(`build-actions: actions/${name}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    failed.push(name);
  }
}
// Ends esbuild's service process (and lets this process account for its CPU time).
await esbuild.stop();
if (failed.length) {
  console.error(`build-actions: failed to bundle ${failed.join(', ')}`);
  process.exit(1);
}
if (todo.length > 1) console.log(`${todo.length} bundles in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

async function bundle(name) {
  const entry = path.join('actions', name, 'src', 'index.ts');
  const dist = outRoot ? path.join(outRoot, name) : path.join(root, 'actions', name, 'dist');
  const start = Date.now();
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    write: false,
    outfile: 'index.js',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNALS,
    banner: { js: BANNER },
    define: { __filename: '__cdl_filename', __dirname: '__cdl_dirname' },
    // Class and function names stay as written (errors and registries read .name); esbuild would
    // otherwise rename clashing top-level names.
    keepNames: true,
    preserveSymlinks: true,
    legalComments: 'eof',
    sourcemap: false,
    minify: false,
    metafile: true,
    logLevel: 'warning',
  });
  if (result.outputFiles.length !== 1) throw new Error(`expected one output file, got ${result.outputFiles.length}`);
  const tmp = `${dist}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(path.join(tmp, 'wasm'), { recursive: true });
  await writeFile(path.join(tmp, 'index.js'), result.outputFiles[0].contents);
  await writeFile(path.join(tmp, 'package.json'), '{ "type": "module" }\n');
  await writeFile(path.join(tmp, 'licenses.txt'), await licenses(Object.keys(result.metafile.inputs)));
  for (const w of WASM) {
    await cp(path.join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist', w), path.join(tmp, 'wasm', w));
  }
  await rm(dist, { recursive: true, force: true });
  await mkdir(path.dirname(dist), { recursive: true });
  await rename(tmp, dist);
  console.log(`actions/${name}: bundled in ${((Date.now() - start) / 1000).toFixed(1)} s → ${path.relative(root, dist) || dist}`);
}

/** The package directory of a bundled input (`node_modules/a/node_modules/@s/b/x.js` → `…/@s/b`), or null. */
function packageDir(input) {
  const parts = input.split('/');
  const i = parts.lastIndexOf('node_modules');
  if (i < 0 || i + 1 >= parts.length) return null;
  const n = parts[i + 1].startsWith('@') ? 2 : 1;
  return parts.slice(0, i + 1 + n).join('/');
}

/** licenses.txt: each bundled package (by name, then path), its licence identifier and licence file(s). */
async function licenses(inputs) {
  const dirs = [...new Set(inputs.map(packageDir).filter((d) => d !== null))];
  const entries = [];
  for (const dir of dirs) {
    const abs = path.join(root, dir);
    const pkg = JSON.parse(await readFile(path.join(abs, 'package.json'), 'utf8'));
    const id =
      typeof pkg.license === 'string'
        ? pkg.license
        : (pkg.license?.type ?? (Array.isArray(pkg.licenses) ? pkg.licenses.map((l) => l.type ?? l).join(' OR ') : 'UNKNOWN'));
    const files = (await readdir(abs, { withFileTypes: true }))
      .filter((e) => e.isFile() && /^(licen[cs]e|copying|notice)([.-].*)?$/i.test(e.name))
      .map((e) => e.name)
      .sort();
    const texts = [];
    for (const f of files) texts.push((await readFile(path.join(abs, f), 'utf8')).replace(/\r\n?/g, '\n').trimEnd());
    entries.push({ key: `${pkg.name}\0${dir}`, text: [`${pkg.name}@${pkg.version}`, id, ...texts].join('\n') });
  }
  entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return entries.map((e) => e.text).join('\n\n') + '\n';
}
