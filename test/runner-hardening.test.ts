/**
 * `cdl run` against hostile workflows, in temporary git repositories: local actions and reusable
 * workflows outside the repository, hashFiles() outside the workspace, a YAML alias bomb, typed
 * workflow_dispatch inputs, and a step that tries the results server without (and with) its token.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runWorkflow, type RunOptions } from '../runner/engine/workflow-run.js';
import { hashFilesSync } from '../runner/engine/glob.js';
import { exitCodeOf } from '../src/util/errors.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dirs: string[] = [];

/** A git repository in a temp dir holding `files` (path -> text), inside a parent folder with a bait file. */
function repoWith(files: Record<string, string>): { repo: string; outside: string } {
  const parent = mkdtempSync(path.join(os.tmpdir(), 'cdl-run-hard-'));
  dirs.push(parent);
  const outside = path.join(parent, 'outside');
  mkdirSync(outside, { recursive: true });
  writeFileSync(
    path.join(outside, 'action.yml'),
    'name: bait\nruns:\n  using: composite\n  steps:\n    - run: echo OUTSIDE-RAN\n      shell: bash\n',
  );
  writeFileSync(
    path.join(outside, 'wf.yml'),
    'on: workflow_call\njobs:\n  x:\n    runs-on: self-hosted\n    steps:\n      - run: echo OUTSIDE-RAN\n',
  );
  writeFileSync(path.join(outside, 'secret.txt'), 'not yours\n');
  const repo = path.join(parent, 'repo');
  mkdirSync(path.join(repo, '.github', 'workflows'), { recursive: true });
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
    writeFileSync(path.join(repo, file), text);
  }
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.email=dev@example.com', '-c', 'user.name=Dev', 'commit', '-qm', 'fixture');
  return { repo, outside };
}

async function run(repo: string, opts: Partial<RunOptions> = {}) {
  let log = '';
  const summary = await runWorkflow({ workflow: '.github/workflows/w.yml', repoRoot: repo, write: (s) => (log += s), ...opts });
  return { ...summary, log };
}

