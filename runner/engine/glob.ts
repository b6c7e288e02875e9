// A small synchronous glob for hashFiles(): `*`, `?`, `**`, `[...]` and `!` exclusions, relative to the
// workspace. Only files inside the workspace count, as on GitHub: a pattern that leaves it
// (`/etc/passwd`, `../x`, `a/../../x`) matches nothing, and neither does a symlink that points out.
// `.git` is never entered.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        const slash = pattern[i + 2] === '/';
        re += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 1);
      if (close < 0) re += '\\[';
      else {
        re += `[${pattern
          .slice(i + 1, close)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else re += /[.+^${}()|\\]/.test(c) ? `\\${c}` : c;
  }
  return new RegExp(`^${re}(?:/.*)?$`);
}

/** Files under `root` (relative paths, '/' separated) that the patterns select, sorted. */
function globSync(patterns: string[], root: string): string[] {
  const include: RegExp[] = [];
  const exclude: RegExp[] = [];
  const bases = new Set<string>();
  for (const raw of patterns.flatMap((p) => p.split('\n'))) {
    const p = raw.trim();
    if (!p || p.startsWith('#')) continue;
    const negated = p.startsWith('!');
    let body = negated ? p.slice(1) : p;
    if (path.isAbsolute(body)) body = path.relative(root, body);
    body = path.posix.normalize(body.replace(/\\/g, '/')).replace(/^\.\//, '').replace(/\/$/, '');
    if (body === '..' || body.startsWith('../') || path.isAbsolute(body)) continue; // outside the workspace
    if (body === '.') body = '';
    if (negated) exclude.push(globToRegExp(body));
    else {
      include.push(globToRegExp(body));
      const literal: string[] = [];
      for (const seg of body.split('/')) {
        if (/[*?[]/.test(seg)) break;
        literal.push(seg);
      }
      bases.add(literal.join('/'));
    }
  }
  const found = new Set<string>();
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch {
    return [];
  }
  const visit = (rel: string) => {
    const abs = path.join(root, rel);
    let st;
    try {
      st = statSync(abs);
      const real = path.relative(realRoot, realpathSync(abs));
      if (real === '..' || real.startsWith(`..${path.sep}`) || path.isAbsolute(real)) return; // a symlink out of the workspace
    } catch {
      return;
    }
    if (st.isFile()) {
      if (include.some((r) => r.test(rel)) && !exclude.some((r) => r.test(rel))) found.add(rel);
      return;
    }
    if (!st.isDirectory()) return;
    for (const name of readdirSync(abs)) {
      if (name === '.git') continue;
      visit(rel ? `${rel}/${name}` : name);
    }
  };
  for (const base of bases) visit(base);
  return [...found].sort();
}

/** GitHub's hashFiles(): sha256 over the sha256 of each matched file; '' when nothing matches. */
export function hashFilesSync(patterns: string[], workspace: string): string {
  const files = globSync(patterns, workspace);
  if (files.length === 0) return '';
  const all = createHash('sha256');
  for (const f of files)
    all.update(
      createHash('sha256')
        .update(readFileSync(path.join(workspace, f)))
        .digest(),
    );
  return all.digest('hex');
}
