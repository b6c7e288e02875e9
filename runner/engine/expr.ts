// Expression evaluation: ${{ }} with GitHub's contexts and functions, on @actions/expressions.
import { Evaluator, Lexer, Parser, data } from '@actions/expressions';

type ExpressionData = data.ExpressionData;
import type { FunctionDefinition } from '@actions/expressions/funcs/info';
import { hashFilesSync } from './glob.js';

/** A position in a workflow or action file, for messages. */
export interface Where {
  file: string;
  line?: number;
  column?: number;
}

export function formatWhere(w: Where): string {
  return w.line ? `${w.file}:${w.line}:${w.column ?? 1}` : w.file;
}

/** An expression that does not parse or cannot be evaluated; it names the file and position. */
export class ExpressionFailure extends Error {
  constructor(
    readonly where: Where,
    readonly expression: string,
    reason: string,
  ) {
    super(`${formatWhere(where)}: error in expression \${{ ${expression} }}: ${reason}`);
    this.name = 'ExpressionFailure';
  }
}

/** What success()/failure()/cancelled() see, and where hashFiles() looks. */
export interface EvalState {
  status: () => 'success' | 'failure' | 'cancelled' | 'skipped';
  workspace: string;
}

export type Contexts = Record<string, unknown>;

const STRING_TOKEN = 18; // TokenType.STRING of @actions/expressions

function toData(value: unknown): ExpressionData {
  if (value === undefined) return new data.Null();
  return JSON.parse(JSON.stringify(value), data.reviver) as ExpressionData;
}

function fromData(value: ExpressionData): unknown {
  return JSON.parse(JSON.stringify(value, data.replacer) ?? 'null');
}

function functions(state: EvalState): Map<string, FunctionDefinition> {
  const bool = (v: boolean) => new data.BooleanData(v);
  const fns: FunctionDefinition[] = [
    { name: 'success', minArgs: 0, maxArgs: 0, call: () => bool(state.status() === 'success') },
    { name: 'failure', minArgs: 0, maxArgs: 0, call: () => bool(state.status() === 'failure') },
    { name: 'cancelled', minArgs: 0, maxArgs: 0, call: () => bool(state.status() === 'cancelled') },
    { name: 'always', minArgs: 0, maxArgs: 0, call: () => bool(true) },
    {
      name: 'hashFiles',
      minArgs: 1,
      maxArgs: 255,
      call: (...args) =>
        new data.StringData(
          hashFilesSync(
            args.map((a) => a.coerceString()),
            state.workspace,
          ),
        ),
    },
  ];
  return new Map(fns.map((f) => [f.name.toLowerCase(), f]));
}

/** Evaluates one expression (without ${{ }}) to a plain JavaScript value. */
export function evaluate(expression: string, contexts: Contexts, state: EvalState, where: Where): unknown {
  const fns = functions(state);
  let ast;
  try {
    const { tokens } = new Lexer(expression).lex();
    // The lexer unescapes only the first '' of a string literal; take every one from the lexeme.
    for (const t of tokens) if (t.type === STRING_TOKEN) t.value = t.lexeme.slice(1, -1).replace(/''/g, "'");
    ast = new Parser(tokens, Object.keys(contexts), [...fns.values()]).parse();
  } catch (error) {
    throw new ExpressionFailure(where, expression, (error as Error).message);
  }
  const dict = new data.Dictionary(...Object.entries(contexts).map(([key, value]) => ({ key, value: toData(value) })));
  try {
    return fromData(new Evaluator(ast, dict, fns).evaluate());
  } catch (error) {
    throw new ExpressionFailure(where, expression, (error as Error).message);
  }
}

/** GitHub's truthiness of an evaluated value. */
export function truthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (typeof value === 'number' && Number.isNaN(value)) return false;
  return true;
}

/** How an evaluated value becomes a string (env values, run scripts, inputs). */
export function stringify(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value, null, 2);
}

const STATUS_FN = /\b(success|failure|cancelled|always)\s*\(/i;

/** An `if:` condition without a status function means `success() && (condition)`. */
export function ifCondition(expression: string): string {
  const trimmed = expression.trim();
  if (trimmed === '') return 'success()';
  return STATUS_FN.test(trimmed) ? trimmed : `success() && (${trimmed})`;
}

/**
 * Expands ${{ }} in a plain string (action.yml values): a string that is one expression keeps the
 * value's type; otherwise the pieces are joined as strings.
 */
export function interpolate(text: string, contexts: Contexts, state: EvalState, where: Where): unknown {
  const parts: unknown[] = [];
  let rest = text;
  let whole = true;
  for (;;) {
    const start = rest.indexOf('${{');
    if (start < 0) break;
    const end = rest.indexOf('}}', start + 3);
    if (end < 0) throw new ExpressionFailure(where, rest.slice(start + 3), 'the expression is not closed with }}');
    if (start > 0) {
      parts.push(rest.slice(0, start));
      whole = false;
    }
    parts.push(evaluate(rest.slice(start + 3, end).trim(), contexts, state, where));
    rest = rest.slice(end + 2);
  }
  if (rest !== '' || parts.length === 0) {
    parts.push(rest);
    if (parts.length > 1) whole = false;
  }
  if (whole && parts.length === 1) return parts[0];
  return parts.map(stringify).join('');
}
