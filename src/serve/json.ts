/**
 * A JSON parser for inference request bodies that reads the body's bytes directly. Arrays made
 * only of numbers (flat or nested, the tensors' "data") come back as NumberArray instead of
 * JavaScript arrays: their numbers are scanned once, with a fast path for the common forms, and
 * turned into the model's element type later (numbers() and friends), when the datatype is known.
 * Every other value is what JSON.parse would give. The results are JSON.parse's to the bit: a
 * number whose fast reading could round differently is read again from its text with Number().
 *
 * Hand-written, and over 400 lines in one piece, for a measured reason: JSON.parse took about 40%
 * of the HTTP thread at concurrency 64, and on one 784-number image this parser takes 22 µs of CPU
 * against JSON.parse plus Float32Array's 33 µs (4-digit numbers; 17-digit ones: 40-50 against
 * 70-90 µs; 2026-12-07, Node 20, the bench machine under load). It also keeps INT64 exact past 2^53.
 */

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(`${message} at byte ${at}`);
    this.name = 'JsonSyntaxError';
  }
}

/** Exact powers of ten: every 10^k for k ≤ 22 is a double without rounding. */
const POW10 = Float64Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

const NUMBER_CHARS = new Uint8Array(256);
for (const c of '0123456789+-.eE') NUMBER_CHARS[c.charCodeAt(0)] = 1;

const latin1 = (b: Uint8Array, from: number, to: number) =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1', from, to);

/**
 * The numbers of a JSON array of numbers (nested arrays flattened, row-major), scanned but not yet
 * converted to a tensor's element type.
 */
export class NumberArray {
  private tokens: { starts: number[]; ends: number[] } | undefined;

  constructor(
    /** The JSON text; the array is bytes [from, to). */
    private readonly text: Uint8Array,
    private readonly from: number,
    private readonly to: number,
    /**
     * Fast values: JSON.parse's where `exact`; otherwise each within 2^-50 of it (at most 19
     * significant digits and a power of ten within 10^±22), or NaN (anything else).
     */
    private readonly fast: number[],
    private readonly exact: boolean,
    /** Whether the JSON held arrays inside the array. */
    readonly nested: boolean,
  ) {}

  get length(): number {
    return this.fast.length;
  }

  /** The values as a JavaScript array (nesting flattened), as JSON.stringify shows it. */
  toJSON(): number[] {
    return Array.from({ length: this.length }, (_, i) => this.value(i));
  }

  /** Where each number's text is (found again on the first call; only slow paths need it). */
  private positions(): { starts: number[]; ends: number[] } {
    if (this.tokens) return this.tokens;
    const t = this.text;
    const starts: number[] = [];
    const ends: number[] = [];
    for (let i = this.from; i < this.to;) {
      if (!NUMBER_CHARS[t[i]!]) {
        i++;
        continue;
      }
      starts.push(i);
      while (i < this.to && NUMBER_CHARS[t[i]!]) i++;
      ends.push(i);
    }
    return (this.tokens = { starts, ends });
  }

  /** Element i's JSON text. */
  source(i: number): string {
    const { starts, ends } = this.positions();
    return latin1(this.text, starts[i]!, ends[i]!);
  }

  /**
   * Where the nesting breaks `shape` (an array of shape[0] arrays of shape[1] … of numbers), as
   * "data[1] has 3 elements where 2 are needed at dimension 1"; null when it follows it. Scans the
   * text again (only nested arrays are checked, and only once).
   */
  nestingError(shape: readonly number[]): string | null {
    const t = this.text;
    const counts: number[] = [];
    const at = (depth: number) =>
      'data' +
      counts
        .slice(0, depth)
        .map((c) => `[${c - 1}]`)
        .join('');
    for (let i = this.from; i < this.to; i++) {
      const c = t[i]!;
      const depth = counts.length;
      if (c === 91 || NUMBER_CHARS[c]) {
        if (depth > 0) counts[depth - 1]!++;
        if (c === 91 && depth >= shape.length) return `${at(depth)} is an array where shape has no dimension ${depth}`;
        if (c !== 91 && depth < shape.length) return `${at(depth)} is a number where dimension ${depth} is needed`;
        if (c === 91) counts.push(0);
        else while (i + 1 < this.to && NUMBER_CHARS[t[i + 1]!]) i++;
      } else if (c === 93) {
        const n = counts[depth - 1]!;
        if (n !== shape[depth - 1])
          return `${at(depth - 1)} has ${n} elements where ${shape[depth - 1]} are needed at dimension ${depth - 1}`;
        counts.pop();
      }
    }
    return null;
  }

  /** The value JSON.parse gives for element i. */
  value(i: number): number {
    return this.exact ? this.fast[i]! : Number(this.source(i));
  }

