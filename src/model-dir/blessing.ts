/**
 * The blessing rule: a model directory is blessed when its blessing.json blesses exactly its
 * model.onnx, or, for a compressed child, the parent its lineage names; a derived child carries
 * its parent's blessing.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { MODEL_FILES } from './files.js';
import { readBlessing, type OpenedModelDir } from './index.js';
import type { Blessing } from './records.js';

export interface BlessingCheck {
  ok: boolean;
  /** Why not, or how (blessed, forced, blessed parent). */
  reason: string;
  blessing?: Blessing;
}

/**
 * Whether an opened model directory carries a blessing for exactly its model.onnx, or, for a
 * compressed child, for the parent its lineage names.
 */
export async function checkBlessing(md: OpenedModelDir): Promise<BlessingCheck> {
  let blessing: Blessing | undefined;
  try {
    blessing = await readBlessing(md.dir);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  if (!blessing)
    return { ok: false, reason: `no ${MODEL_FILES.blessing} in ${md.dir}: the candidate was never evaluated by the gate` };
  if (blessing.decision !== 'blessed') return { ok: false, reason: `the gate rejected it: ${blessing.reason}`, blessing };
  if (blessing.candidate?.sha256 === md.sha256)
    return {
      ok: true,
      reason: blessing.forced ? `force-blessed: ${blessing.forced.reason}` : `blessed: ${blessing.reason}`,
      blessing,
    };
  const parent = md.lineage?.parent as { sha256?: string; method?: string } | undefined;
  if (parent?.sha256 && parent.sha256 === blessing.candidate?.sha256) {
    return {
      ok: true,
      reason: `compressed (${String(parent.method)}) from the blessed model ${parent.sha256.slice(0, 12)}`,
      blessing,
    };
  }
  return {
    ok: false,
    reason: `${MODEL_FILES.blessing} blesses model.onnx ${String(blessing.candidate?.sha256).slice(0, 12)}, but this model.onnx is ${md.sha256.slice(0, 12)}`,
    blessing,
  };
}

/**
 * The blessing a derived child carries: its parent's blessing.json when that blesses exactly the
 * parent's model.onnx (the child's lineage names the parent's hash, which `checkBlessing`
 * follows). Undefined when the parent has no blessing for itself.
 */
export async function inheritBlessing(parent: OpenedModelDir): Promise<Record<string, string> | undefined> {
  const b = await readBlessing(parent.dir);
  if (!b || b.candidate?.sha256 !== parent.sha256) return undefined;
  return { [MODEL_FILES.blessing]: await readFile(path.join(parent.dir, MODEL_FILES.blessing), 'utf8') };
}

/**
 * The files of a parent a derived model keeps as they are: reference statistics (monitoring) and
 * the blessing (promotion), through `inheritBlessing`.
 */
export async function inheritedFiles(parent: OpenedModelDir): Promise<Record<string, string>> {
  const out: Record<string, string> = { ...(await inheritBlessing(parent)) };
  const ref = path.join(parent.dir, MODEL_FILES.reference);
  if (existsSync(ref)) out[MODEL_FILES.reference] = await readFile(ref, 'utf8');
  return out;
}
