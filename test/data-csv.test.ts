import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError } from '../src/util/errors.js';
import { parseCsvText, readCsv } from '../src/data/index.js';
import { tempDir } from './fixtures/data/helpers.js';

const dir = tempDir();
function csv(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('parseCsvText', () => {
  it('handles quotes, doubled quotes, commas and newlines inside quotes, CRLF and a BOM', () => {
    const recs = parseCsvText('\ufeffa,"b, c"\r\n"say ""hi""","two\nlines"\r\n\r\n', 'x.csv');
    expect(recs).toEqual([
      { line: 1, fields: ['a', 'b, c'] },
      { line: 2, fields: ['say "hi"', 'two\nlines'] },
    ]);
  });

  it('reports an unclosed quote and stray text after a closing quote with the line', () => {
    expect(() => parseCsvText('a,b\n1,"2\n', 'q.csv')).toThrow(/q\.csv: line 2: a quoted field is not closed/);
    expect(() => parseCsvText('a,b\n1,"2"x\n', 'q.csv')).toThrow(
      /q\.csv: line 2: expected a comma or the end of the line after a closing quote, got "x"/,
    );
  });
});

describe('readCsv', () => {
  it('reads numeric features and class-name labels (sorted into classes); blank trailing line ok', async () => {
    const file = csv('names.csv', 'x1,label,x2\n1.5,dog,2\n-3,cat,4e1\n0,"dog",.5\n\n');
    const d = await readCsv(file, 'label', 'classification');
    expect(d.features).toEqual(['x1', 'x2']);
    expect(d.n).toBe(3);
    expect([...d.x]).toEqual([1.5, 2, -3, 40, 0, 0.5]);
    expect(d.classes).toEqual(['cat', 'dog']);
    expect(d.y).toBeInstanceOf(Int32Array);
    expect([...d.y]).toEqual([1, 0, 1]);
  });

  it('uses integer labels as class indices, or names/indices into the given classes', async () => {
    const ints = await readCsv(csv('ints.csv', 'a,y\n1,2\n2,0\n'), 'y', 'classification');
    expect(ints.classes).toEqual(['0', '1', '2']);
    expect([...ints.y]).toEqual([2, 0]);
    const given = await readCsv(csv('given.csv', 'a,y\n1,b\n2,0\n3,c\n'), 'y', 'classification', { classes: ['a', 'b', 'c'] });
    expect(given.classes).toEqual(['a', 'b', 'c']);
    expect([...given.y]).toEqual([1, 0, 2]);
  });

  it('reads regression targets as floats', async () => {
    const d = await readCsv(csv('reg.csv', 'a,b,target\n1,2,0.25\n3,4,-7\n'), 'target', 'regression');
    expect(d.y).toBeInstanceOf(Float32Array);
    expect([...d.y]).toEqual([0.25, -7]);
    expect(d.classes).toEqual([]);
  });

  it('names file, line, column and expected form for bad values', async () => {
    const file = csv('train.csv', 'a,label\n1,x\n2,\n');
    const err = await readCsv(file, 'label', 'classification').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(/train\.csv: line 3: column "label": expected a class name or integer, got ""$/);
    await expect(readCsv(csv('feat.csv', 'a,b,label\n1,2,0\n1,abc,1\n'), 'label', 'classification')).rejects.toThrow(
      /feat\.csv: line 3: column "b": expected a number, got "abc"/,
    );
    await expect(readCsv(csv('reg-bad.csv', 'a,y\n1,2\n1,z\n'), 'y', 'regression')).rejects.toThrow(
      /reg-bad\.csv: line 3: column "y": expected a number, got "z"/,
    );
    await expect(readCsv(csv('cls.csv', 'a,y\n1,b\n1,q\n'), 'y', 'classification', { classes: ['a', 'b'] })).rejects.toThrow(
      /cls\.csv: line 3: column "y": expected a class name \("a", "b"\) or an integer 0 to 1, got "q"/,
    );
    await expect(readCsv(csv('cls2.csv', 'a,y\n1,5\n'), 'y', 'classification', { classes: ['a', 'b'] })).rejects.toThrow(
      /cls2\.csv: line 2: .*integer 0 to 1, got "5"/,
    );
  });

  it('reports a wrong field count, a missing label column and empty files', async () => {
    await expect(readCsv(csv('width.csv', 'a,b,label\n1,2,0\n1,0\n'), 'label', 'classification')).rejects.toThrow(
      /width\.csv: line 3: expected 3 fields as in the header, got 2/,
    );
    await expect(readCsv(csv('nolabel.csv', 'a,b\n1,2\n'), 'label', 'classification')).rejects.toThrow(
      /nolabel\.csv: line 1: no column "label" in the header \(columns: a, b\); set data\.label_column/,
    );
    await expect(readCsv(csv('empty.csv', ''), 'label', 'classification')).rejects.toThrow(
      /empty\.csv: empty; expected a header row/,
    );
    await expect(readCsv(csv('header.csv', 'a,label\n'), 'label', 'classification')).rejects.toThrow(
      /header\.csv: expected at least one record after the header/,
    );
    await expect(readCsv(path.join(dir, 'absent.csv'), 'label', 'classification')).rejects.toThrow(
      /absent\.csv: cannot read the CSV file/,
    );
  });
});
