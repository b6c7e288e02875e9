/**
 * Shadow traffic: a model version that gets a copy of a share of production requests. Its
 * answers are compared with production's (agreement per row: the same argmax for a classifier's
 * [N, classes] output, else every value within a small tolerance) and its latency with
 * production's; the comparison is exposed in /metrics, /monitor and the statistics endpoint, and
 * the shadow's answers go nowhere else.
 */
import type { ServeMetrics } from './metrics.js';
import type { OutputTensor } from './tensors.js';

/** Values closer than this (absolute, plus relative to production's) count as equal. */
const TOLERANCE = 1e-3;

export interface RowAgreement {
  rows: number;
  agreed: number;
}

function argmax(d: ArrayLike<number | bigint>, off: number, n: number): number {
  let best = 0;
  for (let k = 1; k < n; k++) if (Number(d[off + k]) > Number(d[off + best])) best = k;
  return best;
}

/**
 * Rows on which the shadow agrees with production. The first output decides: [N, C] with C > 1
 * compares argmaxes (the predicted class), any other shape compares values within the tolerance.
 */
export function compareOutputs(production: OutputTensor[], shadow: OutputTensor[]): RowAgreement {
  const p = production[0];
  const s = p && shadow.find((o) => o.name === p.name);
  if (!p || !s) return { rows: 1, agreed: 0 };
  const rows = Math.max(1, p.shape[0] ?? 1);
  if (s.data.length !== p.data.length || s.shape.join() !== p.shape.join()) return { rows, agreed: 0 };
  const per = p.data.length / rows;
  let agreed = 0;
  for (let r = 0; r < rows; r++) {
    const off = r * per;
    if (p.shape.length === 2 && per > 1) {
      if (argmax(p.data, off, per) === argmax(s.data, off, per)) agreed++;
      continue;
    }
    let same = true;
    for (let k = 0; k < per && same; k++) {
      const a = Number(p.data[off + k]);
      same = Math.abs(a - Number(s.data[off + k])) <= TOLERANCE + TOLERANCE * Math.abs(a);
    }
    if (same) agreed++;
  }
  return { rows, agreed };
}

export interface ShadowReport {
  version: string;
  fraction: number;
  /** Production requests copied to the shadow. */
  requests: number;
  /** Copies the shadow failed to answer (errors, full queue, timeouts). */
  errors: number;
  rows: number;
  agreed_rows: number;
  /** agreed_rows ÷ rows over the copies answered (null before any). */
  agreement_rate: number | null;
  /** Mean inference time (queue and run) of the same requests, in ms. */
  latency_ms: { production: number | null; shadow: number | null };
  last_error: string | null;
}

/** The comparison of one shadow version against production. */
export class ShadowComparison {
  private requests = 0;
  private errors = 0;
  private rows = 0;
  private agreed = 0;
  private answeredCount = 0;
  private productionMs = 0;
  private shadowMs = 0;
  private lastError: string | null = null;
  private readonly labels: { model: string; version: string };

  constructor(
    model: string,
    readonly version: number,
    readonly fraction: number,
    private readonly metrics: ServeMetrics,
  ) {
    this.labels = { model, version: String(version) };
  }

  started(): void {
    this.requests++;
  }

  answered(r: RowAgreement, productionMs: number, shadowMs: number): void {
    this.answeredCount++;
    this.rows += r.rows;
    this.agreed += r.agreed;
    this.productionMs += productionMs;
    this.shadowMs += shadowMs;
    const m = this.metrics;
    m.shadowRequests.inc({
      model: this.labels.model,
      outcome: r.agreed === r.rows ? 'agree' : 'disagree',
      version: this.labels.version,
    });
    if (r.agreed) m.shadowRows.inc({ agreement: 'agree', ...this.labels }, r.agreed);
    if (r.rows > r.agreed) m.shadowRows.inc({ agreement: 'disagree', ...this.labels }, r.rows - r.agreed);
    m.shadowAgreement.set(this.labels, this.agreed / this.rows);
    m.shadowLatency.observe({ model: this.labels.model, role: 'production', version: this.labels.version }, productionMs / 1000);
    m.shadowLatency.observe({ model: this.labels.model, role: 'shadow', version: this.labels.version }, shadowMs / 1000);
  }

  failed(message: string): void {
    this.errors++;
    this.lastError = message;
    this.metrics.shadowRequests.inc({ model: this.labels.model, outcome: 'error', version: this.labels.version });
  }

  report(): ShadowReport {
    const mean = (v: number) => (this.answeredCount ? +(v / this.answeredCount).toFixed(3) : null);
    return {
      version: String(this.version),
      fraction: this.fraction,
      requests: this.requests,
      errors: this.errors,
      rows: this.rows,
      agreed_rows: this.agreed,
      agreement_rate: this.rows ? +(this.agreed / this.rows).toFixed(6) : null,
      latency_ms: { production: mean(this.productionMs), shadow: mean(this.shadowMs) },
      last_error: this.lastError,
    };
  }
}
