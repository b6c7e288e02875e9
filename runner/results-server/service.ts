// The artifact and cache services: state, Twirp methods and the REST subset.
import {
  TwirpError,
  invalidArgument,
  optionalInt32,
  optionalInt64,
  optionalString,
  optionalStringArray,
  optionalTimestamp,
  requiredString,
} from './http.js';
import { DEFAULT_CACHE_SCOPE, Storage, type ArtifactRecord, type CacheRecord, type Container } from './storage.js';
import { signBlobUrl, type TokenClaims } from './token.js';
import { Readable } from 'node:stream';

type Json = Record<string, unknown>;

const UPLOAD_URL_LIFETIME_MS = 6 * 3600 * 1000;
const DOWNLOAD_URL_LIFETIME_MS = 3600 * 1000;
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

/** Characters GitHub refuses in artifact names (same list as the toolkit checks). */
const INVALID_NAME_CHARS = ['"', ':', '<', '>', '|', '*', '?', '\r', '\n', '\\', '/', '\0'];

interface PendingArtifact {
  record: ArtifactRecord;
  touched: number;
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

export interface ServiceOptions {
  storage: Storage;
  secret: Buffer;
  /** Base URL of this server, with a trailing slash. */
  baseUrl: () => string;
}

export class ResultsService {
  private readonly storage: Storage;
  private readonly secret: Buffer;
  private readonly baseUrl: () => string;

  private readonly artifactsByRun = new Map<string, Map<string, ArtifactRecord>>();
  private readonly artifactsById = new Map<number, ArtifactRecord>();
  private readonly pendingArtifacts = new Map<string, PendingArtifact>(); // `${run}\n${name}`
  private readonly pendingArtifactBlobs = new Map<string, PendingArtifact>(); // blob name
  private nextArtifactId = 1;

  private readonly cacheEntries = new Map<string, CacheRecord>(); // blob name
  private readonly pendingCache = new Map<string, PendingCache>(); // blob name
  private nextCacheId = 1;

  constructor(opts: ServiceOptions) {
    this.storage = opts.storage;
    this.secret = opts.secret;
    this.baseUrl = opts.baseUrl;
  }

  async load(): Promise<void> {
    for (const record of await this.storage.loadArtifacts()) {
      if (this.isLive(record)) this.indexArtifact(record);
      else await this.storage.deleteArtifact(record); // past its retention
      this.nextArtifactId = Math.max(this.nextArtifactId, record.id + 1);
    }
    for (const record of await this.storage.loadCacheEntries()) {
      this.cacheEntries.set(record.blob, record);
      this.nextCacheId = Math.max(this.nextCacheId, record.id + 1);
    }
    await this.storage.pruneBlobs('artifacts', new Set([...this.artifactsById.keys()].map(String)));
    await this.storage.pruneBlobs('cache', new Set(this.cacheEntries.keys()));
  }

  private indexArtifact(record: ArtifactRecord): void {
    let byName = this.artifactsByRun.get(record.runId);
    if (!byName) this.artifactsByRun.set(record.runId, (byName = new Map()));
    byName.set(record.name, record);
    this.artifactsById.set(record.id, record);
    this.nextArtifactId = Math.max(this.nextArtifactId, record.id + 1);
  }

  private unindexArtifact(record: ArtifactRecord): void {
    this.artifactsByRun.get(record.runId)?.delete(record.name);
    this.artifactsById.delete(record.id);
  }

  // ---- blob access -----------------------------------------------------------

  /** Whether an upload to this blob is expected (a pending artifact or cache entry). */
  canWrite(container: Container, blob: string): boolean {
    const pending = container === 'artifacts' ? this.pendingArtifactBlobs.get(blob) : this.pendingCache.get(blob);
    if (!pending) return false;
    pending.touched = Date.now();
    return true;
  }

  private uploadUrl(container: Container, blob: string): string {
    return signBlobUrl(this.secret, this.baseUrl(), {
      permission: 'w',
      container,
      blob,
      expires: Date.now() + UPLOAD_URL_LIFETIME_MS,
    });
  }

