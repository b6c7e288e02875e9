/**
 * The byte-level JSON parser of inference requests: the same values as JSON.parse to the bit
 * (float32 and float64, near rounding boundaries too), the same structures, errors that name the
 * byte, and requests checked against integer datatypes with exact 64-bit values.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 as rng } from '../src/data/prng.js';
import { JsonSyntaxError, NumberArray, parseJsonBytes } from '../src/serve/json.js';
import { HttpError } from '../src/serve/errors.js';
import type { Signature } from '../src/serve/tensors.js';
import { parseInferRequest } from '../src/serve/protocol.js';

/** Replace NumberArrays by plain (flat) arrays. */
function plain(v: unknown): unknown {
  if (v instanceof NumberArray) return v.toJSON();
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/** Non-empty arrays of numbers and such arrays, at any depth. */
function isNumeric(v: unknown): boolean {
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' || isNumeric(x));
}

/** JSON.parse's value as parseJsonBytes reads it: numeric arrays (outside other arrays) flattened. */
function flattened(v: unknown, top = true): unknown {
  if (Array.isArray(v)) return top && isNumeric(v) ? v.flat(Infinity) : v.map((x) => flattened(x, false));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, flattened(x)]));
  return v;
}

function numbers(text: string): NumberArray {
  const v = parseJsonBytes(Buffer.from(text));
  expect(v).toBeInstanceOf(NumberArray);
  return v as NumberArray;
}

function expectSameAsJsonParse(text: string): void {
  const a = numbers(text);
  const ref = (JSON.parse(text) as unknown[]).flat(Infinity) as number[];
  const f32 = new Float32Array(a.length);
  const f64 = new Float64Array(a.length);
  a.intoFloat32(f32);
  a.intoFloat64(f64);
  expect(a.length).toBe(ref.length);
  const want32 = Float32Array.from(ref);
  for (let i = 0; i < ref.length; i++) {
    if (!Object.is(f32[i], want32[i]) || !Object.is(f64[i], ref[i]))
      expect({ text: a.source(i), f32: f32[i], f64: f64[i] }).toEqual({ text: a.source(i), f32: want32[i], f64: ref[i] });
  }
}

