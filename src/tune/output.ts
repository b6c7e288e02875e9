/**
 * What a finished study leaves behind: best.json (hyperparameters, overrides, value), best.yaml
 * (a configuration overlay), trials.csv, report.md and report.html, and optionally the final model
 * trained with the best configuration.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { applyOverride, pathSegments, type LoadedConfig } from '../config/index.js';
import { loadConfig } from '../config/index.js';
import { train } from '../train/training.js';
import { htmlReport, markdownReport } from './report.js';
import { assignmentOverrides, type Assignment, type SearchSpace } from './space.js';
import { bestTrial, totalEpochs, type Study } from './study.js';

export interface BestResult {
  trial: number;
  metric: string;
  direction: 'maximize' | 'minimize';
  value: number;
  epochs: number;
  test?: Record<string, number>;
  params: Assignment;
  /** The same as `--set` overrides, one per hyperparameter. */
  overrides: string[];
}

export interface TuneOutputs {
  best?: BestResult;
  files: { best?: string; overlay?: string; csv: string; markdown: string; html: string; model?: string };
  epochsUsed: number;
}

function getPath(obj: unknown, segs: Array<string | number>): unknown {
  let cur = obj as Record<string | number, unknown> | undefined;
  for (const s of segs) cur = cur?.[s] as Record<string | number, unknown> | undefined;
  return cur;
}

function setPath(obj: Record<string, unknown>, segs: Array<string | number>, value: unknown): void {
  let cur: Record<string | number, unknown> = obj;
  for (const s of segs.slice(0, -1)) {
    cur[s] ??= {};
    cur = cur[s] as Record<string | number, unknown>;
  }
  cur[segs[segs.length - 1]!] = value;
}

/**
 * A configuration overlay with the best values: mappings for plain paths; a path through a list
 * (model.layers[1].units) carries the whole tuned list, since lists replace rather than merge.
 */
export function configOverlay(base: unknown, space: SearchSpace, params: Assignment): Record<string, unknown> {
  let tuned = base;
  for (const o of assignmentOverrides(space, params)) tuned = applyOverride(tuned, o);
  const overlay: Record<string, unknown> = {};
  for (const p of space) {
    const segs = pathSegments(p.path);
    const cut = segs.findIndex((s) => typeof s === 'number');
    const prefix = cut >= 0 ? segs.slice(0, cut) : segs;
    setPath(overlay, prefix, structuredClone(getPath(tuned, prefix)));
  }
  return overlay;
}

function csvCell(v: unknown): string {
  const s = v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function trialsCsv(study: Study, space: SearchSpace): string {
  const keys = space.map((p) => p.key);
  const head = ['trial', 'status', 'epochs', study.metric, 'test_accuracy', ...keys];
  const rows = study.trials.map((t) => {
    const last = t.results[t.results.length - 1];
    return [t.number, t.status, t.epochs, last?.value, last?.test?.accuracy, ...keys.map((k) => t.params[k])]
      .map(csvCell)
      .join(',');
  });
  return [head.map(csvCell).join(','), ...rows].join('\n') + '\n';
}

export function bestResult(study: Study, space: SearchSpace): BestResult | undefined {
  const t = bestTrial(study);
  const last = t?.results[t.results.length - 1];
  if (!t || !last) return undefined;
  return {
    trial: t.number,
    metric: study.metric,
    direction: study.direction,
    value: last.value,
    epochs: t.epochs,
    test: last.test,
    params: t.params,
    overrides: assignmentOverrides(space, t.params),
  };
}

export async function writeOutputs(o: {
  study: Study;
  space: SearchSpace;
  loaded: LoadedConfig;
  overrides: string[];
  outDir: string;
  finalModel: boolean;
  log: (s: string) => void;
}): Promise<TuneOutputs> {
  const { study, space, outDir, log } = o;
  await mkdir(outDir, { recursive: true });
  const best = bestResult(study, space);
  const files: TuneOutputs['files'] = {
    csv: path.join(outDir, 'trials.csv'),
    markdown: path.join(outDir, 'report.md'),
    html: path.join(outDir, 'report.html'),
  };
  await writeFile(files.csv, trialsCsv(study, space));
  await writeFile(files.markdown, markdownReport(study, space));
  await writeFile(files.html, await htmlReport(study, space));
  if (best) {
    files.best = path.join(outDir, 'best.json');
    files.overlay = path.join(outDir, 'best.yaml');
    await writeFile(files.best, JSON.stringify(best, null, 2) + '\n');
    const overlay = configOverlay(o.loaded.config, space, best.params);
    await writeFile(
      files.overlay,
      `# The best configuration of study ${study.key} (trial ${best.trial}, ${best.metric} ${best.value.toFixed(4)}):\n` +
        `# merge into cdl.yaml, or pass: ${best.overrides.map((s) => `--set ${s}`).join(' ')}\n` +
        stringify(overlay),
    );
    log(
      `best: trial ${best.trial}, ${best.metric} ${best.value.toFixed(4)} (${best.overrides.join(' ')}); ${totalEpochs(study)} epochs trained in all`,
    );
  } else {
    log('no trial finished; no best configuration');
  }
  if (o.finalModel && best) {
    const overrides = [
      ...o.overrides,
      ...best.overrides,
      ...(study.scheduler.type === 'none' ? [] : [`train.epochs=${study.scheduler.maxEpochs}`]),
    ];
    const loaded = await loadConfig(o.loaded.file, overrides);
    files.model = path.join(outDir, 'model');
    log(`training the final model with the best configuration into ${files.model}`);
    await train({ loaded, overrides, outDir: files.model, log, progress: false });
  }
  return { best, files, epochsUsed: totalEpochs(study) };
}
