/**
 * The names and schema versions of everything a model directory (and a release of one) holds.
 * Defined here once; every stage imports them.
 */

/** Files of a model directory, by role. */
export const MODEL_FILES = {
  /** The model, for evaluation, compression and serving. */
  onnx: 'model.onnx',
  /** model.json + weights.bin, when trained by the built-in trainer. */
  tfjs: 'tfjs',
  metrics: 'metrics.json',
  lineage: 'lineage.json',
  card: 'model-card.md',
  /** `<sha256>  <file>` for every other file of the directory. */
  checksums: 'SHA256SUMS',
  /** The gate's decision for exactly this model.onnx (or, compressed, its parent's). */
  blessing: 'blessing.json',
  /** The gate's evaluation of this model.onnx on the test split (and its baseline's). */
  evaluation: 'evaluation.json',
  /** What compress tried and chose. */
  compression: 'compression.json',
  compressionReport: 'compression.md',
  /** Reference statistics of the test split, which monitoring compares production traffic with. */
  reference: 'reference.json',
  /** Release metadata: how a version was promoted (beside the assets, not in SHA256SUMS). */
  promotion: 'promotion.json',
  /** The in-toto provenance statement of a release's assets. */
  provenance: 'provenance.intoto.json',
  /** Which release a version directory of a served model repository holds. */
  release: 'cdl-release.json',
} as const;

export const SCHEMA_VERSIONS = {
  metrics: 1,
  lineage: 1,
  blessing: 1,
  evaluation: 1,
  compression: 1,
  reference: 1,
  /** A run record on the runs branch (src/model-dir/run-record.ts reads 1 and 2). */
  runRecord: 2,
} as const;

/** Where run records live: a branch of the repository, one JSON file per run under `runs/`. */
export const RUNS_BRANCH = 'cdl-runs';
export const RUNS_DIR = 'runs';

/**
 * The top-level files of a model directory that a release carries as assets (with tfjs/ as
 * tfjs-*, compressed variants as model-<name>.onnx, and SHA256SUMS over them all).
 */
export const RELEASED_FILES: readonly string[] = [
  MODEL_FILES.onnx,
  MODEL_FILES.metrics,
  MODEL_FILES.lineage,
  MODEL_FILES.card,
  MODEL_FILES.blessing,
  MODEL_FILES.evaluation,
  MODEL_FILES.compression,
  MODEL_FILES.compressionReport,
  MODEL_FILES.reference,
];

/** Files the registry writes beside a release's model assets, not listed in its SHA256SUMS. */
export const DESCRIPTIVE_FILES: readonly string[] = [MODEL_FILES.provenance, MODEL_FILES.promotion];
