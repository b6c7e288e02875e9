/**
 * Production statistics of one served model version, for monitoring: predicted-class counts (or
 * binned predicted values) and input summaries binned with the edges of the model's reference.json
 * (src/data/stats.ts). Nothing of the requests is kept but these counts.
 *
 * Served as JSON on GET /v2/models/{name}[/versions/{v}]/monitor and read by `cdl monitor`
 * from there or from a file with the same content (ProductionStats).
 */
import { binIndex, exampleFeatures, featureNames, predictedClasses, type ReferenceStats } from '../data/stats.js';

export const PRODUCTION_STATS_SCHEMA_VERSION = 1;

export interface ProductionStats {
  schema_version: number;
  model: string;
  version: string;
  /** When counting started (server start or the version's load), ISO 8601. */
  since: string;
  /** Examples seen (rows of all requests). */
  examples: number;
  /** Predicted classes (classification) or binned predicted values (regression), per reference bin. */
  predictions: { kind: 'classes'; classes: string[]; counts: number[] } | { kind: 'values'; counts: number[] };
  /** Input summaries, in the order of the reference's features; counts per reference bin. */
  inputs: { features: string[]; counts: number[][] } | null;
}

/** Counts production examples in the bins of a model's reference statistics. */
export class InputStatsRecorder {
  readonly since = new Date().toISOString();
  examples = 0;
  private readonly rowSize: number;
  private readonly predictionCounts: number[];
  private readonly featureCounts: number[][];
  private readonly scratch: Float64Array;

  constructor(
    readonly reference: ReferenceStats,
    readonly model: string,
    readonly version: string,
  ) {
    const layout = reference.inputs.layout;
    this.rowSize = layout.kind === 'features' ? layout.size : layout.height * layout.width * layout.channels;
    const p = reference.predictions;
    this.predictionCounts = new Array<number>(p.kind === 'classes' ? p.classes.length : p.summary.edges.length + 1).fill(0);
    this.featureCounts = reference.inputs.features.map((f) => new Array<number>(f.edges.length + 1).fill(0));
    this.scratch = new Float64Array(featureNames(layout).length);
  }

  /** Record a batch: `x` holds n examples (row-major, as the model takes them), `outputs` the model's n output rows. */
  record(
    x: ArrayLike<number> & { subarray?: (a: number, b: number) => ArrayLike<number> },
    n: number,
    outputs: ArrayLike<number>,
  ): void {
    if (!this.recordInputs(x, n)) return;
    this.recordOutputs(outputs, n);
  }

  /**
   * Count the input summaries of n examples; false when `x` is not the input the reference describes.
   */
  recordInputs(x: ArrayLike<number> & { subarray?: (a: number, b: number) => ArrayLike<number> }, n: number): boolean {
    const counts = this.countInputs(x, n);
    if (!counts) return false;
    this.addInputCounts(counts, n);
    return true;
  }

  /**
   * The input summaries of n examples binned with the reference's edges (counts per feature and
   * bin), without recording them; null when `x` is not the input the reference describes. The
   * server's inference workers call this on each batch, off the thread that answers requests.
   */
  countInputs(x: ArrayLike<number> & { subarray?: (a: number, b: number) => ArrayLike<number> }, n: number): number[][] | null {
    if (n <= 0 || x.length !== n * this.rowSize) return null;
    const layout = this.reference.inputs.layout;
    const features = this.reference.inputs.features;
    const counts = features.map((f) => new Array<number>(f.edges.length + 1).fill(0));
    for (let i = 0; i < n; i++) {
      const row = x.subarray
        ? x.subarray(i * this.rowSize, (i + 1) * this.rowSize)
        : Array.prototype.slice.call(x, i * this.rowSize, (i + 1) * this.rowSize);
      const f = exampleFeatures(layout, row, this.scratch);
      for (let k = 0; k < features.length; k++) counts[k]![binIndex(features[k]!.edges, f[k]!)]!++;
    }
    return counts;
  }

  /** Add counts from countInputs (of n examples). */
  addInputCounts(counts: number[][], n: number): void {
    counts.forEach((c, k) => {
      const into = this.featureCounts[k];
      if (into) c.forEach((v, b) => (into[b] = (into[b] ?? 0) + v));
    });
    this.examples += n;
  }

  /** Count the predictions of n examples from the model's output rows. */
  recordOutputs(outputs: ArrayLike<number>, n: number): void {
    const p = this.reference.predictions;
    if (p.kind === 'classes') {
      if (outputs.length % n === 0 && outputs.length / n === p.classes.length)
        for (const c of predictedClasses(outputs, n)) this.predictionCounts[c]!++;
    } else if (outputs.length === n) {
      for (let i = 0; i < n; i++) this.predictionCounts[binIndex(p.summary.edges, outputs[i]!)]!++;
    }
  }

  snapshot(): ProductionStats {
    const p = this.reference.predictions;
    return {
      schema_version: PRODUCTION_STATS_SCHEMA_VERSION,
      model: this.model,
      version: this.version,
      since: this.since,
      examples: this.examples,
      predictions:
        p.kind === 'classes'
          ? { kind: 'classes', classes: p.classes, counts: [...this.predictionCounts] }
          : { kind: 'values', counts: [...this.predictionCounts] },
      inputs: { features: this.reference.inputs.features.map((f) => f.name), counts: this.featureCounts.map((c) => [...c]) },
    };
  }
}

/** The reference statistics of a model directory (the model directory's one reader). */
export { readReference } from '../model-dir/index.js';
