// The artifact service: artifacts being uploaded and those kept, their retention (an artifact past
// its expires_at is gone), the Twirp ArtifactService methods and the api.github.com artifact routes.
import {
  TwirpError,
  invalidArgument,
  optionalInt32,
  optionalInt64,
  optionalString,
  optionalTimestamp,
  requiredString,
} from './twirp.js';
import type { BlobUrls } from './blob-url.js';
import type { ArtifactRecord } from './record-store.js';
import type { Storage } from './storage.js';
import type { TokenClaims } from './token.js';

type Json = Record<string, unknown>;

/** Characters GitHub refuses in artifact names (same list as the toolkit checks). */
const INVALID_NAME_CHARS = ['"', ':', '<', '>', '|', '*', '?', '\r', '\n', '\\', '/', '\0'];

interface PendingArtifact {
  record: ArtifactRecord;
  touched: number;
}

export class ArtifactService {
  private readonly artifactsByRun = new Map<string, Map<string, ArtifactRecord>>();
  private readonly artifactsById = new Map<number, ArtifactRecord>();
  private readonly pendingArtifacts = new Map<string, PendingArtifact>(); // `${run}\n${name}`
  private readonly pendingArtifactBlobs = new Map<string, PendingArtifact>(); // blob name
  private nextArtifactId = 1;

  constructor(
    private readonly storage: Storage,
    private readonly urls: BlobUrls,
    /** Base URL of this server, with a trailing slash. */
    private readonly baseUrl: () => string,
  ) {}

  /** Loads the kept artifacts, deletes those past their retention and blobs no artifact refers to. */
  async load(): Promise<void> {
    for (const record of await this.storage.records.loadArtifacts()) {
      if (this.isLive(record)) this.indexArtifact(record);
      else await this.storage.records.deleteArtifact(record); // past its retention
      this.nextArtifactId = Math.max(this.nextArtifactId, record.id + 1);
    }
    await this.storage.blobs.pruneBlobs('artifacts', new Set([...this.artifactsById.keys()].map(String)));
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

  /** Whether an upload to this blob is expected (a pending artifact). */
  canWrite(blob: string): boolean {
    const pending = this.pendingArtifactBlobs.get(blob);
    if (!pending) return false;
    pending.touched = Date.now();
    return true;
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
      await this.storage.records.deleteArtifact(existing);
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
    return { ok: true, signed_upload_url: this.urls.upload('artifacts', String(record.id)) };
  }

  private async dropPendingArtifact(key: string, pending: PendingArtifact): Promise<void> {
    this.pendingArtifacts.delete(key);
    this.pendingArtifactBlobs.delete(String(pending.record.id));
    await this.storage.blobs.deleteBlob('artifacts', String(pending.record.id));
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
    const props = await this.storage.blobs.blobProperties('artifacts', blob);
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
    await this.storage.records.saveArtifact(record);
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
    return this.urls.download('artifacts', String(record.id), fileName);
  }

  async deleteArtifact(claims: TokenClaims, body: Json): Promise<Json> {
    const { runId } = this.checkRun(claims, body);
    const name = this.artifactName(body);
    const record = this.liveArtifact(runId, name);
    if (!record) throw new TwirpError('not_found', `artifact ${JSON.stringify(name)} not found in this workflow run`);
    this.unindexArtifact(record);
    await this.storage.records.deleteArtifact(record);
    return { ok: true, artifact_id: String(record.id) };
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
    await this.storage.records.deleteArtifact(record);
    return true;
  }
}
