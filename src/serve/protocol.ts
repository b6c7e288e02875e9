/**
 * The Open Inference Protocol (v2, the REST protocol of KServe and Triton): inference requests
 * checked against a model's signature, and responses. Tensors come as JSON "data" arrays or
 * through the binary tensor data extension (a JSON header of `Inference-Header-Content-Length`
 * bytes, then each binary input's `binary_data_size` bytes, little-endian, row-major); outputs go
 * back the same way when the request asks (`binary_data_output`, or an output's `binary_data`).
 */
import { HttpError } from './errors.js';
import { NumberArray } from './json.js';
import {
  elementBytes,
  makeTensorData,
  OIP_DATATYPES,
  type InferInput,
  type InferRequest,
  type OutputTensor,
  type Signature,
  type TensorData,
  type TensorSpec,
} from './tensors.js';

const bad = (msg: string) => new HttpError(400, msg);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function binaryFlag(params: unknown, key: string, where: string): boolean | undefined {
  if (!isRecord(params) || params[key] === undefined) return undefined;
  if (typeof params[key] !== 'boolean')
    throw bad(`${where}: parameters.${key}: expected true or false, got ${JSON.stringify(params[key])}`);
  return params[key];
}
/**
 * Nested "data" must follow the shape: `data` holds shape[0] arrays, each shape[1] long, and so on
 * down to the values (flat data is checked by its length alone). Throws naming the first element
 * that breaks it.
 */
function checkNesting(data: unknown[], shape: number[], where: string): void {
  const walk = (a: unknown[], level: number, at: string): void => {
    const want = shape[level]!;
    if (a.length !== want)
      throw bad(
        `${where}: ${at} has ${a.length} elements, but shape [${shape.join(', ')}] needs ${want} at dimension ${level}; nested "data" must follow the shape (or be flat)`,
      );
    const inner = level < shape.length - 1;
    a.forEach((v, i) => {
      if (Array.isArray(v) !== inner)
        throw bad(
          `${where}: ${at}[${i}] is ${inner ? 'not an array' : 'an array'}, but shape [${shape.join(', ')}] has ${inner ? `dimension ${level + 1} there` : `no dimension ${level + 1}`}; nested "data" must follow the shape (or be flat)`,
        );
      if (inner) walk(v as unknown[], level + 1, `${at}[${i}]`);
    });
  };
  walk(data, 0, 'data');
}

function flatten(data: unknown[], shape: number[], where: string): unknown[] {
  if (!data.some((v) => Array.isArray(v))) return data;
  checkNesting(data, shape, where);
  return data.flat(Infinity) as unknown[];
}

/** Largest size of one dimension, and of a whole tensor, in elements. */
export const MAX_DIMENSION = 2 ** 31 - 1;

/** The index of the first value that is not finite (NaN, ±Infinity, or past the type's range), or -1. */
function firstNonFinite(v: ArrayLike<number>): number {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return i;
  return -1;
}

/** Float tensor bytes (binary tensor data, or decoded JSON) as numbers, aligned for reading. */
function floatView(dt: string, bytes: Uint8Array): Float32Array | Float64Array {
  const per = dt === 'FP32' ? 4 : 8;
  const b = bytes.byteOffset % per === 0 ? bytes : new Uint8Array(bytes); // a copy, aligned
  return per === 4
    ? new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4)
    : new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
}

function nonFinite(dt: string, where: string, i: number, shown: string): HttpError {
  return bad(
    `${where}: data[${i}] is ${shown}; expected a finite number (${dt}${dt === 'FP32' ? ', magnitude below 3.4e38' : ''}); NaN and Infinity are refused`,
  );
}

/** The values an integer datatype holds (64-bit types: any integer, stored as two's complement). */
const INT_RANGES: Record<string, [number, number]> = {
  INT8: [-128, 127],
  UINT8: [0, 255],
  INT16: [-32768, 32767],
  UINT16: [0, 65535],
  INT32: [-(2 ** 31), 2 ** 31 - 1],
  UINT32: [0, 2 ** 32 - 1],
};

function expectedInteger(dt: string): string {
  const r = INT_RANGES[dt];
  return r ? `an integer from ${r[0]} to ${r[1]} (${dt})` : `an integer (${dt})`;
}

function fitsInteger(dt: string, v: number): boolean {
  const r = INT_RANGES[dt];
  return Number.isInteger(v) && (!r || (v >= r[0] && v <= r[1]));
}

