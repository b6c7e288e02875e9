/**
 * The Open Inference Protocol v2 over gRPC (proto/open_inference_grpc.proto), beside the REST
 * endpoints of the same server: the same model versions, batch queues, canary split, limits and
 * metrics. Requests are turned into the REST request's form and checked by the same code
 * (parseInferRequest); domain errors (errors.ts, HttpError) become gRPC status codes here, at the edge.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CdlError, messageOf } from '../util/errors.js';
import { httpStatus, HttpError } from './errors.js';
import type { InferRequest, OutputTensor, TensorData } from './tensors.js';
import { parseInferRequest } from './protocol.js';
import type { InferenceBackend } from './backend.js';

export const PROTO_FILE = 'open_inference_grpc.proto';

/** The proto file: proto/ at the root of the package, from src/serve or build/src/serve. */
export function protoPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ['../..', '../../..']) {
    const p = path.resolve(here, up, 'proto', PROTO_FILE);
    if (existsSync(p)) return p;
  }
  throw new CdlError(`proto/${PROTO_FILE} is missing from the cdl package; expected it beside src/`);
}

/** Options that keep the proto's field names (snake_case) and give 64-bit integers as numbers. */
export const PROTO_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: false,
  arrays: true,
  oneofs: true,
};

export function loadInferenceService(): grpc.ServiceDefinition {
  const def = protoLoader.loadSync(protoPath(), PROTO_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    inference: { GRPCInferenceService: grpc.ServiceClientConstructor };
  };
  return pkg.inference.GRPCInferenceService.service;
}

/** A domain error's HTTP status as a gRPC status code. */
export function grpcCode(e: unknown): grpc.status {
  const status = httpStatus(e);
  if (status === undefined) return grpc.status.INTERNAL;
  if (e instanceof HttpError && e.reason === 'queue_full') return grpc.status.RESOURCE_EXHAUSTED;
  switch (status) {
    case 400:
      return grpc.status.INVALID_ARGUMENT;
    case 404:
      return grpc.status.NOT_FOUND;
    case 405:
      return grpc.status.UNIMPLEMENTED;
    case 408:
    case 504:
      return grpc.status.DEADLINE_EXCEEDED;
    case 413:
    case 429:
      return grpc.status.RESOURCE_EXHAUSTED;
    case 503:
      return grpc.status.UNAVAILABLE;
    default:
      return grpc.status.INTERNAL;
  }
}

type Contents = Partial<Record<ContentsField, unknown[]>>;
type ContentsField =
  | 'bool_contents'
  | 'int_contents'
  | 'int64_contents'
  | 'uint_contents'
  | 'uint64_contents'
  | 'fp32_contents'
  | 'fp64_contents'
  | 'bytes_contents';

/** Which InferTensorContents field holds a datatype's values. */
const CONTENTS_FIELD: Record<string, ContentsField> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

interface InputTensor {
  name?: string;
  datatype?: string;
  shape?: number[];
  contents?: Contents | null;
}

export interface ModelInferRequest {
  model_name?: string;
  model_version?: string;
  id?: string;
  inputs?: InputTensor[];
  outputs?: Array<{ name?: string }>;
  raw_input_contents?: Uint8Array[];
}

const bad = (m: string) => new HttpError(400, m);

/**
 * The request in the form the REST parser checks: typed contents become "data", raw contents
 * the binary tensor data extension (binary_data_size, then the bytes one after another).
 */
export function restForm(req: ModelInferRequest): { body: Record<string, unknown>; binary?: Uint8Array; raw: boolean } {
  const inputs = req.inputs ?? [];
  const raw = req.raw_input_contents ?? [];
  if (raw.length && raw.length !== inputs.length)
    throw bad(`raw_input_contents has ${raw.length} entries for ${inputs.length} inputs; expected one per input, in order`);
  const body = inputs.map((t, i) => {
    const where = `input "${t.name ?? ''}"`;
    const filled = Object.entries(t.contents ?? {}).filter(([, v]) => Array.isArray(v) && v.length > 0);
    const base = { name: t.name, datatype: t.datatype, shape: t.shape ?? [] };
    if (raw.length) {
      if (filled.length) throw bad(`${where}: contents given beside raw_input_contents; send the values one way`);
      return { ...base, parameters: { binary_data_size: raw[i]!.length } };
    }
    const field = CONTENTS_FIELD[t.datatype ?? ''];
    // An unknown datatype is named by the request checks.
    if (!field) return { ...base, data: [] };
    const other = filled.find(([k]) => k !== field);
    if (other) throw bad(`${where}: values in contents.${other[0]}, but datatype ${t.datatype} takes contents.${field}`);
    return { ...base, data: (t.contents?.[field] as unknown[] | undefined) ?? [] };
  });
  const out: Record<string, unknown> = { inputs: body };
  if (req.id) out.id = req.id;
  if (req.outputs?.length) out.outputs = req.outputs.map((o) => ({ name: o.name ?? '' }));
  if (!raw.length) return { body: out, raw: false };
  return { body: out, binary: raw.length === 1 ? raw[0]! : Buffer.concat(raw), raw: true };
}