  private downloadUrl(container: Container, blob: string, fileName?: string): string {
    return signBlobUrl(this.secret, this.baseUrl(), {
      permission: 'r',
      container,
      blob,
      expires: Date.now() + DOWNLOAD_URL_LIFETIME_MS,
      contentDisposition: fileName === undefined ? undefined : contentDisposition(fileName),
    });
  }

  // ---- artifact service (Twirp) --------------------------------------------

  private checkRun(claims: TokenClaims, body: Json): { runId: string; jobId: string } {
    const runId = requiredString(body, 'workflow_run_backend_id');
    const jobId = requiredString(body, 'workflow_job_run_backend_id');
    if (runId !== claims.runId) {
      throw new TwirpError(
        'permission_denied',
        `workflow_run_backend_id ${JSON.stringify(runId)} does not match the runtime token's run ${JSON.stringify(claims.runId)}`,
        { argument: 'workflow_run_backend_id' },
      );
    }
    return { runId, jobId };
  }

  private artifactName(body: Json): string {
    const name = requiredString(body, 'name');
    const bad = INVALID_NAME_CHARS.find((c) => name.includes(c));
    if (bad !== undefined) throw invalidArgument('name', `contains the invalid character ${JSON.stringify(bad)}`);
    if (name.trim() === '.' || name.trim() === '..') {
      throw invalidArgument('name', `must not be ${JSON.stringify(name)} (it names a folder, not an artifact)`);
    }
    if (name.length > 256) throw invalidArgument('name', 'is longer than 256 characters');
    return name;
  }

  private isLive(record: ArtifactRecord): boolean {
    return record.expiresAt === undefined || Date.parse(record.expiresAt) > Date.now();
  }

  private liveArtifact(runId: string, name: string): ArtifactRecord | undefined {
    const record = this.artifactsByRun.get(runId)?.get(name);
    return record && this.isLive(record) ? record : undefined;
  }

  async createArtifact(claims: TokenClaims, body: Json): Promise<Json> {
    const { runId, jobId } = this.checkRun(claims, body);
    const name = this.artifactName(body);
    const version = optionalInt32(body, 'version') ?? 4;
    const mimeType = optionalString(body, 'mime_type') || 'application/zip';
    const expiresAt = optionalTimestamp(body, 'expires_at');
    if (expiresAt && expiresAt.getTime() <= Date.now()) throw invalidArgument('expires_at', 'is in the past');

    const existing = this.artifactsByRun.get(runId)?.get(name);
    if (existing && this.isLive(existing)) {
      throw new TwirpError('already_exists', 'an artifact with this name already exists on the workflow run', {
        argument: 'name',
      });
    }
    if (existing) {
      // expired: it is gone as far as clients are concerned
      this.unindexArtifact(existing);
      await this.storage.deleteArtifact(existing);
    }
    // A new create for a name still pending replaces the abandoned upload.
    const pendingKey = `${runId}\n${name}`;
    const previous = this.pendingArtifacts.get(pendingKey);
    if (previous) await this.dropPendingArtifact(pendingKey, previous);

    const record: ArtifactRecord = {
      id: this.nextArtifactId++,
      runId,
      jobId,
      name,
      size: 0,
      mimeType,
      version,
      createdAt: new Date().toISOString(),
    };
    if (expiresAt) record.expiresAt = expiresAt.toISOString();
    const pending = { record, touched: Date.now() };
    this.pendingArtifacts.set(pendingKey, pending);
    this.pendingArtifactBlobs.set(String(record.id), pending);
    return { ok: true, signed_upload_url: this.uploadUrl('artifacts', String(record.id)) };
  }

  private async dropPendingArtifact(key: string, pending: PendingArtifact): Promise<void> {
    this.pendingArtifacts.delete(key);
    this.pendingArtifactBlobs.delete(String(pending.record.id));
    await this.storage.deleteBlob('artifacts', String(pending.record.id));
  }

