// A job's strategy.matrix, evaluated: checked against GitHub's rules (vectors are non-empty lists,
// include and exclude are lists of mappings, at most 256 jobs) and expanded into its combinations,
// each named after its values.
import { formatWhere, type Where } from './expr.js';
import { WorkflowError } from './workflow.js';

/** GitHub's limit: "a matrix can generate a maximum of 256 jobs per workflow run". */
const MAX_MATRIX_JOBS = 256;

type Combination = Record<string, unknown>;

/** A bound on the work of expanding: combinations walked times the excludes each is checked against. */
const MAX_WORK = 1_000_000;

const isMapping = (v: unknown): v is Combination => typeof v === 'object' && v !== null && !Array.isArray(v);

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}

function listOfMappings(matrix: Combination, key: 'include' | 'exclude', at: string): Combination[] {
  const value = matrix[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every(isMapping)) {
    throw new WorkflowError(`${at}: strategy.matrix.${key} must be a list of mappings, got ${describe(value)}`);
  }
  return value;
}

/**
 * The combinations of an evaluated matrix, in GitHub's order: the cross product of the vectors,
 * less the excludes, then each include merged into every original combination it does not
 * contradict, or added as a combination of its own. A value that is not a matrix, or one that
 * would make more than 256 jobs, is refused with the matrix's file:line:col.
 */
export function expandMatrix(matrix: unknown, where: Where): Combination[] {
  const at = formatWhere(where);
  if (!isMapping(matrix)) {
    throw new WorkflowError(
      `${at}: strategy.matrix must be a mapping of vectors (lists), include and exclude, got ${describe(matrix)}`,
    );
  }
  const keys = Object.keys(matrix).filter((k) => k !== 'include' && k !== 'exclude');
  let product = keys.length ? 1 : 0;
  for (const key of keys) {
    const values = matrix[key];
    if (!Array.isArray(values) || values.length === 0) {
      throw new WorkflowError(`${at}: strategy.matrix.${key} must be a non-empty list, got ${describe(values)}`);
    }
    product *= values.length;
  }
  const excludes = listOfMappings(matrix, 'exclude', at);
  const includes = listOfMappings(matrix, 'include', at);
  const tooMany = (count: string) =>
    new WorkflowError(`${at}: strategy.matrix makes ${count}; GitHub allows at most ${MAX_MATRIX_JOBS} jobs per matrix`);
  // The cross product is walked, not built, and the walk is bounded too: excludes may thin a
  // large product, but only one whose walk stays within MAX_WORK.
  if (product * (1 + excludes.length) > MAX_WORK) throw tooMany(`${product} combinations before exclude`);
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const combos: Combination[] = [];
  for (let n = 0; n < product; n++) {
    // Mixed-radix digits of n, the last vector varying fastest.
    const digits: number[] = [];
    let rest = n;
    for (let k = keys.length - 1; k >= 0; k--) {
      const size = (matrix[keys[k] as string] as unknown[]).length;
      digits[k] = rest % size;
      rest = Math.floor(rest / size);
    }
    const c = Object.fromEntries(keys.map((key, k) => [key, (matrix[key] as unknown[])[digits[k] as number]]));
    if (excludes.some((e) => Object.entries(e).every(([k, v]) => same(c[k], v)))) continue;
    combos.push(c);
    if (combos.length > MAX_MATRIX_JOBS) throw tooMany(excludes.length ? `more than ${MAX_MATRIX_JOBS} jobs` : `${product} jobs`);
  }
  if (combos.length === 0 && includes.length > MAX_MATRIX_JOBS) throw tooMany(`${includes.length} jobs`);
  if (includes.length * Math.max(1, combos.length) > MAX_WORK) throw tooMany(`${includes.length} include entries`);
  // Includes merge only into the combinations of the cross product, never into added ones.
  const originals = combos.map((c) => ({ ...c }));
  const added: Combination[] = [];
  for (const inc of includes) {
    let merged = false;
    originals.forEach((original, i) => {
      if (Object.entries(inc).every(([k, v]) => !(k in original) || same(original[k], v))) {
        Object.assign(combos[i] as Combination, inc);
        merged = true;
      }
    });
    if (!merged) added.push({ ...inc });
  }
  const all = [...combos, ...added];
  if (all.length > MAX_MATRIX_JOBS) throw tooMany(`${all.length} jobs`);
  return all;
}

/** A job's display name with its combination's values: `build (1, a)`; the job's own id without a matrix. */
export function combinationKey(prefix: string, id: string, matrix: Record<string, unknown> | null): string {
  const base = `${prefix}${id}`;
  if (!matrix || Object.keys(matrix).length === 0) return base;
  return `${base} (${Object.values(matrix)
    .map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v)))
    .join(', ')})`;
}
