// The api.github.com subset the toolkit's "artifacts of another run" paths call through octokit:
// list, get, download (a redirect to a signed URL) and delete artifacts, with the run's GITHUB_TOKEN.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../../src/util/http.js';
import type { ArtifactService } from './artifact-service.js';
import type { RunAuth } from './auth.js';

interface RestServices {
  auth: RunAuth;
  artifacts: ArtifactService;
}

/** The handler of /repos/{owner}/{repo}/actions/...; it answers false for a path it does not serve. */
export function restHandler(services: RestServices): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> {
  const { auth, artifacts: service } = services;

  /**
   * The run an API token was issued for, when it is valid, of a live run and for this
   * repository; otherwise the refusal has been sent and undefined is returned.
   */
  async function restClaims(req: IncomingMessage, res: ServerResponse, owner: string, repo: string) {
    const claims = await auth.apiClaims(req, owner, repo);
    if ('status' in claims) {
      sendJson(res, claims.status, { message: claims.message, documentation_url: 'https://docs.github.com/rest/authentication' });
      return undefined;
    }
    return claims;
  }

  async function handleRest(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    let p: string[];
    try {
      p = url.pathname.split('/').map((s) => decodeURIComponent(s));
    } catch {
      req.resume();
      sendJson(res, 400, { message: `the path ${url.pathname} has a malformed %-escape` });
      return true;
    }
    // ['', 'repos', owner, repo, 'actions', ...]
    if (p[1] !== 'repos' || p[4] !== 'actions' || !p[2] || !p[3]) return false;
    const owner = p[2];
    const repo = p[3];
    const tail = p.slice(5);
    const notFound = () =>
      sendJson(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/actions/artifacts' });
    req.resume();
    const claims = await restClaims(req, res, owner, repo);
    if (!claims) return true;
    if (req.method === 'GET' && tail.length === 3 && tail[0] === 'runs' && tail[2] === 'artifacts') {
      sendJson(res, 200, service.listRunArtifactsRest(owner, repo, tail[1] as string, url.searchParams));
      return true;
    }
    if (req.method === 'GET' && tail.length === 1 && tail[0] === 'artifacts') {
      sendJson(res, 200, service.listAllArtifactsRest(owner, repo, url.searchParams));
      return true;
    }
    if (tail[0] === 'artifacts' && tail.length >= 2) {
      if (!/^\d+$/.test(tail[1] as string)) {
        sendJson(res, 422, { message: `artifact_id ${JSON.stringify(tail[1])} is not a number` });
        return true;
      }
      const id = Number(tail[1]);
      if (req.method === 'GET' && tail.length === 2) {
        const artifact = service.getArtifactRest(owner, repo, id);
        if (artifact) sendJson(res, 200, artifact);
        else notFound();
        return true;
      }
      if (req.method === 'GET' && tail.length === 3) {
        if (tail[2] !== 'zip') {
          sendJson(res, 422, { message: `archive_format must be zip (got ${JSON.stringify(tail[2])})` });
          return true;
        }
        const location = service.artifactDownloadRedirect(id);
        if (!location) {
          notFound();
          return true;
        }
        res.writeHead(302, { Location: location, 'Content-Length': '0' });
        res.end();
        return true;
      }
      if (req.method === 'DELETE' && tail.length === 2) {
        const run = service.artifactRun(id);
        if (run !== undefined && run !== claims.runId) {
          sendJson(res, 403, {
            message: `artifact ${id} belongs to run ${run}; the token of run ${claims.runId} deletes only its own run's artifacts`,
          });
          return true;
        }
        if (await service.deleteArtifactById(id)) {
          res.writeHead(204);
          res.end();
        } else notFound();
        return true;
      }
    }
    return false;
  }

  return handleRest;
}