function cdl(repo: string, ...args: string[]) {
  return spawnSync(process.execPath, [path.join(root, 'bin', 'cdl.js'), 'run', ...args], {
    cwd: repo,
    encoding: 'utf8',
    timeout: 120_000,
  });
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('cdl run refuses what GitHub refuses', () => {
  it('a local action outside the repository: file:line:col error, nothing runs', async () => {
    const { repo } = repoWith({
      '.github/workflows/w.yml':
        'on: push\njobs:\n  a:\n    runs-on: self-hosted\n    steps:\n      - run: echo first\n      - uses: ./../outside\n',
    });
    const err = await run(repo).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(
      /^\.github\/workflows\/w\.yml:7:\d+: local action \.\/\.\.\/outside is outside the repository/m,
    );
  });

  it('a reusable workflow outside the repository or outside .github/workflows', async () => {
    const { repo } = repoWith({
      '.github/workflows/w.yml':
        'on: push\njobs:\n  a:\n    uses: ./.github/workflows/../../../outside/wf.yml\n  b:\n    uses: ./ci/wf.yml\n',
      'ci/wf.yml': 'on: workflow_call\njobs:\n  x:\n    runs-on: self-hosted\n    steps:\n      - run: echo hi\n',
    });
    const err = await run(repo).catch((e: Error) => e);
    const message = (err as Error).message;
    expect(message).toMatch(
      /w\.yml:3:\d+: reusable workflow \.\/\.github\/workflows\/\.\.\/\.\.\/\.\.\/outside\/wf\.yml is outside the repository/,
    );
    expect(message).toMatch(/w\.yml:5:\d+: reusable workflow \.\/ci\/wf\.yml: expected \.\/\.github\/workflows\/<file>\.yml/);
  });

  it('hashFiles() counts only workspace files: absolute paths, ../ patterns and symlinks out match nothing', async () => {
    const { repo, outside } = repoWith({ 'a.txt': 'inside\n' });
    writeFileSync(
      path.join(repo, '.github', 'workflows', 'w.yml'),
      [
        'on: push',
        'jobs:',
        '  a:',
        '    runs-on: self-hosted',
        '    steps:',
        `      - run: echo "passwd=[\${{ hashFiles('/etc/passwd') }}] up=[\${{ hashFiles('../outside/*') }}] mid=[\${{ hashFiles('x/../../outside/secret.txt') }}] abs=[\${{ hashFiles('${outside}/secret.txt') }}] in=[\${{ hashFiles('a.txt') }}]"`,
        '',
      ].join('\n'),
    );
    const r = await run(repo);
    expect(r.exitCode, r.log).toBe(0);
    const inside = hashFilesSync(['a.txt'], repo);
    expect(inside).toMatch(/^[0-9a-f]{64}$/);
    expect(r.log).toContain(`passwd=[] up=[] mid=[] abs=[] in=[${inside}]`);
    symlinkSync(path.join(outside, 'secret.txt'), path.join(repo, 'link.txt'));
    expect(hashFilesSync(['*.txt'], repo)).toBe(inside);
    expect(hashFilesSync(['**'], repo)).not.toBe('');
    expect(readFileSync(path.join(repo, 'link.txt'), 'utf8')).toBe('not yours\n');
  });
});

describe('cdl run bounds what it reads', () => {
  it('a billion-laughs workflow is refused with a file:line:col error and exit 1, promptly', () => {
    const levels = ['x0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i <= 8; i++)
      levels.push(
        `x${i}: &a${i} [${Array(9)
          .fill(`*a${i - 1}`)
          .join(',')}]`,
      );
    const { repo } = repoWith({
      '.github/workflows/w.yml': [
        'on: push',
        ...levels,
        'jobs:',
        '  a:',
        '    runs-on: self-hosted',
        '    steps:',
        '      - run: echo hi',
        '',
      ].join('\n'),
    });
    const res = cdl(repo, '.github/workflows/w.yml');
    expect(res.error).toBeUndefined(); // not killed by the 120 s timeout
    expect(res.status, res.stderr).toBe(1);
    expect(res.stderr).toMatch(
      /\.github\/workflows\/w\.yml:\d+:\d+: the YAML aliases expand too far .*at most 100 alias expansions/,
    );
  });
});

describe('typed workflow_dispatch inputs', () => {
  const wf = [
    'on:',
    '  workflow_dispatch:',
    '    inputs:',
    '      n: { type: number, default: 1 }',
    '      flag: { type: boolean, default: false }',
    '      size: { type: choice, options: [small, large], default: small }',
    '      who: { type: string, required: true }',
    'jobs:',
    '  a:',
    '    runs-on: self-hosted',
    '    steps:',
    '      - run: echo "n=${{ inputs.n }} flag=${{ inputs.flag }} size=${{ inputs.size }} who=${{ inputs.who }}"',
    '',
  ].join('\n');

  it.each([
    [['n=1e400', 'who=x'], /input 'n' must be a finite decimal number such as 3, -2\.5 or 1e3, got "1e400"/],
    [['n=0x10', 'who=x'], /input 'n' must be a finite decimal number/],
    [['n=NaN', 'who=x'], /input 'n' must be a finite decimal number/],
    [['flag=yes', 'who=x'], /input 'flag' must be true or false, got "yes"/],
    [['size=medium', 'who=x'], /input 'size' must be one of "small", "large", got "medium"/],
    [['n=2'], /input 'who' is required \(pass --input who=VALUE\)/],
    [['who='], /input 'who' is required and cannot be empty/],
  ])('--input %j is a usage error naming the input and the expected form', async (inputs, expected) => {
    const { repo } = repoWith({ '.github/workflows/w.yml': wf });
    const pairs = Object.fromEntries(inputs.map((p) => [p.split('=')[0], p.slice(p.indexOf('=') + 1)]));
    const err = await run(repo, { event: 'workflow_dispatch', inputs: pairs }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(expected);
    expect(exitCodeOf(err)).toBe(2);
  });

  it('valid inputs reach the step typed, and the CLI exits 2 on a bad one', async () => {
    const { repo } = repoWith({ '.github/workflows/w.yml': wf });
    const r = await run(repo, { event: 'workflow_dispatch', inputs: { n: '-2.5e1', flag: 'TRUE', size: 'large', who: 'me' } });
    expect(r.exitCode, r.log).toBe(0);
    expect(r.log).toContain('n=-25 flag=true size=large who=me');
    const res = cdl(repo, '.github/workflows/w.yml', '--event', 'workflow_dispatch', '--input', 'n=1e400', '--input', 'who=x');
    expect(res.status, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/input 'n' must be a finite decimal number/);
  });
});

describe("a step against cdl run's results server", () => {
  it('gets 401 without a token and reads only with its own GITHUB_TOKEN; the signing key is not in the workspace', async () => {
    const probe = [
      "const api = process.env.GITHUB_API_URL + '/repos/' + process.env.GITHUB_REPOSITORY + '/actions/artifacts';",
      'const bare = await fetch(api);',
      "const mine = await fetch(api, { headers: { authorization: 'token ' + process.env.TOKEN } });",
      "console.log('bare=' + bare.status + ' mine=' + mine.status);",
    ].join('\n');
    const { repo } = repoWith({
      'probe.mjs': probe,
      '.github/workflows/w.yml': [
        'on: push',
        'permissions: { actions: read }',
        'jobs:',
        '  a:',
        '    runs-on: self-hosted',
        '    steps:',
        '      - run: node probe.mjs',
        '        env:',
        '          TOKEN: ${{ secrets.GITHUB_TOKEN }}',
        '      - run: ls -a .cdl/results',
        '',
      ].join('\n'),
    });
    const r = await run(repo);
    expect(r.exitCode, r.log).toBe(0);
    expect(r.log).toContain('bare=401 mine=200');
    expect(r.log).toMatch(/\bblobs\b/);
    expect(r.log).not.toMatch(/^secret$/m);
  });
});
