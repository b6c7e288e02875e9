/**
 * SHA256SUMS of a model directory: one `<hex>  <file>` line per file, the format of `sha256sum`
 * (so `sha256sum -c SHA256SUMS` checks a directory by hand). Every model directory cdl writes
 * carries one covering every file; `openModelDir` (index.ts) is where it is checked.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CdlError } from '../util/errors.js';
import { listFiles, writeFileAtomic } from '../util/fs.js';
import { sha256File } from '../util/sha256.js';
import { MODEL_FILES } from './files.js';

export { sha256Bytes, sha256File } from '../util/sha256.js';

export const CHECKSUMS_FILE = MODEL_FILES.checksums;

export class ChecksumError extends CdlError {}

/**
 * Parse SHA256SUMS text into file → hex. Accepts text (`hex  file`) and binary (`hex *file`)
 * mode lines; blank lines are skipped. `source` names the file in errors.
 */
export function parseChecksums(text: string, source: string = CHECKSUMS_FILE): Map<string, string> {
  const sums = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (!m) {
      throw new ChecksumError(
        `${source}:${i + 1}: expected "<64 hex digits>  <file>" (sha256sum format), got "${line.slice(0, 80)}"`,
      );
    }
    const file = m[2]!.replace(/^\.\//, '');
    if (path.isAbsolute(file) || file.split(/[\\/]/).includes('..')) {
      throw new ChecksumError(`${source}:${i + 1}: "${file}" is outside the directory; expected a relative path inside it`);
    }
    sums.set(file, m[1]!.toLowerCase());
  });
  return sums;
}

/** The checksums of a directory, or undefined when it has no SHA256SUMS. */
export async function readChecksums(dir: string): Promise<Map<string, string> | undefined> {
  const file = path.join(dir, CHECKSUMS_FILE);
  if (!existsSync(file)) return undefined;
  return parseChecksums(await readFile(file, 'utf8'), file);
}

export interface ChecksumMismatch {
  file: string;
  expected: string;
  /** null when the file is missing. */
  actual: string | null;
}

export interface ChecksumReport {
  /** Whether the directory has a SHA256SUMS at all. */
  present: boolean;
  /** Files whose hash matched. */
  verified: string[];
  mismatches: ChecksumMismatch[];
}

/** Check every file SHA256SUMS lists. A directory without SHA256SUMS verifies nothing and passes. */
export async function verifyChecksums(dir: string): Promise<ChecksumReport> {
  const sums = await readChecksums(dir);
  if (!sums) return { present: false, verified: [], mismatches: [] };
  const verified: string[] = [];
  const mismatches: ChecksumMismatch[] = [];
  for (const [file, expected] of sums) {
    const p = path.join(dir, file);
    const actual = existsSync(p) ? await sha256File(p) : null;
    if (actual === expected) verified.push(file);
    else mismatches.push({ file, expected, actual });
  }
  return { present: true, verified, mismatches };
}

/** One line per mismatch, for errors and logs. */
export function describeMismatches(dir: string, mismatches: ChecksumMismatch[]): string {
  return mismatches
    .map((m) =>
      m.actual === null
        ? `${path.join(dir, m.file)}: missing (listed in ${CHECKSUMS_FILE})`
        : `${path.join(dir, m.file)}: SHA-256 ${m.actual} does not match ${m.expected} in ${CHECKSUMS_FILE}`,
    )
    .join('; ');
}

/** Verify and throw a ChecksumError naming every file that does not match. */
export async function assertChecksums(dir: string): Promise<ChecksumReport> {
  const report = await verifyChecksums(dir);
  if (report.mismatches.length) throw new ChecksumError(describeMismatches(dir, report.mismatches));
  return report;
}

/** Every file under `dir` (relative, `/`-separated, sorted) that SHA256SUMS covers: all but itself. */
export async function filesToSum(dir: string): Promise<string[]> {
  return (await listFiles(dir)).filter((f) => f !== CHECKSUMS_FILE);
}

/**
 * Write SHA256SUMS for every file under `dir` (recursively, sorted, itself excluded), or for
 * `files` only. Written under a temporary name and renamed into place. Returns the sums.
 */
export async function writeChecksums(dir: string, files?: string[]): Promise<Map<string, string>> {
  const names = (files ?? (await filesToSum(dir))).slice().sort();
  const sums = new Map<string, string>();
  for (const f of names) sums.set(f, await sha256File(path.join(dir, f)));
  await writeChecksumsFile(dir, sums);
  return sums;
}

/** Write SHA256SUMS from hashes already known (nothing is hashed), sorted by file. */
export async function writeChecksumsFile(dir: string, sums: Map<string, string>): Promise<void> {
  const text = [...sums]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([f, h]) => `${h}  ${f}\n`)
    .join('');
  await writeFileAtomic(path.join(dir, CHECKSUMS_FILE), text);
}
