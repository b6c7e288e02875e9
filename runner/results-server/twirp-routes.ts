// The Twirp routes (/twirp/github.actions.results.api.v1.<Service>/<Method>): the artifact and
// cache services' methods, each a POST of a JSON object with a runtime token.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../../src/util/http.js';
import type { ArtifactService } from './artifact-service.js';
import type { RunAuth } from './auth.js';
import type { CacheService } from './cache-service.js';
import type { TokenClaims } from './token.js';
import { MAX_JSON_BODY, TwirpError, readJsonObject, sendTwirpError } from './twirp.js';

export const TWIRP_PREFIX = '/twirp/github.actions.results.api.v1.';

type TwirpMethod = (claims: TokenClaims, body: Record<string, unknown>) => Promise<Record<string, unknown>>;

interface TwirpServices {
  auth: RunAuth;
  artifacts: ArtifactService;
  cache: CacheService;
}

/** The Twirp handler of the services: a request in, an answer (or a Twirp error) out. */
export function twirpHandler(
  services: TwirpServices,
): (req: IncomingMessage, res: ServerResponse, pathname: string) => Promise<void> {
  const { auth, artifacts, cache } = services;
  const twirp: Record<string, Record<string, TwirpMethod>> = {
    ArtifactService: {
      CreateArtifact: (c, b) => artifacts.createArtifact(c, b),
      FinalizeArtifact: (c, b) => artifacts.finalizeArtifact(c, b),
      ListArtifacts: (c, b) => artifacts.listArtifacts(c, b),
      GetSignedArtifactURL: (c, b) => artifacts.getSignedArtifactUrl(c, b),
      DeleteArtifact: (c, b) => artifacts.deleteArtifact(c, b),
    },
    CacheService: {
      CreateCacheEntry: (c, b) => cache.createCacheEntry(c, b),
      FinalizeCacheEntryUpload: (c, b) => cache.finalizeCacheEntryUpload(c, b),
      GetCacheEntryDownloadURL: (c, b) => cache.getCacheEntryDownloadUrl(c, b),
    },
  };

  return async function handleTwirp(req, res, pathname) {
    try {
      const [serviceName, method, ...rest] = pathname.slice(TWIRP_PREFIX.length).split('/');
      const fn = serviceName && method && rest.length === 0 ? twirp[serviceName]?.[method] : undefined;
      if (!fn) throw new TwirpError('bad_route', `no handler for path ${pathname}`);
      if (req.method !== 'POST') throw new TwirpError('bad_route', `unsupported method ${req.method} (only POST is allowed)`);
      const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (contentType !== 'application/json') {
        throw new TwirpError(
          'bad_route',
          `unexpected Content-Type ${JSON.stringify(contentType ?? '')}: only application/json is supported`,
        );
      }
      const claims = await auth.runtimeClaims(req);
      const body = await readJsonObject(req, MAX_JSON_BODY);
      sendJson(res, 200, await fn(claims, body));
    } catch (error) {
      if (error instanceof TwirpError) {
        req.resume();
        sendTwirpError(res, error);
      } else {
        sendTwirpError(res, new TwirpError('internal', (error as Error).message));
      }
    }
  };
}
