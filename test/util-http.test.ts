// The HTTP pieces `cdl serve` and the results server share, over real HTTP on 127.0.0.1: JSON
// answers, small bodies under a limit (refused as a domain error, not a status), JSON bodies,
// and the token of an Authorization header.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BodyTooLargeError, bearerToken, JsonBodyError, parseJsonText, readSmallBody, sendJson } from '../src/util/http.js';

const LIMIT = 16;
let server: http.Server;
let url: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/token') return sendJson(res, 200, { token: bearerToken(req, ['Bearer', 'token']) ?? null });
    readSmallBody(req, LIMIT).then(
      (body) => sendJson(res, 200, { value: parseJsonText(body.toString('utf8')) }),
      (e: Error) => sendJson(res, 200, { refused: e.name, message: e.message, tooLarge: e instanceof BodyTooLargeError }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('the shared HTTP helper', () => {
  it('answers JSON with its type and length', async () => {
    const res = await fetch(`${url}/`, { method: 'POST', body: '{"a":1}' });
    expect(res.headers.get('content-type')).toBe('application/json');
    const text = await res.text();
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
    expect(JSON.parse(text)).toEqual({ value: { a: 1 } });
  });

  const stream = (text: string) =>
    new ReadableStream({
      start(c) {
        for (let i = 0; i < text.length; i += 8) c.enqueue(new TextEncoder().encode(text.slice(i, i + 8)));
        c.close();
      },
    });
  it.each([
    ['a declared length over the limit', () => 'x'.repeat(LIMIT + 1)],
    ['a chunked body that grows past it', () => stream('x'.repeat(LIMIT * 4))],
  ])('refuses %s with BodyTooLargeError', async (_case, body) => {
    const res = await fetch(`${url}/`, { method: 'POST', body: body(), duplex: 'half' } as RequestInit);
    expect(await res.json()).toEqual({
      refused: 'BodyTooLargeError',
      message: `request body is larger than ${LIMIT} bytes`,
      tooLarge: true,
    });
  });

  it('says why a body is not JSON, in a JsonBodyError', () => {
    expect(() => parseJsonText('{')).toThrow(JsonBodyError);
  });

  it.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['token abc', 'abc'],
    ['Basic abc', null],
    ['Bearer a b', null],
    [undefined, null],
  ])('reads Authorization: %s', async (authorization, token) => {
    const res = await fetch(`${url}/token`, { headers: authorization ? { authorization } : {} });
    expect(await res.json()).toEqual({ token });
  });
});
