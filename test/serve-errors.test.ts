// The model repository's domain errors get their status at the edge: one table for REST (the HTTP
// status) and gRPC (that status's code), unexpected errors answered as internal.
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { httpStatus, HttpError, ModelLoadError, ModelNotFoundError } from '../src/serve/errors.js';
import { grpcCode } from '../src/serve/grpc.js';

describe('domain errors at the edge', () => {
  it.each([
    ['an unknown model', new ModelNotFoundError('unknown model "x"'), 404, grpc.status.NOT_FOUND],
    ['a load that failed', new ModelLoadError('model "x" failed to load'), 400, grpc.status.INVALID_ARGUMENT],
    ['a protocol refusal', new HttpError(413, 'too large'), 413, grpc.status.RESOURCE_EXHAUSTED],
    ['a full queue', new HttpError(503, 'queue full', 'queue_full'), 503, grpc.status.RESOURCE_EXHAUSTED],
    ['an unexpected error', new Error('boom'), undefined, grpc.status.INTERNAL],
  ])('answers %s', (_case, error, status, code) => {
    expect(httpStatus(error)).toBe(status);
    expect(grpcCode(error)).toBe(code);
  });
});
