/**
 * The model registry on a forge. A candidate is the workflow artifact named by its commit
 * (`model-<sha>`); a version is a release whose tag follows the convention, holding the model
 * directory as assets with SHA256SUMS. Promotion writes a draft, uploads every asset and publishes
 * last; a published version never changes. Aliases (production, staging, …) are deployments:
 * the newest successful one of an environment is where the alias points, and the list of them is
 * the history of what was there when.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DeploymentRecord, RegistryForge, ReleaseDetails } from '../forge/types.js';
import { CHECKSUMS_FILE, parseChecksums } from '../model-dir/checksums.js';
import {
  BLESSING_FILE,
  MODEL_FILES,
  openModelDir,
  type Blessing,
  type Lineage,
  type OpenedModelDir,
} from '../model-dir/index.js';
import { checkBlessing, type BlessingCheck } from '../model-dir/blessing.js';
import { CdlError, UsageError } from '../util/errors.js';
import { PROMOTION_FILE, PROVENANCE_FILE, stageAssets } from './assets.js';
import { provenanceStatement, provenanceSubjects } from './provenance.js';
import { modelFromArtifact, modelFromRelease } from './version-download.js';
import { readJson } from '../util/fs.js';
import { compareVersions, DEFAULT_TAG_TEMPLATE, formatTag, parseTag } from '../forge/tags.js';

/** A promotion refused: the candidate is not blessed (exit code 1). */
export class NotBlessedError extends CdlError {}
/** A released version would change: refused (exit code 1). */
export class ImmutableReleaseError extends CdlError {}

export interface RegistryOptions {
  forge: RegistryForge;
  model: string;
  tagTemplate?: string;
  log?: (line: string) => void;
}

export interface PromoteOptions {
  version: string;
  /** Promote an unblessed candidate anyway; the reason is recorded in promotion.json and the release notes. */
  force?: { reason: string; by?: string | null };
  /** Compressed variants: name → model directory. */
  variants?: Record<string, string>;
  commit?: string | null;
  notes?: string;
  runUrl?: string | null;
}

export interface PromoteResult {
  tag: string;
  status: 'released' | 'unchanged';
  release: ReleaseDetails;
  assets: string[];
  blessing: BlessingCheck;
  provenance: string;
}

export interface FetchedVersion {
  tag: string;
  version: string;
  /** The model directory assembled from verified files. */
  dir: string;
  /** The same, opened: its bytes and hashes as verified at download. */
  model: OpenedModelDir;
  source: 'release' | 'artifact';
  commit: string | null;
  /** Files whose SHA-256 was checked. */
  verified: string[];
  blessing: BlessingCheck;
  forced?: { reason: string; by?: string | null };
  notes: string[];
}

export interface VersionEntry {
  tag: string;
  version: string;
  commit: string | null;
  published_at: string | null;
  aliases: string[];
}

export class Registry {
  readonly forge: RegistryForge;
  readonly model: string;
  readonly tagTemplate: string;
  private readonly log: (line: string) => void;

  constructor(o: RegistryOptions) {
    this.forge = o.forge;
    this.model = o.model;
    this.tagTemplate = o.tagTemplate ?? DEFAULT_TAG_TEMPLATE;
    this.log = o.log ?? (() => {});
  }

  tag(version: string): string {
    return formatTag(this.tagTemplate, this.model, version);
  }

  /** A version (1.2.0, v1.2.0) or a tag, as a tag. */
  resolveTag(ref: string): string {
    if (parseTag(this.tagTemplate, this.model, ref) !== undefined) return ref;
    return this.tag(ref);
  }

  versionOf(tag: string): string {
    return parseTag(this.tagTemplate, this.model, tag) ?? tag;
  }

