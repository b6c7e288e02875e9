// The blob store under the results server's root: committed blobs with their properties, the
// blocks and byte ranges staged for them, and the temp folder every write lands in first.
//
//   tmp/                            temp files; every write lands here first, then is renamed
//   blocks/<container>/<blob>/<id>  staged (uncommitted) blocks, Put Block
//   blobs/<container>/<blob>        committed blob bytes
//   blobs/<container>/<blob>.json   blob properties (content type, size, sha256, md5, etag)
//
// Writes go through this store's own tmp/ (not src/util/fs.ts): each write gets a unique name, so
// two uploads of one blob never share a temp file, and startup clears what a crash left there.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import { Transform, type Readable } from 'node:stream';

const CONTAINERS = ['artifacts', 'cache'] as const;
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
const DEFAULT_MAX_BLOB_BYTES = 10 * 1024 ** 3;

/** Headers a blob keeps and answers with. */
interface BlobHeaders {
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
}

export class BlobStore {
  readonly root: string;
  readonly tmpDir: string;
  /** No blob, staged block set or staged range file grows past this many bytes. */
  readonly maxBlobBytes: number;

  constructor(root: string, maxBlobBytes = DEFAULT_MAX_BLOB_BYTES) {
    this.root = path.resolve(root);
    this.tmpDir = path.join(this.root, 'tmp');
    this.maxBlobBytes = maxBlobBytes;
  }

  /** Creates the store's folders and clears leftovers of an earlier start (temp files, staged blocks). */
  async prepare(): Promise<void> {
    await fs.rm(this.tmpDir, { recursive: true, force: true });
    await fs.rm(path.join(this.root, 'blocks'), { recursive: true, force: true });
    await fs.mkdir(this.tmpDir, { recursive: true });
    for (const c of CONTAINERS) await fs.mkdir(path.join(this.root, 'blobs', c), { recursive: true });
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

  // ---- whole-or-nothing writes -------------------------------------------

  private tmpPath(): string {
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

  // ---- blobs -------------------------------------------------------------

  private blobPath(container: Container, blob: string): string {
    return path.join(this.root, 'blobs', container, blob);
  }

  /** The bytes `start`..`end` (inclusive) of a committed blob. */
  readBlob(container: Container, blob: string, range: { start: number; end: number }): Readable {
    return createReadStream(this.blobPath(container, blob), range);
  }

  /** Copies a committed blob's bytes to `dest`. */
  async copyBlob(container: Container, blob: string, dest: string): Promise<void> {
    await fs.copyFile(this.blobPath(container, blob), dest);
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
    headers: BlobHeaders,
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
    headers: BlobHeaders,
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
  async putBlockList(container: Container, blob: string, blockIds: string[], headers: BlobHeaders): Promise<BlobProperties> {
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
}
