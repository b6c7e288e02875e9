/**
 * Finding the baseline: production is the latest release of the model on the forge; a model
 * directory, an artifact (`artifact:<name>`) or a release tag can be named instead. A baseline that
 * cannot be found is a message and absolute-only gating, never a crash.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Forge } from '../forge/types.js';
import { MODEL_FILES } from '../model-dir/index.js';
import { messageOf } from '../util/errors.js';
import type { BaselineIdentity } from './gate.js';

export interface ResolvedBaseline {
  dir?: string;
  identity?: BaselineIdentity;
  /** Why there is no baseline (when `dir` is undefined). */
  note?: string;
}

function looksLikePath(spec: string): boolean {
  return spec.startsWith('.') || spec.startsWith('/') || spec.includes(path.sep) || /^[A-Za-z]:[\\/]/.test(spec);
}

export async function resolveBaseline(
  spec: string,
  ctx: { forge: Forge; model: string; workDir: string; baseDir?: string; log?: (line: string) => void },
): Promise<ResolvedBaseline> {
  const log = ctx.log ?? (() => {});
  const s = spec.trim();
  const dest = path.join(ctx.workDir, 'baseline');
  try {
    if (s === '' || s === 'none') return { note: 'no baseline requested (baseline: none)' };
    if (s === 'production') {
      const releases = await ctx.forge.listReleases(ctx.model);
      const latest = releases[0];
      if (!latest) {
        return { note: `no release of ${ctx.model} found (${ctx.forge.describe()}), so nothing is in production yet` };
      }
      const dir = await ctx.forge.downloadRelease(latest, dest);
      log(`baseline: production = release ${latest.tag}`);
      return { dir, identity: { kind: 'release', ref: 'production', tag: latest.tag, commit: latest.commit ?? null } };
    }
    if (s.startsWith('artifact:')) {
      const name = s.slice('artifact:'.length);
      const dir = await ctx.forge.downloadArtifact(name, dest);
      return { dir, identity: { kind: 'artifact', ref: name } };
    }
    const local = path.resolve(ctx.baseDir ?? process.cwd(), s);
    if (existsSync(local) && statSync(local).isDirectory()) {
      if (!existsSync(path.join(local, MODEL_FILES.onnx))) {
        return { note: `baseline ${s}: no ${MODEL_FILES.onnx} in ${local}; expected a model directory` };
      }
      return { dir: local, identity: { kind: 'path', ref: s, dir: local } };
    }
    if (looksLikePath(s)) return { note: `baseline ${s}: no such directory (${local})` };
    const release = await ctx.forge.getRelease(s);
    if (!release) return { note: `baseline ${s}: no such release tag (${ctx.forge.describe()})` };
    const dir = await ctx.forge.downloadRelease(release, dest);
    return { dir, identity: { kind: 'tag', ref: s, tag: release.tag, commit: release.commit ?? null } };
  } catch (e) {
    return { note: `baseline ${s} could not be fetched: ${messageOf(e)}` };
  }
}
