/** Reading the model server's Prometheus text: request counts by status code and latency histograms per version. */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parse the Prometheus text exposition format (comments skipped). */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = m[3] === '+Inf' ? Infinity : Number(m[3]);
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

export interface VersionTraffic {
  requests: number;
  errors: number;
  /** Cumulative latency histogram: upper bound (s) → count. */
  buckets: Array<[number, number]>;
  latencySum: number;
}

const REQUESTS = 'cdl_inference_requests_total';
const LATENCY = 'cdl_inference_request_duration_seconds';

/** Requests, errors (every status but 200) and latency of one model version. */
export function versionTraffic(samples: Sample[], model: string, version: string): VersionTraffic {
  const mine = (s: Sample) => s.labels.model === model && s.labels.version === version;
  let requests = 0;
  let errors = 0;
  const buckets = new Map<number, number>();
  let latencySum = 0;
  for (const s of samples) {
    if (!mine(s)) continue;
    if (s.name === REQUESTS) {
      requests += s.value;
      if (s.labels.code !== '200') errors += s.value;
    } else if (s.name === `${LATENCY}_bucket`) {
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + s.value);
    } else if (s.name === `${LATENCY}_sum`) latencySum += s.value;
  }
  return { requests, errors, buckets: [...buckets].sort((a, b) => a[0] - b[0]), latencySum };
}

/** What happened between two scrapes. */
export function trafficDelta(after: VersionTraffic, before: VersionTraffic): VersionTraffic {
  const prev = new Map(before.buckets);
  return {
    requests: after.requests - before.requests,
    errors: after.errors - before.errors,
    buckets: after.buckets.map(([le, c]) => [le, c - (prev.get(le) ?? 0)] as [number, number]),
    latencySum: after.latencySum - before.latencySum,
  };
}

/** A quantile of a cumulative histogram, interpolated within its bucket (as PromQL's histogram_quantile). */
export function histogramQuantile(q: number, buckets: Array<[number, number]>): number | null {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (!total) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(count - prevCount, 1e-12);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}
