// The project's import graph, read with the TypeScript compiler's own pre-processor: what each
// source file imports (static, type-only and dynamic imports alike), and the cycles among them.
// Used by test/layering.test.ts; run directly (`npx tsx test/helpers/import-graph.ts`) to list cycles.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export interface ImportEdge {
  /** The specifier as written. */
  specifier: string;
  /** Repository-relative path of the imported file, or undefined for a package. */
  target?: string;
}

export type ImportGraph = Map<string, ImportEdge[]>;

const root = resolve(dirname(new URL(import.meta.url).pathname), '..', '..');

function listTs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listTs(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function resolveRelative(from: string, specifier: string): string | undefined {
  const base = resolve(dirname(from), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((c) => c.endsWith('.ts') && existsSync(c));
}

/** The imports of every TypeScript file below the given repository-relative folders. */
export function readImportGraph(folders: string[]): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const folder of folders) {
    for (const file of listTs(join(root, folder))) {
      const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
      const edges = info.importedFiles.map(({ fileName }) => {
        const target = fileName.startsWith('.') ? resolveRelative(file, fileName) : undefined;
        return { specifier: fileName, target: target && relative(root, target) };
      });
      graph.set(relative(root, file), edges);
    }
  }
  return graph;
}

/** Every strongly connected group of two or more files (or a file importing itself), sorted. */
export function findCycles(graph: ImportGraph): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (node: string): void => {
    indices.set(node, index);
    low.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const { target } of graph.get(node) ?? []) {
      if (!target || !graph.has(target)) continue;
      if (!indices.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, indices.get(target)!));
      }
    }
    if (low.get(node) === indices.get(node)) {
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        group.push(member);
      } while (member !== node);
      const selfLoop = (graph.get(node) ?? []).some((e) => e.target === node);
      if (group.length > 1 || selfLoop) groups.push(group.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!indices.has(node)) visit(node);
  return groups.sort((a, b) => a[0].localeCompare(b[0]));
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const cycles = findCycles(readImportGraph(['src', 'runner', 'actions']));
  for (const group of cycles) console.log(group.join('  <->  '));
  console.log(`${cycles.length} import cycle(s)`);
}
