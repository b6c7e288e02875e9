/**
 * ONNX tensors: element types, float16 bits, and reading and writing initializer values.
 */
import { CdlError } from '../util/errors.js';
import { onnx, toNumber, type ITensorProto } from './proto.js';

/** The bytes are not a usable ONNX model (corrupted, truncated, unsupported opset). Exit code 1. */
export class OnnxModelError extends CdlError {}

export const DT = onnx.TensorProto.DataType;

export type TensorValues = Float32Array | Int32Array | Uint8Array | Int8Array | Float64Array | Uint16Array;

export function dataTypeName(t: number | null | undefined): string {
  return onnx.TensorProto.DataType[t ?? 0] ?? String(t);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half-precision bits of `v`, rounded to nearest even; overflow gives ±Infinity. */
export function toHalfBits(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

// ---------------------------------------------------------------------------------------------
// tensors
// ---------------------------------------------------------------------------------------------

export function tensorDims(t: ITensorProto): number[] {
  return (t.dims ?? []).map(toNumber);
}

export function tensorSize(t: ITensorProto): number {
  return tensorDims(t).reduce((a, b) => a * b, 1);
}

function aligned(raw: Uint8Array): ArrayBuffer {
  return raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;
}

/** The values of an initializer. INT64 values come back as float64 numbers. */
export function tensorValues(t: ITensorProto): TensorValues {
  const type = t.dataType ?? 0;
  const raw = t.rawData && t.rawData.length ? t.rawData : undefined;
  const n = tensorSize(t);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new OnnxModelError(
      `initializer "${t.name}" keeps its data in an external file; expected the weights inside model.onnx`,
    );
  }
  const check = <T extends TensorValues>(v: T): T => {
    if (v.length !== n) {
      throw new OnnxModelError(
        `initializer "${t.name}" holds ${v.length} values but its dims [${tensorDims(t).join(', ')}] need ${n}; the file is corrupted`,
      );
    }
    return v;
  };
  switch (type) {
    case DT.FLOAT:
      return check(raw ? new Float32Array(aligned(raw)) : Float32Array.from(t.floatData ?? []));
    case DT.DOUBLE:
      return check(raw ? new Float64Array(aligned(raw)) : Float64Array.from(t.doubleData ?? []));
    case DT.FLOAT16:
      return check(raw ? new Uint16Array(aligned(raw)) : Uint16Array.from(t.int32Data ?? []));
    case DT.INT8:
      return check(raw ? new Int8Array(aligned(raw)) : Int8Array.from(t.int32Data ?? []));
    case DT.UINT8:
    case DT.BOOL:
      return check(raw ? new Uint8Array(aligned(raw)) : Uint8Array.from(t.int32Data ?? []));
    case DT.INT32:
      return check(raw ? new Int32Array(aligned(raw)) : Int32Array.from(t.int32Data ?? []));
    case DT.INT64: {
      if (raw) {
        const view = new DataView(aligned(raw));
        const out = new Float64Array(raw.length / 8);
        for (let i = 0; i < out.length; i++) out[i] = Number(view.getBigInt64(i * 8, true));
        return check(out);
      }
      return check(Float64Array.from((t.int64Data ?? []).map(toNumber)));
    }
    default:
      throw new OnnxModelError(`initializer "${t.name}" has element type ${dataTypeName(type)}, which cdl does not read`);
  }
}

/** An initializer's values as float32 (FLOAT, DOUBLE and FLOAT16 tensors). */
export function floatValues(t: ITensorProto): Float32Array {
  const v = tensorValues(t);
  if (t.dataType === DT.FLOAT) return v as Float32Array;
  if (t.dataType === DT.FLOAT16) return Float32Array.from(v as Uint16Array, fromHalfBits);
  if (t.dataType === DT.DOUBLE) return Float32Array.from(v);
  throw new OnnxModelError(`initializer "${t.name}" is ${dataTypeName(t.dataType)}; expected a floating-point tensor`);
}

function bytesOf(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
}

/** A tensor with raw little-endian data (the platforms Node runs on are little-endian). */
export function makeTensor(name: string, dataType: number, dims: number[], values: TensorValues | number[]): ITensorProto {
  let raw: Uint8Array;
  switch (dataType) {
    case DT.FLOAT:
      raw = bytesOf(Float32Array.from(values));
      break;
    case DT.FLOAT16:
      raw = bytesOf(values instanceof Uint16Array ? values : Uint16Array.from(values, toHalfBits));
      break;
    case DT.INT8:
      raw = bytesOf(Int8Array.from(values));
      break;
    case DT.UINT8:
      raw = bytesOf(Uint8Array.from(values));
      break;
    case DT.INT32:
      raw = bytesOf(Int32Array.from(values));
      break;
    case DT.INT64:
      raw = bytesOf(BigInt64Array.from(Array.from(values, (x) => BigInt(Math.round(x)))));
      break;
    default:
      throw new OnnxModelError(`cannot write tensors of type ${dataTypeName(dataType)}`);
  }
  return { name, dataType, dims, rawData: raw };
}