/** Check every JSON value against the datatype (the values are copied into the batch later, by fillTensor). */
function checkValues(spec: TensorSpec, raw: unknown[], n: number, where: string): void {
  const dt = spec.datatype;
  let i = 0;
  if (dt === 'BOOL') {
    for (; i < n; i++) {
      const v = raw[i];
      if (typeof v !== 'boolean' && v !== 0 && v !== 1) break;
    }
    if (i < n) throw bad(`${where}: data[${i}] is ${JSON.stringify(raw[i])}; expected true or false (BOOL)`);
  } else if (dt === 'FP32' || dt === 'FP64') {
    const max = dt === 'FP32' ? 3.4028234663852886e38 : Number.MAX_VALUE;
    while (i < n && typeof raw[i] === 'number' && Math.abs(raw[i] as number) <= max) i++;
    if (i < n && typeof raw[i] === 'number') throw nonFinite(dt, where, i, String(raw[i]));
    if (i < n) throw bad(`${where}: data[${i}] is ${JSON.stringify(raw[i])}; expected a number (${dt})`);
  } else {
    while (i < n && typeof raw[i] === 'number' && fitsInteger(dt, raw[i] as number)) i++;
    if (i < n) throw bad(`${where}: data[${i}] is ${JSON.stringify(raw[i])}; expected ${expectedInteger(dt)}`);
  }
}

/**
 * The tensor of a JSON array of numbers (json.ts) in the model's element type, checked value by
 * value: the request's own typed array, as bytes like binary tensor data.
 */
