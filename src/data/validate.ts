/**
 * Data validation: shape, data type and value ranges, the label set, class balance, duplicates
 * within a split, leakage between train and test (identical examples by hash), and missing or
 * unreadable files, each named. Checking is a pure function of what was read (`checkRawData`);
 * reading is separate (`readRawData`).
 */
import { createHash } from 'node:crypto';
import { inputScale, type DataChecks, type DataSection } from '../config/schema/data.js';
import { readRawData, type RawData, type RawOptions, type RawSplit, type RawSplitName } from './raw.js';
import { listSome } from './util.js';

export type CheckName = 'files' | 'shape' | 'type' | 'range' | 'labels' | 'balance' | 'duplicates' | 'leakage';

export interface Finding {
  severity: 'error' | 'warning';
  check: CheckName;
  message: string;
  /** What the finding is about: file names, or examples as `<file>[<index>]` / `<file> row <n>`. */
  items?: string[];
}

export interface SplitSummary {
  examples: number;
  shape: number[];
  /** Input values after data.scale. */
  min: number;
  max: number;
  mean: number;
  /** Examples per class (classification). */
  class_counts?: number[];
  duplicates: number;
}

export interface DataValidation {
  format: DataSection['format'];
  source: string;
  classes: string[];
  splits: Partial<Record<RawSplitName, SplitSummary>>;
  /** Test examples identical to a training example. */
  leaked: number;
  errors: Finding[];
  warnings: Finding[];
  checks: DataChecks;
  /** Whether the step fails under checks.fail_on. */
  failed: boolean;
}

/** How one example is called in a report. */
export function exampleName(split: RawSplit, i: number, format: DataSection['format']): string {
  if (split.files) return split.files[i]!;
  return format === 'csv' ? `${split.name} row ${i + 1}` : `${split.name}[${i}]`;
}

/** SHA-1 of each example's stored bytes (collisions are not a concern for finding copies). */
export function exampleHashes(split: RawSplit): string[] {
  const row = split.shape.reduce((a, b) => a * b, 1);
  const bytes = split.x.BYTES_PER_ELEMENT * row;
  const buf = Buffer.from(split.x.buffer, split.x.byteOffset, split.x.byteLength);
  const out = new Array<string>(split.n);
  for (let i = 0; i < split.n; i++)
    out[i] = createHash('sha1')
      .update(buf.subarray(i * bytes, (i + 1) * bytes))
      .digest('hex');
  return out;
}

function pct(f: number): string {
  return `${(100 * f).toFixed(f < 0.001 && f > 0 ? 3 : f < 0.1 ? 2 : 1)}%`;
}

