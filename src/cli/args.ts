/**
 * A command's declaration (usage, description, flags, exit codes) and the two things made from it:
 * the node:util parseArgs options that read its flags, and its `--help` text.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../util/errors.js';

/** An unknown flag, a flag without its value or a stray argument: exit 2, and the command's usage is shown. */
export class FlagError extends UsageError {}

/** One flag: what parseArgs needs, and what the help says of it. */
export interface Flag {
  type: 'string' | 'boolean';
  short?: string;
  /** Repeatable: every value is kept, in order (the help says so). */
  multiple?: boolean;
  default?: string | boolean | string[];
  /** The value's name in the help (FILE, N, KEY=VAL); string flags only. */
  value?: string;
  /** The help text; `\n` starts a continuation line under it. */
  help: string;
  /** Only these subcommands take it (the help lists it under their name). */
  for?: readonly string[];
  /** Under a heading of its own after the options (e.g. tune's distributed mode). */
  group?: string;
  /** Parsed but left out of the help: why (a flag cdl passes to itself, not one a person types). */
  internal?: string;
}

export type Flags = Record<string, Flag>;

export interface CommandSpec<O extends Flags = Flags> {
  /** The usage after `cdl <name> `, e.g. `[--config FILE] [--out DIR]`. */
  usage: string;
  /** One line for `cdl --help`. */
  summary: string;
  /** The paragraphs between the usage and the options. */
  description: string;
  options: O;
  /** Positional arguments are allowed (`cdl run WORKFLOW`); else flags only. */
  positionals?: boolean;
  /** Text after the options. */
  notes?: string;
  /** The sentence after `Exit codes: `. */
  exitCodes?: string;
}

/** A declaration, its flags' literal types kept so that parsed values are typed. */
export function command<O extends Flags>(spec: CommandSpec<O>): CommandSpec<O> {
  return spec;
}

/** `options` with `for: subs` set on each (flags of some subcommands only). */
export function only<O extends Flags>(subs: readonly string[], options: O): O {
  return Object.fromEntries(Object.entries(options).map(([k, f]) => [k, { ...f, for: subs }])) as O;
}

/** The parseArgs options of a declaration (for one subcommand, when given). */
export function parseOptions<O extends Flags>(options: O, sub?: string): O {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(options)) {
    if (f.for && (sub === undefined || !f.for.includes(sub))) continue;
    out[name] = {
      type: f.type,
      ...(f.short ? { short: f.short } : {}),
      ...(f.multiple ? { multiple: true } : {}),
      ...(f.default !== undefined ? { default: Array.isArray(f.default) ? [...f.default] : f.default } : {}),
    };
  }
  return out as O;
}

/**
 * Read argv with a command's declared flags. `label` names the command in errors (`data validate`);
 * `sub` picks the subcommand's flags where some are declared `for` subcommands only.
 */
export function parse<O extends Flags>(argv: string[], spec: CommandSpec<O>, label: string, sub?: string) {
  const options = parseOptions(spec.options, sub);
  try {
    return parseArgs({ args: argv, options, allowPositionals: spec.positionals ?? false, strict: true });
  } catch (e) {
    const msg = (e as Error).message
      .replace(/\. To specify a positional argument.*$/s, '')
      .replace(/^Unexpected argument '(.*)'\. This command does not take positional arguments$/s, (_m, arg: string) => {
        const flag =
          /\.ya?ml$/.test(arg) && 'config' in options ? `; to use ${arg} as the configuration, pass --config ${arg}` : '';
        return `unexpected argument "${arg}": cdl ${label.split(' ')[0]} takes flags only${flag}`;
      });
    throw new FlagError(`${label}: ${msg} (cdl ${label} --help)`);
  }
}

/** The left column of a flag's help row: `-c, --config FILE`. */
export function flagColumn(name: string, f: Flag): string {
  return `${f.short ? `-${f.short}, ` : '    '}--${name}${f.type === 'string' ? ` ${f.value ?? 'VALUE'}` : ''}`;
}

/** Flag columns wider than this get their help after two spaces instead of in the common column. */
const MAX_COLUMN = 26;

/** The `--help` text of a declared command. */
export function renderHelp(name: string, spec: CommandSpec): string {
  const shown = Object.entries(spec.options).filter(([, f]) => !f.internal);
  const width = Math.min(MAX_COLUMN, Math.max(0, ...shown.map(([n, f]) => flagColumn(n, f).length)));
  const row = (n: string, f: Flag) => {
    const col = flagColumn(n, f);
    const help = f.multiple && !/repeatable/.test(f.help) ? `${f.help} (repeatable)` : f.help;
    const [first, ...more] = help.split('\n');
    const head = col.length > width ? `  ${col}  ${first}` : `  ${col.padEnd(width)}  ${first}`;
    return [head, ...more.map((l) => `${' '.repeat(width + 4)}${l}`)].join('\n');
  };
  // Headings in the order they first appear: the plain options, those of subcommands, then groups.
  const sections = new Map<string, string[]>();
  const heading = (f: Flag) => f.group ?? (f.for ? `Options of ${f.for.join(', ')}` : 'Options');
  for (const [n, f] of [...shown.filter(([, f]) => !f.group), ...shown.filter(([, f]) => f.group)]) {
    const h = heading(f);
    sections.set(h, [...(sections.get(h) ?? []), row(n, f)]);
  }
  const parts = [`Usage: cdl ${name} ${spec.usage}`, spec.description];
  for (const [h, rows] of sections) parts.push(`${h}:\n${rows.join('\n')}`);
  if (spec.notes) parts.push(spec.notes);
  if (spec.exitCodes) parts.push(`Exit codes: ${spec.exitCodes}`);
  return parts.join('\n\n');
}
