#!/usr/bin/env node
// Release cdl itself, as GitHub's action repositories are released:
//   node scripts/release.mjs X.Y.Z
// On a clean work tree: builds the action bundles (scripts/build-actions.mjs) and refuses when they
// differ from the committed ones; writes the version into package.json, package-lock.json,
// src/version.ts, the pinned references of the callable workflows (<repository>/actions/<name>@vX.Y.Z,
// <repository>/.github/workflows/<file>.yml@vX.Y.Z) and the major version the starters, examples and
// docs call (@vX); dates the Unreleased section of CHANGELOG.md; commits, tags vX.Y.Z and moves vX.
// <repository> is package.json's `repository`, the one place that says where cdl is published from.
// Then push: git push origin HEAD vX.Y.Z && git push --force origin vX
// CDL_RELEASE_BUILD replaces the build command (a shell command; the tests use it to skip the
// minutes a real build takes).
import { execFileSync, execSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const fail = (message, code = 1) => {
  console.error(`release: ${message}`);
  process.exit(code);
};
const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const write = (file, text) => {
  const tmp = `${file}.release.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
};

const version = process.argv[2];
if (process.argv.length !== 3 || !/^\d+\.\d+\.\d+$/.test(version ?? ''))
  fail('usage: node scripts/release.mjs X.Y.Z (the version to release, e.g. 1.2.0)', 2);
const major = version.split('.')[0];
const pkgFile = path.join(root, 'package.json');
const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
const m = /github\.com[/:]([\w.-]+)\/([\w.-]+?)(\.git)?$/.exec(pkg.repository?.url ?? pkg.repository ?? '');
if (!m)
  fail('package.json: repository: expected {"url": "git+https://github.com/<owner>/<name>.git"}, where cdl is published from');
const repository = `${m[1]}/${m[2]}`;

if (git('status', '--porcelain'))
  fail('the work tree has changes; commit or stash them first (a release is made of committed files only)');
if (git('tag', '--list', `v${version}`)) fail(`the tag v${version} exists; a released version is never moved`);

// The bundles: built from the sources, and identical to what is committed.
const build = process.env.CDL_RELEASE_BUILD ?? `"${process.execPath}" scripts/build-actions.mjs`;
console.log(`release: building the bundles (${build})`);
try {
  execSync(build, { cwd: root, stdio: 'inherit' });
} catch {
  fail('building the bundles failed');
}
const changed = git('status', '--porcelain', '--', 'actions');
if (changed) fail(`the bundles built from the sources differ from the committed ones; commit them first:\n${changed}`);
const actions = readdirSync(path.join(root, 'actions'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(path.join(root, 'actions', d.name, 'action.yml')))
  .map((d) => d.name);
const missing = actions.filter((a) => !existsSync(path.join(root, 'actions', a, 'dist', 'index.js')));
if (missing.length) fail(`no committed bundle for ${missing.map((a) => `actions/${a}`).join(', ')} (dist/index.js)`);

// The version, wherever it is written.
pkg.version = version;
write(pkgFile, JSON.stringify(pkg, null, 2) + '\n');
const lockFile = path.join(root, 'package-lock.json');
if (existsSync(lockFile)) {
  const lock = JSON.parse(readFileSync(lockFile, 'utf8'));
  lock.version = version;
  if (lock.packages?.['']) lock.packages[''].version = version;
  write(lockFile, JSON.stringify(lock, null, 2) + '\n');
}
const versionFile = path.join(root, 'src', 'version.ts');
write(versionFile, readFileSync(versionFile, 'utf8').replace(/CDL_VERSION = '[^']*'/, `CDL_VERSION = '${version}'`));

const esc = repository.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const ref = new RegExp(`(${esc}/(?:actions/[\\w-]+|\\.github/workflows/[\\w.-]+\\.ya?ml))@v[\\w.-]+`, 'gi');
const rewrite = (dir, exts, to) => {
  const abs = path.join(root, dir);
  if (!existsSync(abs)) return [];
  const done = [];
  for (const f of readdirSync(abs)) {
    if (!exts.some((e) => f.endsWith(e))) continue;
    const file = path.join(abs, f);
    const text = readFileSync(file, 'utf8');
    const next = text.replace(ref, `$1@${to}`);
    if (next !== text) {
      write(file, next);
      done.push(path.join(dir, f));
    }
  }
  return done;
};
// The callable workflows pin every reference to this release: a call never mixes versions.
const pinned = rewrite('.github/workflows', ['.yml', '.yaml'], `v${version}`);
// What users copy calls the major version, which moves with each release.
const moved = [
  ...rewrite('workflows-templates', ['.yml'], `v${major}`),
  ...readdirSync(path.join(root, 'examples')).flatMap((e) =>
    rewrite(path.join('examples', e, '.github', 'workflows'), ['.yml'], `v${major}`),
  ),
  ...rewrite('docs', ['.md'], `v${major}`),
  ...rewrite('.', ['README.md'], `v${major}`),
];

const changelog = path.join(root, 'CHANGELOG.md');
if (!existsSync(changelog)) fail('CHANGELOG.md: missing; it needs a "## Unreleased" section saying what this release changes');
const log = readFileSync(changelog, 'utf8');
const unreleased = /^## Unreleased\s*\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(log);
if (!unreleased || !unreleased[1].trim())
  fail('CHANGELOG.md: "## Unreleased" is missing or empty; say what this release changes');
const date = new Date().toISOString().slice(0, 10);
write(changelog, log.replace(/^## Unreleased\s*\n/m, `## Unreleased\n\n## ${version} (${date})\n\n`));

git('add', '-A');
git('-c', 'commit.gpgsign=false', 'commit', '-q', '-m', `Release v${version}`);
git('-c', 'tag.gpgsign=false', 'tag', '-a', `v${version}`, '-m', `cdl v${version}`);
git('-c', 'tag.gpgsign=false', 'tag', '-f', '-a', `v${major}`, '-m', `cdl v${major}: v${version}`);
console.log(`release: v${version} tagged, v${major} moved to it`);
console.log(`  pinned to v${version}: ${pinned.join(', ') || 'nothing'}`);
console.log(`  calling v${major}: ${moved.join(', ') || 'nothing'}`);
console.log(`push: git push origin HEAD v${version} && git push --force origin v${major}`);
