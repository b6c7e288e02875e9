/**
 * SHA-256 of content: the one helper cdl hashes files and bytes with (model directories, release
 * assets, data files). A model is hashed once per process at each trust boundary (written, loaded,
 * downloaded); stages hand each other what was hashed instead of hashing it again.
 * `observeHashing` lets a test see every hash taken in its process, so that rule is checked.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export interface HashEvent {
  /** The file hashed, or what the caller named the bytes (a path or a relative name). */
  what: string;
  bytes: number;
}

const observers = new Set<(e: HashEvent) => void>();

/** Call `fn` for every hash taken in this process until the returned function is called. */
export function observeHashing(fn: (e: HashEvent) => void): () => void {
  observers.add(fn);
  return () => void observers.delete(fn);
}

function observed(what: string, bytes: number): void {
  for (const fn of observers) fn({ what, bytes });
}

/** SHA-256 of a file, as lowercase hex, read as a stream. */
export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let n = 0;
    createReadStream(file)
      .on('error', reject)
      .on('data', (d) => {
        n += d.length;
        hash.update(d);
      })
      .on('end', () => {
        observed(file, n);
        resolve(hash.digest('hex'));
      });
  });
}

/** SHA-256 of bytes in memory, as lowercase hex; `what` names them for observers (the file they are). */
export function sha256Bytes(bytes: Uint8Array | string, what = '(bytes)'): string {
  const hex = createHash('sha256').update(bytes).digest('hex');
  observed(what, typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length);
  return hex;
}
