// On-disk layout under `root`:
//
//   tmp/                            temp files; every write lands here first, then is renamed
//   blocks/<container>/<blob>/<id>  staged (uncommitted) blocks, Put Block
//   blobs/<container>/<blob>        committed blob bytes
//   blobs/<container>/<blob>.json   blob properties (content type, size, sha256, md5, etag)
//   artifacts/<run>/<id>.json       finalized artifact records, per workflow run
//   cache/<sha256(version, key)>.json  finalized cache entries, by key + version
//
// Nothing is ever half-written: data is written to tmp/ and renamed into place.
// Pending uploads are kept in memory only; a restart drops them (their blobs too).
// The key that signs tokens and URLs is never written here: the root may sit in the
// workspace of the steps it signs for (`.cdl/results` under `cdl run`), so each start
// draws a new key and keeps it in memory; tokens and URLs die with the server.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import { Transform, type Readable } from 'node:stream';

export const CONTAINERS = ['artifacts', 'cache'] as const;
export type Container = (typeof CONTAINERS)[number];

export interface BlobProperties {
  size: number;
  contentType: string;
  contentEncoding?: string;
  contentDisposition?: string;
  sha256: string;
  md5: string; // base64
  etag: string;
  lastModified: string; // ISO
}

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

export class BlobError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BlobError';
  }
}

const BLOB_NAME = /^[A-Za-z0-9._-]{1,200}$/;

export function isContainer(value: string): value is Container {
  return (CONTAINERS as readonly string[]).includes(value);
}

export function isBlobName(value: string): boolean {
  return BLOB_NAME.test(value) && !value.endsWith('.json') && value !== '.' && value !== '..';
}

/** Counts bytes and hashes them as they stream past; errors once more than `limit` bytes arrive. */
class Digest extends Transform {
  bytes = 0;
  readonly sha256 = createHash('sha256');
  readonly md5 = createHash('md5');
  constructor(private readonly limit = Infinity) {
    super();
  }
  feed(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.sha256.update(chunk);
    this.md5.update(chunk);
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    if (this.bytes + chunk.length > this.limit) {
      cb(new BlobError(413, 'RequestBodyTooLarge', `the request body is larger than ${this.limit} bytes`));
      return;
    }
    this.feed(chunk);
    cb(null, chunk);
  }
}

/** The default bound on one blob (an artifact or a cache entry): GitHub's 10 GB cache limit. */
export const DEFAULT_MAX_BLOB_BYTES = 10 * 1024 ** 3;

