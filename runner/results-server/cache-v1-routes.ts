// The cache service v1 routes (_apis/artifactcache): what toolkit versions before the Twirp cache
// service call, and what GHES-style clients still use. Errors answer as {message, typeKey}.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../../src/util/http.js';
import type { RunAuth } from './auth.js';
import { BlobError } from './blob-store.js';
import { contentLength, header } from './blob-routes.js';
import type { CacheService } from './cache-service.js';
import type { Storage } from './storage.js';
import { MAX_JSON_BODY, TwirpError, invalidArgument, readJsonObject } from './twirp.js';

export const CACHE_V1_PREFIX = '/_apis/artifactcache/';

interface CacheV1Services {
  auth: RunAuth;
  storage: Storage;
  cache: CacheService;
}

/** The handler of the _apis/artifactcache routes. */
export function cacheV1Handler(
  services: CacheV1Services,
): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  const { auth, storage, cache: service } = services;

  async function handleCacheV1(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const status = (error: TwirpError) =>
      error.code === 'already_exists'
        ? 409
        : error.code === 'not_found'
          ? 404
          : error.code === 'unauthenticated'
            ? 401
            : error.status;
    try {
      const claims = await auth.runtimeClaims(req);
      const resource = url.pathname.slice(CACHE_V1_PREFIX.length);
      const method = req.method ?? 'GET';
      if (method === 'GET' && resource === 'cache') {
        req.resume();
        const keys = (url.searchParams.get('keys') ?? '').split(',').filter(Boolean);
        const found = service.lookupCacheV1(claims, keys, url.searchParams.get('version') ?? '');
        if (found) sendJson(res, 200, found);
        else {
          res.writeHead(204);
          res.end();
        }
        return;
      }
      if (method === 'GET' && resource === 'caches') {
        req.resume();
        sendJson(res, 200, service.listCacheV1(claims, url.searchParams.get('key') ?? ''));
        return;
      }
      if (method === 'POST' && resource === 'caches') {
        sendJson(res, 201, await service.reserveCacheV1(claims, await readJsonObject(req, MAX_JSON_BODY)));
        return;
      }
      const idMatch = /^caches\/(\d+)$/.exec(resource);
      if (idMatch && method === 'PATCH') {
        const range = /^bytes (\d{1,16})-(\d{1,16})\/(\*|\d{1,16})$/.exec(header(req, 'content-range') ?? '');
        if (!range) throw invalidArgument('Content-Range', 'must be bytes START-END/* (decimal, END >= START)');
        const start = Number(range[1]);
        const end = Number(range[2]);
        if (end < start) throw invalidArgument('Content-Range', `ends (${end}) before it starts (${start})`);
        if (end + 1 > storage.blobs.maxBlobBytes) {
          throw new BlobError(
            413,
            'RequestBodyTooLarge',
            `Content-Range bytes ${start}-${end} reaches past ${storage.blobs.maxBlobBytes} bytes, the largest cache entry this server takes`,
          );
        }
        const declared = contentLength(req);
        if (declared !== undefined && declared !== end - start + 1) {
          throw invalidArgument(
            'Content-Length',
            `is ${declared} but Content-Range bytes ${start}-${end} is ${end - start + 1} bytes`,
          );
        }
        const claim = service.claimRangeV1(claims, Number(idMatch[1]), start, end);
        try {
          await storage.blobs.writeRange('cache', claim.blob, start, req, end - start + 1);
        } catch (error) {
          claim.release();
          throw error;
        }
        res.writeHead(204);
        res.end();
        return;
      }
      if (idMatch && method === 'POST') {
        await service.commitCacheV1(claims, Number(idMatch[1]), await readJsonObject(req, MAX_JSON_BODY));
        res.writeHead(204);
        res.end();
        return;
      }
      throw new TwirpError('bad_route', `no handler for ${method} ${url.pathname}`);
    } catch (error) {
      req.resume();
      if (error instanceof TwirpError) {
        const body: Record<string, unknown> = { message: error.message, typeKey: error.code };
        if (error.meta?.['argument']) body['argument'] = error.meta['argument'];
        sendJson(res, status(error), body);
      } else if (error instanceof BlobError) sendJson(res, error.status, { message: error.message, typeKey: error.code });
      else sendJson(res, 500, { message: (error as Error).message });
    }
  }

  return handleCacheV1;
}
