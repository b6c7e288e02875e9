// Who may call the results server: a runtime token (ACTIONS_RUNTIME_TOKEN) or an API token (the
// run's GITHUB_TOKEN) that this server signed since it started, of a run that has not ended.
import type { IncomingMessage } from 'node:http';
import { bearerToken } from '../../src/util/http.js';
import { TwirpError } from './twirp.js';
import { verifyApiToken, verifyRuntimeToken, type ApiTokenClaims, type TokenClaims } from './token.js';

/** An API request refused: the status and message the REST routes answer with. */
interface ApiRefusal {
  status: 401 | 403;
  message: string;
}

export class RunAuth {
  private readonly endedRuns = new Set<string>();

  constructor(private readonly secret: Buffer) {}

  /** Ends a run: its runtime and API tokens are refused from now on. */
  endRun(runId: string): void {
    this.endedRuns.add(runId);
  }

  private runEnded(runId: string): string | undefined {
    return this.endedRuns.has(runId) ? `run ${JSON.stringify(runId)} has ended; its tokens no longer work` : undefined;
  }

  /** The claims of a valid runtime token of a live run; a TwirpError (401) otherwise. */
  async runtimeClaims(req: IncomingMessage): Promise<TokenClaims> {
    const presented = bearerToken(req);
    if (!presented) throw new TwirpError('unauthenticated', 'missing Authorization: Bearer <ACTIONS_RUNTIME_TOKEN>');
    const claims = await verifyRuntimeToken(this.secret, presented);
    if (typeof claims === 'string') throw new TwirpError('unauthenticated', `invalid runtime token: ${claims}`);
    const ended = this.runEnded(claims.runId);
    if (ended) throw new TwirpError('unauthenticated', `invalid runtime token: ${ended}`);
    return claims;
  }

  /** The run an API token was issued for, when it is valid, of a live run and for `owner/repo`; else why not. */
  async apiClaims(req: IncomingMessage, owner: string, repo: string): Promise<ApiTokenClaims | ApiRefusal> {
    const presented = bearerToken(req, ['Bearer', 'token']);
    if (!presented) {
      return { status: 401, message: 'Requires authentication: send Authorization: token <GITHUB_TOKEN of the run>' };
    }
    const claims = await verifyApiToken(this.secret, presented);
    if (typeof claims === 'string') return { status: 401, message: `Bad credentials: ${claims}` };
    const ended = this.runEnded(claims.runId);
    if (ended) return { status: 401, message: `Bad credentials: ${ended}` };
    if (claims.repository.toLowerCase() !== `${owner}/${repo}`.toLowerCase()) {
      return { status: 403, message: `the token is for ${claims.repository}, not ${owner}/${repo}` };
    }
    return claims;
  }
}
