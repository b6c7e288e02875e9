// Runtime tokens (HS256 JWTs) and signed blob URLs.
//
// The toolkit never verifies the runtime token; it only decodes its claims
// to find the workflow run and job backend ids, from the `scp` claim:
//   "Actions.GenericRead:<run> Actions.Results:<run>:<job>"
// The server signs the token so that it can check it on every request.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Run and job ids travel inside `scp`, split on ' ' and ':' by the toolkit. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface TokenClaims {
  runId: string;
  jobId: string;
}

const ISSUER = 'cdl-results-server';

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function hmac(secret: Buffer, data: string): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function assertId(kind: string, value: string): void {
  if (!ID_PATTERN.test(value)) {
    throw new Error(`${kind} must match ${ID_PATTERN} (got ${JSON.stringify(value)})`);
  }
}

export function mintRuntimeToken(secret: Buffer, claims: TokenClaims, lifetimeSeconds = 7 * 24 * 3600): string {
  assertId('runId', claims.runId);
  assertId('jobId', claims.jobId);
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'HS256' };
  const payload = {
    iss: ISSUER,
    aud: 'actions.results',
    nbf: now - 60,
    iat: now,
    exp: now + lifetimeSeconds,
    scp: `Actions.GenericRead:${claims.runId} Actions.Results:${claims.runId}:${claims.jobId}`,
    run_id: claims.runId,
    job_id: claims.jobId,
  };
  const unsigned = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${unsigned}.${b64url(hmac(secret, unsigned))}`;
}

/** Verifies a runtime token; returns its run/job claims, or a reason it is refused. */
export function verifyRuntimeToken(secret: Buffer, token: string): TokenClaims | string {
  const parts = token.split('.');
  if (parts.length !== 3) return 'the token is not a JWT';
  const [h, p, s] = parts as [string, string, string];
  if (!safeEqual(Buffer.from(s, 'base64url'), hmac(secret, `${h}.${p}`))) {
    return 'the token signature is invalid (was it issued by this server?)';
  }
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return 'the token payload is not JSON';
  }
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload['exp'] === 'number' && payload['exp'] < now) return 'the token has expired';
  if (typeof payload['nbf'] === 'number' && payload['nbf'] > now + 60) return 'the token is not valid yet';
  const scp = typeof payload['scp'] === 'string' ? payload['scp'] : '';
  for (const scope of scp.split(' ')) {
    const bits = scope.split(':');
    if (bits[0] === 'Actions.Results' && bits.length === 3) {
      return { runId: bits[1] as string, jobId: bits[2] as string };
    }
  }
  return 'the token has no Actions.Results scope';
}

export type BlobPermission = 'r' | 'w';

export interface BlobSignature {
  permission: BlobPermission;
  container: string;
  blob: string;
  /** Expiry, ms since epoch. */
  expires: number;
  /** Content-Disposition the download answers with (SAS `rscd`). */
  contentDisposition?: string;
}

function signingString(sig: BlobSignature, expiresIso: string): string {
  return [sig.permission, sig.container, sig.blob, expiresIso, sig.contentDisposition ?? ''].join('\n');
}

/** Builds a SAS-like signed URL for a blob: /blob/<container>/<blob>?sv&sr&sp&se[&rscd]&sig. */
export function signBlobUrl(secret: Buffer, baseUrl: string, sig: BlobSignature): string {
  const se = new Date(sig.expires).toISOString();
  const url = new URL(`blob/${sig.container}/${sig.blob}`, baseUrl);
  url.searchParams.set('sv', '2025-01-05');
  url.searchParams.set('sr', 'b');
  url.searchParams.set('sp', sig.permission);
  url.searchParams.set('se', se);
  if (sig.contentDisposition !== undefined) url.searchParams.set('rscd', sig.contentDisposition);
  url.searchParams.set('sig', b64url(hmac(secret, signingString(sig, se))));
  return url.href;
}

/**
 * Checks the signature on a blob request. Returns the content disposition to
 * answer with (if any), or an error string.
 */
export function checkBlobSignature(
  secret: Buffer,
  container: string,
  blob: string,
  query: URLSearchParams,
  needed: BlobPermission,
): { contentDisposition?: string } | string {
  const sp = query.get('sp');
  const se = query.get('se');
  const sig = query.get('sig');
  if (!sp || !se || !sig) return 'the URL is not signed (sp, se and sig are required)';
  if (sp !== needed) return `the URL grants permission '${sp}', this request needs '${needed}'`;
  const expires = Date.parse(se);
  if (Number.isNaN(expires)) return 'se is not a valid time';
  const rscd = query.get('rscd') ?? undefined;
  const expected = hmac(secret, signingString({ permission: sp, container, blob, expires, contentDisposition: rscd }, se));
  if (!safeEqual(Buffer.from(sig, 'base64url'), expected)) return 'the signature does not match';
  if (expires < Date.now()) return 'the signed URL has expired';
  return rscd === undefined ? {} : { contentDisposition: rscd };
}