  /** Every value as float32, into `out` from `offset` (as a Float32Array stores JSON.parse's doubles). */
  intoFloat32(out: Float32Array, offset = 0): void {
    const { fast, length: n } = this;
    if (this.exact) {
      for (let i = 0; i < n; i++) out[offset + i] = fast[i]!;
      return;
    }
    for (let i = 0; i < n; i++) {
      // A value within 2^-50 of the exact number: when rounding to float32 gives the same result
      // across a far wider interval around it, the exact number (and its double) rounds the same way.
      const v = fast[i]!;
      const f = Math.fround(v);
      if (Math.fround(v * (1 + 2 ** -44)) === f && Math.fround(v * (1 - 2 ** -44)) === f) out[offset + i] = f;
      else out[offset + i] = Number(this.source(i)); // NaN lands here too
    }
  }

  /** Every value as a double, into `out` from `offset`. */
  intoFloat64(out: Float64Array, offset = 0): void {
    for (let i = 0; i < this.length; i++) out[offset + i] = this.value(i);
  }

  /** The index of the first value that is not an integer, or -1. */
  firstNonInteger(): number {
    for (let i = 0; i < this.length; i++) if (!Number.isInteger(this.value(i))) return i;
    return -1;
  }

  /** The value of element i as a 64-bit integer: exact from the text where the double would round. */
  bigint(i: number): bigint {
    const v = this.value(i);
    if (Number.isSafeInteger(v)) return BigInt(v);
    const s = this.source(i);
    return /^-?[0-9]+$/.test(s) ? BigInt(s) : BigInt(v);
  }
}

/**
 * Parse the JSON text in bytes [start, end) of `bytes` (UTF-8). Arrays of numbers become
 * NumberArray; the rest is as JSON.parse. Throws JsonSyntaxError naming the byte offset.
 */
export function parseJsonBytes(bytes: Uint8Array, start = 0, end = bytes.length): unknown {
  // A plain Uint8Array view: element reads on a Buffer (a subclass) are several times slower.
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const p = new Parser(view, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), start, end);
  p.ws();
  const v = p.value(0);
  p.ws();
  if (p.i < end) p.fail('unexpected data after the JSON value');
  return v;
}

const MAX_DEPTH = 512;

class Parser {
  i: number;

  constructor(
    readonly b: Uint8Array,
    /** The same bytes as a Buffer, for decoding strings. */
    private readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.i = start;
  }

  fail(message: string, at = this.i): never {
    throw new JsonSyntaxError(at >= this.end ? `${message}: the body ends early` : message, at);
  }

