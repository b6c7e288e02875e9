/**
 * The Open Inference Protocol (v2, the REST protocol of KServe and Triton): tensor data types,
 * inference requests checked against a model's signature, and responses. JSON tensors only;
 * the binary tensor extension is refused with a 400 that names it.
 */

/** An HTTP error with the status code to answer; the body is `{"error": message}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export type OrtType =
  'float32' | 'float64' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool';
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

interface TypeInfo {
  datatype: string;
  ort: OrtType | null;
  make: ((n: number) => TensorData) | null;
}

/** ONNX element type name (as summarizeOnnx writes it) → OIP datatype and onnxruntime type. */
const ONNX_TYPES: Record<string, TypeInfo> = {
  FLOAT: { datatype: 'FP32', ort: 'float32', make: (n) => new Float32Array(n) },
  DOUBLE: { datatype: 'FP64', ort: 'float64', make: (n) => new Float64Array(n) },
  INT8: { datatype: 'INT8', ort: 'int8', make: (n) => new Int8Array(n) },
  UINT8: { datatype: 'UINT8', ort: 'uint8', make: (n) => new Uint8Array(n) },
  INT16: { datatype: 'INT16', ort: 'int16', make: (n) => new Int16Array(n) },
  UINT16: { datatype: 'UINT16', ort: 'uint16', make: (n) => new Uint16Array(n) },
  INT32: { datatype: 'INT32', ort: 'int32', make: (n) => new Int32Array(n) },
  UINT32: { datatype: 'UINT32', ort: 'uint32', make: (n) => new Uint32Array(n) },
  INT64: { datatype: 'INT64', ort: 'int64', make: (n) => new BigInt64Array(n) },
  UINT64: { datatype: 'UINT64', ort: 'uint64', make: (n) => new BigUint64Array(n) },
  BOOL: { datatype: 'BOOL', ort: 'bool', make: (n) => new Uint8Array(n) },
  FLOAT16: { datatype: 'FP16', ort: null, make: null },
  BFLOAT16: { datatype: 'BF16', ort: null, make: null },
  STRING: { datatype: 'BYTES', ort: null, make: null },
};

export const OIP_DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
];

export interface TensorSpec {
  name: string;
  /** OIP datatype, e.g. FP32. */
  datatype: string;
  ort: OrtType | null;
  /** Sizes; -1 where the model leaves a dimension open. */
  shape: number[];
}

export interface Signature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Every input's first dimension is open: requests can be stacked along axis 0. */
  batched: boolean;
}

export function tensorSpec(v: { name: string; type: string; shape: Array<number | string> }): TensorSpec {
  const t = ONNX_TYPES[v.type];
  return {
    name: v.name,
    datatype: t?.datatype ?? v.type,
    ort: t?.ort ?? null,
    shape: v.shape.map((d) => (typeof d === 'number' && d > 0 ? d : -1)),
  };
}

export function makeTensorData(ort: OrtType, n: number): TensorData {
  const t = Object.values(ONNX_TYPES).find((x) => x.ort === ort)!;
  return t.make!(n);
}

export interface InferInput {
  name: string;
  shape: number[];
  data: TensorData;
}

export interface InferRequest {
  id?: string;
  inputs: Map<string, InferInput>;
  /** Rows along axis 0 (1 when the model is not batched). */
  rows: number;
  /** The outputs asked for, in order (all of the model's when the request names none). */
  outputs: string[];
  /** The shape of every input beyond axis 0: requests with equal keys can share a batch. */
  key: string;
}

export interface OutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: ArrayLike<number | bigint>;
}

const bad = (msg: string) => new HttpError(400, msg);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function refuseBinary(params: unknown, where: string): void {
  if (!isRecord(params)) return;
  for (const k of ['binary_data', 'binary_data_size', 'binary_data_output']) {
    if (params[k] !== undefined && params[k] !== false) {
      throw bad(
        `${where}: parameters.${k}: the binary tensor data extension is not supported; send tensors as JSON "data" arrays`,
      );
    }
  }
}

function flatten(data: unknown[]): unknown[] {
  return data.length > 0 && Array.isArray(data[0]) ? (data.flat(Infinity) as unknown[]) : data;
}

function fillData(spec: TensorSpec, raw: unknown[], n: number, where: string): TensorData {
  const out = makeTensorData(spec.ort!, n);
  const dt = spec.datatype;
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) {
      const v = raw[i];
      if (typeof v !== 'number' || !Number.isInteger(v))
        throw bad(`${where}: data[${i}] is ${JSON.stringify(v)}; expected an integer (${dt})`);
      out[i] = BigInt(v);
    }
  } else if (dt === 'BOOL') {
    for (let i = 0; i < n; i++) {
      const v = raw[i];
      if (typeof v !== 'boolean' && v !== 0 && v !== 1)
        throw bad(`${where}: data[${i}] is ${JSON.stringify(v)}; expected true or false (BOOL)`);
      out[i] = v ? 1 : 0;
    }
  } else if (dt === 'FP32' || dt === 'FP64') {
    for (let i = 0; i < n; i++) {
      const v = raw[i];
      if (typeof v !== 'number') throw bad(`${where}: data[${i}] is ${JSON.stringify(v)}; expected a number (${dt})`);
      out[i] = v;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = raw[i];
      if (typeof v !== 'number' || !Number.isInteger(v))
        throw bad(`${where}: data[${i}] is ${JSON.stringify(v)}; expected an integer (${dt})`);
      out[i] = v;
    }
  }
  return out;
}

