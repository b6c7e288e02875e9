/** The guard of `cdl compress`: which variants keep the parent's quality, and which of those is chosen. */
import type { Evaluation } from '../model-dir/index.js';
import type { CompressionRecord, MethodResult } from './compression-record.js';

export function guard(
  parent: Evaluation,
  cand: Evaluation,
  maxDrop: number,
  task: 'classification' | 'regression',
): Pick<MethodResult, 'accepted' | 'reason' | 'accuracy_drop_points' | 'rmse_increase_percent'> {
  if (task === 'classification') {
    const drop = (parent.metrics.accuracy! - cand.metrics.accuracy!) * 100;
    const accepted = drop <= maxDrop + 1e-9;
    return {
      accepted,
      accuracy_drop_points: drop,
      reason: accepted
        ? `accuracy drop ${drop.toFixed(2)} points within ${maxDrop}`
        : `accuracy drops ${drop.toFixed(2)} points, more than max_accuracy_drop ${maxDrop}`,
    };
  }
  const p = parent.metrics.rmse!;
  const inc = p > 0 ? ((cand.metrics.rmse! - p) / p) * 100 : 0;
  const accepted = inc <= maxDrop + 1e-9;
  return {
    accepted,
    rmse_increase_percent: inc,
    reason: accepted ? `RMSE +${inc.toFixed(2)}% within ${maxDrop}%` : `RMSE rises ${inc.toFixed(2)}%, more than ${maxDrop}%`,
  };
}

export function pick(results: MethodResult[], select: CompressionRecord['select']): MethodResult | undefined {
  const ok = results.filter((r) => r.accepted && r.metrics);
  const key = (r: MethodResult): number =>
    select === 'objective'
      ? -(r.objective?.ratio ?? 0)
      : select === 'smallest'
        ? r.metrics!.size_bytes!
        : select === 'fastest'
          ? -(r.metrics!.throughput ?? 0)
          : -(r.metrics!.accuracy ?? -(r.metrics!.rmse ?? 0));
  return ok.sort((a, b) => key(a) - key(b))[0];
}
