// The cache service: entries being uploaded and those kept, GitHub's scoping and key matching,
// the Twirp CacheService methods and the older _apis/artifactcache (v1) REST API.
import { Readable } from 'node:stream';
import { TwirpError, invalidArgument, optionalInt64, optionalStringArray, requiredString } from './twirp.js';
import type { BlobUrls } from './blob-url.js';
import { DEFAULT_CACHE_SCOPE, cacheBlobName, type CacheRecord } from './record-store.js';
import type { Storage } from './storage.js';
import type { TokenClaims } from './token.js';

type Json = Record<string, unknown>;

/** A pending cache upload with no activity for this long may be taken over. */
const STALE_PENDING_MS = 10 * 60 * 1000;
const MAX_KEY_LENGTH = 512;
const MAX_CACHE_KEYS = 10;

/** The scopes a runtime token restores from, in order. */
function readScopes(claims: TokenClaims): string[] {
  return claims.scopes ? claims.scopes.map((s) => s.scope) : [DEFAULT_CACHE_SCOPE];
}

/** The scope a runtime token saves to: its first writable one; refused when it has none. */
function writeScope(claims: TokenClaims): string {
  if (!claims.scopes) return DEFAULT_CACHE_SCOPE;
  const w = claims.scopes.find((s) => s.write);
  if (!w) {
    throw new TwirpError(
      'permission_denied',
      `this run may only restore caches (scopes ${claims.scopes.map((s) => s.scope).join(', ')}), not save them`,
    );
  }
  return w.scope;
}

interface PendingCache {
  id: number;
  key: string;
  version: string;
  scope: string;
  blob: string;
  touched: number;
  /** Cache v1 only: the byte ranges PATCHed so far, [start, end] inclusive. */
  ranges?: [number, number][];
}

export class CacheService {
  private readonly cacheEntries = new Map<string, CacheRecord>(); // blob name
  private readonly pendingCache = new Map<string, PendingCache>(); // blob name
  private readonly pendingCacheById = new Map<number, PendingCache>(); // v1 uploads, by cache id
  private nextCacheId = 1;

  constructor(
    private readonly storage: Storage,
    private readonly urls: BlobUrls,
  ) {}

  /** Loads the kept entries and deletes blobs no entry refers to. */
  async load(): Promise<void> {
    for (const record of await this.storage.records.loadCacheEntries()) {
      this.cacheEntries.set(record.blob, record);
      this.nextCacheId = Math.max(this.nextCacheId, record.id + 1);
    }
    await this.storage.blobs.pruneBlobs('cache', new Set(this.cacheEntries.keys()));
  }

  /** Whether an upload to this blob is expected (a pending cache entry). */
  canWrite(blob: string): boolean {
    const pending = this.pendingCache.get(blob);
    if (!pending) return false;
    pending.touched = Date.now();
    return true;
  }

  // ---- cache service (Twirp) ---------------------------------------------------

  private cacheKey(value: string, field: string): string {
    if (value.length > MAX_KEY_LENGTH) throw invalidArgument(field, `is longer than ${MAX_KEY_LENGTH} characters`);
    if (value.includes(',')) throw invalidArgument(field, 'cannot contain commas');
    return value;
  }

  async createCacheEntry(claims: TokenClaims, body: Json): Promise<Json> {
    const key = this.cacheKey(requiredString(body, 'key'), 'key');
    const version = requiredString(body, 'version');
    const scope = writeScope(claims);
    const blob = cacheBlobName(key, version, scope);
    if (this.cacheEntries.has(blob)) {
      throw new TwirpError('already_exists', 'cache entry with the same key, version, and scope already exists');
    }
    const pending = this.pendingCache.get(blob);
    if (pending && Date.now() - pending.touched < STALE_PENDING_MS) {
      throw new TwirpError('already_exists', 'another job is already uploading a cache entry with this key and version');
    }
    if (pending) await this.storage.blobs.deleteBlob('cache', blob);
    this.pendingCache.set(blob, { id: this.nextCacheId++, key, version, scope, blob, touched: Date.now() });
    return { ok: true, signed_upload_url: this.urls.upload('cache', blob) };
  }

