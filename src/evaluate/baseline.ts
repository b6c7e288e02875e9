/**
 * Finding the baseline. `production` is the version deployed to the production environment (or,
 * before anything was deployed, the latest release), fetched and verified exactly as deploy fetches
 * it: every file against SHA256SUMS, and the blessing. A model directory, an artifact
 * (`artifact:<name>`) or a release tag can be named instead. Only "nothing in production yet" and
 * `none` leave the gate without a baseline; a baseline that exists but cannot be fetched or
 * verified, or a name that is none of these, is an error (fail closed).
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { isRegistryForge, type Forge } from '../forge/types.js';
import { MODEL_FILES, type BaselineIdentity, type OpenedModelDir } from '../model-dir/index.js';
import { resolveProduction } from '../registry/production.js';
import { Registry } from '../registry/registry.js';
import { isSemver } from '../forge/tags.js';
import { CdlError, messageOf, UsageError } from '../util/errors.js';

/** A baseline that exists but could not be fetched, verified or evaluated (exit code 1). */
export class BaselineError extends CdlError {}

export interface ResolvedBaseline {
  dir?: string;
  /** The same, opened when it was fetched and verified (so evaluation does not read and hash it again). */
  model?: OpenedModelDir;
  identity?: BaselineIdentity;
  /** Why there is no baseline (when `dir` is undefined): none requested, or nothing in production yet. */
  note?: string;
}

function looksLikePath(spec: string): boolean {
  return spec.startsWith('.') || spec.startsWith('/') || spec.includes(path.sep) || /^[A-Za-z]:[\\/]/.test(spec);
}

export interface BaselineContext {
  forge: Forge;
  model: string;
  workDir: string;
  baseDir?: string;
  /** Release tag convention (deploy.tag); default {model}@v{version}. */
  tagTemplate?: string;
  log?: (line: string) => void;
}

export async function resolveBaseline(spec: string, ctx: BaselineContext): Promise<ResolvedBaseline> {
  const log = ctx.log ?? (() => {});
  const s = spec.trim();
  const dest = path.join(ctx.workDir, 'baseline');
  if (s === '' || s === 'none') return { note: 'no baseline requested (baseline: none)' };
  const registry = () => {
    if (!isRegistryForge(ctx.forge)) throw new CdlError(`${ctx.forge.describe()} cannot hold a model registry`);
    return new Registry({ forge: ctx.forge, model: ctx.model, tagTemplate: ctx.tagTemplate, log });
  };
  /** The verified fetch deploy uses; a failure names the release and the reason. */
  const fetchRelease = async (tag: string, what: string) => {
    try {
      return await registry().fetch(tag, dest);
    } catch (e) {
      throw new BaselineError(`${what} ${tag} could not be fetched or verified: ${messageOf(e)}`, { cause: e });
    }
  };
  if (s === 'production') {
    const reg = registry();
    const prod = await resolveProduction(reg.forge, ctx.model, { registry: reg });
    if (!prod) return { note: `no release of ${ctx.model} found (${ctx.forge.describe()}), so nothing is in production yet` };
    const got = await fetchRelease(prod.tag, 'production');
    log(`baseline: production = ${prod.description}`);
    return {
      dir: got.dir,
      model: got.model,
      identity: { kind: 'release', ref: 'production', tag: prod.tag, commit: got.commit, production: prod.source },
    };
  }
  if (s.startsWith('artifact:')) {
    const name = s.slice('artifact:'.length);
    try {
      return { dir: await ctx.forge.downloadArtifact(name, dest), identity: { kind: 'artifact', ref: name } };
    } catch (e) {
      throw new BaselineError(`baseline artifact ${name} could not be fetched: ${messageOf(e)}`, { cause: e });
    }
  }
  const local = path.resolve(ctx.baseDir ?? process.cwd(), s);
  if (existsSync(local) && statSync(local).isDirectory()) {
    if (!existsSync(path.join(local, MODEL_FILES.onnx)))
      throw new BaselineError(`baseline ${s}: no ${MODEL_FILES.onnx} in ${local}; expected a model directory`);
    return { dir: local, identity: { kind: 'path', ref: s, dir: local } };
  }
  const expected = `expected production, none, a model directory, artifact:<name>, or a release tag or version of ${ctx.model}`;
  if (looksLikePath(s)) throw new UsageError(`baseline ${s}: no such directory (${local}); ${expected}`);
  const release =
    (await ctx.forge.getRelease(s)) ??
    (isSemver(s.replace(/^v/, '')) ? await ctx.forge.getRelease(registry().tag(s)) : undefined);
  if (!release) throw new UsageError(`baseline ${s}: no such directory or release (${ctx.forge.describe()}); ${expected}`);
  const got = await fetchRelease(release.tag, 'baseline release');
  return { dir: got.dir, model: got.model, identity: { kind: 'tag', ref: s, tag: release.tag, commit: got.commit } };
}