/** Check an inference request body against the model's signature and turn it into typed tensors. */
export function parseInferRequest(body: unknown, sig: Signature, opts: { maxRows?: number } = {}): InferRequest {
  if (!isRecord(body))
    throw bad(
      `expected a JSON object with "inputs", got ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}`,
    );
  refuseBinary(body.parameters, 'request');
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
    refuseBinary(t.parameters, where);
    if (typeof t.datatype !== 'string' || !OIP_DATATYPES.includes(t.datatype)) {
      throw bad(`${where}: datatype ${JSON.stringify(t.datatype)} is not a protocol datatype; expected ${spec.datatype}`);
    }
    if (t.datatype !== spec.datatype) throw bad(`${where}: datatype ${t.datatype} does not match the model's ${spec.datatype}`);
    if (!spec.ort)
      throw bad(
        `${where}: datatype ${spec.datatype} is not supported by this server (JSON tensors of numbers and booleans only)`,
      );
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
      throw bad(`${where}: shape ${JSON.stringify(t.shape)} must be an array of non-negative integers`);
    }
    const shape = t.shape as number[];
    const expected = `[${spec.shape.join(', ')}] (-1: any size)`;
    if (shape.length !== spec.shape.length)
      throw bad(`${where}: shape [${shape.join(', ')}] has rank ${shape.length}; the model expects ${expected}`);
    shape.forEach((d, k) => {
      if (spec.shape[k]! >= 0 && spec.shape[k] !== d)
        throw bad(`${where}: shape [${shape.join(', ')}] differs from the model's ${expected} at dimension ${k}`);
    });
    if (sig.batched) {
      if (shape[0] === 0) throw bad(`${where}: shape [${shape.join(', ')}] has no rows`);
      if (rows >= 0 && shape[0] !== rows)
        throw bad(`${where}: ${shape[0]} rows, but other inputs have ${rows}; every input needs the same first dimension`);
      rows = shape[0]!;
      if (opts.maxRows && rows > opts.maxRows)
        throw bad(`${where}: ${rows} rows exceed the model's max_batch_size ${opts.maxRows}; split the request`);
    }
    if (!Array.isArray(t.data)) throw bad(`${where}: "data" must be an array (flat, row-major, or nested)`);
    const n = shape.reduce((a, b) => a * b, 1);
    const flat = flatten(t.data);
    if (flat.length !== n) throw bad(`${where}: ${flat.length} values in "data", but shape [${shape.join(', ')}] needs ${n}`);
    inputs.set(t.name, { name: t.name, shape, data: fillData(spec, flat, n, where) });
    keyParts.push(shape.slice(1).join('x'));
  }
  const missing = sig.inputs.filter((s) => !inputs.has(s.name));
  if (missing.length)
    throw bad(
      `missing input ${missing.map((s) => `"${s.name}"`).join(', ')}; the model needs ${sig.inputs.map((s) => `"${s.name}"`).join(', ')}`,
    );
  let outputs = sig.outputs.map((o) => o.name);
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs)) throw bad('"outputs" must be an array of {name}');
    outputs = (body.outputs as unknown[]).map((o, i) => {
      if (!isRecord(o) || typeof o.name !== 'string') throw bad(`outputs[${i}]: expected {name: string}`);
      if (!sig.outputs.some((s) => s.name === o.name)) {
        throw bad(
          `outputs[${i}]: the model has no output "${o.name}"; expected ${sig.outputs.map((s) => `"${s.name}"`).join(', ')}`,
        );
      }
      refuseBinary(o.parameters, `output "${o.name}"`);
      return o.name;
    });
  }
  return { id: body.id as string | undefined, inputs, rows: sig.batched ? rows : 1, outputs, key: keyParts.join('|') };
}

/** Float32 values with 9 significant digits (enough to round-trip) instead of a double's 17. */
function jsonNumbers(data: ArrayLike<number | bigint>, datatype: string): Array<number | boolean> {
  const out = new Array<number | boolean>(data.length);
  if (datatype === 'FP32') for (let i = 0; i < data.length; i++) out[i] = Number((data[i] as number).toPrecision(9));
  else if (datatype === 'BOOL') for (let i = 0; i < data.length; i++) out[i] = data[i] !== 0;
  else for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  return out;
}

export function inferResponse(model: string, version: string, id: string | undefined, outputs: OutputTensor[]): string {
  return JSON.stringify({
    model_name: model,
    model_version: version,
    ...(id !== undefined ? { id } : {}),
    outputs: outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape, data: jsonNumbers(o.data, o.datatype) })),
  });
}

export function tensorMetadata(specs: TensorSpec[]): Array<{ name: string; datatype: string; shape: number[] }> {
  return specs.map((s) => ({ name: s.name, datatype: s.datatype, shape: s.shape }));
}