  async finalizeCacheEntryUpload(claims: TokenClaims, body: Json): Promise<Json> {
    const key = this.cacheKey(requiredString(body, 'key'), 'key');
    const version = requiredString(body, 'version');
    const size = optionalInt64(body, 'size_bytes') ?? 0;
    const scope = writeScope(claims);
    const blob = cacheBlobName(key, version, scope);
    const pending = this.pendingCache.get(blob);
    if (!pending) {
      throw new TwirpError(
        'not_found',
        `no upload in progress for cache key ${JSON.stringify(key)}; call CreateCacheEntry first`,
      );
    }
    const props = await this.storage.blobs.blobProperties('cache', blob);
    if (!props) throw new TwirpError('failed_precondition', `no data was uploaded for cache key ${JSON.stringify(key)}`);
    if (props.size !== size) throw invalidArgument('size_bytes', `is ${size} but ${props.size} bytes were uploaded`);
    if (this.pendingCache.get(blob) !== pending) {
      throw new TwirpError('aborted', `the upload for cache key ${JSON.stringify(key)} was taken over by another job`);
    }
    const record: CacheRecord = { id: pending.id, key, version, size, blob, scope, createdAt: new Date().toISOString() };
    await this.storage.records.saveCacheEntry(record);
    this.pendingCache.delete(blob);
    this.cacheEntries.set(blob, record);
    return { ok: true, entry_id: String(record.id) };
  }