  async finalizeArtifact(claims: TokenClaims, body: Json): Promise<Json> {
    const { runId } = this.checkRun(claims, body);
    const name = this.artifactName(body);
    // proto3 JSON omits zero values: an absent size is 0 (an empty upload)
    const size = optionalInt64(body, 'size') ?? 0;
    const hash = optionalString(body, 'hash');

    const pendingKey = `${runId}\n${name}`;
    const pending = this.pendingArtifacts.get(pendingKey);
    if (!pending) {
      throw new TwirpError('not_found', `no upload in progress for artifact ${JSON.stringify(name)}; call CreateArtifact first`);
    }
    const blob = String(pending.record.id);
    const props = await this.storage.blobProperties('artifacts', blob);
    if (!props) throw new TwirpError('failed_precondition', `no data was uploaded for artifact ${JSON.stringify(name)}`);
    if (props.size !== size) {
      throw invalidArgument('size', `is ${size} but ${props.size} bytes were uploaded`);
    }
    if (hash !== undefined && hash !== '' && hash !== `sha256:${props.sha256}`) {
      throw invalidArgument('hash', `is ${hash} but the uploaded data has sha256:${props.sha256}`);
    }
    if (this.liveArtifact(runId, name)) {
      throw new TwirpError('already_exists', 'an artifact with this name already exists on the workflow run', {
        argument: 'name',
      });
    }
    // Still ours? (a concurrent create may have replaced it while we awaited)
    if (this.pendingArtifacts.get(pendingKey) !== pending) {
      throw new TwirpError('aborted', `the upload of artifact ${JSON.stringify(name)} was replaced by a newer CreateArtifact`);
    }
    const record: ArtifactRecord = { ...pending.record, size: props.size, digest: `sha256:${props.sha256}` };
    await this.storage.saveArtifact(record);
    this.pendingArtifacts.delete(pendingKey);
    this.pendingArtifactBlobs.delete(blob);
    this.indexArtifact(record);
    return { ok: true, artifact_id: String(record.id) };
  }

  async listArtifacts(claims: TokenClaims, body: Json): Promise<Json> {
    const { runId } = this.checkRun(claims, body);
    const nameFilter = optionalString(body, 'name_filter');
    const idFilter = optionalInt64(body, 'id_filter');
    const artifacts = this.runArtifacts(runId)
      .filter((a) => nameFilter === undefined || a.name === nameFilter)
      .filter((a) => idFilter === undefined || a.id === idFilter)
      .map((a) => {
        const out: Json = {
          workflow_run_backend_id: a.runId,
          workflow_job_run_backend_id: a.jobId,
          database_id: String(a.id),
          name: a.name,
          size: String(a.size),
          created_at: a.createdAt,
        };
        if (a.digest) out['digest'] = a.digest;
        return out;
      });
    return { artifacts };
  }

  private runArtifacts(runId: string): ArtifactRecord[] {
    return [...(this.artifactsByRun.get(runId)?.values() ?? [])].filter((a) => this.isLive(a)).sort((a, b) => a.id - b.id);
  }

  async getSignedArtifactUrl(claims: TokenClaims, body: Json): Promise<Json> {
    const { runId } = this.checkRun(claims, body);
    const name = this.artifactName(body);
    const record = this.liveArtifact(runId, name);
    if (!record) throw new TwirpError('not_found', `artifact ${JSON.stringify(name)} not found in this workflow run`);
    return { signed_url: this.artifactDownloadUrl(record) };
  }

  private artifactDownloadUrl(record: ArtifactRecord): string {
    const isZip = record.mimeType === 'application/zip';
    const fileName = isZip && !record.name.toLowerCase().endsWith('.zip') ? `${record.name}.zip` : record.name;
    return this.downloadUrl('artifacts', String(record.id), fileName);
  }

