/**
 * The CLI's flags and its help come from one declaration per command (src/cli/commands.ts): every
 * flag a command parses is in its --help, every flag its help (or the docs) name is one it parses,
 * and every handler parses with its own declaration.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { flagColumn, parseOptions, renderHelp, type CommandSpec, type Flag } from '../src/cli/args.js';
import { COMMANDS } from '../src/cli/commands.js';
import { REPO } from './helpers/example.js';

const commands = Object.entries(COMMANDS as Record<string, CommandSpec>);
/** `--name` tokens of a text (not `---`, not inside a word). */
const flagsIn = (text: string) => [...text.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)].map((m) => m[1]!);
/** The subcommands a declaration's flags are restricted to (none: one set of flags). */
const subcommands = (spec: CommandSpec) => [...new Set(Object.values(spec.options).flatMap((f: Flag) => f.for ?? []))];

describe('command declarations', () => {
  it.each(commands)('cdl %s --help lists every flag it parses, in a row of its own', (name, spec) => {
    const help = renderHelp(name, spec);
    for (const [flag, f] of Object.entries(spec.options)) {
      if (f.internal) continue;
      const rows = help.split('\n').filter((l) => l.trimStart().startsWith(flagColumn(flag, f).trimStart()));
      expect(rows, `--${flag} of cdl ${name}`).toHaveLength(1);
    }
  });

  it.each(commands)('every flag cdl %s --help names is one it parses', (name, spec) => {
    for (const flag of flagsIn(renderHelp(name, spec)))
      expect(Object.keys(spec.options), `cdl ${name} --help names --${flag}`).toContain(flag);
  });

  it.each(commands)('cdl %s: a flag left out of the help says why, and short names are unique', (name, spec) => {
    for (const [flag, f] of Object.entries(spec.options)) {
      if (f.internal !== undefined) expect(f.internal.trim(), `--${flag}`).not.toBe('');
      if (f.type === 'boolean') expect(f.value, `--${flag} takes no value`).toBeUndefined();
      else expect(f.value, `--${flag} names its value`).toMatch(/^\S+$/);
      expect(f.help.trim(), `--${flag} has help`).not.toBe('');
    }
    for (const sub of subcommands(spec).length ? subcommands(spec) : [undefined]) {
      const shorts = Object.values(parseOptions(spec.options, sub)).flatMap((f) => (f.short ? [f.short] : []));
      expect(new Set(shorts).size, `cdl ${name} ${sub ?? ''}`).toBe(shorts.length);
    }
  });

  it('subcommand flags belong to subcommands the usage names', () => {
    for (const [name, spec] of commands)
      for (const sub of subcommands(spec)) expect(spec.usage, `cdl ${name}`).toMatch(new RegExp(`(^|[|<])${sub}([|> ]|$)`));
  });

  it('parseOptions keeps a subcommand to its own flags', () => {
    expect(Object.keys(parseOptions(COMMANDS.models.options, 'list'))).toEqual(['config', 'set', 'name', 'json']);
    expect(Object.keys(parseOptions(COMMANDS.models.options, 'history'))).toContain('alias');
    expect(Object.keys(parseOptions(COMMANDS.models.options, 'rollback'))).toEqual(
      expect.arrayContaining(['alias', 'reason', 'out', 'to', 'canary-percent']),
    );
    expect(Object.keys(parseOptions(COMMANDS.models.options, 'list'))).not.toContain('to');
  });
});

describe('handlers parse with their declaration only', () => {
  const dir = path.join(REPO, 'src', 'cli');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'args.ts' && f !== 'commands.ts');
  it.each(files)('src/cli/%s', (file) => {
    const text = readFileSync(path.join(dir, file), 'utf8');
    expect(text).not.toMatch(/\bparseArgs\b/);
    for (const call of text.matchAll(/(?<![.\w])parse\(([^)]*)\)/g)) {
      const m = /^\s*\w+,\s*COMMANDS\.(\w+),\s*['`](\w+)/.exec(call[1]!);
      expect(m, `${file}: ${call[0]}`).not.toBeNull();
      // The label in errors (`cdl models promote --help`) starts with the command whose flags it read.
      expect(m![2]).toBe(m![1]);
    }
  });
});

describe('the docs name only flags the commands parse', () => {
  const docs = [
    'README.md',
    ...readdirSync(path.join(REPO, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  let checked = 0;
  it.each(docs)('%s', (file) => {
    const text = readFileSync(path.join(REPO, file), 'utf8');
    const problems: string[] = [];
    for (const block of text.matchAll(/```[\w-]*\n([\s\S]*?)```/g))
      for (const line of block[1]!.split('\n')) {
        const m = /^\s*(?:\$\s*)?(?:npx\s+)?cdl\s+([a-z]+)\b(.*)$/.exec(line.replace(/\s+#.*$/, ''));
        if (!m) continue;
        const spec = (COMMANDS as Record<string, CommandSpec>)[m[1]!];
        if (!spec) continue;
        checked++;
        for (const flag of flagsIn(m[2]!))
          if (flag !== 'help' && !(flag in spec.options)) problems.push(`cdl ${m[1]} --${flag}: ${line.trim()}`);
      }
    expect(problems).toEqual([]);
  });
  it('the docs show command lines with flags to check', () => {
    expect(checked).toBeGreaterThan(10);
  });
});
