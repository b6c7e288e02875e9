// The finalized records under the results server's root, beside the blobs they describe:
//
//   artifacts/<run>/<id>.json          finalized artifact records, per workflow run
//   cache/<sha256(scope, version, key)>.json  finalized cache entries, by scope + key + version
//
// Pending uploads are not records: they are kept in memory only (see the services).
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { BlobStore } from './blob-store.js';

export interface ArtifactRecord {
  id: number;
  runId: string;
  jobId: string;
  name: string;
  size: number;
  digest?: string;
  mimeType: string;
  version: number;
  createdAt: string;
  expiresAt?: string;
}

/** The scope of cache entries saved with a token that names none. */
export const DEFAULT_CACHE_SCOPE = 'refs/heads/main';

export interface CacheRecord {
  id: number;
  key: string;
  version: string;
  size: number;
  createdAt: string;
  /** Blob name in the cache container. */
  blob: string;
  /** The git ref the entry was saved from; entries written before scopes existed are refs/heads/main's. */
  scope?: string;
}

/** Blob of a cache entry: one per key, version and scope (refs/heads/main keeps the name it had before scopes). */
export function cacheBlobName(key: string, version: string, scope = DEFAULT_CACHE_SCOPE): string {
  const h = createHash('sha256');
  if (scope !== DEFAULT_CACHE_SCOPE) h.update(scope).update('\0');
  return h.update(version).update('\0').update(key).digest('hex');
}

export class RecordStore {
  constructor(
    private readonly root: string,
    private readonly blobs: BlobStore,
  ) {}

  /** Creates the record folders. */
  async prepare(): Promise<void> {
    await fs.mkdir(path.join(this.root, 'artifacts'), { recursive: true });
    await fs.mkdir(path.join(this.root, 'cache'), { recursive: true });
  }

  // ---- artifacts -----------------------------------------------------------

  private artifactFile(runId: string, id: number): string {
    return path.join(this.root, 'artifacts', encodeURIComponent(runId), `${id}.json`);
  }

  async loadArtifacts(): Promise<ArtifactRecord[]> {
    const out: ArtifactRecord[] = [];
    const base = path.join(this.root, 'artifacts');
    for (const run of await fs.readdir(base)) {
      const dir = path.join(base, run);
      if (!(await fs.stat(dir)).isDirectory()) continue;
      for (const file of await fs.readdir(dir)) {
        if (!file.endsWith('.json')) continue;
        try {
          out.push(JSON.parse(await fs.readFile(path.join(dir, file), 'utf8')) as ArtifactRecord);
        } catch {
          // an unreadable record is skipped; its blob is pruned
        }
      }
    }
    return out;
  }

  async saveArtifact(record: ArtifactRecord): Promise<void> {
    await this.blobs.writeJsonAtomic(this.artifactFile(record.runId, record.id), record);
  }

  /** Copies the finalized artifacts of a run to `dest` (zip files named after the artifacts). */
  async copyRunArtifacts(runId: string, dest: string): Promise<void> {
    const dir = path.join(this.root, 'artifacts', encodeURIComponent(runId));
    let files: string[];
    try {
      files = await fs.readdir(dir);
    } catch {
      return; // the run kept no artifacts
    }
    await fs.mkdir(dest, { recursive: true });
    for (const f of files) {
      if (!f.endsWith('.json')) continue;
      try {
        const record = JSON.parse(await fs.readFile(path.join(dir, f), 'utf8')) as ArtifactRecord;
        const ext = record.mimeType === 'application/zip' && !record.name.endsWith('.zip') ? '.zip' : '';
        await this.blobs.copyBlob('artifacts', String(record.id), path.join(dest, `${record.name.replace(/[/\\]/g, '_')}${ext}`));
      } catch {
        // an artifact deleted during the run
      }
    }
  }

  async deleteArtifact(record: ArtifactRecord): Promise<void> {
    await this.blobs.removeFile(this.artifactFile(record.runId, record.id));
    await this.blobs.deleteBlob('artifacts', String(record.id));
  }

  // ---- cache ---------------------------------------------------------------

  private cacheFile(blob: string): string {
    return path.join(this.root, 'cache', `${blob}.json`);
  }

  async loadCacheEntries(): Promise<CacheRecord[]> {
    const out: CacheRecord[] = [];
    const dir = path.join(this.root, 'cache');
    for (const file of await fs.readdir(dir)) {
      if (!file.endsWith('.json')) continue;
      try {
        out.push(JSON.parse(await fs.readFile(path.join(dir, file), 'utf8')) as CacheRecord);
      } catch {
        // skipped, see loadArtifacts
      }
    }
    return out;
  }

  async saveCacheEntry(record: CacheRecord): Promise<void> {
    await this.blobs.writeJsonAtomic(this.cacheFile(record.blob), record);
  }
}
