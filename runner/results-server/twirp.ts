// The Twirp side of the results server: its errors and the protobuf-JSON request fields. The
// generic HTTP pieces (sendJson, readSmallBody, bearerToken) are src/util/http.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLargeError, JsonBodyError, parseJsonText, readSmallBody, sendJson } from '../../src/util/http.js';

/** Twirp error codes and the HTTP status each one maps to (twirp spec v7). */
const TWIRP_STATUS = {
  canceled: 408,
  unknown: 500,
  invalid_argument: 400,
  malformed: 400,
  deadline_exceeded: 408,
  not_found: 404,
  bad_route: 404,
  already_exists: 409,
  permission_denied: 403,
  unauthenticated: 401,
  resource_exhausted: 429,
  failed_precondition: 412,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  dataloss: 500,
} as const;

type TwirpCode = keyof typeof TWIRP_STATUS;

/** An error a Twirp handler throws to answer with a Twirp error body. */
export class TwirpError extends Error {
  constructor(
    readonly code: TwirpCode,
    message: string,
    readonly meta?: Record<string, string>,
  ) {
    super(message);
    this.name = 'TwirpError';
  }

  get status(): number {
    return TWIRP_STATUS[this.code];
  }
}

/** A missing or invalid request field: 400 invalid_argument naming the field. */
export function invalidArgument(field: string, problem: string): TwirpError {
  return new TwirpError('invalid_argument', `${field} ${problem}`, { argument: field });
}

export function sendTwirpError(res: ServerResponse, err: TwirpError): void {
  const body: Record<string, unknown> = { code: err.code, msg: err.message };
  if (err.meta) body['meta'] = err.meta;
  sendJson(res, err.status, body);
}

/** The largest JSON request body the results server reads. */
export const MAX_JSON_BODY = 1024 * 1024;

/** A JSON object request body of at most `limit` bytes; anything else is a malformed request. */
export async function readJsonObject(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  let raw: Buffer;
  try {
    raw = await readSmallBody(req, limit);
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw new TwirpError('malformed', error.message);
    throw error;
  }
  return parseJsonObject(raw);
}

/** Parses a JSON object body; anything else is a malformed request. */
function parseJsonObject(raw: Buffer): Record<string, unknown> {
  const text = raw.toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = parseJsonText(text);
  } catch (error) {
    if (error instanceof JsonBodyError) throw new TwirpError('malformed', `request body is not valid JSON: ${error.message}`);
    throw error;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TwirpError('malformed', 'request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

function camel(snake: string): string {
  return snake.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Reads a field from a protobuf-JSON request. Accepts the proto field name
 * (`workflow_run_backend_id`, what the toolkit sends) and the lowerCamelCase
 * JSON name, as protobuf JSON parsers do.
 */
function raw(body: Record<string, unknown>, field: string): unknown {
  if (field in body) return body[field];
  const alt = camel(field);
  return alt in body ? body[alt] : undefined;
}

export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = raw(body, field);
  if (value === undefined || value === null) return undefined;
  // google.protobuf.StringValue is a plain string in JSON; tolerate {value: "..."} too.
  if (typeof value === 'object' && !Array.isArray(value) && 'value' in (value as object)) {
    return optionalString(value as Record<string, unknown>, 'value');
  }
  if (typeof value !== 'string') throw invalidArgument(field, 'must be a string');
  return value;
}

export function requiredString(body: Record<string, unknown>, field: string): string {
  const value = optionalString(body, field);
  if (value === undefined || value === '') throw invalidArgument(field, 'is required');
  return value;
}

/** int64 fields are strings in protobuf JSON; numbers are accepted as well. */
export function optionalInt64(body: Record<string, unknown>, field: string): number | undefined {
  let value = raw(body, field);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object' && !Array.isArray(value) && 'value' in (value as object)) {
    value = (value as Record<string, unknown>)['value'];
  }
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return Number(value);
  throw invalidArgument(field, 'must be a non-negative integer (int64 as a JSON string or number)');
}

export function optionalStringArray(body: Record<string, unknown>, field: string): string[] {
  const value = raw(body, field);
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw invalidArgument(field, 'must be an array of strings');
  }
  return value as string[];
}

/** google.protobuf.Timestamp in JSON: an RFC 3339 string. */
export function optionalTimestamp(body: Record<string, unknown>, field: string): Date | undefined {
  const value = raw(body, field);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidArgument(field, 'must be an RFC 3339 timestamp string');
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw invalidArgument(field, 'must be an RFC 3339 timestamp string');
  return date;
}

export function optionalInt32(body: Record<string, unknown>, field: string): number | undefined {
  const value = raw(body, field);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidArgument(field, 'must be an integer');
  return value;
}