  /**
   * GitHub's matching: in the run's own scope first, then each further scope it may restore
   * from (the pull request's base branch, the default branch), an exact match of `key`, then the
   * newest entry whose key starts with `key`, then for each restore key in order an exact match
   * and then the newest prefix match. Only entries with the same `version` count; entries of
   * other branches are never seen.
   */
  private findCacheEntry(key: string, restoreKeys: string[], version: string, scopes: string[]): CacheRecord | undefined {
    const candidates = [...this.cacheEntries.values()].filter((e) => e.version === version);
    const newestFirst = candidates.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id - a.id);
    for (const scope of scopes) {
      const inScope = newestFirst.filter((e) => (e.scope ?? DEFAULT_CACHE_SCOPE) === scope);
      for (const wanted of [key, ...restoreKeys]) {
        const exact = inScope.find((e) => e.key === wanted);
        if (exact) return exact;
        const prefix = inScope.find((e) => e.key.startsWith(wanted));
        if (prefix) return prefix;
      }
    }
    return undefined;
  }

  async getCacheEntryDownloadUrl(claims: TokenClaims, body: Json): Promise<Json> {
    const key = this.cacheKey(requiredString(body, 'key'), 'key');
    const restoreKeys = optionalStringArray(body, 'restore_keys').map((k, i) => {
      if (k === '') throw invalidArgument(`restore_keys[${i}]`, 'is empty');
      return this.cacheKey(k, `restore_keys[${i}]`);
    });
    if (restoreKeys.length + 1 > MAX_CACHE_KEYS) {
      throw invalidArgument('restore_keys', `has too many keys (at most ${MAX_CACHE_KEYS} keys in all)`);
    }
    const version = requiredString(body, 'version');
    const entry = this.findCacheEntry(key, restoreKeys, version, readScopes(claims));
    if (!entry) return { ok: false, signed_download_url: '', matched_key: '' };
    return { ok: true, signed_download_url: this.urls.download('cache', entry.blob), matched_key: entry.key };
  }

  // ---- cache service v1 (the _apis/artifactcache REST API) ------------------------

  /** GET _apis/artifactcache/cache?keys=k1,k2&version=v: the entry and a download URL, or undefined (204). */
  lookupCacheV1(claims: TokenClaims, keys: string[], version: string): Json | undefined {
    const [key, ...restoreKeys] = keys;
    if (!key) throw invalidArgument('keys', 'is required');
    const entry = this.findCacheEntry(key, restoreKeys, version, readScopes(claims));
    if (!entry) return undefined;
    return {
      cacheKey: entry.key,
      scope: entry.scope ?? DEFAULT_CACHE_SCOPE,
      cacheVersion: entry.version,
      creationTime: entry.createdAt,
      archiveLocation: this.urls.download('cache', entry.blob),
    };
  }

  /** GET _apis/artifactcache/caches?key=k: entries with this key, any version. */
  listCacheV1(claims: TokenClaims, key: string): Json {
    const scopes = readScopes(claims);
    const items = [...this.cacheEntries.values()].filter((e) => e.key === key && scopes.includes(e.scope ?? DEFAULT_CACHE_SCOPE));
    return {
      totalCount: items.length,
      artifactCaches: items.map((e) => ({
        cacheKey: e.key,
        cacheVersion: e.version,
        scope: e.scope ?? DEFAULT_CACHE_SCOPE,
        creationTime: e.createdAt,
      })),
    };
  }

  /** POST _apis/artifactcache/caches {key, version}: reserves an id to upload to. */
  async reserveCacheV1(claims: TokenClaims, body: Json): Promise<Json> {
    const key = this.cacheKey(requiredString(body, 'key'), 'key');
    const version = requiredString(body, 'version');
    const scope = writeScope(claims);
    const blob = cacheBlobName(key, version, scope);
    if (this.cacheEntries.has(blob)) {
      throw new TwirpError('already_exists', `Cache already exists. Scope: ${scope}, Key: ${key}, Version: ${version}`);
    }
    const pending = this.pendingCache.get(blob);
    if (pending && Date.now() - pending.touched < STALE_PENDING_MS) {
      throw new TwirpError('already_exists', `Unable to reserve cache with key ${key}, another job may be creating this cache.`);
    }
    if (pending) {
      this.pendingCacheById.delete(pending.id);
      await this.storage.blobs.deleteBlob('cache', blob);
    }
    const entry: PendingCache = { id: this.nextCacheId++, key, version, scope, blob, touched: Date.now(), ranges: [] };
    this.pendingCache.set(blob, entry);
    this.pendingCacheById.set(entry.id, entry);
    return { cacheId: entry.id };
  }

  /**
   * Claims bytes [start, end] of a v1 upload for one PATCH; returns the blob to write to and
   * a function that gives the claim back when the write fails. Ranges may arrive in any
   * order (the toolkit uploads chunks in parallel) but never overlap.
   */
  claimRangeV1(claims: TokenClaims, id: number, start: number, end: number): { blob: string; release: () => void } {
    const pending = this.pendingV1(claims, id);
    const ranges = (pending.ranges ??= []);
    const clash = ranges.find(([s, e]) => start <= e && s <= end);
    if (clash) {
      throw invalidArgument(
        'Content-Range',
        `bytes ${start}-${end} overlap bytes ${clash[0]}-${clash[1]} already uploaded (each byte is uploaded once)`,
      );
    }
    const claim: [number, number] = [start, end];
    ranges.push(claim);
    pending.touched = Date.now();
    return {
      blob: pending.blob,
      release: () => {
        const i = ranges.indexOf(claim);
        if (i >= 0) ranges.splice(i, 1);
      },
    };
  }

  /** An open v1 upload the token may write: one reserved in the scope it saves to. */
  private pendingV1(claims: TokenClaims, id: number): PendingCache {
    const pending = this.pendingCacheById.get(id);
    if (!pending || pending.scope !== writeScope(claims)) {
      throw new TwirpError('not_found', `no cache upload is open for id ${id} in scope ${writeScope(claims)}`);
    }
    return pending;
  }

  /** POST _apis/artifactcache/caches/{id} {size}: commits the uploaded ranges. */
  async commitCacheV1(claims: TokenClaims, id: number, body: Json): Promise<Json> {
    const pending = this.pendingV1(claims, id);
    const size = optionalInt64(body, 'size') ?? 0;
    // The ranges must tile [0, size) with no gap: a hole would commit bytes nobody sent.
    let next = 0;
    for (const [start, end] of [...(pending.ranges ?? [])].sort((a, b) => a[0] - b[0])) {
      if (start !== next) {
        throw invalidArgument(
          'Content-Range',
          `bytes ${next}-${start - 1} were never uploaded (the ranges must be contiguous from 0)`,
        );
      }
      next = end + 1;
    }
    if (next !== size) throw invalidArgument('size', `is ${size} but ${next} contiguous bytes were uploaded`);
    const staged = (await this.storage.blobs.stagedSize('cache', pending.blob)) ?? 0;
    if (staged !== size) throw invalidArgument('size', `is ${size} but ${staged} bytes were uploaded`);
    if (staged === 0) await this.storage.blobs.writeRange('cache', pending.blob, 0, Readable.from([]), 0);
    await this.storage.blobs.commitStaged('cache', pending.blob);
    const record: CacheRecord = {
      id: pending.id,
      key: pending.key,
      version: pending.version,
      size,
      blob: pending.blob,
      scope: pending.scope,
      createdAt: new Date().toISOString(),
    };
    await this.storage.records.saveCacheEntry(record);
    this.pendingCache.delete(pending.blob);
    this.pendingCacheById.delete(id);
    this.cacheEntries.set(pending.blob, record);
    return {};
  }
}
