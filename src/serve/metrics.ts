/**
 * Every metric the model server exposes on /metrics, through prom-client: the server's counters,
 * gauges and histograms, then the Node process's standard metrics (process_cpu_seconds_total,
 * process_resident_memory_bytes, nodejs_eventloop_lag_*, nodejs_gc_duration_seconds,
 * nodejs_heap_*), in their usual names so that stock dashboards read them.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

type Labels = Record<string, string>;

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
const LAG_TICK_MS = 20;
const VERSION = ['model', 'version'] as const;

export class ServeMetrics {
  /** The server's metrics, then the process's standard ones, in the order they are registered. */
  readonly registry = new Registry();
  private readonly depthCollectors: Array<() => Array<[Labels, number]>> = [];

  readonly requests = this.counter('cdl_inference_requests_total', 'Inference requests by model, version and HTTP status code.', [
    'code',
    ...VERSION,
  ]);
  readonly latency = this.histogram(
    'cdl_inference_request_duration_seconds',
    'Time from receiving an inference request to sending its response, by model and version.',
    VERSION,
  );
  readonly queueTime = this.histogram(
    'cdl_inference_queue_duration_seconds',
    'Time a request waited in the batch queue.',
    VERSION,
  );
  readonly runTime = this.histogram('cdl_inference_compute_duration_seconds', 'Time onnxruntime took for one batch.', VERSION);
  readonly batchSize = this.histogram('cdl_inference_batch_size', 'Rows per batch run by onnxruntime.', VERSION, BATCH_BUCKETS);
  readonly queueDepth = this.gauge(
    'cdl_inference_queue_depth',
    'Requests waiting in the batch queue, by model and version.',
    VERSION,
    (g) => {
      g.reset();
      for (const c of this.depthCollectors) for (const [l, v] of c()) g.set(l, v);
    },
  );
  readonly rejected = this.counter(
    'cdl_inference_rejected_total',
    'Requests refused without running: queue_full, timeout, shutting_down.',
    ['model', 'reason', 'version'],
  );
  readonly predicted = this.counter(
    'cdl_predicted_class_total',
    'Predicted classes (argmax of the output), by model and version: the distribution for drift monitoring.',
    ['class', ...VERSION],
  );
  readonly loaded = this.gauge('cdl_model_version_loaded', 'Versions being served (1), by model and version.', VERSION);
  readonly canaryWeight = this.gauge(
    'cdl_model_canary_weight_percent',
    'Percent of unversioned requests sent to the canary version.',
    VERSION,
  );
  readonly loadFailures = this.counter(
    'cdl_model_load_failures_total',
    'Model versions that failed to load, by model and version.',
    VERSION,
  );
  readonly workerCrashes = this.counter(
    'cdl_inference_worker_crashes_total',
    'Inference workers that died while serving, by model and version (the version is then unavailable).',
    VERSION,
  );
  readonly memory = this.gauge(
    'cdl_process_memory_bytes',
    'Memory of the server process by kind (rss, heap_used, external).',
    ['kind'],
    (g) => {
      const m = process.memoryUsage();
      g.set({ kind: 'rss' }, m.rss);
      g.set({ kind: 'heap_used' }, m.heapUsed);
      g.set({ kind: 'external' }, m.external);
      g.set({ kind: 'array_buffers' }, m.arrayBuffers);
    },
  );
  readonly shadowRequests = this.counter(
    'cdl_shadow_requests_total',
    'Production requests copied to a shadow version, by outcome: agree (every row), disagree, error.',
    ['model', 'outcome', 'version'],
  );
  readonly shadowRows = this.counter(
    'cdl_shadow_rows_total',
    "Rows a shadow version answered, by agreement with production's answer.",
    ['agreement', ...VERSION],
  );
  readonly shadowAgreement = this.gauge(
    'cdl_shadow_agreement_ratio',
    "Share of rows on which a shadow version agrees with production's answer, so far.",
    VERSION,
  );
  readonly shadowLatency = this.histogram(
    'cdl_shadow_request_duration_seconds',
    'Inference time (queue and run) of the requests copied to a shadow version, by role: production or shadow.',
    ['model', 'role', 'version'],
  );
  readonly loopLag = this.histogram(
    'cdl_process_event_loop_lag_seconds',
    'How late the main thread ran a 20 ms timer: time it was busy (or not scheduled) and could answer nothing, health checks included.',
    [],
  );
  private readonly lagTimer: NodeJS.Timeout;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    let last = performance.now();
    this.lagTimer = setInterval(() => {
      const now = performance.now();
      this.loopLag.observe(Math.max(0, now - last - LAG_TICK_MS) / 1000);
      last = now;
    }, LAG_TICK_MS);
    this.lagTimer.unref();
  }

  /** A function asked for the queue depths at every scrape. */
  collectQueueDepth(fn: () => Array<[Labels, number]>): void {
    this.depthCollectors.push(fn);
  }

  /** Stop sampling (at shutdown). */
  close(): void {
    clearInterval(this.lagTimer);
  }

  /** The text exposition format (0.0.4). */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  /** Sum and count of one histogram series (for tests and the bench). */
  async histogramTotals(h: Histogram, labels: Labels): Promise<{ sum: number; count: number }> {
    const { values } = await h.get();
    const of = (suffix: string) =>
      values.find((v) => v.metricName?.endsWith(`_${suffix}`) && Object.entries(labels).every(([k, x]) => v.labels[k] === x))
        ?.value ?? 0;
    return { sum: of('sum'), count: of('count') };
  }

  private counter(name: string, help: string, labelNames: readonly string[]): Counter {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge(name: string, help: string, labelNames: readonly string[], collect?: (g: Gauge) => void): Gauge {
    return new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      ...(collect
        ? {
            collect() {
              collect(this);
            },
          }
        : {}),
    });
  }

  private histogram(name: string, help: string, labelNames: readonly string[], buckets = LATENCY_BUCKETS): Histogram {
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }
}
