/** Path containment that holds through symlinks: the one place cdl asks "is this inside that?". */
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';

/** The real path of `p`, resolving symlinks in the part that exists (the rest need not exist). */
export function realPathOf(p: string): string {
  const abs = path.resolve(p);
  const missing: string[] = [];
  let cur = abs;
  while (!existsSync(cur)) {
    const parent = path.dirname(cur);
    if (parent === cur) break;
    missing.unshift(path.basename(cur));
    cur = parent;
  }
  let real: string;
  try {
    real = realpathSync(cur);
  } catch {
    real = cur;
  }
  return path.join(real, ...missing);
}

/** Whether `inner` is `outer` or lies under it (plain paths; resolve them first for symlinks). */
export function contains(outer: string, inner: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Whether `inner` lies inside `outer` once every symlink on both paths is followed. */
export function staysInside(outer: string, inner: string): boolean {
  return contains(realPathOf(outer), realPathOf(inner));
}

/**
 * Why a '/'-separated relative path from an untrusted file is unsafe, or null when it is a plain
 * relative path: no absolute path, drive, backslash, NUL, empty, `.` or `..` segment.
 */
export function unsafeRelativePath(rel: unknown): string | null {
  if (typeof rel !== 'string' || rel === '') return 'expected a non-empty string';
  if (rel.includes('\0')) return 'contains a NUL character';
  if (rel.includes('\\')) return 'contains a backslash; expected / between folders';
  if (rel.startsWith('/') || /^[A-Za-z]:/.test(rel)) return 'is absolute; expected a path relative to the folder';
  if (rel.split('/').some((s) => s === '' || s === '.' || s === '..')) return 'has an empty, "." or ".." part';
  return null;
}
