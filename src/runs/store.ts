/**
 * Run records in git, append-only: one JSON file per run on the branch `cdl-runs`
 * (runs/<yyyy>/<mm>/<id>.json), written with plumbing (hash-object, a private index, write-tree,
 * commit-tree, then update-ref or push) so the user's work tree, index and checked-out branch are
 * never touched. Two writers never edit the same file; when the branch head moved under a writer
 * (update-ref's compare-and-swap failed, or the push was rejected) it rebuilds its commit on the
 * new head and tries again.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RUNS_BRANCH, RUNS_DIR } from '../model-dir/files.js';
import { parseRunRecord, type RunRecord } from '../model-dir/run-record.js';
import { CdlError } from '../util/errors.js';

export class RunStoreError extends CdlError {}

const ZERO = '0'.repeat(40);
const LOCAL_REF = `refs/heads/${RUNS_BRANCH}`;
/** Largest record accepted on read: a record is a few kilobytes; anything huge is not one. */
const MAX_RECORD_BYTES = 4 * 1024 * 1024;

interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** git with arguments (never a shell), optional stdin and extra environment. */
export function git(cwd: string, args: string[], o: { input?: string | Buffer; env?: Record<string, string> } = {}) {
  return new Promise<GitResult>((resolve, reject) => {
    const child = spawn('git', args, {
      cwd,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', ...o.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: err }));
    child.stdin.on('error', () => {});
    child.stdin.end(o.input ?? '');
  });
}

async function gitOk(cwd: string, args: string[], o: { input?: string | Buffer; env?: Record<string, string> } = {}) {
  const r = await git(cwd, args, o);
  if (r.code !== 0)
    throw new RunStoreError(`git ${args[0]} in ${cwd} failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  return r.stdout.toString('utf8').trim();
}

/** The top level of the git repository holding `dir`, or undefined when it is in none. */
export async function repoRootOf(dir: string): Promise<string | undefined> {
  const r = await git(dir, ['rev-parse', '--show-toplevel']).catch(() => undefined);
  return r && r.code === 0 ? r.stdout.toString('utf8').trim() : undefined;
}

/** `<yyyymmddThhmmssZ>-<commit7>-<kind>-<random>`: sorts by time, unique without coordination. */
export function newRunId(kind: string, commit: string | null, at = new Date()): string {
  const t = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${t}-${(commit ?? 'nocommit').slice(0, 7)}-${kind.replace(/_/g, '-')}-${randomBytes(4).toString('hex')}`;
}

/** runs/<yyyy>/<mm>/<id>.json, by the record's creation time. */
export function recordPath(r: Pick<RunRecord, 'id' | 'created_at'>): string {
  const d = new Date(r.created_at);
  const yyyy = Number.isNaN(d.getTime()) ? '0000' : String(d.getUTCFullYear());
  const mm = Number.isNaN(d.getTime()) ? '00' : String(d.getUTCMonth() + 1).padStart(2, '0');
  return `${RUNS_DIR}/${yyyy}/${mm}/${r.id}.json`;
}

export interface AppendOptions {
  /** Push to this remote (e.g. origin) instead of moving the local branch. */
  remote?: string | null;
  /** HTTP token for the push (sent as an extra header through the environment, never in argv or a URL). */
  token?: string | null;
  /** Tries when the branch head moves under us (default 8). */
  attempts?: number;
}

export interface AppendResult {
  path: string;
  commit: string;
  attempts: number;
  /** Where it went: the local branch, or remote/branch. */
  target: string;
}

function authEnv(token: string | null | undefined): Record<string, string> {
  if (!token) return {};
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  return { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraheader', GIT_CONFIG_VALUE_0: `AUTHORIZATION: basic ${basic}` };
}

const IDENTITY = {
  GIT_AUTHOR_NAME: 'cdl',
  GIT_AUTHOR_EMAIL: 'cdl@localhost',
  GIT_COMMITTER_NAME: 'cdl',
  GIT_COMMITTER_EMAIL: 'cdl@localhost',
};

async function resolveRef(repo: string, ref: string): Promise<string | undefined> {
  const r = await git(repo, ['rev-parse', '--verify', '-q', `${ref}^{commit}`]);
  return r.code === 0 ? r.stdout.toString('utf8').trim() : undefined;
}

/** A commit adding `file` with `blob` on top of `parent` (or a root commit), built in a private index. */
async function commitOnto(
  repo: string,
  parent: string | undefined,
  file: string,
  blob: string,
  message: string,
): Promise<string> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'cdl-runs-index-'));
  const env = { GIT_INDEX_FILE: path.join(tmp, 'index'), ...IDENTITY };
  try {
    if (parent) await gitOk(repo, ['read-tree', parent], { env });
    else await gitOk(repo, ['read-tree', '--empty'], { env });
    await gitOk(repo, ['update-index', '--add', '--cacheinfo', `100644,${blob},${file}`], { env });
    const tree = await gitOk(repo, ['write-tree'], { env });
    return await gitOk(repo, ['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', message], { env });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function pause(attempt: number): Promise<void> {
  const ms = Math.min(2000, 50 * 2 ** attempt) * (0.5 + Math.random());
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Append one record to the runs branch of the repository at `repo`: locally (update-ref with the
 * old head as a compare-and-swap) or, with `remote`, by pushing (a rejected push means the head
 * moved: fetch, rebuild, push again).
 */
export async function appendRecord(repo: string, record: RunRecord, o: AppendOptions = {}): Promise<AppendResult> {
  const file = recordPath(record);
  const blob = await gitOk(repo, ['hash-object', '-w', '--stdin'], { input: JSON.stringify(record, null, 2) + '\n' });
  const message = `run ${record.id}: ${record.model} (${record.kind})`;
  const attempts = o.attempts ?? 8;
  const env = authEnv(o.token);
  const tracking = o.remote ? `refs/remotes/${o.remote}/${RUNS_BRANCH}` : LOCAL_REF;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (o.remote) {
      const f = await git(repo, ['fetch', '-q', '--no-tags', o.remote, `+${LOCAL_REF}:${tracking}`], { env });
      if (f.code !== 0 && !/couldn't find remote ref|no such ref/i.test(f.stderr)) {
        throw new RunStoreError(`git fetch ${o.remote} ${RUNS_BRANCH} failed: ${f.stderr.trim().split('\n').pop()}`);
      }
    }
    const parent = await resolveRef(repo, tracking);
    const commit = await commitOnto(repo, parent, file, blob, message);
    if (!o.remote) {
      const u = await git(repo, ['update-ref', '-m', message, LOCAL_REF, commit, parent ?? ZERO]);
      if (u.code === 0) return { path: file, commit, attempts: attempt, target: RUNS_BRANCH };
      last = u.stderr.trim();
    } else {
      const p = await git(repo, ['push', '-q', '--no-verify', o.remote, `${commit}:${LOCAL_REF}`], { env });
      if (p.code === 0) {
        await git(repo, ['update-ref', tracking, commit]);
        return { path: file, commit, attempts: attempt, target: `${o.remote}/${RUNS_BRANCH}` };
      }
      last = p.stderr.trim();
      if (isPermissionError(last)) throw new RunPermissionError(`push to ${o.remote} ${RUNS_BRANCH} refused: ${lastLine(last)}`);
      if (!/rejected|non-fast-forward|fetch first|failed to update ref|cannot lock ref/i.test(last)) {
        throw new RunStoreError(`git push ${o.remote} ${RUNS_BRANCH} failed: ${lastLine(last)}`);
      }
    }
    await pause(attempt);
  }
  throw new RunStoreError(`${RUNS_BRANCH} kept moving: gave up after ${attempts} attempts (${lastLine(last)})`);
}

/** The token may not write (a read-only GITHUB_TOKEN, a fork): the run is simply not recorded. */
export class RunPermissionError extends RunStoreError {}

export function isPermissionError(s: string): boolean {
  // Only git's own wording: a bare "403" also occurs inside object ids and temporary paths.
  return /returned error: 403\b|\bHTTP 403\b|permission .*denied|write access .*not granted|Authentication failed|could not read Username/i.test(
    s,
  );
}

function lastLine(s: string): string {
  return s.split('\n').filter(Boolean).pop() ?? s;
}

export interface ReadOptions {
  /** Fetch the remote's branch first when the repository has this remote (default origin; null: never). */
  remote?: string | null;
  log?: (line: string) => void;
}

export interface StoredRecord {
  path: string;
  record: RunRecord;
}

/**
 * Every record on the runs branch: the local branch and, when the repository has the remote, the
 * remote's (fetched first), merged by path. A file that is not a valid record stops the read with
 * an error naming it.
 */
export async function readRecords(repo: string, o: ReadOptions = {}): Promise<StoredRecord[]> {
  const remote = o.remote === undefined ? 'origin' : o.remote;
  const refs = [LOCAL_REF];
  if (remote) {
    const has = await git(repo, ['remote', 'get-url', remote]);
    if (has.code === 0) {
      const tracking = `refs/remotes/${remote}/${RUNS_BRANCH}`;
      const f = await git(repo, ['fetch', '-q', '--no-tags', remote, `+${LOCAL_REF}:${tracking}`]);
      if (f.code !== 0 && !/couldn't find remote ref|no such ref/i.test(f.stderr))
        o.log?.(`could not fetch ${remote} ${RUNS_BRANCH} (${lastLine(f.stderr.trim())}); reading what is here`);
      refs.push(tracking);
    }
  }
  const blobs = new Map<string, string>();
  for (const ref of refs) {
    if (!(await resolveRef(repo, ref))) continue;
    const ls = await gitOk(repo, ['ls-tree', '-r', '-z', ref, '--', `${RUNS_DIR}/`]);
    for (const entry of ls.split('\0').filter(Boolean)) {
      const m = /^\d+ blob ([0-9a-f]+)\t(.+)$/.exec(entry);
      if (m && m[2]!.endsWith('.json')) blobs.set(m[2]!, m[1]!);
    }
  }
  if (blobs.size === 0) return [];
  const entries = [...blobs];
  const out = await git(repo, ['cat-file', '--batch'], { input: entries.map(([, oid]) => oid).join('\n') + '\n' });
  if (out.code !== 0) throw new RunStoreError(`git cat-file failed: ${out.stderr.trim()}`);
  const buf = out.stdout;
  const records: StoredRecord[] = [];
  let at = 0;
  for (const [file] of entries) {
    const nl = buf.indexOf(0x0a, at);
    const header = buf.subarray(at, nl).toString('utf8');
    const size = Number(header.split(' ')[2]);
    if (!Number.isFinite(size)) throw new RunStoreError(`${RUNS_BRANCH}:${file}: unreadable (${header})`);
    if (size > MAX_RECORD_BYTES)
      throw new RunStoreError(`${RUNS_BRANCH}:${file}: ${size} bytes; a run record is at most ${MAX_RECORD_BYTES}`);
    const text = buf.subarray(nl + 1, nl + 1 + size).toString('utf8');
    at = nl + 1 + size + 1;
    records.push({ path: file, record: parseRunRecord(text, `${RUNS_BRANCH}:${file}`) });
  }
  records.sort((a, b) => a.record.created_at.localeCompare(b.record.created_at) || a.path.localeCompare(b.path));
  return records;
}