  /** Turn a candidate model directory into a released version. */
  async promote(candidate: string, o: PromoteOptions): Promise<PromoteResult> {
    const tag = this.tag(o.version);
    // The one integrity check: SHA256SUMS present, covering every file, matching.
    const opened = await openModelDir(candidate, { requireChecksums: true });
    const blessing = await checkBlessing(opened);
    if (!blessing.ok) {
      if (!o.force) {
        throw new NotBlessedError(
          `refusing to promote ${candidate} as ${tag}: ${blessing.reason}. Promote it anyway with --force --reason "<why>"`,
        );
      }
      if (!o.force.reason.trim()) throw new UsageError('--force needs --reason "<why>": the reason is recorded with the release');
      this.log(`promoting an unblessed candidate (${blessing.reason}); forced: ${o.force.reason}`);
    }
    const commit = o.commit ?? blessing.blessing?.candidate?.commit ?? opened.lineage?.git?.commit ?? null;
    const body = [
      `Model ${this.model} ${this.versionOf(tag)}${commit ? ` from ${commit}` : ''}.`,
      blessing.ok ? `Gate: ${blessing.reason}` : `Not blessed (${blessing.reason}); promoted with --force: ${o.force!.reason}`,
      o.notes ?? '',
    ]
      .filter(Boolean)
      .join('\n\n');
    // The draft is the claim on the tag, taken before any work: a second promotion of the version
    // meets it and stops, and one whose process died leaves a draft the next promotion replaces.
    const existing = await this.forge.releaseDetails(tag);
    if (existing?.draft) {
      this.log(`deleting the draft of ${tag} left by an interrupted promotion`);
      await this.forge.deleteDraft(existing);
    }
    let draft =
      existing && !existing.draft
        ? undefined
        : await this.forge.createDraftRelease(tag, { commit, name: `${this.model} ${this.versionOf(tag)}`, body });
    const work = path.join(os.tmpdir(), `cdl-promote-${process.pid}-${Date.now()}`);
    try {
      const staged = await stageAssets(opened, path.join(work, 'assets'), o.variants);
      if (staged.skipped.length) this.log(`not released (not part of a model directory): ${staged.skipped.join(', ')}`);
      if (!draft) {
        const released = existing!;
        const theirs = await this.releasedSums(released, work);
        const ours = [...staged.sums]
          .map(([f, h]) => `${h}  ${f}`)
          .sort()
          .join('\n');
        if (theirs === ours) {
          this.log(`${tag} is already released with exactly these files; nothing to do`);
          return {
            tag,
            status: 'unchanged',
            release: released,
            assets: released.assets.map((a) => a.name),
            blessing,
            provenance: 'unchanged',
          };
        }
        throw new ImmutableReleaseError(
          `release ${tag} already exists with different assets; released versions are immutable: promote as a new version instead`,
        );
      }
      const subjects = provenanceSubjects(staged.sums);
      await writeFile(
        path.join(staged.dir, PROVENANCE_FILE),
        JSON.stringify(provenanceStatement(subjects, { model: this.model, tag, commit, runUrl: o.runUrl }), null, 2) + '\n',
      );
      const promotion = {
        model: this.model,
        tag,
        version: this.versionOf(tag),
        commit,
        blessed: blessing.ok,
        blessing_reason: blessing.reason,
        ...(o.force && !blessing.ok ? { forced: { reason: o.force.reason, by: o.force.by ?? null } } : {}),
        time: new Date().toISOString(),
      };
      await writeFile(path.join(staged.dir, PROMOTION_FILE), JSON.stringify(promotion, null, 2) + '\n');
      let provenance = 'unsigned statement attached as provenance.intoto.json';
      const signed = await this.forge.signProvenance(subjects);
      if (signed) {
        provenance = signed;
        this.log(provenance);
      }
      const names = [...staged.sums.keys(), CHECKSUMS_FILE, PROVENANCE_FILE, PROMOTION_FILE];
      for (const name of names) await this.forge.uploadAsset(draft, name, path.join(staged.dir, name));
      draft = await this.forge.publishRelease(draft);
      this.log(`released ${tag}: ${names.length} assets (${this.forge.describe()})`);
      return { tag, status: 'released', release: draft, assets: names, blessing, provenance };
    } catch (e) {
      if (draft?.draft) await this.forge.deleteDraft(draft).catch(() => {});
      throw e;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  private async releasedSums(release: ReleaseDetails, work: string): Promise<string | undefined> {
    const a = release.assets.find((x) => x.name === CHECKSUMS_FILE);
    if (!a) return undefined;
    const file = path.join(work, 'released-SHA256SUMS');
    await this.forge.downloadAsset(release, a, file);
    return [...parseChecksums(await readFile(file, 'utf8'))]
      .map(([f, h]) => `${h}  ${f}`)
      .sort()
      .join('\n');
  }

  /**
   * The model of a version, verified: every asset against SHA256SUMS (and the forge's digest),
   * and the blessing. A published release without model assets (published by hand where assets
   * can no longer be added) gives the commit's workflow artifact instead, and says so. A caller
   * that already holds the release's details passes them (`release`), so they are fetched once.
   */
  async fetch(ref: string, dest: string, o: { release?: ReleaseDetails } = {}): Promise<FetchedVersion> {
    const tag = this.resolveTag(ref);
    if (o.release && o.release.tag !== tag) throw new CdlError(`release ${o.release.tag} given for ${tag}`);
    const release = o.release ?? (await this.forge.releaseDetails(tag));
    if (!release) throw new CdlError(`no release ${tag} (${this.forge.describe()})`);
    if (release.draft) throw new CdlError(`release ${tag} is a draft; publish it first`);
    const notes: string[] = [];
    const hasModel =
      release.assets.some((a) => a.name === MODEL_FILES.onnx) && release.assets.some((a) => a.name === CHECKSUMS_FILE);
    const flat = `${dest}.assets-${process.pid}`;
    await rm(flat, { recursive: true, force: true });
    try {
      let verified: string[];
      let dir: OpenedModelDir;
      let source: FetchedVersion['source'];
      let forced: FetchedVersion['forced'];
      if (hasModel) {
        source = 'release';
        ({ dir, verified } = await modelFromRelease(this.forge, release, tag, flat, dest));
        forced = (await readJson<{ forced?: FetchedVersion['forced'] }>(path.join(dest, PROMOTION_FILE)).catch(() => undefined))
          ?.forced;
      } else {
        source = 'artifact';
        ({ dir, verified } = await modelFromArtifact(this.forge, release, tag, flat, dest, (note) => {
          notes.push(note);
          this.log(note);
        }));
      }
      const blessing = await checkBlessing(dir);
      if (!blessing.ok && !forced) throw new NotBlessedError(`refusing ${tag}: ${blessing.reason}`);
      if (!blessing.ok && forced) notes.push(`not blessed (${blessing.reason}); promoted with --force: ${forced.reason}`);
      return {
        tag,
        version: this.versionOf(tag),
        dir: dir.dir,
        model: dir,
        source,
        commit: release.commit ?? null,
        verified,
        blessing,
        forced,
        notes,
      };
    } finally {
      await rm(flat, { recursive: true, force: true });
    }
  }

  /** Published versions of the model, newest first, with the aliases pointing at each. */
  async list(): Promise<VersionEntry[]> {
    const releases = (await this.forge.listReleases(this.model)).filter(
      (r) => parseTag(this.tagTemplate, this.model, r.tag) !== undefined,
    );
    const aliases = await this.aliases();
    return releases
      .map((r) => ({
        tag: r.tag,
        version: this.versionOf(r.tag),
        commit: r.commit ?? null,
        published_at: r.published_at ?? null,
        aliases: Object.entries(aliases)
          .filter(([, d]) => d.tag === r.tag)
          .map(([a]) => a)
          .sort(),
      }))
      .sort((a, b) => compareVersions(b.version, a.version));
  }

  /** Where each alias points now: the newest successful deployment of each environment. */
  async aliases(): Promise<Record<string, DeploymentRecord>> {
    const out: Record<string, DeploymentRecord> = {};
    for (const d of await this.forge.listDeployments(this.model)) {
      if (d.state === 'success' && !out[d.environment]) out[d.environment] = d;
    }
    return out;
  }

  async alias(name: string): Promise<DeploymentRecord | undefined> {
    return (await this.forge.listDeployments(this.model, name)).find((d) => d.state === 'success');
  }

  /** Moves of an alias (or of all), newest first: what was there when, and the attempts that failed. */
  history(alias?: string): Promise<DeploymentRecord[]> {
    return this.forge.listDeployments(this.model, alias);
  }

  /** Point an alias at a version without deploying anything (the move is recorded). */
  async moveAlias(alias: string, ref: string, reason: string): Promise<DeploymentRecord> {
    const tag = this.resolveTag(ref);
    const release = await this.forge.releaseDetails(tag);
    if (!release || release.draft) throw new CdlError(`no published release ${tag} (${this.forge.describe()})`);
    const previous = await this.alias(alias);
    const d = await this.forge.createDeployment({
      model: this.model,
      environment: alias,
      tag,
      version: this.versionOf(tag),
      commit: release.commit ?? null,
      description: reason,
      payload: { reason, previous: previous?.tag ?? null, target: 'alias' },
    });
    return this.forge.setDeploymentStatus(d, 'success', { description: reason });
  }

  /** The version an alias held before its current one (for rollback). */
  async previous(alias: string): Promise<DeploymentRecord | undefined> {
    const h = (await this.history(alias)).filter((d) => d.state === 'success' || d.state === 'inactive');
    const current = h[0];
    return h.find((d) => d.tag !== current?.tag);
  }

  /** Lineage of a version: commit, dataset, configuration, tuning study and the parent of a compressed model. */
  async lineage(ref: string, work: string): Promise<Record<string, unknown>> {
    const tag = this.resolveTag(ref);
    const release = await this.forge.releaseDetails(tag);
    if (!release) throw new CdlError(`no release ${tag}`);
    const get = async (name: string) => {
      const a = release.assets.find((x) => x.name === name);
      if (!a) return undefined;
      const f = path.join(work, `${tag}-${name}`);
      await mkdir(work, { recursive: true });
      await this.forge.downloadAsset(release, a, f);
      return readJson<Record<string, unknown>>(f);
    };
    const l = (await get(MODEL_FILES.lineage)) as Partial<Lineage> | undefined;
    const b = (await get(BLESSING_FILE)) as Partial<Blessing> | undefined;
    const m = (await get(MODEL_FILES.metrics)) as Record<string, unknown> | undefined;
    const hp = (l?.hyperparameters ?? {}) as Record<string, unknown>;
    return {
      tag,
      version: this.versionOf(tag),
      commit: release.commit ?? l?.git?.commit ?? null,
      published_at: release.published_at ?? null,
      dataset: l?.data ?? null,
      config: l?.config ?? null,
      hyperparameters: hp,
      tuning:
        (l as Record<string, unknown> | undefined)?.tune ??
        hp.study ??
        (l?.trainer as Record<string, unknown> | undefined)?.study ??
        null,
      parent: l?.parent ?? null,
      ci: l?.ci ?? null,
      gate: b ? { decision: b.decision, reason: b.reason, baseline: b.baseline?.tag ?? b.baseline?.ref ?? null } : null,
      metrics: m ? { main_metric: m.main_metric, value: m.main_metric_value, splits: m.splits } : null,
      assets: release.assets.map((a) => a.name),
    };
  }
}
