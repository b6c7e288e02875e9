/**
 * The registry's releases on GitHub: written as a draft (the promotion's claim on the tag), filled
 * with every asset, published last; a draft left by an interrupted promotion is replaced.
 */
import { readFile } from 'node:fs/promises';
import { CdlError } from '../util/errors.js';
import { beingPromoted, claimLive, claimOf, newClaim, withClaim, type PromotionClaim } from './github-claims.js';
import { httpStatus, releaseInfo, type ApiRelease, type GitHubRepo } from './github-repo.js';
import { PromotionConflictError, type AssetInfo, type ReleaseDetails } from './types.js';

function alreadyPromoted(tag: string, e: unknown): CdlError {
  return new PromotionConflictError(
    `${tag} is already promoted (GitHub refused the release: HTTP 422 ${(e as Error).message.split('\n')[0]})`,
  );
}

function details(r: ApiRelease): ReleaseDetails {
  return {
    ...releaseInfo(r),
    draft: Boolean(r.draft),
    immutable: Boolean(r.immutable),
    assets: (r.assets ?? []).map((a) => ({ name: a.name, size: a.size, digest: a.digest ?? null, id: a.id })),
    ...(r.upload_url ? { uploadUrl: r.upload_url } : {}),
    ...(r.draft ? { claim: claimOf(r.body) } : {}),
  };
}

export class GitHubDrafts {
  /** This process's drafts: the release notes without the claim, the claim and when it was last renewed. */
  private readonly claims = new Map<number, { body: string; claim: PromotionClaim; renewed: number }>();
  /** The drafts as create handed them out: only the promotion holding one may delete it. */
  private readonly own = new WeakSet<ReleaseDetails>();

  constructor(
    private readonly gh: GitHubRepo,
    private readonly log: (line: string) => void,
    /** How long a promotion's claim on a tag lasts without renewal. */
    private readonly claimTtlMs: number,
  ) {}

  private get fullName(): string {
    return `${this.gh.owner}/${this.gh.repo}`;
  }

  /** Drafts of `tag` among the newest releases (drafts are not found by tag). */
  private async drafts(tag: string): Promise<ApiRelease[]> {
    const { data } = await this.gh.octokit.rest.repos.listReleases({ owner: this.gh.owner, repo: this.gh.repo, per_page: 100 });
    return (data as ApiRelease[]).filter((r) => r.draft && r.tag_name === tag);
  }

  /** Keep our claim from running out while a long upload goes on. */
  private async renewClaim(release: ReleaseDetails): Promise<void> {
    const mine = this.claims.get(Number(release.id));
    if (!mine || Date.now() - mine.renewed < this.claimTtlMs / 4) return;
    const claim = { ...mine.claim, until: new Date(Date.now() + this.claimTtlMs).toISOString() };
    await this.gh.octokit.rest.repos
      .updateRelease({
        owner: this.gh.owner,
        repo: this.gh.repo,
        release_id: Number(release.id),
        body: withClaim(mine.body, claim),
      })
      .catch((e: unknown) => {
        throw httpStatus(e) === 404 ? this.draftGone(release) : e;
      });
    this.claims.set(Number(release.id), { ...mine, claim, renewed: Date.now() });
  }

  private draftGone(release: ReleaseDetails): PromotionConflictError {
    return new PromotionConflictError(
      `the draft of ${release.tag} (release ${release.id}) was deleted while this promotion wrote it: another promotion took the tag over; nothing was published by this one`,
    );
  }

  async details(tag: string): Promise<ReleaseDetails | undefined> {
    try {
      const { data } = await this.gh.octokit.rest.repos.getReleaseByTag({ owner: this.gh.owner, repo: this.gh.repo, tag });
      return details(data as ApiRelease);
    } catch (e) {
      if (httpStatus(e) !== 404) throw e;
    }
    // Drafts are not found by tag: look through the newest releases, the oldest draft (the claim holder) first.
    const draft = (await this.drafts(tag)).sort((a, b) => a.id - b.id)[0];
    return draft ? details(draft) : undefined;
  }

