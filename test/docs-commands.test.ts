/**
 * The `cdl run` command lines the docs show (fenced blocks after a `<!-- cdl-run-commands -->`
 * marker in README.md and docs/*.md), run as written, in order, in a repository set up with
 * `cdl init`: each must succeed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { git, REPO, removeTempDirs, runCli, tempDir } from './helpers/example.js';
import { imageFolder } from './helpers/init-data.js';

afterAll(() => removeTempDirs());

/** Each documented command line, with the file it is in; `#` comments dropped. */
function documented(): Array<{ file: string; line: string }> {
  const files = ['README.md', ...readdirSync(path.join(REPO, 'docs')).map((f) => path.join('docs', f))].filter((f) =>
    f.endsWith('.md'),
  );
  const out: Array<{ file: string; line: string }> = [];
  for (const file of files) {
    const text = readFileSync(path.join(REPO, file), 'utf8');
    for (const m of text.matchAll(/<!-- cdl-run-commands -->\s*```\w*\n([\s\S]*?)```/g)) {
      for (const raw of m[1]!.split('\n')) {
        const line = raw.replace(/\s+#.*$/, '').trim();
        if (line.startsWith('cdl run ')) out.push({ file, line });
      }
    }
  }
  return out;
}

/** The release path runs actions/promote, whose bundle the integration build writes. */
const promoteBuilt = existsSync(path.join(REPO, 'actions', 'promote', 'dist', 'index.js'));

describe('documented cdl run command lines', () => {
  const commands = documented();
  it('the docs show some', () => {
    expect(commands.length).toBeGreaterThanOrEqual(3);
  });

  const dir = path.join(tempDir('cdl-docs-commands-'), 'shop-images');
  for (const { file, line } of commands) {
    // A release runs actions/promote: skipped, and reported as skipped, until its bundle is built.
    const test = /version=/.test(line) && !promoteBuilt ? it.skip : it;
    test(`${file}: ${line}`, async () => {
      if (!existsSync(path.join(dir, 'cdl.yaml'))) {
        mkdirSync(dir);
        git(dir, 'init', '-q', '-b', 'main');
        imageFolder(dir);
        const init = await runCli(['init', '--yes'], { cwd: dir });
        expect(init.code, init.stderr).toBe(0);
        git(dir, 'add', '.');
        git(dir, 'commit', '-q', '-m', 'cdl init');
      }
      // As written: split on spaces (the documented lines quote nothing), started in a subdirectory.
      const args = line.split(/\s+/).slice(1);
      const r = await runCli(args, { cwd: path.join(dir, 'data'), env: { CDL_FORGE: 'local' }, timeoutMs: 600_000 });
      expect(r.code, `${line}\n${r.stdout.slice(-3000)}${r.stderr}`).toBe(0);
    });
  }
});