  async deleteArtifact(claims: TokenClaims, body: Json): Promise<Json> {
    const { runId } = this.checkRun(claims, body);
    const name = this.artifactName(body);
    const record = this.liveArtifact(runId, name);
    if (!record) throw new TwirpError('not_found', `artifact ${JSON.stringify(name)} not found in this workflow run`);
    this.unindexArtifact(record);
    await this.storage.deleteArtifact(record);
    return { ok: true, artifact_id: String(record.id) };
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
    const blob = Storage.cacheBlobName(key, version, scope);
    if (this.cacheEntries.has(blob)) {
      throw new TwirpError('already_exists', 'cache entry with the same key, version, and scope already exists');
    }
    const pending = this.pendingCache.get(blob);
    if (pending && Date.now() - pending.touched < STALE_PENDING_MS) {
      throw new TwirpError('already_exists', 'another job is already uploading a cache entry with this key and version');
    }
    if (pending) await this.storage.deleteBlob('cache', blob);
    this.pendingCache.set(blob, { id: this.nextCacheId++, key, version, scope, blob, touched: Date.now() });
    return { ok: true, signed_upload_url: this.uploadUrl('cache', blob) };
  }

  async finalizeCacheEntryUpload(claims: TokenClaims, body: Json): Promise<Json> {
    const key = this.cacheKey(requiredString(body, 'key'), 'key');
    const version = requiredString(body, 'version');
    const size = optionalInt64(body, 'size_bytes') ?? 0;
    const scope = writeScope(claims);
    const blob = Storage.cacheBlobName(key, version, scope);
    const pending = this.pendingCache.get(blob);
    if (!pending) {
      throw new TwirpError(
        'not_found',
        `no upload in progress for cache key ${JSON.stringify(key)}; call CreateCacheEntry first`,
      );
    }
    const props = await this.storage.blobProperties('cache', blob);
    if (!props) throw new TwirpError('failed_precondition', `no data was uploaded for cache key ${JSON.stringify(key)}`);
    if (props.size !== size) throw invalidArgument('size_bytes', `is ${size} but ${props.size} bytes were uploaded`);
    if (this.pendingCache.get(blob) !== pending) {
      throw new TwirpError('aborted', `the upload for cache key ${JSON.stringify(key)} was taken over by another job`);
    }
    const record: CacheRecord = { id: pending.id, key, version, size, blob, scope, createdAt: new Date().toISOString() };
    await this.storage.saveCacheEntry(record);
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
  findCacheEntry(key: string, restoreKeys: string[], version: string, scopes: string[]): CacheRecord | undefined {
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
    return { ok: true, signed_download_url: this.downloadUrl('cache', entry.blob), matched_key: entry.key };
  }

  // ---- cache service v1 (the _apis/artifactcache REST API) ------------------------

  private readonly pendingCacheById = new Map<number, PendingCache>();

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
      archiveLocation: this.downloadUrl('cache', entry.blob),
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
    const blob = Storage.cacheBlobName(key, version, scope);
    if (this.cacheEntries.has(blob)) {
      throw new TwirpError('already_exists', `Cache already exists. Scope: ${scope}, Key: ${key}, Version: ${version}`);
    }
    const pending = this.pendingCache.get(blob);
    if (pending && Date.now() - pending.touched < STALE_PENDING_MS) {
      throw new TwirpError('already_exists', `Unable to reserve cache with key ${key}, another job may be creating this cache.`);
    }
    if (pending) {
      this.pendingCacheById.delete(pending.id);
      await this.storage.deleteBlob('cache', blob);
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

  /** POST _apis/artifactcache/caches/{id} {size}: commits the uploaded ranges. */
  /** An open v1 upload the token may write: one reserved in the scope it saves to. */
  private pendingV1(claims: TokenClaims, id: number): PendingCache {
    const pending = this.pendingCacheById.get(id);
    if (!pending || pending.scope !== writeScope(claims)) {
      throw new TwirpError('not_found', `no cache upload is open for id ${id} in scope ${writeScope(claims)}`);
    }
    return pending;
  }

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
    const staged = (await this.storage.stagedSize('cache', pending.blob)) ?? 0;
    if (staged !== size) throw invalidArgument('size', `is ${size} but ${staged} bytes were uploaded`);
    if (staged === 0) await this.storage.writeRange('cache', pending.blob, 0, Readable.from([]), 0);
    await this.storage.commitStaged('cache', pending.blob);
    const record: CacheRecord = {
      id: pending.id,
      key: pending.key,
      version: pending.version,
      size,
      blob: pending.blob,
      scope: pending.scope,
      createdAt: new Date().toISOString(),
    };
    await this.storage.saveCacheEntry(record);
    this.pendingCache.delete(pending.blob);
    this.pendingCacheById.delete(id);
    this.cacheEntries.set(pending.blob, record);
    return {};
  }

  // ---- REST subset (api.github.com) -------------------------------------------

  private restArtifact(record: ArtifactRecord, owner: string, repo: string): Json {
    const api = this.baseUrl().replace(/\/$/, '');
    const url = `${api}/repos/${owner}/${repo}/actions/artifacts/${record.id}`;
    const runNumber = /^\d+$/.test(record.runId) ? Number(record.runId) : record.runId;
    return {
      id: record.id,
      node_id: Buffer.from(`Artifact:${record.id}`).toString('base64'),
      name: record.name,
      size_in_bytes: record.size,
      url,
      archive_download_url: `${url}/zip`,
      expired: !this.isLive(record),
      created_at: record.createdAt,
      updated_at: record.createdAt,
      expires_at: record.expiresAt ?? null,
      digest: record.digest ?? null,
      workflow_run: { id: runNumber, repository_id: null, head_repository_id: null, head_branch: null, head_sha: null },
    };
  }

  private page(query: URLSearchParams, items: ArtifactRecord[], owner: string, repo: string): Json {
    const perPage = Math.min(Math.max(Number(query.get('per_page') ?? 30) || 30, 1), 100);
    const page = Math.max(Number(query.get('page') ?? 1) || 1, 1);
    const slice = items.slice((page - 1) * perPage, page * perPage);
    return { total_count: items.length, artifacts: slice.map((a) => this.restArtifact(a, owner, repo)) };
  }

  /** GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts */
  listRunArtifactsRest(owner: string, repo: string, runId: string, query: URLSearchParams): Json {
    const name = query.get('name');
    const items = this.runArtifacts(runId).filter((a) => name === null || a.name === name);
    return this.page(query, items, owner, repo);
  }

  /** GET /repos/{owner}/{repo}/actions/artifacts */
  listAllArtifactsRest(owner: string, repo: string, query: URLSearchParams): Json {
    const name = query.get('name');
    const items = [...this.artifactsById.values()]
      .filter((a) => this.isLive(a) && (name === null || a.name === name))
      .sort((a, b) => b.id - a.id);
    return this.page(query, items, owner, repo);
  }

  getArtifactRest(owner: string, repo: string, id: number): Json | undefined {
    const record = this.artifactsById.get(id);
    return record && this.isLive(record) ? this.restArtifact(record, owner, repo) : undefined;
  }

  artifactDownloadRedirect(id: number): string | undefined {
    const record = this.artifactsById.get(id);
    return record && this.isLive(record) ? this.artifactDownloadUrl(record) : undefined;
  }

  /** The run an artifact belongs to (for the REST routes' checks); undefined when there is none. */
  artifactRun(id: number): string | undefined {
    const record = this.artifactsById.get(id);
    return record && this.isLive(record) ? record.runId : undefined;
  }

  async deleteArtifactById(id: number): Promise<boolean> {
    const record = this.artifactsById.get(id);
    if (!record) return false;
    this.unindexArtifact(record);
    await this.storage.deleteArtifact(record);
    return true;
  }
}

/** Content-Disposition with an ASCII fallback and an RFC 5987 UTF-8 name. */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\;]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
