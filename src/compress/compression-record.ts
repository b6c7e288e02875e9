/** What `cdl compress` writes to compression.json: each method's result and the choice among them. */
import type { CompressMethod, CompressSection } from '../config/schema/compress.js';
import type { SCHEMA_VERSIONS } from '../model-dir/files.js';
import type { CompressObjective, ObjectiveResult } from './measure.js';

export interface MethodResult {
  method: CompressMethod;
  settings: Record<string, unknown>;
  /** Whether it produced a model (false: the method failed; see error). */
  ok: boolean;
  error?: string;
  /** Kept as a possible output: within the accuracy guard and better than the parent on the objective. */
  accepted: boolean;
  reason: string;
  /** The accuracy guard alone. */
  guard_passed?: boolean;
  objective?: ObjectiveResult;
  metrics?: Record<string, number>;
  /** Ratios against the parent: size, gzipped size, throughput; drop of accuracy in points. */
  size_ratio?: number;
  gzip_size_ratio?: number;
  throughput_ratio?: number;
  accuracy_drop_points?: number;
  rmse_increase_percent?: number;
  seconds: number;
  details?: Record<string, unknown>;
  sha256?: string;
}

export interface CompressionRecord {
  schema_version: typeof SCHEMA_VERSIONS.compression;
  created_at: string;
  parent: { dir: string; sha256: string; metrics: Record<string, number>; gzip_size_bytes: number };
  max_accuracy_drop: number;
  objective: CompressObjective;
  min_gain: number;
  /** How the output is picked among the variants kept: compress.select, or the largest gain on the objective. */
  select: NonNullable<CompressSection['select']> | 'objective';
  results: MethodResult[];
  /** The method whose model was written, or null when the parent was kept. */
  chosen: CompressMethod | null;
  decision: string;
}