/** Everything wrong with the data read; pure. */
export function checkRawData(
  raw: RawData,
  data: Pick<DataSection, 'format' | 'scale' | 'checks'>,
  task: 'classification' | 'regression',
): { findings: Finding[]; splits: DataValidation['splits']; leaked: number } {
  const checks = data.checks;
  const findings: Finding[] = [];
  const err = (check: CheckName, message: string, items?: string[]) =>
    findings.push({ severity: 'error', check, message, items });
  const warn = (check: CheckName, message: string, items?: string[]) =>
    findings.push({ severity: 'warning', check, message, items });
  const splits: DataValidation['splits'] = {};
  const scale = inputScale(data);
  const name = (s: RawSplit, i: number) => exampleName(s, i, data.format);

  for (const p of raw.problems) err('files', `${p.file}: ${p.message}`, [p.file]);

  const present = (['train', 'test'] as const).filter((s) => raw[s]);
  if (raw.train && raw.test && raw.train.shape.join(',') !== raw.test.shape.join(',')) {
    err(
      'shape',
      `${raw.test.name}: test examples have shape [${raw.test.shape.join(', ')}]; expected that of the training examples, [${raw.train.shape.join(', ')}]`,
    );
  }

  const hashes: Partial<Record<RawSplitName, string[]>> = {};
  for (const s of present) {
    const split = raw[s]!;
    if (split.n === 0) {
      err('shape', `${split.name}: the ${s} split has no examples`);
      continue;
    }
    const row = split.x.length / split.n;
    // Data type and value range, on the values the model sees.
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    const nonFinite: number[] = [];
    const outside: number[] = [];
    const [lo, hi] = checks.value_range ?? [-Infinity, Infinity];
    for (let i = 0; i < split.n; i++) {
      let bad = false;
      let out = false;
      for (let j = i * row; j < (i + 1) * row; j++) {
        const v = split.x[j]! / scale;
        if (!Number.isFinite(v)) {
          bad = true;
          continue;
        }
        if (v < min) min = v;
        if (v > max) max = v;
        sum += v;
        if (v < lo || v > hi) out = true;
      }
      if (bad) nonFinite.push(i);
      if (out) outside.push(i);
    }
    if (nonFinite.length) {
      err(
        'type',
        `${split.name}: ${nonFinite.length} ${s} examples hold NaN or infinite values; expected finite numbers`,
        nonFinite.map((i) => name(split, i)),
      );
    }
    if (outside.length) {
      err(
        'range',
        `${split.name}: ${outside.length} ${s} examples have values outside data.checks.value_range [${lo}, ${hi}] (after data.scale ${scale}); the split spans [${min}, ${max}]`,
        outside.map((i) => name(split, i)),
      );
    }
    const summary: SplitSummary = {
      examples: split.n,
      shape: split.shape,
      min,
      max,
      mean: sum / Math.max(1, split.n * row - nonFinite.length),
      duplicates: 0,
    };

    // Labels and class balance.
    if (task === 'classification') {
      const k = raw.classes.length;
      const counts = new Array<number>(k).fill(0);
      const wrong: number[] = [];
      for (let i = 0; i < split.n; i++) {
        const c = split.y[i]!;
        if (Number.isInteger(c) && c >= 0 && c < k) counts[c]!++;
        else wrong.push(i);
      }
      if (wrong.length) {
        err(
          'labels',
          `${split.name}: ${wrong.length} ${s} labels are not class indices 0 to ${k - 1} (${k} classes); first: ${split.y[wrong[0]!]}`,
          wrong.map((i) => name(split, i)),
        );
      }
      summary.class_counts = counts;
      const missing = counts.flatMap((c, i) => (c === 0 ? [raw.classes[i]!] : []));
      if (missing.length) {
        const msg = `${split.name}: no ${s} example of class ${listSome(missing.map((m) => JSON.stringify(m)))}`;
        if (s === 'train') err('labels', msg, missing);
        else warn('labels', `${msg}; its test metrics cannot be measured`, missing);
      }
      const small = counts.flatMap((c, i) =>
        c > 0 && c / split.n < checks.min_class_fraction ? [`${raw.classes[i]} (${c}, ${pct(c / split.n)})`] : [],
      );
      if (small.length) {
        warn(
          'balance',
          `${split.name}: ${small.length} classes hold less than data.checks.min_class_fraction ${pct(checks.min_class_fraction)} of the ${s} split: ${listSome(small)}`,
          small,
        );
      }
    } else {
      const bad: number[] = [];
      for (let i = 0; i < split.n; i++) if (!Number.isFinite(split.y[i]!)) bad.push(i);
      if (bad.length)
        err(
          'type',
          `${split.name}: ${bad.length} ${s} targets are NaN or infinite`,
          bad.map((i) => name(split, i)),
        );
    }

    // Duplicates within the split.
    const h = (hashes[s] = exampleHashes(split));
    const groups = new Map<string, number[]>();
    h.forEach((x, i) => {
      const g = groups.get(x);
      if (g) g.push(i);
      else groups.set(x, [i]);
    });
    const dupGroups = [...groups.values()].filter((g) => g.length > 1);
    const dups = dupGroups.reduce((a, g) => a + g.length - 1, 0);
    summary.duplicates = dups;
    if (dups > 0) {
      const f = dups / split.n;
      const items = dupGroups.map((g) => g.map((i) => name(split, i)).join(' = '));
      const msg = `${split.name}: ${dups} ${s} examples (${pct(f)}) are copies of another in the same split`;
      if (f > checks.max_duplicate_fraction)
        err('duplicates', `${msg}; data.checks.max_duplicate_fraction is ${pct(checks.max_duplicate_fraction)}`, items);
      else warn('duplicates', msg, items);
      if (task === 'classification') {
        const conflicting = dupGroups.filter((g) => g.some((i) => split.y[i] !== split.y[g[0]!]));
        if (conflicting.length) {
          err(
            'labels',
            `${split.name}: ${conflicting.length} sets of identical ${s} examples carry different labels`,
            conflicting.map((g) => g.map((i) => `${name(split, i)} (${raw.classes[split.y[i]!] ?? split.y[i]})`).join(' = ')),
          );
        }
      }
    }
    splits[s] = summary;
  }

  // Leakage: test examples identical to a training example.
  let leaked = 0;
  if (hashes.train && hashes.test && raw.train && raw.test) {
    const firstInTrain = new Map<string, number>();
    hashes.train.forEach((x, i) => {
      if (!firstInTrain.has(x)) firstInTrain.set(x, i);
    });
    const items: string[] = [];
    hashes.test.forEach((x, i) => {
      const j = firstInTrain.get(x);
      if (j !== undefined) items.push(`${name(raw.test!, i)} = ${name(raw.train!, j)}`);
    });
    leaked = items.length;
    if (leaked) {
      const f = leaked / raw.test.n;
      const msg = `${raw.test.name}: ${leaked} test examples (${pct(f)}) also appear in the training split ${raw.train.name}, so the test metrics overstate the model`;
      if (f > checks.max_leakage_fraction)
        err('leakage', `${msg}; data.checks.max_leakage_fraction is ${pct(checks.max_leakage_fraction)}`, items);
      else warn('leakage', msg, items);
    }
  }
  return { findings, splits, leaked };
}