  /**
   * A draft has no git tag on GitHub: the tag is made when the release is published. The draft is
   * the promotion's claim on the tag. GitHub lets several drafts share a tag, so after creating
   * ours we look at all of them: of the drafts whose claim is live, the oldest (lowest id) holds
   * the tag; any other promotion deletes its own draft and stops with "already being promoted".
   * The holder deletes drafts whose claim ran out (interrupted promotions).
   */
  async create(tag: string, opts: { commit: string | null; name?: string; body?: string }): Promise<ReleaseDetails> {
    const { owner, repo, octokit } = this.gh;
    const body = opts.body ?? '';
    const claim = newClaim(this.claimTtlMs);
    let mine: ReleaseDetails;
    try {
      const { data } = await octokit.rest.repos.createRelease({
        owner,
        repo,
        tag_name: tag,
        ...(opts.commit ? { target_commitish: opts.commit } : {}),
        name: opts.name ?? tag,
        body: withClaim(body, claim),
        draft: true,
      });
      mine = details(data as ApiRelease);
    } catch (e) {
      if (httpStatus(e) === 422) throw alreadyPromoted(tag, e);
      throw e;
    }
    const id = Number(mine.id);
    this.claims.set(id, { body, claim, renewed: Date.now() });
    const others = (await this.drafts(tag)).filter((d) => d.id !== id);
    const holder = others.filter((d) => d.id < id && claimLive(claimOf(d.body))).sort((a, b) => a.id - b.id)[0];
    if (holder) {
      this.claims.delete(id);
      await octokit.rest.repos.deleteRelease({ owner, repo, release_id: id }).catch(() => {});
      throw beingPromoted(tag, claimOf(holder.body)!, holder.id, this.fullName);
    }
    for (const stale of others.filter((d) => !claimLive(claimOf(d.body)))) {
      this.log(
        `deleting draft ${stale.id} of ${tag}: left by an interrupted promotion (its claim ran out or its process is gone)`,
      );
      await octokit.rest.repos.deleteRelease({ owner, repo, release_id: stale.id }).catch((e: unknown) => {
        if (httpStatus(e) !== 404) throw e;
      });
    }
    this.own.add(mine);
    return mine;
  }

  async upload(release: ReleaseDetails, name: string, file: string): Promise<AssetInfo> {
    if (!release.draft)
      throw new CdlError(`upload ${name} to ${release.tag}: the release is published; assets are only added to a draft`);
    const uploadUrl = (release as ReleaseDetails & { uploadUrl?: string }).uploadUrl;
    await this.renewClaim(release);
    const data = await readFile(file);
    const { data: a } = await this.gh.octokit.rest.repos
      .uploadReleaseAsset({
        owner: this.gh.owner,
        repo: this.gh.repo,
        release_id: Number(release.id),
        name,
        // Octokit sends the bytes as they are; its types only know strings.
        data: data as unknown as string,
        headers: { 'content-type': 'application/octet-stream', 'content-length': data.length },
        ...(uploadUrl ? { baseUrl: uploadUrl.replace(/\/repos\/.*$/, '') } : {}),
      })
      .catch((e: unknown) => {
        throw httpStatus(e) === 404 && this.claims.has(Number(release.id)) ? this.draftGone(release) : e;
      });
    return { name: a.name, size: a.size, digest: (a as { digest?: string | null }).digest ?? null, id: a.id };
  }

  /**
   * Publishing makes the tag; of two drafts of one tag (two promotions at once) GitHub publishes
   * the first and refuses the second with 422, which the registry reports and cleans up after.
   */
  async publish(release: ReleaseDetails): Promise<ReleaseDetails> {
    const id = Number(release.id);
    const mine = this.claims.get(id);
    try {
      const { data } = await this.gh.octokit.rest.repos.updateRelease({
        owner: this.gh.owner,
        repo: this.gh.repo,
        release_id: id,
        draft: false,
        // The published notes without the claim.
        ...(mine ? { body: mine.body } : {}),
      });
      this.claims.delete(id);
      return details(data as ApiRelease);
    } catch (e) {
      if (httpStatus(e) === 422) throw alreadyPromoted(release.tag, e);
      if (httpStatus(e) === 404 && mine) throw this.draftGone(release);
      throw e;
    }
  }

  /** Delete a draft: ours, or one whose promotion is gone; never one another live promotion holds. */
  async delete(release: ReleaseDetails): Promise<void> {
    if (!release.draft) throw new CdlError(`delete ${release.tag}: the release is published; only drafts are deleted`);
    const id = Number(release.id);
    const claim = (release as ReleaseDetails & { claim?: PromotionClaim }).claim;
    if (!this.own.has(release) && claimLive(claim)) throw beingPromoted(release.tag, claim, id, this.fullName);
    this.claims.delete(id);
    await this.gh.octokit.rest.repos
      .deleteRelease({ owner: this.gh.owner, repo: this.gh.repo, release_id: id })
      .catch((e: unknown) => {
        if (httpStatus(e) !== 404) throw e;
      });
  }
}
