/** The compression methods a user names (the CLI's --method, the action's methods input), checked. */
import { COMPRESS_METHODS, type CompressMethod } from '../config/schema/compress.js';
import { UsageError } from '../util/errors.js';

/** Methods from repeated or comma-separated values; undefined when none are named (compress.methods applies). */
export function parseMethods(values: string[]): CompressMethod[] | undefined {
  const list = values
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  if (!list.length) return undefined;
  for (const m of list) {
    if (!(COMPRESS_METHODS as readonly string[]).includes(m)) {
      throw new UsageError(`compress: unknown method "${m}"; expected one of ${COMPRESS_METHODS.join(', ')}`);
    }
  }
  return [...new Set(list)] as CompressMethod[];
}