function decodeNumbers(spec: TensorSpec, a: NumberArray, where: string): Uint8Array {
  const ort = spec.ort!;
  const dt = spec.datatype;
  const out = makeTensorData(ort, a.length);
  if (out instanceof Float32Array || out instanceof Float64Array) {
    if (out instanceof Float32Array) a.intoFloat32(out);
    else a.intoFloat64(out);
    const i = firstNonFinite(out);
    if (i >= 0) throw nonFinite(dt, where, i, a.source(i));
  } else if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    const i = a.firstNonInteger();
    if (i >= 0) throw bad(`${where}: data[${i}] is ${a.source(i)}; expected ${expectedInteger(dt)}`);
    for (let k = 0; k < a.length; k++) out[k] = a.bigint(k);
  } else {
    const check = dt === 'BOOL' ? (v: number) => v === 0 || v === 1 : (v: number) => fitsInteger(dt, v);
    for (let k = 0; k < a.length; k++) {
      const v = a.value(k);
      if (!check(v))
        throw bad(
          `${where}: data[${k}] is ${a.source(k)}; expected ${dt === 'BOOL' ? 'true or false (BOOL)' : expectedInteger(dt)}`,
        );
      out[k] = v;
    }
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Check an inference request body against the model's signature and turn it into typed tensors.
 * The body is JSON.parse's value or parseJsonBytes' (whose arrays of numbers are NumberArray).
 */
export function parseInferRequest(
  body: unknown,
  sig: Signature,
  opts: {
    maxRows?: number;
    /** The bytes after the JSON header (the binary tensor data extension). */
    binary?: Uint8Array;
  } = {},
): InferRequest {
  if (!isRecord(body))
    throw bad(
      `expected a JSON object with "inputs", got ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}`,
    );
  const allBinary = binaryFlag(body.parameters, 'binary_data_output', 'request') ?? false;
  const binary = opts.binary;
  let binaryAt = 0;
  if (body.id !== undefined && typeof body.id !== 'string') throw bad(`"id" must be a string, got ${JSON.stringify(body.id)}`);
  if (!Array.isArray(body.inputs) || body.inputs.length === 0)
    throw bad('"inputs" must be a non-empty array of tensors {name, shape, datatype, data}');
  const inputs = new Map<string, InferInput>();
  let rows = -1;
  const keyParts: string[] = [];
  for (const [i, t] of (body.inputs as unknown[]).entries()) {
    if (!isRecord(t)) throw bad(`inputs[${i}]: expected a tensor object {name, shape, datatype, data}`);
    if (typeof t.name !== 'string') throw bad(`inputs[${i}].name: expected a string`);
    const where = `input "${t.name}"`;
    const spec = sig.inputs.find((s) => s.name === t.name);
    if (!spec) throw bad(`${where}: the model has no such input; expected ${sig.inputs.map((s) => `"${s.name}"`).join(', ')}`);
    if (inputs.has(t.name)) throw bad(`${where}: given twice`);
    if (typeof t.datatype !== 'string' || !OIP_DATATYPES.includes(t.datatype)) {
      throw bad(`${where}: datatype ${JSON.stringify(t.datatype)} is not a protocol datatype; expected ${spec.datatype}`);
    }
    if (t.datatype !== spec.datatype) throw bad(`${where}: datatype ${t.datatype} does not match the model's ${spec.datatype}`);
    if (!spec.ort)
      throw bad(
        `${where}: datatype ${spec.datatype} is not supported by this server (JSON tensors of numbers and booleans only)`,
      );
    const shapeValue = t.shape instanceof NumberArray && !t.shape.nested ? t.shape.toJSON() : t.shape;
    if (!Array.isArray(shapeValue) || !shapeValue.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
      throw bad(`${where}: shape ${JSON.stringify(t.shape)} must be an array of non-negative integers`);
    }
    const shape = shapeValue as number[];
    // A zero-size tensor carries nothing to infer on, and a huge dimension beside a zero one would
    // otherwise pass every size check (its product is 0) and reach onnxruntime.
    const odd = shape.findIndex((d) => d < 1 || d > MAX_DIMENSION);
    if (odd >= 0)
      throw bad(
        `${where}: shape [${shape.join(', ')}] has dimension ${odd} of ${shape[odd]}; expected sizes from 1 to ${MAX_DIMENSION}`,
      );
    if (shape.reduce((a, b) => a * b, 1) > MAX_DIMENSION)
      throw bad(`${where}: shape [${shape.join(', ')}] has more than ${MAX_DIMENSION} elements`);
    const expected = `[${spec.shape.join(', ')}] (-1: any size)`;
    if (shape.length !== spec.shape.length)
      throw bad(`${where}: shape [${shape.join(', ')}] has rank ${shape.length}; the model expects ${expected}`);
    shape.forEach((d, k) => {
      if (spec.shape[k]! >= 0 && spec.shape[k] !== d)
        throw bad(`${where}: shape [${shape.join(', ')}] differs from the model's ${expected} at dimension ${k}`);
    });
    if (sig.batched) {
      if (rows >= 0 && shape[0] !== rows)
        throw bad(`${where}: ${shape[0]} rows, but other inputs have ${rows}; every input needs the same first dimension`);
      rows = shape[0]!;
      if (opts.maxRows && rows > opts.maxRows)
        throw bad(`${where}: ${rows} rows exceed the model's max_batch_size ${opts.maxRows}; split the request`);
    }
    const n = shape.reduce((a, b) => a * b, 1);
    const size = isRecord(t.parameters) ? t.parameters.binary_data_size : undefined;
    if (size !== undefined) {
      if (!Number.isInteger(size) || (size as number) < 0)
        throw bad(`${where}: parameters.binary_data_size: expected a number of bytes, got ${JSON.stringify(size)}`);
      if (!binary)
        throw bad(
          `${where}: parameters.binary_data_size given, but the request has no binary part (Inference-Header-Content-Length)`,
        );
      if (t.data !== undefined) throw bad(`${where}: both "data" and parameters.binary_data_size; send one`);
      const want = n * elementBytes(spec.ort);
      if (size !== want)
        throw bad(
          `${where}: binary_data_size ${size as number}, but shape [${shape.join(', ')}] of ${spec.datatype} needs ${want} bytes`,
        );
      if (binaryAt + want > binary.length)
        throw bad(`${where}: the binary part ends after ${binary.length - binaryAt} of this input's ${want} bytes`);
      const bytes = binary.subarray(binaryAt, binaryAt + want);
      if (spec.ort === 'float32' || spec.ort === 'float64') {
        const v = floatView(spec.datatype, bytes);
        const k = firstNonFinite(v);
        if (k >= 0) throw nonFinite(spec.datatype, `${where} (binary)`, k, String(v[k]));
      }
      inputs.set(t.name, { name: t.name, shape, size: n, bytes });
      binaryAt += want;
    } else if (t.data instanceof NumberArray) {
      if (t.data.nested) {
        const at = t.data.nestingError(shape);
        if (at) throw bad(`${where}: ${at}, but shape [${shape.join(', ')}] needs nested "data" to follow it (or to be flat)`);
      }
      if (t.data.length !== n)
        throw bad(`${where}: ${t.data.length} values in "data", but shape [${shape.join(', ')}] needs ${n}`);
      inputs.set(t.name, { name: t.name, shape, size: n, bytes: decodeNumbers(spec, t.data, where) });
    } else {
      if (!Array.isArray(t.data)) throw bad(`${where}: "data" must be an array (flat, row-major, or nested)`);
      const flat = flatten(t.data, shape, where);
      if (flat.length !== n) throw bad(`${where}: ${flat.length} values in "data", but shape [${shape.join(', ')}] needs ${n}`);
      checkValues(spec, flat, n, where);
      inputs.set(t.name, { name: t.name, shape, size: n, values: flat });
    }
    keyParts.push(shape.slice(1).join('x'));
  }
  const missing = sig.inputs.filter((s) => !inputs.has(s.name));
  if (missing.length)
    throw bad(
      `missing input ${missing.map((s) => `"${s.name}"`).join(', ')}; the model needs ${sig.inputs.map((s) => `"${s.name}"`).join(', ')}`,
    );
  if (binary && binaryAt !== binary.length)
    throw bad(`the binary part has ${binary.length} bytes, but the inputs' binary_data_size add up to ${binaryAt}`);
  let outputs = sig.outputs.map((o) => o.name);
  const binaryOut = new Set<string>(allBinary ? outputs : []);
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs)) throw bad('"outputs" must be an array of {name}');
    outputs = (body.outputs as unknown[]).map((o, i) => {
      if (!isRecord(o) || typeof o.name !== 'string') throw bad(`outputs[${i}]: expected {name: string}`);
      if (!sig.outputs.some((s) => s.name === o.name)) {
        throw bad(
          `outputs[${i}]: the model has no output "${o.name}"; expected ${sig.outputs.map((s) => `"${s.name}"`).join(', ')}`,
        );
      }
      const flag = binaryFlag(o.parameters, 'binary_data', `output "${o.name}"`);
      if (flag === true) binaryOut.add(o.name);
      else if (flag === false) binaryOut.delete(o.name);
      return o.name;
    });
  }
  return {
    id: body.id as string | undefined,
    inputs,
    rows: sig.batched ? rows : 1,
    outputs,
    binary: binaryOut,
    key: keyParts.join('|'),
  };
}

