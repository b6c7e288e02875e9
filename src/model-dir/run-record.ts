/**
 * The run record: what one training run was and what it gave, kept for good on the runs branch
 * (see src/runs/store.ts). One record per run of any kind (local `cdl train`, a push or pull
 * request in CI, a tuning trial, a release). It holds the resolved configuration and overrides,
 * hyperparameters, per-epoch history, metrics per split, the gate's decision, lineage, hardware,
 * durations, and where the model went (artifact, release); the model itself stays there.
 *
 * Versioned by `schema_version` (files.ts). `parseRunRecord` reads every version cdl ever wrote
 * and returns the current shape; a newer or unknown version is refused, naming the file.
 */
import { z } from 'zod';
import { CdlError } from '../util/errors.js';
import { SCHEMA_VERSIONS } from './files.js';

export const RUN_RECORD_SCHEMA_VERSION = SCHEMA_VERSIONS.runRecord;

/**
 * `gate`: the gate's decision on a model, appended after its training run was recorded; readers
 * attach it to the run that trained the same model.onnx (query.ts, attachGates).
 */
export const RUN_KINDS = ['local', 'push', 'pull_request', 'tune_trial', 'release', 'gate', 'other'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

const numbers = z.record(z.string(), z.number());
const anyRecord = z.record(z.string(), z.unknown());

export const runRecordSchema = z.object({
  schema_version: z.literal(RUN_RECORD_SCHEMA_VERSION),
  /** The file name without .json: `<time>-<commit7>-<kind>-<random>`. */
  id: z.string().regex(/^[A-Za-z0-9._-]{1,120}$/),
  kind: z.enum(RUN_KINDS),
  model: z.string().min(1),
  task: z.string().nullable(),
  created_at: z.string(),
  cdl_version: z.string(),
  config: z.object({
    file: z.string().nullable(),
    hash: z.string().nullable(),
    overrides: z.array(z.string()),
    /** The configuration after overrides, as training saw it. */
    resolved: anyRecord.nullable(),
  }),
  hyperparameters: anyRecord,
  /** One entry per epoch (loss, accuracy, val_loss, val_accuracy, ...). */
  history: z.array(numbers),
  metrics: z.object({
    main_metric: z.string().nullable(),
    main_metric_value: z.number().nullable(),
    higher_is_better: z.boolean(),
    splits: z.record(z.string(), numbers),
  }),
  gate: z
    .object({
      decision: z.string(),
      reason: z.string().nullable(),
      baseline: z.string().nullable(),
    })
    .nullable(),
  lineage: z.object({
    commit: z.string().nullable(),
    branch: z.string().nullable(),
    pull_request: z.number().int().nullable(),
    dataset_version: z.string().nullable(),
    config_hash: z.string().nullable(),
    parent: z.string().nullable(),
    ci: anyRecord.nullable(),
  }),
  hardware: anyRecord,
  durations: z.record(z.string(), z.number()),
  /** Where the model went: the workflow artifact and the release that holds it. */
  output: z.object({
    model_sha256: z.string().nullable(),
    artifact: z.string().nullable(),
    release_tag: z.string().nullable(),
  }),
  tune: z.object({ study: z.string().nullable(), trial: z.number().int(), status: z.string(), epochs: z.number() }).nullable(),
});

export type RunRecord = z.infer<typeof runRecordSchema>;

/** Version 1: the first, flat form (test metrics only, no history, no gate). */
const runRecordV1Schema = z.object({
  schema_version: z.literal(1),
  id: z.string().regex(/^[A-Za-z0-9._-]{1,120}$/),
  kind: z.string(),
  model: z.string().min(1),
  time: z.string(),
  commit: z.string().nullable().optional(),
  branch: z.string().nullable().optional(),
  config_hash: z.string().nullable().optional(),
  hyperparameters: anyRecord.optional(),
  main_metric: z.string().nullable().optional(),
  metrics: numbers.optional(),
  release_tag: z.string().nullable().optional(),
});

export class RunRecordError extends CdlError {}

function fromV1(v: z.infer<typeof runRecordV1Schema>): RunRecord {
  const kind = (RUN_KINDS as readonly string[]).includes(v.kind) ? (v.kind as RunKind) : 'other';
  const metrics = v.metrics ?? {};
  const main = v.main_metric ?? null;
  return {
    schema_version: RUN_RECORD_SCHEMA_VERSION,
    id: v.id,
    kind,
    model: v.model,
    task: null,
    created_at: v.time,
    cdl_version: 'unknown',
    config: { file: null, hash: v.config_hash ?? null, overrides: [], resolved: null },
    hyperparameters: v.hyperparameters ?? {},
    history: [],
    metrics: {
      main_metric: main,
      main_metric_value: main !== null && metrics[main] !== undefined ? metrics[main] : null,
      higher_is_better: main === null || !/loss|error|rmse|mae/i.test(main),
      splits: { test: metrics },
    },
    gate: null,
    lineage: {
      commit: v.commit ?? null,
      branch: v.branch ?? null,
      pull_request: null,
      dataset_version: null,
      config_hash: v.config_hash ?? null,
      parent: null,
      ci: null,
    },
    hardware: {},
    durations: {},
    output: { model_sha256: null, artifact: null, release_tag: v.release_tag ?? null },
    tune: null,
  };
}

function issues(e: z.ZodError): string {
  return e.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`)
    .join('; ');
}

/**
 * A run record of any supported version, as the current version. `where` names the file in
 * errors. Anything else (not JSON, a future version, a missing field) is a RunRecordError.
 */
export function parseRunRecord(text: string, where: string): RunRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new RunRecordError(`${where}: invalid JSON (${(e as Error).message}); expected a cdl run record`);
  }
  const version = (raw as { schema_version?: unknown } | null)?.schema_version;
  if (version === RUN_RECORD_SCHEMA_VERSION) {
    const r = runRecordSchema.safeParse(raw);
    if (!r.success) throw new RunRecordError(`${where}: not a valid run record (${issues(r.error)})`);
    return r.data;
  }
  if (version === 1) {
    const r = runRecordV1Schema.safeParse(raw);
    if (!r.success) throw new RunRecordError(`${where}: not a valid version 1 run record (${issues(r.error)})`);
    return fromV1(r.data);
  }
  throw new RunRecordError(
    `${where}: schema_version ${JSON.stringify(version)} is not supported; expected 1 or ${RUN_RECORD_SCHEMA_VERSION} (a newer cdl wrote it?)`,
  );
}

/** Check a record about to be written; a bug in a writer stops here, not in a reader later. */
export function checkRunRecord(r: RunRecord): RunRecord {
  const parsed = runRecordSchema.safeParse(r);
  if (!parsed.success) throw new RunRecordError(`run record ${r.id}: ${issues(parsed.error)}`);
  return parsed.data;
}
