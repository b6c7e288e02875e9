/**
 * Tensors between the protocol and onnxruntime: the Open Inference Protocol's datatypes and their
 * onnxruntime types, a model's signature, and the shapes a checked request and an answer take on
 * their way through the batch queue and the inference workers.
 */

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
const ONNX_TYPES: Record<string, TypeInfo & { bytes: number }> = {
  FLOAT: { datatype: 'FP32', ort: 'float32', make: (n) => new Float32Array(n), bytes: 4 },
  DOUBLE: { datatype: 'FP64', ort: 'float64', make: (n) => new Float64Array(n), bytes: 8 },
  INT8: { datatype: 'INT8', ort: 'int8', make: (n) => new Int8Array(n), bytes: 1 },
  UINT8: { datatype: 'UINT8', ort: 'uint8', make: (n) => new Uint8Array(n), bytes: 1 },
  INT16: { datatype: 'INT16', ort: 'int16', make: (n) => new Int16Array(n), bytes: 2 },
  UINT16: { datatype: 'UINT16', ort: 'uint16', make: (n) => new Uint16Array(n), bytes: 2 },
  INT32: { datatype: 'INT32', ort: 'int32', make: (n) => new Int32Array(n), bytes: 4 },
  UINT32: { datatype: 'UINT32', ort: 'uint32', make: (n) => new Uint32Array(n), bytes: 4 },
  INT64: { datatype: 'INT64', ort: 'int64', make: (n) => new BigInt64Array(n), bytes: 8 },
  UINT64: { datatype: 'UINT64', ort: 'uint64', make: (n) => new BigUint64Array(n), bytes: 8 },
  BOOL: { datatype: 'BOOL', ort: 'bool', make: (n) => new Uint8Array(n), bytes: 1 },
  FLOAT16: { datatype: 'FP16', ort: null, make: null, bytes: 2 },
  BFLOAT16: { datatype: 'BF16', ort: null, make: null, bytes: 2 },
  STRING: { datatype: 'BYTES', ort: null, make: null, bytes: 0 },
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

const BY_ORT = new Map(Object.values(ONNX_TYPES).flatMap((t) => (t.ort ? [[t.ort, t] as const] : [])));

export function makeTensorData(ort: OrtType, n: number): TensorData {
  return BY_ORT.get(ort)!.make!(n);
}

/** Bytes per element of an onnxruntime type. */
export function elementBytes(ort: OrtType): number {
  return BY_ORT.get(ort)!.bytes;
}

export interface InferInput {
  name: string;
  shape: number[];
  /** Elements (the product of the shape). */
  size: number;
  /** JSON "data", flattened and already checked: numbers (booleans for BOOL), row-major. */
  values?: unknown[];
  /** Binary tensor data: size × element bytes, little-endian, row-major. */
  bytes?: Uint8Array;
}

/**
 * One typed array holding the inputs of several requests one after another (a batch along axis
 * 0), filled straight from their JSON values or binary bytes.
 */
export function fillTensor(ort: OrtType, parts: InferInput[]): TensorData {
  let total = 0;
  for (const p of parts) total += p.size;
  const out = makeTensorData(ort, total);
  const bytesPer = out.BYTES_PER_ELEMENT;
  let off = 0;
  for (const p of parts) {
    if (p.bytes) new Uint8Array(out.buffer, off * bytesPer, p.size * bytesPer).set(p.bytes);
    else {
      const v = p.values!;
      const n = p.size;
      if (out instanceof BigInt64Array || out instanceof BigUint64Array)
        for (let i = 0; i < n; i++) out[off + i] = BigInt(v[i] as number);
      else if (ort === 'bool') for (let i = 0; i < n; i++) out[off + i] = v[i] ? 1 : 0;
      else for (let i = 0; i < n; i++) out[off + i] = v[i] as number;
    }
    off += p.size;
  }
  return out;
}

export interface InferRequest {
  id?: string;
  inputs: Map<string, InferInput>;
  /** Rows along axis 0 (1 when the model is not batched). */
  rows: number;
  /** The outputs asked for, in order (all of the model's when the request names none). */
  outputs: string[];
  /** The outputs to answer as binary tensor data. */
  binary: Set<string>;
  /** The shape of every input beyond axis 0: requests with equal keys can share a batch. */
  key: string;
}

export interface OutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: ArrayLike<number | bigint>;
}