/** Read the data of cdl.yaml's data section and check it. */
export async function validateData(
  data: DataSection,
  opts: RawOptions,
  model?: { input_shape?: number[] },
): Promise<DataValidation> {
  const raw = await readRawData(data, opts);
  const { findings, splits, leaked } = checkRawData(raw, data, opts.task);
  const want = model?.input_shape;
  for (const s of ['train', 'test'] as const) {
    const split = raw[s];
    if (want && split && split.n > 0 && split.shape.join(',') !== want.join(',')) {
      findings.push({
        severity: 'error',
        check: 'shape',
        message: `${split.name}: ${s} examples have shape [${split.shape.join(', ')}]${data.format === 'csv' ? ` (${split.shape[0]} feature columns)` : ''}; expected model.input_shape [${want.join(', ')}]`,
      });
    }
  }
  const errors = findings.filter((f) => f.severity === 'error');
  const warnings = findings.filter((f) => f.severity === 'warning');
  const failOn = data.checks.fail_on;
  return {
    format: data.format,
    source: data.path,
    classes: raw.classes,
    splits,
    leaked,
    errors,
    warnings,
    checks: data.checks,
    failed: failOn === 'never' ? false : errors.length > 0 || (failOn === 'warning' && warnings.length > 0),
  };
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}

/** Plain text for the terminal: one line a finding, up to `maxItems` named items each. */
export function validationText(v: DataValidation, maxItems = 10): string {
  const lines: string[] = [];
  for (const f of [...v.errors, ...v.warnings]) {
    lines.push(`${f.severity}: [${f.check}] ${f.message}`);
    if (f.items?.length && f.check !== 'files') lines.push(`  ${listSome(f.items, maxItems)}`);
  }
  for (const [s, sum] of Object.entries(v.splits)) {
    lines.push(
      `${s}: ${sum.examples} examples of shape [${sum.shape.join(', ')}], values ${fmt(sum.min)} to ${fmt(sum.max)}, ${sum.duplicates} duplicates`,
    );
  }
  lines.push(
    `${v.errors.length} errors, ${v.warnings.length} warnings${v.leaked ? `, ${v.leaked} test examples leaked from train` : ''}${v.failed ? ' — failed' : ''}`,
  );
  return lines.join('\n');
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Markdown for the job summary. */
export function validationMarkdown(v: DataValidation, maxItems = 20): string {
  const out: string[] = [];
  const verdict = v.errors.length ? '❌ errors' : v.warnings.length ? '⚠️ warnings' : '✅ no problems';
  out.push(`### Data validation: ${verdict}`, '');
  out.push(`\`${v.source}\` (${v.format}): ${v.errors.length} errors, ${v.warnings.length} warnings.`, '');
  if (v.errors.length || v.warnings.length) {
    out.push('| | check | finding | examples or files |', '|---|---|---|---|');
    for (const f of [...v.errors, ...v.warnings]) {
      const items = f.items && f.items.length ? escapeCell(listSome(f.items, maxItems)) : '';
      out.push(`| ${f.severity === 'error' ? '❌' : '⚠️'} | ${f.check} | ${escapeCell(f.message)} | ${items} |`);
    }
    out.push('');
  }
  const splits = Object.entries(v.splits);
  if (splits.length) {
    out.push('| split | examples | shape | min | max | mean | duplicates |', '|---|---:|---|---:|---:|---:|---:|');
    for (const [s, x] of splits)
      out.push(
        `| ${s} | ${x.examples} | [${x.shape.join(', ')}] | ${fmt(x.min)} | ${fmt(x.max)} | ${fmt(x.mean)} | ${x.duplicates} |`,
      );
    out.push('');
  }
  if (v.classes.length && splits.some(([, x]) => x.class_counts)) {
    out.push(`| class | ${splits.map(([s]) => s).join(' | ')} |`, `|---|${splits.map(() => '---:').join('|')}|`);
    v.classes.forEach((c, i) =>
      out.push(`| ${escapeCell(c)} | ${splits.map(([, x]) => x.class_counts?.[i] ?? '—').join(' | ')} |`),
    );
    out.push('');
  }
  return out.join('\n');
}
