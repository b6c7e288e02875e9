/** Job summary and outputs for a trained model. */
import { telemetryCardLines } from '../model-dir/card.js';
import type { GpuTelemetry } from '../train/gpu-telemetry.js';
import * as core from '@actions/core';
import type { Metrics } from '../model-dir/index.js';

function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  return Number.isInteger(v) ? String(v) : v.toFixed(4);
}

/** The metrics table as markdown (also used by the CLI and reports). */
export function metricsTable(m: Metrics): string {
  const splits = (['train', 'validation', 'test'] as const).filter((s) => m.splits[s] && Object.keys(m.splits[s]!).length);
  const keys = [...new Set(splits.flatMap((s) => Object.keys(m.splits[s]!)))];
  const head = `| split | ${keys.join(' | ')} |\n|---|${keys.map(() => '---:').join('|')}|`;
  const rows = splits.map((s) => `| ${s} | ${keys.map((k) => fmt(m.splits[s]![k])).join(' | ')} |`);
  return [head, ...rows].join('\n');
}

export async function writeTrainSummary(
  m: Metrics,
  extra: { artifact?: string; backend?: string; seconds?: number; gpuTelemetry?: unknown },
): Promise<void> {
  const s = core.summary.addHeading(`cdl train: ${m.model}`, 2);
  s.addRaw(`**${m.main_metric}** on the test split: **${fmt(m.main_metric_value ?? undefined)}**\n\n`, true);
  s.addRaw(metricsTable(m) + '\n\n', true);
  const facts = [
    extra.artifact && `artifact \`${extra.artifact}\``,
    extra.backend && `backend ${extra.backend}`,
    extra.seconds !== undefined && `${extra.seconds.toFixed(0)} s`,
  ].filter(Boolean);
  if (facts.length) s.addRaw(facts.join(' · ') + '\n', true);
  const gpu = telemetryCardLines(extra.gpuTelemetry as GpuTelemetry | null | undefined);
  if (gpu.length) s.addRaw('\n' + gpu.join('\n') + '\n', true);
  await s.write();
}