/** JSON text of a tensor's values: float32 with 9 significant digits (enough to round-trip) instead of a double's 17. */
function jsonValues(data: ArrayLike<number | bigint>, datatype: string): string {
  const n = data.length;
  if (n === 0) return '[]';
  const parts = new Array<string>(n);
  if (datatype === 'BOOL') for (let i = 0; i < n; i++) parts[i] = data[i] ? 'true' : 'false';
  else if (datatype === 'INT64' || datatype === 'UINT64') for (let i = 0; i < n; i++) parts[i] = String(data[i]);
  else {
    const fp32 = datatype === 'FP32';
    for (let i = 0; i < n; i++) {
      const v = data[i] as number;
      parts[i] = !Number.isFinite(v) ? 'null' : fp32 ? String(Number(v.toPrecision(9))) : String(v);
    }
  }
  return `[${parts.join(',')}]`;
}

export interface InferResponseBody {
  /** The JSON, or the JSON header followed by the binary outputs. */
  chunks: Array<string | Uint8Array>;
  length: number;
  /** Set when binary outputs follow the JSON header: its length in bytes. */
  headerLength?: number;
}

/** The response: JSON, with the outputs in `binary` as binary tensor data after the JSON header. */
export function inferResponse(
  model: string,
  version: string,
  id: string | undefined,
  outputs: OutputTensor[],
  binary: ReadonlySet<string> = new Set(),
): InferResponseBody {
  const bins: Uint8Array[] = [];
  let text = `{"model_name":${JSON.stringify(model)},"model_version":${JSON.stringify(version)}`;
  if (id !== undefined) text += `,"id":${JSON.stringify(id)}`;
  text += ',"outputs":[';
  outputs.forEach((o, k) => {
    if (k) text += ',';
    text += `{"name":${JSON.stringify(o.name)},"datatype":"${o.datatype}","shape":[${o.shape.join(',')}],`;
    const d = o.data as TensorData;
    if (binary.has(o.name) && ArrayBuffer.isView(d)) {
      bins.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
      text += `"parameters":{"binary_data_size":${d.byteLength}}}`;
    } else text += `"data":${jsonValues(o.data, o.datatype)}}`;
  });
  text += ']}';
  const headerLength = Buffer.byteLength(text);
  if (!bins.length) return { chunks: [text], length: headerLength };
  return { chunks: [text, ...bins], length: bins.reduce((a, b) => a + b.byteLength, headerLength), headerLength };
}

export function tensorMetadata(specs: TensorSpec[]): Array<{ name: string; datatype: string; shape: number[] }> {
  return specs.map((s) => ({ name: s.name, datatype: s.datatype, shape: s.shape }));
}
