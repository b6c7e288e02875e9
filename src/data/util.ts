import path from 'node:path';

/** A path as it should appear in messages: relative to the working directory when inside it. */
export function displayPath(p: string): string {
  if (/^https?:\/\//i.test(p)) return p;
  const rel = path.relative(process.cwd(), p);
  if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) return rel.split(path.sep).join('/');
  return p;
}

export function product(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** `a, b, c and 4 more` */
export function listSome(items: readonly string[], max = 10): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}
