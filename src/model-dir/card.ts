/** model-card.md: what the model is, what it was trained on, how well it does. */
import type { GpuTelemetry } from '../train/gpu-telemetry.js';
import type { Lineage, Metrics } from './index.js';

function fmt(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(4);
  if (v === null || v === undefined) return '—';
  return String(v);
}

/** The GPU telemetry line (lineage hardware.gpu_telemetry); none for models from before it. */
export function telemetryCardLines(t: GpuTelemetry | null | undefined): string[] {
  if (t === undefined) return [];
  if (t === null) return ['- GPU telemetry: none (no GPU was visible while training)'];
  const f = (v: number | null, unit: string, digits = 1) => (v === null ? 'not reported' : `${v.toFixed(digits)} ${unit}`);
  return [
    `- GPU telemetry: ${t.gpus} × ${[...new Set(t.names)].join(', ')}, ${t.samples} samples: ` +
      `peak memory ${f(t.peak_memory_mib, 'MiB', 0)}, mean utilisation ${f(t.mean_utilization_percent, '%')}, ` +
      `${t.gpu_hours.toFixed(4)} GPU-hours, energy ${f(t.energy_wh, 'Wh', 2)}`,
  ];
}

export function renderModelCard(metrics: Metrics, lineage: Lineage, extra: { architecture?: string } = {}): string {
  const lines: string[] = [];
  lines.push(`# Model card: ${metrics.model}`, '');
  lines.push(`- Task: ${metrics.task}`);
  lines.push(`- Main metric: ${metrics.main_metric} = ${fmt(metrics.main_metric_value)} (test split)`);
  if (lineage.git) {
    lines.push(
      `- Commit: \`${lineage.git.commit}\`${lineage.git.branch ? ` on \`${lineage.git.branch}\`` : ''}${lineage.git.dirty ? ' (with uncommitted changes)' : ''}`,
    );
  }
  if (lineage.data) lines.push(`- Dataset version: \`${String(lineage.data.version)}\``);
  lines.push(`- Configuration hash: \`${lineage.config.hash.slice(0, 16)}\``);
  const t = lineage.trainer as { kind?: string; backend?: { kind?: string }; kernels?: { name?: string }; command?: string };
  lines.push(
    `- Trainer: ${t.kind ?? 'unknown'}${t.backend?.kind ? ` (backend ${t.backend.kind}${t.kernels?.name ? `, kernels ${t.kernels.name}` : ''})` : ''}${t.command ? ` — \`${t.command}\`` : ''}`,
  );
  lines.push(...telemetryCardLines(lineage.hardware.gpu_telemetry as GpuTelemetry | null | undefined));
  lines.push(`- Created: ${lineage.created_at} with cdl ${lineage.cdl_version}`, '');

  const splits = Object.entries(metrics.splits).filter(([, v]) => v && Object.keys(v).length);
  if (splits.length) {
    const keys = [...new Set(splits.flatMap(([, v]) => Object.keys(v!)))];
    lines.push('## Metrics', '');
    lines.push(`| split | ${keys.join(' | ')} |`, `|---|${keys.map(() => '---:').join('|')}|`);
    for (const [name, v] of splits) lines.push(`| ${name} | ${keys.map((k) => fmt(v![k])).join(' | ')} |`);
    lines.push('');
  }
  if (extra.architecture) lines.push('## Architecture', '', '```', extra.architecture, '```', '');
  const hp = Object.entries(lineage.hyperparameters);
  if (hp.length) {
    lines.push('## Hyperparameters', '', '| name | value |', '|---|---|');
    for (const [k, v] of hp) lines.push(`| ${k} | ${typeof v === 'object' ? `\`${JSON.stringify(v)}\`` : fmt(v)} |`);
    lines.push('');
  }
  if (metrics.classes?.length) lines.push('## Classes', '', metrics.classes.map((c, i) => `${i}. ${c}`).join('\n'), '');
  lines.push('## Intended use and limits', '');
  lines.push(
    'Evaluated only on the test split recorded above. Check the data it was trained on (lineage.json) before using it on other data; monitor its inputs and predictions in production.',
    '',
  );
  return lines.join('\n');
}
