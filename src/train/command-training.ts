/**
 * Training by the project's own train.command: run it (plain, under torchrun, or as a PyTorchJob
 * on Kubernetes), collect the model.onnx and metrics it writes, and write the model directory.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { trainLauncher } from '../config/schema/train.js';
import { renderModelCard } from '../model-dir/card.js';
import { MODEL_FILES, newLineage, newMetrics, writeModelDir } from '../model-dir/index.js';
import { gitInfo } from '../model-dir/lineage.js';
import { TrainError } from '../util/errors.js';
import { listFiles } from '../util/fs.js';
import { collectCommandOutputs, commandEnv, runCommand } from './command.js';
import { startGpuTelemetry, type GpuTelemetry } from './gpu-telemetry.js';
import { jobName, onSharedVolume, runPyTorchJob } from './kubernetes.js';
import { assertRanksSucceeded, collectRanks, torchrunPlan, type RankRecord } from './torchrun.js';
import type { TrainOptions, TrainOutcome } from './train-options.js';
import { lineageBase, mainMetric } from './train-record.js';

export async function trainWithCommand(opts: TrainOptions, log: (s: string) => void): Promise<TrainOutcome> {
  const { loaded } = opts;
  const cfg = loaded.config;
  const command = cfg.train.command!;
  const launcher = trainLauncher(cfg.train);
  const t0 = performance.now();
  const work = `${path.resolve(opts.outDir)}.partial-${process.pid}`;
  const ranksDir = `${work}.ranks`;
  // The script's own checkpoints: kept when it fails (the train action caches them for the
  // retried job), passed on to it with CDL_RESUME=1, removed once the model directory is written.
  const checkpointDir = opts.checkpointDir ?? `${path.resolve(opts.outDir)}.checkpoint`;
  const cleanUp = async () => {
    await Promise.all([work, ranksDir].map((d) => rm(d, { recursive: true, force: true })));
    // An empty checkpoint folder (the script saved nothing) is not worth keeping.
    if (existsSync(checkpointDir) && (await readdir(checkpointDir)).length === 0) await rm(checkpointDir, { recursive: true });
  };
  await cleanUp();
  await mkdir(work, { recursive: true });
  if (!opts.resume) await rm(checkpointDir, { recursive: true, force: true });
  await mkdir(checkpointDir, { recursive: true });
  const env = {
    ...commandEnv(cfg, loaded.dir, work, loaded.file),
    CDL_CONFIG_HASH: loaded.hash,
    CDL_CHECKPOINT_DIR: checkpointDir,
    CDL_RESUME: opts.resume ? '1' : '0',
  };
  let ranks: RankRecord[] | undefined;
  let launched: Record<string, unknown> | undefined;
  const runLauncher = async (): Promise<void> => {
    if (launcher?.type === 'torchrun') {
      await mkdir(ranksDir, { recursive: true });
      const plan = torchrunPlan(launcher, command, ranksDir);
      launched = { type: 'torchrun', nproc_per_node: plan.nproc };
      log(`running train.command under torchrun, ${plan.nproc} process${plan.nproc === 1 ? '' : 'es'}: ${command}`);
      const code = await runCommand(plan.command, {
        cwd: loaded.dir,
        env: { ...env, ...plan.env },
        log: (l) => log(`  | ${l}`),
        timeoutMinutes: cfg.train.timeout_minutes,
      });
      ranks = await collectRanks(ranksDir, plan.nproc);
      try {
        assertRanksSucceeded(command, code, ranks);
      } catch (e) {
        await cleanUp();
        throw e;
      }
    } else if (launcher?.type === 'kubernetes') {
      // The project and its data must be on the shared volume; rank 0 writes the model there.
      const name = jobName(cfg.model.name, (await gitInfo(loaded.dir))?.commit ?? null);
      const shared = path.join(launcher.storage.local_path ?? '', '.cdl-jobs', name);
      const pod = (p: string, what: string) => onSharedVolume(launcher, p, what);
      const podDir = pod(loaded.dir, 'the project folder (the directory of cdl.yaml)');
      const podEnv = {
        ...commandEnv(cfg, podDir, pod(path.join(shared, 'model'), 'the job folder'), pod(loaded.file, 'cdl.yaml')),
        CDL_CONFIG_HASH: loaded.hash,
        CDL_CHECKPOINT_DIR: pod(path.join(shared, 'checkpoint'), 'the job folder'),
        CDL_RESUME: opts.resume ? '1' : '0',
        CDL_WORKDIR: podDir,
      };
      if (!/^https?:\/\//.test(cfg.data.path)) pod(path.resolve(loaded.dir, cfg.data.path), 'data.path');
      await rm(shared, { recursive: true, force: true });
      await mkdir(path.join(shared, 'model'), { recursive: true });
      await mkdir(path.join(shared, 'checkpoint'), { recursive: true });
      launched = {
        type: 'kubernetes',
        job: name,
        namespace: launcher.namespace,
        nodes: launcher.nodes,
        nproc_per_node: launcher.nproc_per_node,
      };
      log(
        `running train.command as PyTorchJob ${launcher.namespace}/${name}, ${launcher.nodes} pods × ${launcher.nproc_per_node}: ${command}`,
      );
      try {
        await runPyTorchJob({
          name,
          launcher,
          command,
          env: podEnv,
          manifestFile: `${path.resolve(opts.outDir)}.pytorchjob.yaml`,
          log: (l) => log(`  | ${l}`),
        });
      } catch (e) {
        await cleanUp();
        throw e;
      }
      await cp(path.join(shared, 'model'), work, { recursive: true });
      await rm(shared, { recursive: true, force: true });
    } else {
      log(`running train.command: ${command}`);
      const code = await runCommand(command, {
        cwd: loaded.dir,
        env,
        log: (l) => log(`  | ${l}`),
        timeoutMinutes: cfg.train.timeout_minutes,
      });
      if (code !== 0) {
        await cleanUp();
        throw new TrainError(`train.command "${command}" exited with code ${code}`);
      }
    }
  };
  // GPU use while the command runs (null without a GPU).
  const sampler = startGpuTelemetry();
  let gpuTelemetry: GpuTelemetry | null;
  try {
    await runLauncher();
  } finally {
    gpuTelemetry = await sampler.stop();
  }
  const out = await collectCommandOutputs(work, command).catch(async (e) => {
    await cleanUp();
    throw e;
  });
  const seconds = (performance.now() - t0) / 1000;
  const main = mainMetric(cfg);
  const metrics = newMetrics({
    model: cfg.model.name,
    task: cfg.model.task,
    main_metric: main.name,
    main_metric_value: out.splits.test?.[main.name] ?? null,
    higher_is_better: main.higherIsBetter,
    classes: cfg.data.classes,
    splits: out.splits,
    training: { seconds, reported: out.raw, ...(ranks ? { ranks } : {}), gpu_telemetry: gpuTelemetry },
  });
  const base = await lineageBase(loaded, opts.overrides ?? [], opts.retrainedAtRelease);
  const lineage = newLineage({
    ...base,
    hardware: { ...base.hardware, gpu_telemetry: gpuTelemetry },
    data: { source: cfg.data.path, format: cfg.data.format, version: null },
    trainer: { kind: 'command', command, ...(launched ? { launcher: launched } : {}) },
    durations: { total_seconds: seconds, train_seconds: seconds },
  });
  // The script's other files (plots, logs, framework checkpoints) stay in the model directory.
  const extra: Record<string, Uint8Array> = {};
  for (const rel of await listFiles(work)) {
    if (rel === MODEL_FILES.onnx || rel === MODEL_FILES.metrics) continue;
    extra[rel] = new Uint8Array(await readFile(path.join(work, rel)));
  }
  const model = await writeModelDir(opts.outDir, {
    onnx: out.onnx,
    metrics,
    lineage,
    card: renderModelCard(metrics, lineage),
    extra,
  });
  await cleanUp();
  await rm(checkpointDir, { recursive: true, force: true });
  log(`model directory written to ${opts.outDir}`);
  return { outDir: opts.outDir, metrics, lineage, model, sha256: model.sha256 };
}
