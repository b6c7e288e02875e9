/**
 * cdl.yaml: parse → validate (pure, every problem at once) → typed config.
 * Reading the file is separate from validating its text.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { configSchema, type CdlConfig } from './schema/cdl-config.js';
import { LAYER_TYPES } from './schema/model.js';
import { ConfigError } from '../util/errors.js';

export interface ConfigProblem {
  /** Dotted path such as `train.epochs` or `model.layers[2].units`. */
  path: string;
  message: string;
  line?: number;
  column?: number;
}

export interface ValidationResult {
  value?: CdlConfig;
  errors: ConfigProblem[];
  warnings: ConfigProblem[];
}

export function formatPath(segments: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out ? `.${String(s)}` : String(s);
  }
  return out || '(root)';
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'a list';
  return 'a mapping';
}

function expectedForType(expected: string, issue: z.core.$ZodIssue): string {
  const names: Record<string, string> = {
    number: 'a number',
    int: 'an integer',
    string: 'a string',
    boolean: 'true or false',
    object: 'a mapping',
    array: 'a list',
    record: 'a mapping',
    tuple: 'a list',
    literal: 'a fixed value',
  };
  void issue;
  return names[expected] ?? expected;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  const got = `, got ${describeValue(input)}`;
  // Cross-field checks: their input is the enclosing object, not a value worth quoting.
  if (issue.code === 'custom') return issue.message;
  if (issue.message.startsWith('expected ')) return `${issue.message}${got}`;
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${expectedForType(issue.expected, issue)}${got}`;
    case 'too_small': {
      if (issue.origin === 'number' || issue.origin === 'int') {
        const min = Number(issue.minimum);
        if (min === 0 && !issue.inclusive) {
          return `expected a positive ${issue.origin === 'int' ? 'integer' : 'number'}${got}`;
        }
        return `expected a number ${issue.inclusive ? '>=' : '>'} ${min}${got}`;
      }
      return `expected at least ${String(issue.minimum)} item(s)${got}`;
    }
    case 'too_big': {
      if (issue.origin === 'number' || issue.origin === 'int') {
        return `expected a number ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}${got}`;
      }
      return `expected at most ${String(issue.maximum)} item(s)${got}`;
    }
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}${got}`;
    case 'invalid_union': {
      const disc = (issue as { note?: string }).note;
      if (disc === 'No matching discriminator') {
        return `expected "type" to be one of the known kinds${got}`;
      }
      return `expected ${issue.message.replace(/^Invalid input:?\s*/i, '') || 'another form'}${got}`;
    }
    case 'unrecognized_keys':
      return `unknown key(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    case 'invalid_format':
      return `expected ${issue.format}${got}`;
    case 'not_multiple_of':
      return `expected a multiple of ${String(issue.divisor)}${got}`;
    default:
      return `${issue.message}${input !== undefined ? got : ''}`;
  }
}

/** The keys the schema allows at a path of the configuration (undefined where it cannot tell). */
function knownKeys(segs: ReadonlyArray<PropertyKey>): string[] | undefined {
  type Node = { shape?: Record<string, unknown>; _zod?: { def?: { innerType?: unknown; element?: unknown } } } | undefined;
  const unwrap = (n: Node): Node => {
    while (n?._zod?.def?.innerType) n = n._zod.def.innerType as Node;
    return n;
  };
  let node = unwrap(configSchema as unknown as Node);
  for (const seg of segs) {
    node = unwrap((typeof seg === 'number' ? node?._zod?.def?.element : node?.shape?.[String(seg)]) as Node);
    if (!node) return undefined;
  }
  return node?.shape ? Object.keys(node.shape) : undefined;
}

/** Extra wording for common mistakes that the generic message explains badly. */
function refineMessage(issue: z.core.$ZodIssue, message: string): string {
  const last = issue.path[issue.path.length - 1];
  const input = (issue as { input?: unknown }).input;
  if (issue.code === 'invalid_union' && issue.path.includes('layers') && last === 'type') {
    const t = input && typeof input === 'object' && 'type' in input ? (input as { type: unknown }).type : input;
    return `unknown layer type ${describeValue(t)}; expected one of ${LAYER_TYPES.join(', ')}`;
  }
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(issue.path);
    if (known?.length) return `${message}; expected one of ${known.map((k) => JSON.stringify(k)).join(', ')}`;
  }
  if (issue.code === 'invalid_format' && issue.format === 'regex') {
    return `expected ${issue.message}${input !== undefined ? `, got ${describeValue(input)}` : ''}`;
  }
  return message;
}

function locate(doc: ReturnType<typeof parseDocument>, counter: LineCounter, segs: ReadonlyArray<PropertyKey>) {
  let node: unknown = doc.contents;
  let found: YamlNode | undefined = node as YamlNode;
  for (const s of segs) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown })?.value === s);
      if (!pair) break;
      found = (pair.value ?? pair.key) as YamlNode;
      node = pair.value;
    } else if (isSeq(node) && typeof s === 'number') {
      node = node.items[s];
      if (!node) break;
      found = node as YamlNode;
    } else break;
  }
  const range = (found as { range?: [number, number, number] } | undefined)?.range;
  if (!range) return {};
  const pos = counter.linePos(range[0]);
  return { line: pos.line, column: pos.col };
}

/** Validate a plain object (already parsed). Pure. */
export function validateConfig(raw: unknown): ValidationResult {
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (parsed.success) return { value: parsed.data, errors: [], warnings: warningsFor(parsed.data) };
  return {
    errors: parsed.error.issues.map((issue) => ({
      path: formatPath(issue.path),
      message: refineMessage(issue, issueMessage(issue)),
    })),
    warnings: [],
  };
}

function warningsFor(cfg: CdlConfig): ConfigProblem[] {
  const w: ConfigProblem[] = [];
  if (cfg.model.layers && cfg.model.module) {
    w.push({ path: 'model.module', message: 'both "layers" and "module" are given; "module" is used' });
  }
  if (cfg.train.command && cfg.model.layers) {
    w.push({ path: 'train.command', message: 'a training command is given; model.layers is ignored' });
  }
  return w;
}

/** Parse YAML text and validate it, returning every problem with lines where known. Pure. */
export function parseConfig(text: string, overrides: string[] = []): ValidationResult {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      errors: doc.errors.map((e) => {
        // prettyErrors is off, so linePos is not filled in: compute it from the offset.
        const pos = e.linePos?.[0] ?? counter.linePos(e.pos[0]);
        return { path: '(yaml)', message: e.message.split('\n')[0]!, line: pos?.line, column: pos?.col };
      }),
      warnings: [],
    };
  }
  let raw: unknown = doc.toJS() ?? {};
  const errors: ConfigProblem[] = [];
  for (const o of overrides) {
    try {
      raw = applyOverride(raw, o);
    } catch (e) {
      errors.push({ path: '--set', message: (e as Error).message });
    }
  }
  if (errors.length) return { errors, warnings: [] };
  const result = validateConfig(raw);
  for (const err of result.errors) {
    const segs = err.path === '(root)' ? [] : pathSegments(err.path);
    Object.assign(err, locate(doc, counter, segs));
  }
  return result;
}

export function pathSegments(p: string): Array<string | number> {
  const out: Array<string | number> = [];
  for (const part of p.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m || (m[1] === '' && !m[2]))
      throw new Error(`invalid key path "${p}"; expected dotted keys such as train.epochs or model.layers[0].units`);
    if (m[1]) out.push(m[1]);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

/** Parse an override value as YAML so numbers, booleans and lists keep their types. */
function parseScalar(text: string): unknown {
  if (text === '') return '';
  const doc = parseDocument(text);
  if (doc.errors.length) return text;
  return doc.toJS();
}

/** Names that would reach Object.prototype instead of a key of the config. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Apply one `key.path=value` override; returns a new object. Keys reach only own properties, and
 * an index may at most append one item to a list (a huge index would allocate without bound).
 */
export function applyOverride(raw: unknown, override: string): unknown {
  const eq = override.indexOf('=');
  if (eq <= 0) throw new Error(`invalid override "${override}"; expected key=value, e.g. train.epochs=3`);
  const key = override.slice(0, eq).trim();
  const value = parseScalar(override.slice(eq + 1));
  const segs = pathSegments(key);
  for (const s of segs) {
    if (typeof s === 'string' && FORBIDDEN_KEYS.has(s)) {
      throw new Error(
        `invalid override "${override}": "${s}" is not a key of cdl.yaml; expected keys of the schema such as train.epochs`,
      );
    }
  }
  const root: Record<string, unknown> = structuredClone((raw ?? {}) as Record<string, unknown>);
  let cur: Record<string | number, unknown> = root;
  const step = (i: number): void => {
    const s = segs[i]!;
    if (typeof s === 'number') {
      if (!Array.isArray(cur)) {
        throw new Error(`cannot set "${key}": "${formatPath(segs.slice(0, i))}" is ${describeValue(cur)}, not a list`);
      }
      if (s > cur.length) {
        throw new Error(
          `cannot set "${key}": index ${s} is past the end of "${formatPath(segs.slice(0, i))}" (${cur.length} item(s)); expected an index from 0 to ${cur.length}`,
        );
      }
    } else if (Array.isArray(cur)) {
      throw new Error(`cannot set "${key}": "${formatPath(segs.slice(0, i))}" is a list; expected an index such as [0]`);
    }
  };
  for (let i = 0; i < segs.length - 1; i++) {
    const s = segs[i]!;
    step(i);
    const next = Object.hasOwn(cur, s) ? cur[s] : undefined;
    if (next === undefined || next === null) {
      cur[s] = typeof segs[i + 1] === 'number' ? [] : {};
    } else if (typeof next !== 'object') {
      throw new Error(`cannot set "${key}": "${formatPath(segs.slice(0, i + 1))}" is ${describeValue(next)}, not a mapping`);
    }
    cur = cur[s] as Record<string | number, unknown>;
  }
  step(segs.length - 1);
  cur[segs[segs.length - 1]!] = value;
  return root;
}

export function formatProblems(file: string, problems: ConfigProblem[]): string {
  return problems.map((p) => `${file}${p.line ? `:${p.line}:${p.column ?? 1}` : ''}: ${p.path}: ${p.message}`).join('\n');
}

export interface LoadedConfig {
  config: CdlConfig;
  file: string;
  /** Directory that relative paths in the config are resolved against. */
  dir: string;
  /** SHA-256 of the validated configuration (canonical JSON), overrides included. */
  hash: string;
  warnings: ConfigProblem[];
}

/** Read, parse and validate a cdl.yaml; throws ConfigError listing every problem. */
export async function loadConfig(file: string, overrides: string[] = []): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'ENOENT'
        ? `${file}: no such file; expected a cdl.yaml (pass --config PATH)`
        : `${file}: cannot read: ${(e as Error).message}`,
    );
  }
  const result = parseConfig(text, overrides);
  if (result.errors.length || !result.value) {
    throw new ConfigError(formatProblems(file, result.errors));
  }
  return {
    config: result.value,
    file: path.resolve(file),
    dir: path.dirname(path.resolve(file)),
    hash: configHash(result.value),
    warnings: result.warnings,
  };
}

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const keys = Object.keys(v as object)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export function configHash(cfg: CdlConfig): string {
  return createHash('sha256').update(canonicalJson(cfg)).digest('hex');
}

/** JSON Schema (draft 2020-12) for editors, generated from the same schema. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    ...schema,
    $id: 'https://cdl.dev/schema/cdl.schema.json',
    title: 'cdl.yaml',
    description: 'Configuration of a cdl (continuous deep learning) pipeline',
  };
}