/** Roots held by servers in this process (the lock file guards against other processes). */
const lockedRoots = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class Storage {
  readonly root: string;
  readonly tmpDir: string;
  /** No blob, staged block set or staged range file grows past this many bytes. */
  readonly maxBlobBytes: number;
  private lockFile: string | undefined;

  constructor(root: string, maxBlobBytes = DEFAULT_MAX_BLOB_BYTES) {
    this.root = path.resolve(root);
    this.tmpDir = path.join(this.root, 'tmp');
    this.maxBlobBytes = maxBlobBytes;
  }

  /** 413 before a byte is read when the declared length is over the limit. */
  private checkDeclared(declared: number | undefined, already = 0): void {
    if (declared !== undefined && already + declared > this.maxBlobBytes) {
      throw new BlobError(
        413,
        'RequestBodyTooLarge',
        `the blob would be ${already + declared} bytes; this server takes at most ${this.maxBlobBytes}`,
      );
    }
  }

  // ---- generic helpers -------------------------------------------------

  tmpPath(): string {
    return path.join(this.tmpDir, `${Date.now()}-${randomUUID()}`);
  }

  async writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
    const tmp = this.tmpPath();
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  }

  async writeJsonAtomic(file: string, value: unknown): Promise<void> {
    await this.writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
  }

  /** Removes a file by renaming it away first, so readers never see it half-gone. */
  async removeFile(file: string): Promise<void> {
    const tmp = this.tmpPath();
    try {
      await fs.rename(file, tmp);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    await fs.rm(tmp, { force: true });
  }

  /** Creates the layout and clears leftovers (temp files, staged blocks). */
  async init(): Promise<Buffer> {
    await fs.mkdir(this.root, { recursive: true });
    await this.lock();
    await fs.rm(this.tmpDir, { recursive: true, force: true });
    await fs.rm(path.join(this.root, 'blocks'), { recursive: true, force: true });
    await fs.mkdir(this.tmpDir, { recursive: true });
    for (const c of CONTAINERS) await fs.mkdir(path.join(this.root, 'blobs', c), { recursive: true });
    await fs.mkdir(path.join(this.root, 'artifacts'), { recursive: true });
    await fs.mkdir(path.join(this.root, 'cache'), { recursive: true });
    // Earlier versions kept the key in `secret` here; a key steps could read signs nothing now.
    await fs.rm(path.join(this.root, 'secret'), { force: true });
    return randomBytes(32);
  }

  /** One server per root: startup clears temp files and prunes blobs nothing refers to. */
  private async lock(): Promise<void> {
    const file = path.join(this.root, 'server.lock');
    if (lockedRoots.has(this.root)) throw new Error(`${this.root} is already served by a results server in this process`);
    for (let attempt = 0; ; attempt++) {
      try {
        await fs.writeFile(file, `${process.pid}\n`, { flag: 'wx' });
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
        const pid = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
        if (pid > 0 && pid !== process.pid && processAlive(pid)) {
          throw new Error(`${this.root} is in use by another results server (pid ${pid}, ${file})`);
        }
        await fs.rm(file, { force: true }); // stale: its process is gone
      }
    }
    lockedRoots.add(this.root);
    this.lockFile = file;
  }

  async unlock(): Promise<void> {
    if (!this.lockFile) return;
    await fs.rm(this.lockFile, { force: true });
    lockedRoots.delete(this.root);
    this.lockFile = undefined;
  }

  // ---- blobs -------------------------------------------------------------

  blobPath(container: Container, blob: string): string {
    return path.join(this.root, 'blobs', container, blob);
  }

  private blobPropsPath(container: Container, blob: string): string {
    return `${this.blobPath(container, blob)}.json`;
  }

  private blockDir(container: Container, blob: string): string {
    return path.join(this.root, 'blocks', container, blob);
  }

  private blockFile(container: Container, blob: string, blockId: string): string {
    // The id is base64 (may hold '/', '+'); hex of its text is a safe, unique file name.
    return path.join(this.blockDir(container, blob), Buffer.from(blockId, 'utf8').toString('hex'));
  }

  /** Streams `body` to a temp file, returning its path and digests. */
  private async receive(body: Readable, expectedLength?: number, already = 0): Promise<{ tmp: string; digest: Digest }> {
    this.checkDeclared(expectedLength, already);
    const tmp = this.tmpPath();
    const digest = new Digest(this.maxBlobBytes - already);
    try {
      await pipeline(body, digest, createWriteStream(tmp));
    } catch (error) {
      await fs.rm(tmp, { force: true });
      if (error instanceof BlobError) throw error;
      throw new BlobError(400, 'InvalidInput', `request body could not be read: ${(error as Error).message}`);
    }
    if (expectedLength !== undefined && digest.bytes !== expectedLength) {
      await fs.rm(tmp, { force: true });
      throw new BlobError(400, 'InvalidHeaderValue', `received ${digest.bytes} bytes but Content-Length said ${expectedLength}`);
    }
    return { tmp, digest };
  }

  private async commit(
    container: Container,
    blob: string,
    tmp: string,
    digest: Digest,
    headers: { contentType?: string; contentEncoding?: string; contentDisposition?: string },
  ): Promise<BlobProperties> {
    const props: BlobProperties = {
      size: digest.bytes,
      contentType: headers.contentType || 'application/octet-stream',
      sha256: digest.sha256.digest('hex'),
      md5: digest.md5.digest('base64'),
      etag: `"0x${randomBytes(8).toString('hex').toUpperCase()}"`,
      lastModified: new Date().toISOString(),
    };
    if (headers.contentEncoding) props.contentEncoding = headers.contentEncoding;
    if (headers.contentDisposition) props.contentDisposition = headers.contentDisposition;
    // Properties first, data last: a blob counts as present only once its data file exists.
    await this.writeJsonAtomic(this.blobPropsPath(container, blob), props);
    await fs.rename(tmp, this.blobPath(container, blob));
    return props;
  }

  /** Put Blob: the whole blob in one request. */
  async putBlob(
    container: Container,
    blob: string,
    body: Readable,
    expectedLength: number | undefined,
    headers: { contentType?: string; contentEncoding?: string; contentDisposition?: string },
  ): Promise<BlobProperties> {
    const { tmp, digest } = await this.receive(body, expectedLength);
    const props = await this.commit(container, blob, tmp, digest, headers);
    await fs.rm(this.blockDir(container, blob), { recursive: true, force: true });
    return props;
  }

  /** Put Block: stage one block. Returns its MD5 (base64). */
  async putBlock(container: Container, blob: string, blockId: string, body: Readable, expectedLength?: number): Promise<string> {
    const file = this.blockFile(container, blob, blockId);
    // Staged blocks together are bounded like the blob they become (a re-put block replaces itself).
    let staged = 0;
    for (const entry of await fs.readdir(path.dirname(file)).catch(() => [] as string[])) {
      if (entry !== path.basename(file)) staged += (await fs.stat(path.join(path.dirname(file), entry))).size;
    }
    const { tmp, digest } = await this.receive(body, expectedLength, staged);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.rename(tmp, file);
    return digest.md5.digest('base64');
  }

  /** Put Block List: concatenate staged blocks, in the listed order, into the blob. */
  async putBlockList(
    container: Container,
    blob: string,
    blockIds: string[],
    headers: { contentType?: string; contentEncoding?: string; contentDisposition?: string },
  ): Promise<BlobProperties> {
    const files = blockIds.map((id) => this.blockFile(container, blob, id));
    let total = 0;
    for (let i = 0; i < files.length; i++) {
      try {
        total += (await fs.stat(files[i] as string)).size;
      } catch {
        throw new BlobError(400, 'InvalidBlockList', `block ${JSON.stringify(blockIds[i])} was not staged for this blob`);
      }
    }
    // A block may be listed more than once: bound what the list adds up to, not what was staged.
    this.checkDeclared(total);
    const tmp = this.tmpPath();
    const digest = new Digest();
    const out = createWriteStream(tmp);
    try {
      for (const file of files) {
        for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
          digest.feed(chunk);
          if (!out.write(chunk)) await once(out, 'drain');
        }
      }
      out.end();
      await finished(out);
    } catch (error) {
      out.destroy();
      await fs.rm(tmp, { force: true });
      throw error;
    }
    const props = await this.commit(container, blob, tmp, digest, headers);
    await fs.rm(this.blockDir(container, blob), { recursive: true, force: true });
    return props;
  }

  private stagedFile(container: Container, blob: string): string {
    return path.join(this.blockDir(container, blob), 'ranges');
  }

  /**
   * Writes `body` at byte offset `start` of a staged blob (cache v1 PATCH with Content-Range).
   * The caller checks that the range is within the limit and does not overlap another;
   * no more than `expectedLength` bytes are written.
   */
  async writeRange(container: Container, blob: string, start: number, body: Readable, expectedLength: number): Promise<number> {
    if (start + expectedLength > this.maxBlobBytes) this.checkDeclared(start + expectedLength);
    const file = this.stagedFile(container, blob);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await (await fs.open(file, 'a')).close();
    const counter = new Digest(expectedLength);
    try {
      await pipeline(body, counter, createWriteStream(file, { flags: 'r+', start }));
    } catch (error) {
      if (error instanceof BlobError) throw error;
      throw new BlobError(400, 'InvalidInput', `request body could not be read: ${(error as Error).message}`);
    }
    if (expectedLength !== undefined && counter.bytes !== expectedLength) {
      throw new BlobError(400, 'InvalidHeaderValue', `received ${counter.bytes} bytes but the range said ${expectedLength}`);
    }
    return counter.bytes;
  }

  /** Size of a staged blob, or undefined when nothing was written. */
  async stagedSize(container: Container, blob: string): Promise<number | undefined> {
    try {
      return (await fs.stat(this.stagedFile(container, blob))).size;
    } catch {
      return undefined;
    }
  }

  /** Commits what writeRange staged as the blob. */
  async commitStaged(container: Container, blob: string, headers: { contentType?: string } = {}): Promise<BlobProperties> {
    const tmp = this.tmpPath();
    const digest = new Digest();
    await pipeline(createReadStream(this.stagedFile(container, blob)), digest, createWriteStream(tmp));
    const props = await this.commit(container, blob, tmp, digest, headers);
    await fs.rm(this.blockDir(container, blob), { recursive: true, force: true });
    return props;
  }

  async blobProperties(container: Container, blob: string): Promise<BlobProperties | undefined> {
    try {
      const stat = await fs.stat(this.blobPath(container, blob));
      const props = JSON.parse(await fs.readFile(this.blobPropsPath(container, blob), 'utf8')) as BlobProperties;
      return { ...props, size: stat.size };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async deleteBlob(container: Container, blob: string): Promise<void> {
    await this.removeFile(this.blobPath(container, blob));
    await this.removeFile(this.blobPropsPath(container, blob));
    await fs.rm(this.blockDir(container, blob), { recursive: true, force: true });
  }

  /** Deletes blobs that no finalized record refers to (uploads a restart abandoned). */
  async pruneBlobs(container: Container, keep: Set<string>): Promise<void> {
    const dir = path.join(this.root, 'blobs', container);
    for (const entry of await fs.readdir(dir)) {
      const blob = entry.endsWith('.json') ? entry.slice(0, -5) : entry;
      if (!keep.has(blob)) await fs.rm(path.join(dir, entry), { force: true, recursive: true });
    }
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
    await this.writeJsonAtomic(this.artifactFile(record.runId, record.id), record);
  }

  async deleteArtifact(record: ArtifactRecord): Promise<void> {
    await this.removeFile(this.artifactFile(record.runId, record.id));
    await this.deleteBlob('artifacts', String(record.id));
  }

  // ---- cache ---------------------------------------------------------------

  /** Entries are stored by key + version: one file per pair. */
  /** Blob of a cache entry: one per key, version and scope (refs/heads/main keeps the name it had before scopes). */
  static cacheBlobName(key: string, version: string, scope = DEFAULT_CACHE_SCOPE): string {
    const h = createHash('sha256');
    if (scope !== DEFAULT_CACHE_SCOPE) h.update(scope).update('\0');
    return h.update(version).update('\0').update(key).digest('hex');
  }

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
    await this.writeJsonAtomic(this.cacheFile(record.blob), record);
  }

  async deleteCacheEntry(record: CacheRecord): Promise<void> {
    await this.removeFile(this.cacheFile(record.blob));
    await this.deleteBlob('cache', record.blob);
  }
}
