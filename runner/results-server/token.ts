// Runtime tokens and API tokens: HS256 JWTs, minted and verified with jose.
//
// The toolkit never verifies the runtime token; it only decodes its claims
// to find the workflow run and job backend ids, from the `scp` claim:
//   "Actions.GenericRead:<run> Actions.Results:<run>:<job>"
// The server signs the token so that it can check it on every request.
// An API token is the run's GITHUB_TOKEN for the api.github.com routes: it names
// the run and the repository it was issued for.
// Verifying checks the algorithm, signature, issuer, audience and lifetime.
// (Signed blob URLs are not JWTs; they are blob-url.ts.)
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';

/** Run and job ids travel inside `scp`, split on ' ' and ':' by the toolkit. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** owner/repo as GitHub spells repository names. */
export const REPOSITORY_PATTERN = /^[^/]{1,100}\/[^/]{1,100}$/;

/**
 * A cache scope a runtime token reaches: a git ref, and whether entries may be saved there. As on
 * GitHub, a run saves to its own ref and restores from it, then from the pull request's base
 * branch, then from the default branch (the `ac` claim of GitHub's runtime token).
 */
export interface CacheScope {
  scope: string;
  write: boolean;
}

/**
 * GitHub's cache scoping for a run on `ref`: it saves to `ref` and restores from `ref`, then from
 * a pull request's base branch, then from the default branch; never from any other branch.
 */
export function cacheScopesFor(ref: string, o: { baseRef?: string; defaultBranch?: string } = {}): CacheScope[] {
  const scopes: CacheScope[] = [{ scope: ref, write: true }];
  for (const branch of [o.baseRef, o.defaultBranch]) {
    if (!branch) continue;
    const scope = branch.startsWith('refs/') ? branch : `refs/heads/${branch}`;
    if (!scopes.some((s) => s.scope === scope)) scopes.push({ scope, write: false });
  }
  return scopes;
}

export interface TokenClaims {
  runId: string;
  jobId: string;
  /** Cache scopes, in restore order; absent in tokens minted without them (one scope, refs/heads/main). */
  scopes?: CacheScope[];
}

export interface ApiTokenClaims {
  runId: string;
  /** owner/repo */
  repository: string;
}

const ISSUER = 'cdl-results-server';
const RUNTIME_AUDIENCE = 'actions.results';
const API_AUDIENCE = 'api.github.com';
const DEFAULT_LIFETIME_S = 7 * 24 * 3600;

export function assertId(kind: string, value: string): void {
  if (!ID_PATTERN.test(value)) {
    throw new Error(`${kind} must match ${ID_PATTERN} (got ${JSON.stringify(value)})`);
  }
}

/** An HS256 JWT of `claims` for `audience`, valid from a minute ago (clock skew) for `lifetimeSeconds`. */
async function signJwt(secret: Buffer, audience: string, claims: JWTPayload, lifetimeSeconds: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ typ: 'JWT', alg: 'HS256' })
    .setIssuer(ISSUER)
    .setAudience(audience)
    .setNotBefore(now - 60)
    .setIssuedAt(now)
    .setExpirationTime(now + lifetimeSeconds)
    .sign(secret);
}

export async function mintRuntimeToken(
  secret: Buffer,
  claims: TokenClaims,
  lifetimeSeconds = DEFAULT_LIFETIME_S,
): Promise<string> {
  assertId('runId', claims.runId);
  assertId('jobId', claims.jobId);
  return signJwt(
    secret,
    RUNTIME_AUDIENCE,
    {
      scp: `Actions.GenericRead:${claims.runId} Actions.Results:${claims.runId}:${claims.jobId}`,
      run_id: claims.runId,
      job_id: claims.jobId,
      ...(claims.scopes
        ? { ac: JSON.stringify(claims.scopes.map((s) => ({ Scope: s.scope, Permission: s.write ? 3 : 1 }))) }
        : {}),
    },
    lifetimeSeconds,
  );
}

export async function mintApiToken(
  secret: Buffer,
  claims: ApiTokenClaims,
  lifetimeSeconds = DEFAULT_LIFETIME_S,
): Promise<string> {
  assertId('runId', claims.runId);
  if (!REPOSITORY_PATTERN.test(claims.repository)) {
    throw new Error(`repository must be owner/repo (got ${JSON.stringify(claims.repository)})`);
  }
  return signJwt(secret, API_AUDIENCE, { run_id: claims.runId, repository: claims.repository }, lifetimeSeconds);
}

async function verify(secret: Buffer, token: string, audience: string): Promise<JWTPayload | string> {
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience,
      clockTolerance: 60,
    });
    return payload;
  } catch (error) {
    if (error instanceof errors.JWTExpired) return 'the token has expired';
    if (error instanceof errors.JWSSignatureVerificationFailed) {
      return 'the token signature is invalid (was it issued by this server, since it last started?)';
    }
    if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'aud') {
      return `the token is not meant for this service (audience ${audience} expected)`;
    }
    if (error instanceof errors.JOSEError) return `the token is not valid: ${error.message}`;
    throw error;
  }
}

function parseScopes(ac: unknown): CacheScope[] | string {
  let list: unknown;
  try {
    list = typeof ac === 'string' ? JSON.parse(ac) : undefined;
  } catch {
    list = undefined;
  }
  if (!Array.isArray(list)) return 'the token\'s ac claim is not a JSON list of {"Scope","Permission"}';
  const out: CacheScope[] = [];
  for (const x of list as Array<{ Scope?: unknown; Permission?: unknown }>) {
    if (typeof x?.Scope !== 'string' || !Number.isInteger(x.Permission)) {
      return "the token's ac claim has an entry without a string Scope and an integer Permission";
    }
    out.push({ scope: x.Scope, write: ((x.Permission as number) & 2) !== 0 });
  }
  return out;
}

/** Verifies a runtime token; returns its run/job claims, or a reason it is refused. */
export async function verifyRuntimeToken(secret: Buffer, token: string): Promise<TokenClaims | string> {
  const payload = await verify(secret, token, RUNTIME_AUDIENCE);
  if (typeof payload === 'string') return payload;
  const scp = typeof payload['scp'] === 'string' ? payload['scp'] : '';
  for (const scope of scp.split(' ')) {
    const bits = scope.split(':');
    if (bits[0] === 'Actions.Results' && bits.length === 3) {
      const claims: TokenClaims = { runId: bits[1] as string, jobId: bits[2] as string };
      if (payload['ac'] !== undefined) {
        const scopes = parseScopes(payload['ac']);
        if (typeof scopes === 'string') return scopes;
        claims.scopes = scopes;
      }
      return claims;
    }
  }
  return 'the token has no Actions.Results scope';
}

/** Verifies an API token (a run's GITHUB_TOKEN); returns its claims, or a reason it is refused. */
export async function verifyApiToken(secret: Buffer, token: string): Promise<ApiTokenClaims | string> {
  const payload = await verify(secret, token, API_AUDIENCE);
  if (typeof payload === 'string') return payload;
  const runId = payload['run_id'];
  const repository = payload['repository'];
  if (typeof runId !== 'string' || typeof repository !== 'string') return 'the token names no run and repository';
  return { runId, repository };
}
