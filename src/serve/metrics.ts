/**
 * Counters, gauges and histograms of the model server in the Prometheus text exposition format
 * (0.0.4), written by hand (exact label order, cheap updates on the request path); the Node
 * process's standard metrics come from prom-client beside them.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (!keys.length) return '';
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',')}}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function fmt(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  return String(v);
}

interface Metric {
  name: string;
  help: string;
  render(): string[];
}

export class Counter implements Metric {
  private values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string[] {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} counter`,
      ...[...this.values].map(([k, v]) => `${this.name}${k} ${fmt(v)}`),
    ];
  }
}

export class Gauge implements Metric {
  private values = new Map<string, number>();
  private collectors: Array<() => Array<[Labels, number]>> = [];
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  set(labels: Labels, v: number): void {
    this.values.set(labelKey(labels), v);
  }
  remove(labels: Labels): void {
    this.values.delete(labelKey(labels));
  }
  /** A function asked for current values at every scrape. */
  collect(fn: () => Array<[Labels, number]>): void {
    this.collectors.push(fn);
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k} ${fmt(v)}`);
    for (const c of this.collectors) for (const [l, v] of c()) lines.push(`${this.name}${labelKey(l)} ${fmt(v)}`);
    return lines;
  }
}

export class Histogram implements Metric {
  private series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[],
  ) {}
  observe(labels: Labels, v: number): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { labels, counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) s.counts[i]!++;
    s.sum += v;
    s.count++;
  }
  /** Sum and count of one series (for tests and the bench). */
  get(labels: Labels): { sum: number; count: number } {
    const s = this.series.get(labelKey(labels));
    return { sum: s?.sum ?? 0, count: s?.count ?? 0 };
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket${labelKey({ ...s.labels, le: fmt(b) })} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket${labelKey({ ...s.labels, le: '+Inf' })} ${s.count}`);
      lines.push(`${this.name}_sum${labelKey(s.labels)} ${fmt(s.sum)}`);
      lines.push(`${this.name}_count${labelKey(s.labels)} ${s.count}`);
    }
    return lines;
  }
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
const LAG_TICK_MS = 20;

/** Every metric the model server exposes on /metrics. */
export class ServeMetrics {
  /**
   * The Node process's standard metrics from prom-client (process_cpu_seconds_total,
   * process_resident_memory_bytes, nodejs_eventloop_lag_*, nodejs_gc_duration_seconds,
   * nodejs_heap_*), in their usual names so that stock dashboards read them.
   */
  readonly process = new Registry();

  readonly requests = new Counter('cdl_inference_requests_total', 'Inference requests by model, version and HTTP status code.');
  readonly latency = new Histogram(
    'cdl_inference_request_duration_seconds',
    'Time from receiving an inference request to sending its response, by model and version.',
    LATENCY_BUCKETS,
  );
  readonly queueTime = new Histogram(
    'cdl_inference_queue_duration_seconds',
    'Time a request waited in the batch queue.',
    LATENCY_BUCKETS,
  );
  readonly runTime = new Histogram(
    'cdl_inference_compute_duration_seconds',
    'Time onnxruntime took for one batch.',
    LATENCY_BUCKETS,
  );
  readonly batchSize = new Histogram('cdl_inference_batch_size', 'Rows per batch run by onnxruntime.', BATCH_BUCKETS);
  readonly queueDepth = new Gauge('cdl_inference_queue_depth', 'Requests waiting in the batch queue, by model and version.');
  readonly rejected = new Counter(
    'cdl_inference_rejected_total',
    'Requests refused without running: queue_full, timeout, shutting_down.',
  );
  readonly predicted = new Counter(
    'cdl_predicted_class_total',
    'Predicted classes (argmax of the output), by model and version: the distribution for drift monitoring.',
  );
  readonly loaded = new Gauge('cdl_model_version_loaded', 'Versions being served (1), by model and version.');
  readonly canaryWeight = new Gauge(
    'cdl_model_canary_weight_percent',
    'Percent of unversioned requests sent to the canary version.',
  );
  readonly loadFailures = new Counter(
    'cdl_model_load_failures_total',
    'Model versions that failed to load, by model and version.',
  );
  readonly workerCrashes = new Counter(
    'cdl_inference_worker_crashes_total',
    'Inference workers that died while serving, by model and version (the version is then unavailable).',
  );
  readonly memory = new Gauge('cdl_process_memory_bytes', 'Memory of the server process by kind (rss, heap_used, external).');
  readonly shadowRequests = new Counter(
    'cdl_shadow_requests_total',
    'Production requests copied to a shadow version, by outcome: agree (every row), disagree, error.',
  );
  readonly shadowRows = new Counter(
    'cdl_shadow_rows_total',
    "Rows a shadow version answered, by agreement with production's answer.",
  );
  readonly shadowAgreement = new Gauge(
    'cdl_shadow_agreement_ratio',
    "Share of rows on which a shadow version agrees with production's answer, so far.",
  );
  readonly shadowLatency = new Histogram(
    'cdl_shadow_request_duration_seconds',
    'Inference time (queue and run) of the requests copied to a shadow version, by role: production or shadow.',
    LATENCY_BUCKETS,
  );
  readonly loopLag = new Histogram(
    'cdl_process_event_loop_lag_seconds',
    'How late the main thread ran a 20 ms timer: time it was busy (or not scheduled) and could answer nothing, health checks included.',
    LATENCY_BUCKETS,
  );
  private readonly lagTimer: NodeJS.Timeout;

  constructor() {
    collectDefaultMetrics({ register: this.process });
    let last = performance.now();
    this.lagTimer = setInterval(() => {
      const now = performance.now();
      this.loopLag.observe({}, Math.max(0, now - last - LAG_TICK_MS) / 1000);
      last = now;
    }, LAG_TICK_MS);
    this.lagTimer.unref();
    this.memory.collect(() => {
      const m = process.memoryUsage();
      return [
        [{ kind: 'rss' }, m.rss],
        [{ kind: 'heap_used' }, m.heapUsed],
        [{ kind: 'external' }, m.external],
        [{ kind: 'array_buffers' }, m.arrayBuffers],
      ];
    });
  }

  /** Stop sampling (at shutdown). */
  close(): void {
    clearInterval(this.lagTimer);
  }

  render(): string {
    const all: Metric[] = [
      this.requests,
      this.latency,
      this.queueTime,
      this.runTime,
      this.batchSize,
      this.queueDepth,
      this.rejected,
      this.predicted,
      this.loaded,
      this.canaryWeight,
      this.loadFailures,
      this.workerCrashes,
      this.memory,
      this.shadowRequests,
      this.shadowRows,
      this.shadowAgreement,
      this.shadowLatency,
      this.loopLag,
    ];
    return all.map((m) => m.render().join('\n')).join('\n') + '\n';
  }

  /** The server's metrics, then the process's standard ones. */
  async exposition(): Promise<string> {
    return this.render() + (await this.process.metrics());
  }
}
