/**
 * A promotion's claim on a tag, kept in its draft's body: who holds it and until when. A draft has
 * no git tag and only people with push access see it, so an interrupted promotion stays invisible;
 * its claim runs out (or its process is gone, on this host) and the next promotion replaces it.
 */
import os from 'node:os';
import { safeJson } from './github-repo.js';
import { PromotionConflictError } from './types.js';

export interface PromotionClaim {
  pid: number;
  host: string;
  since: string;
  until: string;
}

const CLAIM_LINE = /\n*<!-- cdl-promotion-claim (\{[^\n]*?\}) -->\n*$/;
export const DEFAULT_CLAIM_TTL_MS = 60 * 60_000;

export function claimOf(body: string | null | undefined): PromotionClaim | undefined {
  const m = CLAIM_LINE.exec(body ?? '');
  if (!m) return undefined;
  const c = safeJson(m[1]!) as Partial<PromotionClaim> | null;
  if (!c || !Number.isInteger(c.pid) || typeof c.host !== 'string' || typeof c.since !== 'string' || typeof c.until !== 'string')
    return undefined;
  return c as PromotionClaim;
}

export function withClaim(body: string, claim: PromotionClaim): string {
  return `${body.replace(CLAIM_LINE, '')}${body ? '\n\n' : ''}<!-- cdl-promotion-claim ${JSON.stringify(claim)} -->`;
}

/** A claim of this process, lasting `ttlMs` from now. */
export function newClaim(ttlMs: number): PromotionClaim {
  const now = Date.now();
  return {
    pid: process.pid,
    host: os.hostname(),
    since: new Date(now).toISOString(),
    until: new Date(now + ttlMs).toISOString(),
  };
}

/** Whether the promotion holding a claim may still be at work: not expired, and (on this host) its process alive. */
export function claimLive(c: PromotionClaim | undefined, now = Date.now()): c is PromotionClaim {
  if (!c) return false;
  const until = Date.parse(c.until);
  if (!Number.isFinite(until) || until <= now) return false;
  if (c.host !== os.hostname() || c.pid === process.pid) return true;
  try {
    process.kill(c.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function beingPromoted(
  tag: string,
  c: PromotionClaim,
  id: number | string | undefined,
  repo: string,
): PromotionConflictError {
  const here = c.host === os.hostname();
  return new PromotionConflictError(
    `${tag} is already being promoted (by pid ${c.pid}${here ? '' : ` on ${c.host}`} since ${c.since}; its claim lasts until ${c.until}); ` +
      `wait for it to finish, or, if that promotion is gone, delete its draft release ${id} of ${repo} (or wait until the claim runs out) and promote again`,
  );
}