  ws(): void {
    const b = this.b;
    const from = this.i;
    let i = from;
    for (;;) {
      const c = b[i];
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
    this.i = i;
  }

  /** A value; an array of numbers becomes a NumberArray unless inside an array that is not one (`numbers` false). */
  value(depth: number, numbers = true): unknown {
    if (depth > MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH} levels`);
    if (this.i >= this.end) this.fail('expected a value');
    const c = this.b[this.i]!;
    if (c === 123) return this.object(depth);
    if (c === 91) return (numbers ? this.numbers(depth) : null) ?? this.array(depth);
    if (c === 34) return this.string();
    if (c === 45 || (c >= 48 && c <= 57)) return this.number();
    if (this.word('true')) return true;
    if (this.word('false')) return false;
    if (this.word('null')) return null;
    return this.fail(`unexpected character ${JSON.stringify(String.fromCharCode(c))}; expected a value`);
  }

  private word(w: string): boolean {
    for (let k = 0; k < w.length; k++) if (this.b[this.i + k] !== w.charCodeAt(k) || this.i + k >= this.end) return false;
    this.i += w.length;
    return true;
  }

  private object(depth: number): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    this.i++;
    this.ws();
    if (this.b[this.i] === 125) {
      this.i++;
      return o;
    }
    for (;;) {
      if (this.b[this.i] !== 34 || this.i >= this.end) this.fail('expected a string key in the object');
      const k = this.string();
      this.ws();
      if (this.b[this.i] !== 58 || this.i >= this.end) this.fail("expected ':' after the object key");
      this.i++;
      this.ws();
      const v = this.value(depth + 1);
      // An own property even for "__proto__", as JSON.parse makes it.
      if (k === '__proto__') Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
      else o[k] = v;
      this.ws();
      const c = this.b[this.i];
      if (this.i < this.end && c === 44) {
        this.i++;
        this.ws();
      } else if (this.i < this.end && c === 125) {
        this.i++;
        return o;
      } else this.fail("expected ',' or '}' in the object");
    }
  }

  private array(depth: number): unknown[] {
    const a: unknown[] = [];
    this.i++;
    this.ws();
    if (this.b[this.i] === 93 && this.i < this.end) {
      this.i++;
      return a;
    }
    for (;;) {
      a.push(this.value(depth + 1, false));
      this.ws();
      const c = this.b[this.i];
      if (this.i < this.end && c === 44) {
        this.i++;
        this.ws();
      } else if (this.i < this.end && c === 93) {
        this.i++;
        return a;
      } else this.fail("expected ',' or ']' in the array");
    }
  }

  private string(): string {
    const b = this.b;
    const start = ++this.i;
    let i = start;
    let plain = true;
    for (;;) {
      if (i >= this.end) this.fail('unterminated string', start - 1);
      const c = b[i]!;
      if (c === 34) break;
      if (c === 92) {
        plain = false;
        i += 2;
        continue;
      }
      if (c < 0x20) this.fail('control character in a string', i);
      if (c >= 0x80) plain = false;
      i++;
    }
    this.i = i + 1;
    if (plain) return this.buf.toString('latin1', start, i);
    const text = this.buf.toString('utf8', start - 1, i + 1);
    try {
      return JSON.parse(text) as string;
    } catch (e) {
      return this.fail(`bad escape in a string (${(e as Error).message})`, start - 1);
    }
  }

  /** A single number outside a number array: its JSON value (few of these: read by Number()). */
  private number(): number {
    const b = this.b;
    const at = this.i;
    let i = at;
    while (i < this.end && NUMBER_CHARS[b[i]!]) i++;
    const text = latin1(b, at, i);
    if (!NUMBER_GRAMMAR.test(text)) this.fail(`malformed number ${JSON.stringify(text)}`, at);
    this.i = i;
    return Number(text);
  }

  /**
   * An array holding only numbers and arrays of numbers, scanned in one pass; null (and the
   * position unchanged) when it holds anything else or no number at all.
   */
  private numbers(depth: number): NumberArray | null {
    const b = this.b;
    const end = this.end;
    const fast: number[] = [];
    let exact = true;
    let level = 0;
    let nested = false;
    const from = this.i;
    let i = from;
    for (;;) {
      // At a value: '[' opens a level, a number is stored, anything else gives up.
      let c = b[i]!;
      while (c === 32 || c === 10 || c === 13 || c === 9) c = b[++i]!;
      if (i >= end) return null;
      if (c === 91) {
        if (++level + depth > MAX_DEPTH) return null;
        if (level > 1) nested = true;
        c = b[++i]!;
        while (c === 32 || c === 10 || c === 13 || c === 9) c = b[++i]!;
        if (c === 93) return null; // an empty array: left to the general parser
        continue;
      }
      if (c !== 45 && (c < 48 || c > 57)) return null;
      // The number: sign, integer part, fraction, exponent (written out here, not called: this loop
      // runs once a tensor element and a call per number would cost more than the reading).
      const neg = c === 45;
      if (neg) c = b[++i]!;
      let m = 0;
      let digits = 0; // significant digits (leading zeros left out)
      let frac = 0;
      if (c === 48) c = b[++i]!;
      else if (c >= 49 && c <= 57) {
        do {
          m = m * 10 + (c - 48);
          digits++;
          c = b[++i]!;
        } while (c >= 48 && c <= 57);
      } else return this.fail('expected a digit in the number', i);
      if (c === 46) {
        c = b[++i]!;
        if (!(c >= 48 && c <= 57)) return this.fail('expected a digit after the decimal point', i);
        do {
          if (digits > 0 || c !== 48) digits++;
          m = m * 10 + (c - 48);
          frac++;
          c = b[++i]!;
        } while (c >= 48 && c <= 57);
      }
      let e = 0;
      if (c === 101 || c === 69) {
        c = b[++i]!;
        const eneg = c === 45;
        if (eneg || c === 43) c = b[++i]!;
        if (!(c >= 48 && c <= 57)) return this.fail('expected a digit in the exponent', i);
        do {
          if (e < 100000) e = e * 10 + (c - 48);
          c = b[++i]!;
        } while (c >= 48 && c <= 57);
        if (eneg) e = -e;
      }
      // Reads past `end` (into a binary part after a JSON header) stop at the first non-digit.
      if (i > end) return this.fail("expected ',' or ']' in the array", end);
      const pow = e - frac;
      if (digits > 19 || pow > 22 || pow < -22) {
        fast.push(NaN);
        exact = false;
      } else {
        const v = pow < 0 ? m / POW10[-pow]! : m * POW10[pow]!;
        fast.push(neg ? -v : v);
        // Up to 15 digits the value is exact (both operands are, and one operation rounds once).
        if (digits > 15) exact = false;
      }
      // After a value: ',' continues, ']' closes a level.
      for (;;) {
        c = b[i]!;
        while (c === 32 || c === 10 || c === 13 || c === 9) c = b[++i]!;
        if (i >= end) return this.fail("expected ',' or ']' in the array", i);
        if (c === 44) {
          i++;
          break;
        }
        if (c !== 93) return this.fail("expected ',' or ']' in the array", i);
        i++;
        if (--level === 0) {
          this.i = i;
          return new NumberArray(b, from, i, fast, exact, nested);
        }
      }
    }
  }
}

/** A JSON number (RFC 8259, section 6). */
const NUMBER_GRAMMAR = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;
