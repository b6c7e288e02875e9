import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findCycles, readImportGraph } from './helpers/import-graph.js';

const graph = readImportGraph(['src', 'runner', 'actions']);

/** The workflow parsers are libraries of the runner, not the toolkit. */
const PARSERS = /^@actions\/(workflow-parser|expressions)(\/|$)/;
const toolkitHome = (file: string) => file.startsWith('src/github/') || /^actions\/[^/]+\/src\//.test(file);

describe('the layering', () => {
  it('has no import cycles (type-only and dynamic imports count)', () => {
    expect(findCycles(graph)).toEqual([]);
  });

  it('imports the toolkit (@actions/*) only in src/github and the actions', () => {
    const offenders = [...graph]
      .filter(([file]) => !toolkitHome(file))
      .flatMap(([file, edges]) =>
        edges
          .filter((e) => e.specifier.startsWith('@actions/'))
          .filter((e) => !(file.startsWith('runner/engine/') && PARSERS.test(e.specifier)))
          .map((e) => `${file}: ${e.specifier}`),
      );
    expect(offenders).toEqual([]);
  });

  it('never asks which forge it holds outside src/forge', () => {
    const offenders = [...graph.keys()]
      .filter((file) => !file.startsWith('src/forge/'))
      .filter((file) => /\bforge\??\.kind\b|as (unknown as )?(GitHubForge|LocalForge)\b/.test(readFileSync(file, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('finds a cycle when there is one', () => {
    const g = new Map([
      ['a.ts', [{ specifier: './b.js', target: 'b.ts' }]],
      ['b.ts', [{ specifier: './a.js', target: 'a.ts' }]],
      ['c.ts', [{ specifier: './a.js', target: 'a.ts' }]],
    ]);
    expect(findCycles(g)).toEqual([['a.ts', 'b.ts']]);
  });
});
