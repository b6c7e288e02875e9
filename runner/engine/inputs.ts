// The inputs of a workflow_dispatch or workflow_call: given values checked against the declared
// ones, defaults filled in, types enforced.
import { UsageError } from '../../src/util/errors.js';
import type { InputDef } from './workflow.js';

/** Typed input values: defaults, required, boolean/number/choice. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export function resolveInputs(
  defs: Record<string, InputDef>,
  given: Record<string, unknown>,
  where: string,
  /** workflow_dispatch: a required input cannot be empty (GitHub's form refuses it). */
  requireNonEmpty = false,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(given)) {
    if (!(k in defs)) {
      throw new UsageError(
        `${where}: unknown input '${k}'; the workflow declares ${Object.keys(defs).join(', ') || 'no inputs'}`,
      );
    }
  }
  for (const [name, def] of Object.entries(defs)) {
    let value = given[name];
    if (value === undefined) {
      if (def.default !== undefined && def.default !== null) value = def.default;
      else if (def.required) throw new UsageError(`${where}: input '${name}' is required (pass --input ${name}=VALUE)`);
      else value = def.type === 'boolean' ? false : def.type === 'number' ? 0 : '';
    } else if (requireNonEmpty && def.required && value === '') {
      throw new UsageError(`${where}: input '${name}' is required and cannot be empty (pass --input ${name}=VALUE)`);
    }
    if (def.type === 'boolean') {
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) value = value.toLowerCase() === 'true';
      if (typeof value !== 'boolean') {
        throw new UsageError(`${where}: input '${name}' must be true or false, got ${JSON.stringify(value)}`);
      }
    } else if (def.type === 'number') {
      // A finite decimal: '1e400' (Infinity), 'NaN', '0x10' or '' would reach the step as something else.
      const number =
        typeof value === 'number' ? value : typeof value === 'string' && DECIMAL.test(value.trim()) ? Number(value) : NaN;
      if (!Number.isFinite(number)) {
        throw new UsageError(
          `${where}: input '${name}' must be a finite decimal number such as 3, -2.5 or 1e3, got ${JSON.stringify(value)}`,
        );
      }
      value = number;
    } else if (def.type === 'choice') {
      const options = (def.options ?? []).map(String);
      if (!options.includes(String(value))) {
        throw new UsageError(
          `${where}: input '${name}' must be one of ${options.map((o) => JSON.stringify(o)).join(', ') || '(no options declared)'}, got ${JSON.stringify(value)}`,
        );
      }
    }
    out[name] = value;
  }
  return out;
}