/** Output values for InferTensorContents (arrays, as the message encoder takes them). */
function contentsOf(o: OutputTensor): Contents {
  const field = CONTENTS_FIELD[o.datatype];
  if (!field) throw new HttpError(500, `output "${o.name}": datatype ${o.datatype} has no contents field`);
  const d = o.data;
  const values =
    o.datatype === 'BOOL'
      ? Array.from(d as ArrayLike<number>, (v) => v !== 0)
      : o.datatype === 'INT64' || o.datatype === 'UINT64'
        ? Array.from(d as ArrayLike<bigint>, (v) => String(v))
        : Array.from(d as ArrayLike<number>);
  return { [field]: values };
}

function rawOf(o: OutputTensor): Buffer {
  const d = o.data as TensorData;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

export function grpcResponse(model: string, version: string, id: string | undefined, outputs: OutputTensor[], raw: boolean) {
  return {
    model_name: model,
    model_version: version,
    id: id ?? '',
    outputs: outputs.map((o) => ({
      name: o.name,
      datatype: o.datatype,
      shape: o.shape,
      ...(raw ? {} : { contents: contentsOf(o) }),
    })),
    raw_output_contents: raw ? outputs.map(rawOf) : [],
  };
}

type Handler = (call: { request: unknown }) => Promise<unknown>;

/** The gRPC endpoint of a model server (src/serve/server.ts). */
export class GrpcEndpoint {
  private constructor(
    readonly server: grpc.Server,
    readonly port: number,
  ) {}

  static async start(ms: InferenceBackend, host: string, port: number, maxMessageBytes: number): Promise<GrpcEndpoint> {
    const server = new grpc.Server({
      'grpc.max_receive_message_length': maxMessageBytes,
      'grpc.max_send_message_length': -1,
      // Channelz keeps per-call statistics for a debugging service this server does not offer: 3% of its CPU per call.
      'grpc.enable_channelz': 0,
    });
    const unary =
      (name: string, fn: Handler): grpc.handleUnaryCall<unknown, unknown> =>
      (call, callback) => {
        ms.track(() => fn(call)).then(
          (v) => callback(null, v),
          (e: unknown) => {
            const code = grpcCode(e);
            if (code === grpc.status.INTERNAL) ms.log.error('grpc call failed', { method: name, error: messageOf(e) });
            callback({ code, details: code === grpc.status.INTERNAL ? `internal error: ${messageOf(e)}` : messageOf(e) });
          },
        );
      };
    const r = <T>(call: { request: unknown }) => call.request as T;
    const impl: grpc.UntypedServiceImplementation = {
      ServerLive: unary('ServerLive', async () => ({ live: true })),
      ServerReady: unary('ServerReady', async () => ({ ready: ms.isReady })),
      ServerMetadata: unary('ServerMetadata', async () => ms.serverMetadata()),
      ModelReady: unary('ModelReady', async (c) => {
        const q = r<{ name?: string; version?: string }>(c);
        return { ready: ms.modelReady(required(q.name, 'name'), q.version || undefined) };
      }),
      ModelMetadata: unary('ModelMetadata', async (c) => {
        const q = r<{ name?: string; version?: string }>(c);
        const m = ms.modelMetadata(required(q.name, 'name'), q.version || undefined);
        return { name: m.name, versions: m.versions, platform: m.platform, inputs: m.inputs, outputs: m.outputs };
      }),
      ModelInfer: unary('ModelInfer', async (c) => {
        const q = r<ModelInferRequest>(c);
        const name = required(q.model_name, 'model_name');
        const form = restForm(q);
        return ms.inferOnce(
          name,
          q.model_version || undefined,
          (mv) =>
            parseInferRequest(form.body, mv.signature, {
              maxRows: mv.signature.batched ? mv.config.max_batch_size : undefined,
              binary: form.binary,
            }),
          (mv, parsed: InferRequest, outputs) => grpcResponse(name, String(mv.version), parsed.id, outputs, form.raw),
        );
      }),
      RepositoryIndex: unary('RepositoryIndex', async (c) => {
        const q = r<{ ready?: boolean }>(c);
        return {
          models: ms.repository
            .index(q.ready === true)
            .map((e) => ({ name: e.name, version: e.version ?? '', state: e.state, reason: e.reason })),
        };
      }),
      RepositoryModelLoad: unary('RepositoryModelLoad', async (c) => {
        await ms.loadModel(required(r<{ model_name?: string }>(c).model_name, 'model_name'), 'load');
        return {};
      }),
      RepositoryModelUnload: unary('RepositoryModelUnload', async (c) => {
        await ms.loadModel(required(r<{ model_name?: string }>(c).model_name, 'model_name'), 'unload');
        return {};
      }),
    };
    server.addService(loadInferenceService(), impl);
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    return new GrpcEndpoint(server, bound);
  }

  /** Stop taking calls and wait for those in flight, up to `timeoutMs`; then cut them off. */
  async close(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.server.tryShutdown(() => resolve())),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
    this.server.forceShutdown();
  }
}

function required(v: string | undefined, field: string): string {
  if (!v) throw bad(`${field}: expected a model name, got an empty string`);
  return v;
}
