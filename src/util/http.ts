/**
 * The small HTTP pieces cdl's servers share (`cdl serve` and the `cdl run` results server):
 * answering with JSON or text, reading a small body under a size limit, parsing a JSON body, and
 * the token of an Authorization header. They speak no protocol: a refusal is a domain error
 * (BodyTooLargeError, JsonBodyError) that each server's edge answers in its own protocol (Open
 * Inference Protocol, Twirp, Azure blob storage), with the status it chooses.
 *
 * Inference bodies of `cdl serve` do not come through here: its BodyReader (src/serve/body.ts)
 * reads them under a time limit into a buffer of their own, a few large ones at a time, so that
 * they can be parsed off the main thread without a copy.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

export const JSON_TYPE = 'application/json';

/** Answer with a text body of `type`, its length declared. */
export function sendText(
  res: ServerResponse,
  status: number,
  body: string,
  type: string,
  headers: OutgoingHttpHeaders = {},
): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Answer with `value` as JSON. */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: OutgoingHttpHeaders = {}): void {
  sendText(res, status, JSON.stringify(value), JSON_TYPE, headers);
}

/** A request body over the limit (by its Content-Length, or by what arrived). */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body is larger than ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads a small request body (a JSON request, a block list) fully; refuses more than `limit`
 * bytes with BodyTooLargeError, before a byte is read when Content-Length says so.
 */
export async function readSmallBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    throw new BodyTooLargeError(limit);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw new BodyTooLargeError(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** A request body that is not JSON; the message is the parser's. */
export class JsonBodyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonBodyError';
  }
}

/** Parse a JSON request body; JsonBodyError when it is not JSON. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new JsonBodyError((e as Error).message);
  }
}

/**
 * The token of `Authorization: <scheme> <token>` for one of `schemes` (case-insensitive), or
 * undefined when the header is missing or has another form.
 */
export function bearerToken(req: IncomingMessage, schemes: readonly string[] = ['Bearer']): string | undefined {
  const m = new RegExp(`^(?:${schemes.join('|')})\\s+(\\S+)$`, 'i').exec(req.headers.authorization ?? '');
  return m?.[1];
}
