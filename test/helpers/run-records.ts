/** Synthetic run records for tests and the dashboard benchmark: plausible values, a fixed seed. */
import { RUN_RECORD_SCHEMA_VERSION, checkRunRecord, type RunKind, type RunRecord } from '../../src/model-dir/run-record.js';
import { mulberry32 as prng } from '../../src/data/prng.js';
import { newRunId } from '../../src/runs/store.js';

export interface SyntheticOptions {
  kind?: RunKind;
  model?: string;
  commit?: string;
  branch?: string;
  pullRequest?: number | null;
  accuracy?: number;
  learningRate?: number;
  units?: number;
  releaseTag?: string | null;
  createdAt?: Date;
  epochs?: number;
}

export function syntheticRecord(o: SyntheticOptions = {}, seed = 1): RunRecord {
  const rnd = prng(seed);
  const at = o.createdAt ?? new Date(Date.UTC(2026, 0, 1) + (seed % 1000) * 3_600_000);
  const kind = o.kind ?? 'push';
  const commit = o.commit ?? seed.toString(16).padStart(8, '0').repeat(5);
  const accuracy = o.accuracy ?? 0.75 + rnd() * 0.15;
  const epochs = o.epochs ?? 5;
  const lr = o.learningRate ?? 10 ** (-4 + rnd() * 2);
  const units = o.units ?? [64, 128, 256, 320][Math.floor(rnd() * 4)]!;
  const history = Array.from({ length: epochs }, (_, i) => {
    const f = (i + 1) / epochs;
    return {
      epoch: i + 1,
      loss: 1.2 - 0.7 * f + rnd() * 0.05,
      accuracy: accuracy * (0.8 + 0.2 * f),
      val_loss: 1.25 - 0.65 * f + rnd() * 0.05,
      val_accuracy: accuracy * (0.78 + 0.22 * f),
    };
  });
  return checkRunRecord({
    schema_version: RUN_RECORD_SCHEMA_VERSION,
    id: newRunId(kind, commit, at),
    kind,
    model: o.model ?? 'fashion-mnist',
    task: 'classification',
    created_at: at.toISOString(),
    cdl_version: '0.1.0',
    config: {
      file: 'cdl.yaml',
      hash: `sha256:${commit.slice(0, 16)}`,
      overrides: [`train.optimizer.learning_rate=${lr.toPrecision(3)}`],
      resolved: {
        model: { name: o.model ?? 'fashion-mnist', layers: [{ type: 'dense', units }] },
        train: { epochs, batch_size: 128, optimizer: { name: 'adam', learning_rate: lr } },
      },
    },
    hyperparameters: { epochs, batch_size: 128, optimizer: 'adam', learning_rate: lr, units },
    history,
    metrics: {
      main_metric: 'accuracy',
      main_metric_value: accuracy,
      higher_is_better: true,
      splits: {
        test: { accuracy, macro_f1: accuracy - 0.01, log_loss: 0.5 - accuracy / 3 },
        validation: { accuracy: accuracy + 0.005 },
      },
    },
    gate: kind === 'release' ? { decision: 'blessed', reason: 'accuracy within bounds', baseline: null } : null,
    lineage: {
      commit,
      branch: o.branch ?? (kind === 'pull_request' ? 'feature' : 'main'),
      pull_request: o.pullRequest ?? (kind === 'pull_request' ? 7 : null),
      dataset_version: 'sha256:data',
      config_hash: `sha256:${commit.slice(0, 16)}`,
      parent: null,
      ci: null,
    },
    hardware: { platform: 'linux-x64', cores: 16 },
    durations: { total_seconds: 30 + rnd() * 60 },
    output: { model_sha256: null, artifact: `model-${commit}`, release_tag: o.releaseTag ?? null },
    tune: null,
  });
}

/** `n` runs over `n / 4` commits: pushes, pull requests, tuning trials, and a release every 50. */
export function syntheticRuns(n: number, seed = 7): RunRecord[] {
  const kinds: RunKind[] = ['push', 'pull_request', 'tune_trial', 'local'];
  const out: RunRecord[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 50 === 49 ? 'release' : kinds[i % kinds.length]!;
    out.push(
      syntheticRecord(
        {
          kind,
          commit: (Math.floor(i / 4) + 0x1000).toString(16).padStart(8, '0').repeat(5),
          accuracy: 0.7 + 0.15 * (i / n) + 0.04 * prng(seed + i)(),
          releaseTag: kind === 'release' ? `fashion-mnist@v1.${Math.floor(i / 50)}.0` : null,
          createdAt: new Date(Date.UTC(2026, 0, 1) + i * 3_600_000),
        },
        seed * 100_000 + i,
      ),
    );
  }
  return out;
}
