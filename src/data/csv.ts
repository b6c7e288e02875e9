/**
 * CSV with a header row: one label column, every other column a numeric feature.
 * RFC 4180 quoting ("a, b", "say ""hi"""), CRLF or LF, an optional BOM, blank lines ignored.
 */
import { readFile } from 'node:fs/promises';
import { DataError } from '../util/errors.js';
import { displayPath, listSome } from './util.js';

export interface CsvRecord {
  /** 1-based line on which the record starts. */
  line: number;
  fields: string[];
}

/** Split CSV text into records; `name` is used in error messages. */
export function parseCsvText(text: string, name: string): CsvRecord[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let quoted = false; // inside a quoted field
  let wasQuoted = false; // the current field had quotes (so an empty record is not blank)
  const endRecord = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '' && !wasQuoted)) records.push({ line: recordLine, fields });
    fields = [];
    field = '';
    wasQuoted = false;
  };
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        const next = text[i];
        if (i < n && next !== ',' && next !== '\n' && next !== '\r') {
          throw new DataError(
            `${name}: line ${line}: expected a comma or the end of the line after a closing quote, got ${JSON.stringify(next)}`,
          );
        }
        continue;
      }
      if (ch === '\n') line++;
      field += ch;
      i++;
      continue;
    }
    if (ch === '"') {
      if (field.trim() !== '') {
        throw new DataError(
          `${name}: line ${line}: a quote inside an unquoted field; expected the whole field in quotes with "" for a quote`,
        );
      }
      field = '';
      quoted = true;
      wasQuoted = true;
      i++;
      continue;
    }
    if (ch === ',') {
      fields.push(field);
      field = '';
      i++;
      continue;
    }
    if (ch === '\r' || ch === '\n') {
      endRecord();
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
      recordLine = line;
      continue;
    }
    field += ch;
    i++;
  }
  if (quoted) throw new DataError(`${name}: line ${recordLine}: a quoted field is not closed before the end of the file`);
  if (field !== '' || fields.length > 0 || wasQuoted) endRecord();
  return records;
}

export interface CsvData {
  /** Feature column names in file order. */
  features: string[];
  /** n × features.length values, row-major, as written (not scaled). */
  x: Float32Array;
  /** Class index (classification) or value (regression). */
  y: Int32Array | Float32Array;
  n: number;
  /** Class names in label order ([] for regression). */
  classes: string[];
}

export interface ReadCsvOptions {
  /**
   * Class names in label order. Labels may then be a name from this list or an integer index into it.
   * Without it: integer labels are the class indices (classes '0'…'max'), otherwise the labels are
   * names and the classes are the distinct names, sorted.
   */
  classes?: readonly string[];
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^\+?\d+$/;
const MAX_CLASS_INDEX = 65535;

function parseNumber(s: string): number | undefined {
  const t = s.trim();
  if (!NUMBER.test(t)) return undefined;
  const v = Number(t);
  return Number.isFinite(v) ? v : undefined;
}

/** Read a CSV file of examples: a header row, `labelColumn` for the label, numeric features. */
export async function readCsv(
  file: string,
  labelColumn: string,
  task: 'classification' | 'regression',
  opts: ReadCsvOptions = {},
): Promise<CsvData> {
  const name = displayPath(file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new DataError(`${name}: cannot read the CSV file: ${(err as Error).message}`, { cause: err });
  }
  const records = parseCsvText(text, name);
  if (records.length === 0) throw new DataError(`${name}: empty; expected a header row and at least one record`);
  const header = records[0].fields.map((h) => h.trim());
  const labelIndex = header.indexOf(labelColumn);
  if (labelIndex < 0) {
    throw new DataError(
      `${name}: line ${records[0].line}: no column ${JSON.stringify(labelColumn)} in the header (columns: ${listSome(header)}); set data.label_column to the label's column`,
    );
  }
  const features = header.filter((_, i) => i !== labelIndex);
  if (features.length === 0)
    throw new DataError(
      `${name}: line ${records[0].line}: expected feature columns besides ${JSON.stringify(labelColumn)}, the header has none`,
    );
  const rows = records.slice(1);
  if (rows.length === 0) throw new DataError(`${name}: expected at least one record after the header, got none`);
  const width = header.length;
  const nf = features.length;
  const x = new Float32Array(rows.length * nf);
  const labels: string[] = new Array(rows.length);
  rows.forEach((r, row) => {
    if (r.fields.length !== width) {
      throw new DataError(`${name}: line ${r.line}: expected ${width} fields as in the header, got ${r.fields.length}`);
    }
    let k = row * nf;
    for (let c = 0; c < width; c++) {
      if (c === labelIndex) {
        labels[row] = r.fields[c].trim();
        continue;
      }
      const v = parseNumber(r.fields[c]);
      if (v === undefined) {
        throw new DataError(
          `${name}: line ${r.line}: column ${JSON.stringify(header[c])}: expected a number, got ${JSON.stringify(r.fields[c])}`,
        );
      }
      x[k] = v;
      if (!Number.isFinite(x[k++])) {
        throw new DataError(
          `${name}: line ${r.line}: column ${JSON.stringify(header[c])}: ${r.fields[c].trim()} does not fit a 32-bit float; expected a finite number`,
        );
      }
    }
  });
  const col = `column ${JSON.stringify(labelColumn)}`;
  if (task === 'regression') {
    const y = new Float32Array(rows.length);
    labels.forEach((s, i) => {
      const v = parseNumber(s);
      if (v === undefined)
        throw new DataError(`${name}: line ${rows[i].line}: ${col}: expected a number, got ${JSON.stringify(s)}`);
      y[i] = v;
    });
    return { features, x, y, n: rows.length, classes: [] };
  }
  const y = new Int32Array(rows.length);
  let classes: string[];
  if (opts.classes) {
    classes = [...opts.classes];
    const index = new Map(classes.map((c, i) => [c, i]));
    labels.forEach((s, i) => {
      let c = index.get(s);
      if (c === undefined && INTEGER.test(s) && Number(s) < classes.length) c = Number(s);
      if (c === undefined) {
        throw new DataError(
          `${name}: line ${rows[i].line}: ${col}: expected a class name (${listSome(
            classes.map((c) => JSON.stringify(c)),
            5,
          )}) or an integer 0 to ${classes.length - 1}, got ${JSON.stringify(s)}`,
        );
      }
      y[i] = c;
    });
  } else {
    labels.forEach((s, i) => {
      if (s === '') throw new DataError(`${name}: line ${rows[i].line}: ${col}: expected a class name or integer, got ""`);
    });
    if (labels.every((s) => INTEGER.test(s))) {
      let max = 0;
      labels.forEach((s, i) => {
        if (Number(s) > MAX_CLASS_INDEX) {
          throw new DataError(`${name}: line ${rows[i].line}: ${col}: expected a class index up to ${MAX_CLASS_INDEX}, got ${s}`);
        }
        y[i] = Number(s);
        max = Math.max(max, y[i]);
      });
      classes = Array.from({ length: max + 1 }, (_, i) => String(i));
    } else {
      classes = [...new Set(labels)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const index = new Map(classes.map((c, i) => [c, i]));
      labels.forEach((s, i) => (y[i] = index.get(s)!));
    }
  }
  return { features, x, y, n: rows.length, classes };
}
