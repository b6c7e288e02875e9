/**
 * Per-example results of an evaluation, kept in memory for the significance tests and the
 * prediction changes (never written to JSON). Types only, so the modules that make and read them
 * do not import each other through them. The written records live in src/model-dir/records.ts.
 */

/** Per-example results kept for the significance tests (not written to JSON). */
export interface PerExample {
  labels: Int32Array | Float32Array;
  /** Predicted class (classification) or value (regression). */
  pred: Int32Array | Float32Array;
  /** 1 when the predicted class is the label. */
  correct?: Uint8Array;
  /** Negative log-likelihood of the label. */
  logLoss?: Float64Array;
  /** Number of classes scored above the label (0: top-1). */
  rank?: Int32Array;
  classes: number;
}
