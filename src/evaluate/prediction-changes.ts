/**
 * What changed between the baseline and the candidate, example by example, from the same
 * per-example correctness the paired significance tests use: the test examples whose prediction
 * changed (fixed: only the candidate is right; broken: only the baseline is), and each class's
 * change of recall with McNemar's exact test on that class's examples (Holm-adjusted across
 * classes). Classification only; a bounded number of examples is kept, so evaluation.json stays small.
 */
import { mcnemar } from './significance.js';
import type { PerExample } from './records.js';

/** Examples listed each way at most (the totals count all of them). */
export const CHANGED_EXAMPLES_LIMIT = 50;

export interface ChangedExample {
  /** Index in the test split. */
  index: number;
  /** True class, and the class each model predicted (indices into `classes`). */
  label: number;
  candidate: number;
  baseline: number;
}

export interface ClassChange {
  class: string;
  /** Test examples of this class. */
  examples: number;
  candidate_recall: number;
  baseline_recall: number;
  /** candidate_recall − baseline_recall. */
  delta: number;
  /** Examples of the class only the candidate gets right, and only the baseline. */
  fixed: number;
  broken: number;
  /** McNemar's exact two-sided p on this class's examples, and Holm-adjusted across classes. */
  p_value: number;
  p_adjusted: number;
  significant: boolean;
}

export interface PredictionChanges {
  /** Examples only the candidate gets right. */
  fixed: number;
  /** Examples only the baseline gets right. */
  broken: number;
  /** Examples whose predicted class changed, including from one wrong class to another. */
  changed: number;
  /** At most `limit` examples each way, the most confident mistakes first, then by index. */
  examples: { fixed: ChangedExample[]; broken: ChangedExample[] };
  limit: number;
  confidence: number;
  per_class: ClassChange[];
}

/** Holm's step-down adjustment: controls the family-wise error rate across the classes. */
export function holmAdjust(p: readonly number[]): number[] {
  const order = p.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out = new Array<number>(p.length);
  let running = 0;
  order.forEach(([v, i], rank) => {
    running = Math.max(running, Math.min(1, (p.length - rank) * v));
    out[i] = running;
  });
  return out;
}

/**
 * The changes from `baseline` to `candidate` scored on the same test examples; undefined when
 * there is nothing to compare (regression, or different examples).
 */
export function predictionChanges(
  candidate: PerExample,
  baseline: PerExample,
  classes: readonly string[],
  opts: { limit?: number; confidence?: number } = {},
): PredictionChanges | undefined {
  const n = candidate.labels.length;
  const [cc, bc] = [candidate.correct, baseline.correct];
  if (!cc || !bc || baseline.labels.length !== n || !classes.length) return undefined;
  const limit = opts.limit ?? CHANGED_EXAMPLES_LIMIT;
  const confidence = opts.confidence ?? 0.95;
  const labels = candidate.labels as Int32Array;
  const [cp, bp] = [candidate.pred as Int32Array, baseline.pred as Int32Array];
  const fixed: number[] = [];
  const broken: number[] = [];
  let changed = 0;
  for (let i = 0; i < n; i++) {
    if (cp[i] !== bp[i]) changed++;
    if (cc[i] && !bc[i]) fixed.push(i);
    else if (!cc[i] && bc[i]) broken.push(i);
  }
  // The most confident mistakes first: of the broken ones, the candidate's; of the fixed, the baseline's.
  const pick = (idx: number[], loss: Float64Array | undefined): ChangedExample[] =>
    (loss ? [...idx].sort((a, b) => loss[b]! - loss[a]! || a - b) : idx)
      .slice(0, limit)
      .map((i) => ({ index: i, label: labels[i]!, candidate: cp[i]!, baseline: bp[i]! }));

  const perClass = classes.map((name, k) => {
    let m = 0;
    for (let i = 0; i < n; i++) if (labels[i] === k) m++;
    const [c, b] = [new Uint8Array(m), new Uint8Array(m)];
    for (let i = 0, j = 0; i < n; i++) {
      if (labels[i] !== k) continue;
      c[j] = cc[i]!;
      b[j++] = bc[i]!;
    }
    const test = mcnemar(c, b);
    const recall = (v: Uint8Array) => (m ? v.reduce((s, x) => s + x, 0) / m : 0);
    return {
      class: name,
      examples: m,
      candidate_recall: recall(c),
      baseline_recall: recall(b),
      delta: recall(c) - recall(b),
      fixed: test.candidate_only,
      broken: test.baseline_only,
      p_value: test.p_value,
    };
  });
  const adjusted = holmAdjust(perClass.map((c) => c.p_value));
  return {
    fixed: fixed.length,
    broken: broken.length,
    changed,
    examples: { fixed: pick(fixed, baseline.logLoss), broken: pick(broken, candidate.logLoss) },
    limit,
    confidence,
    per_class: perClass.map((c, k) => ({ ...c, p_adjusted: adjusted[k]!, significant: adjusted[k]! < 1 - confidence })),
  };
}