describe('parseJsonBytes', () => {
  it('reads numbers of every form as JSON.parse does, to the bit, as float32 and float64', () => {
    const r = rng(7);
    const forms = [
      () => Math.fround(r()), // float32 values printed as doubles: 17 significant digits
      () => Math.fround(r() * 10 ** (r() * 70 - 35)) * (r() < 0.5 ? -1 : 1),
      () => Number((r() * 1000).toFixed(Math.floor(r() * 20))),
      () => Math.floor(r() * 2 ** 62),
      () => r() * 10 ** (r() * 600 - 300),
      () => Math.floor(r() * 256),
    ];
    for (let t = 0; t < 300; t++) {
      const values = Array.from({ length: 100 }, () => forms[Math.floor(r() * forms.length)]!());
      // Other spellings JSON allows: E, e+, a leading minus zero.
      const text = JSON.stringify(values)
        .replace(/e-/g, () => (r() < 0.5 ? 'E-' : 'e-'))
        .replace(/e\+/g, () => (r() < 0.5 ? 'e' : 'E+'))
        .replace(/^\[/, '[-0,');
      expectSameAsJsonParse(text);
    }
  });

  it('rounds decimals next to a float32 rounding boundary as JSON.parse then Float32Array do', () => {
    const r = rng(11);
    const parts: string[] = [];
    for (let t = 0; t < 20000; t++) {
      const f = Math.fround(r() * 2 ** (r() * 60 - 30));
      const mid = (f + (f + 2 ** (Math.floor(Math.log2(f)) - 23))) / 2;
      parts.push(mid.toPrecision(17), (mid * (1 + 1e-16)).toPrecision(19), (mid * (1 - 1e-16)).toPrecision(18));
    }
    expectSameAsJsonParse(`[${parts.join(',')}]`);
  });

  it('gives the structures JSON.parse gives', () => {
    const docs = [
      '{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[[1,2,3],[4,5,6]]}],"id":"a\\"b\\u00e9\\n","outputs":[]}',
      ' { "a" : [ 1 , [ 2 , 3 ] ] , "b" : [ true , null , "s" ] , "c" : { } , "d" : [ ] , "e" : "é✓" } ',
      '[[1],[]]',
      '[[],1]',
      '[1,"x"]',
      '{"__proto__": {"polluted": 1}}',
      '{"a": 1, "a": 2}',
      '-12.5e-3',
      '"plain"',
      'null',
    ];
    for (const d of docs) expect(plain(parseJsonBytes(Buffer.from(d))), d).toEqual(flattened(JSON.parse(d)));
    const nested = parseJsonBytes(Buffer.from('{"data":[[1,2],[3]]}')) as { data: NumberArray };
    expect(nested.data.nested).toBe(true);
    const proto = parseJsonBytes(Buffer.from('{"__proto__": {"polluted": 1}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.keys(proto)).toEqual(['__proto__']);
    // Only the given range is read: the binary tensor data after a JSON header is not JSON.
    const withBinary = Buffer.concat([Buffer.from('{"a":[1,2]}'), Buffer.from([0x31, 0x32, 0xff])]);
    expect(plain(parseJsonBytes(withBinary, 0, 11))).toEqual({ a: [1, 2] });
  });

  it('rejects what JSON.parse rejects, naming the byte', () => {
    const bad: Array<[string, RegExp]> = [
      ['{"inputs": [', /expected a value: the body ends early at byte 12/],
      ['[1,', /expected a value: the body ends early at byte 3/],
      ['[01]', /expected ',' or '\]' in the array at byte 2/],
      ['{"a":1,}', /expected a string key in the object at byte 7/],
      ['[1 2]', /at byte 3/],
      ['"abc', /unterminated string at byte 0/],
      ['[1.]', /expected a digit after the decimal point at byte 3/],
      ['[-]', /expected a digit in the number at byte 2/],
      ['[1e]', /expected a digit in the exponent at byte 3/],
      ['{"a" 1}', /expected ':' after the object key at byte 5/],
      ['[1]x', /unexpected data after the JSON value at byte 3/],
      ['tru', /unexpected character "t"; expected a value at byte 0/],
      ['"\\x"', /bad escape in a string/],
      ['"a\u0001"', /control character in a string at byte 2/],
    ];
    for (const [text, message] of bad) {
      expect(() => JSON.parse(text), text).toThrow();
      expect(() => parseJsonBytes(Buffer.from(text)), text).toThrow(JsonSyntaxError);
      expect(() => parseJsonBytes(Buffer.from(text)), text).toThrow(message);
    }
    // Deeper than any tensor needs: refused rather than recursing without end.
    expect(() => parseJsonBytes(Buffer.from('['.repeat(600) + ']'.repeat(600)))).toThrow(/nested deeper than 512 levels/);
    // A header cut short before its binary part: the bytes after it do not complete it.
    expect(() => parseJsonBytes(Buffer.from('{"a":[12345]}'), 0, 9)).toThrow(/at byte 9/);
  });
});

describe('inference requests read by parseJsonBytes', () => {
  const sig = (datatype: string, ort: string): Signature => ({
    inputs: [{ name: 'x', datatype, ort: ort as never, shape: [-1, 2] }],
    outputs: [{ name: 'y', datatype: 'FP32', ort: 'float32', shape: [-1, 1] }],
    batched: true,
  });
  const request = (datatype: string, data: string) =>
    parseJsonBytes(Buffer.from(`{"inputs":[{"name":"x","shape":[2,2],"datatype":"${datatype}","data":${data}}]}`));

  it('turns the data into the model type, with 64-bit integers exact past 2^53', () => {
    const parsed = parseInferRequest(request('INT64', '[[9007199254740993, -2], [1e3, 4]]'), sig('INT64', 'int64'));
    const bytes = parsed.inputs.get('x')!.bytes!;
    expect([...new BigInt64Array(bytes.buffer, bytes.byteOffset, 4)]).toEqual([9007199254740993n, -2n, 1000n, 4n]);
    expect(JSON.parse('9007199254740993')).toBe(9007199254740992); // what JSON.parse would have given
    const f = parseInferRequest(request('FP32', '[0.1, 0.2, 0.30000001192092896, 1e-50]'), sig('FP32', 'float32'));
    const fb = f.inputs.get('x')!.bytes!;
    expect([...new Float32Array(fb.buffer, fb.byteOffset, 4)]).toEqual([
      ...Float32Array.from([0.1, 0.2, 0.30000001192092896, 1e-50]),
    ]);
    expect(parsed.rows).toBe(2);
  });

  it('answers values outside the datatype with 400 naming the element, its text and the range', () => {
    const cases: Array<[string, string, string, RegExp]> = [
      ['UINT8', 'uint8', '[1, 2, 300, 4]', /input "x": data\[2\] is 300; expected an integer from 0 to 255 \(UINT8\)/],
      ['INT8', 'int8', '[1, -129, 3, 4]', /data\[1\] is -129; expected an integer from -128 to 127 \(INT8\)/],
      ['INT32', 'int32', '[1, 2, 3, 4.5]', /data\[3\] is 4.5; expected an integer from -2147483648 to 2147483647 \(INT32\)/],
      ['INT64', 'int64', '[1, 2.5e-1, 3, 4]', /data\[1\] is 2.5e-1; expected an integer \(INT64\)/],
      ['BOOL', 'bool', '[1, 0, 2, 1]', /data\[2\] is 2; expected true or false \(BOOL\)/],
      ['FP32', 'float32', '[1, 2, 3]', /3 values in "data", but shape \[2, 2\] needs 4/],
    ];
    for (const [dt, ort, data, message] of cases) {
      let err: unknown;
      try {
        parseInferRequest(request(dt, data), sig(dt, ort));
      } catch (e) {
        err = e;
      }
      expect(err, dt).toBeInstanceOf(HttpError);
      expect((err as HttpError).status).toBe(400);
      expect((err as HttpError).message).toMatch(message);
    }
    // The same checks apply to data JSON.parse read (arrays with booleans go that way too).
    expect(() =>
      parseInferRequest(
        JSON.parse('{"inputs":[{"name":"x","shape":[2,2],"datatype":"UINT8","data":[1,2,256,4]}]}'),
        sig('UINT8', 'uint8'),
      ),
    ).toThrow(/data\[2\] is 256; expected an integer from 0 to 255/);
  });
});
