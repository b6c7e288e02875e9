// The results server's root on disk, and who holds it:
//
//   server.lock                     the pid of the one server using this root
//   tmp/, blocks/, blobs/           blob bytes, staged blocks and temp files (blob-store.ts)
//   artifacts/, cache/              finalized artifact and cache records (record-store.ts)
//
// Nothing is ever half-written: data is written to tmp/ and renamed into place.
// Pending uploads are kept in memory only; a restart drops them (their blobs too).
// The key that signs tokens and URLs is never written here: the root may sit in the
// workspace of the steps it signs for (`.cdl/results` under `cdl run`), so each start
// draws a new key and keeps it in memory; tokens and URLs die with the server.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { BlobStore } from './blob-store.js';
import { RecordStore } from './record-store.js';

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

/** One server per root: startup clears temp files and prunes blobs nothing refers to. */
async function lock(root: string): Promise<string> {
  const file = path.join(root, 'server.lock');
  if (lockedRoots.has(root)) throw new Error(`${root} is already served by a results server in this process`);
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const pid = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
      if (pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new Error(`${root} is in use by another results server (pid ${pid}, ${file})`);
      }
      await fs.rm(file, { force: true }); // stale: its process is gone
    }
  }
  lockedRoots.add(root);
  return file;
}

/** A locked root: its blobs, its records, and the signing key drawn for this start. */
export interface Storage {
  readonly root: string;
  readonly blobs: BlobStore;
  readonly records: RecordStore;
  readonly secret: Buffer;
  /** Gives the root up (removes the lock); a second call does nothing. */
  unlock(): Promise<void>;
}

/** Locks `root`, creates its layout and clears leftovers (temp files, staged blocks). */
export async function openStorage(root: string, maxBlobBytes?: number): Promise<Storage> {
  const blobs = new BlobStore(root, maxBlobBytes);
  const records = new RecordStore(blobs.root, blobs);
  await fs.mkdir(blobs.root, { recursive: true });
  let lockFile: string | undefined = await lock(blobs.root);
  const unlock = async () => {
    if (!lockFile) return;
    await fs.rm(lockFile, { force: true });
    lockedRoots.delete(blobs.root);
    lockFile = undefined;
  };
  try {
    await blobs.prepare();
    await records.prepare();
    // Earlier versions kept the key in `secret` here; a key steps could read signs nothing now.
    await fs.rm(path.join(blobs.root, 'secret'), { force: true });
  } catch (error) {
    await unlock();
    throw error;
  }
  return { root: blobs.root, blobs, records, secret: randomBytes(32), unlock };
}
