#!/usr/bin/env node
// Install the project's npm packages when node_modules is missing or older than package-lock.json,
// so `npm run example` and `npm test` work right after cloning. Offline-safe: onnxruntime-node's
// CUDA download is skipped (see .npmrc).
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const stamp = path.join(root, 'node_modules', '.package-lock.json');
const lock = path.join(root, 'package-lock.json');
// A node_modules that is a link belongs to another checkout's install: never reinstall through it.
const linked = existsSync(path.join(root, 'node_modules')) && lstatSync(path.join(root, 'node_modules')).isSymbolicLink();
if (!linked && (!existsSync(stamp) || statSync(stamp).mtimeMs < statSync(lock).mtimeMs)) {
  console.error('installing npm packages (npm ci)…');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
  });
}
