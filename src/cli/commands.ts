/** The command table: names, help texts and lazy loaders. */
import { CDL_VERSION } from '../version.js';

export type CommandFn = (argv: string[]) => Promise<number | void>;

export interface CommandEntry {
  summary: string;
  help: string;
  load: () => Promise<CommandFn>;
}

export const COMMANDS: Record<string, CommandEntry> = {
  init: {
    summary: 'write cdl.yaml and the starter workflow for the data of this repository',
    help: `Usage: cdl init [--data PATH] [--name NAME] [--yes] [--force]

Look at the data (IDX files; train.csv and test.csv; train/ and test/ folders with one subfolder of
images per class), read it as training will, and write cdl.yaml (format, input shape, classes, a
model for the data, the example's gate, a comment per section) and .github/workflows/cdl.yml, the
starter workflow that calls cdl's workflows by version. Prints the next steps.

Options:
  -d, --data PATH     the data: a folder, or a CSV file with its test file beside it (default ./data, else .)
      --name NAME     model name (default: the repository folder's name)
  -y, --yes           do not ask before writing (required when not on a terminal)
  -f, --force         overwrite cdl.yaml and .github/workflows/cdl.yml when they exist

Exit codes: 0 written, 1 refused (a file exists, the data cannot be read), 2 usage error.`,
    load: async () => (await import('./init.js')).initCommand,
  },
  train: {
    summary: 'train the model of a cdl.yaml and write a model directory',
    help: `Usage: cdl train [--config FILE] [--out DIR] [--set key=value ...] [--resume] [--quiet]

Train the model that cdl.yaml describes (the built-in TF.js trainer, or train.command) and write a
model directory: model.onnx, tfjs/, metrics.json, lineage.json, model-card.md.

Options:
  -c, --config FILE   configuration file (default: cdl.yaml)
  -o, --out DIR       model directory to write (default: .cdl/models/<model name>)
  -s, --set KEY=VAL   override a configuration value, e.g. --set train.epochs=3 (repeatable)
      --resume        continue from the checkpoint of a run that was stopped
  -q, --quiet         no progress bar
      --json          print the metrics as JSON on stdout when done

Exit codes: 0 success, 1 failure, 2 usage or configuration error.`,
    load: async () => (await import('./train.js')).trainCommand,
  },
  tune: {
    summary: 'search hyperparameters (TPE, random or grid; ASHA or Hyperband) and report the best',
    help: `Usage: cdl tune [--config FILE] [--out DIR] [--set key=value ...] [--parallel N] [--trials N] [--fresh]

Search the hyperparameters of tune.space in cdl.yaml: the sampler (tune.sampler: tpe, random, grid)
proposes configurations, the scheduler (tune.scheduler: none, asha, hyperband) stops bad trials early
and continues good ones from their checkpoints. Trials run in separate processes, N at a time.
The study is saved after every trial (study.json): run the same command again to resume a stopped one.
Writes best.json, best.yaml (a configuration overlay), trials.csv, report.md and report.html.

Options:
  -c, --config FILE   configuration file (default: cdl.yaml)
  -o, --out DIR       study directory (default: .cdl/tune/<model name>)
  -s, --set KEY=VAL   override a configuration value for every trial (repeatable)
  -p, --parallel N    trials at a time (default: tune.parallel)
  -n, --trials N      number of trials (default: tune.trials)
      --fresh         start a new study instead of resuming the saved one
      --final-model   train the final model with the best configuration into DIR/model
  -v, --verbose       show every trial's epochs
      --json          print best.json on stdout when done

Over many runners (a job matrix per rung; the workflow moves DIR between jobs):
      --mode plan     propose the trials; print the first rung's matrix {"include":[{trial,rung,checkpoint}]}
      --mode trial    run --trial N to the budget of --rung K (--checkpoint DIR, --results DIR)
      --mode select   read --rung K's results (--results DIR), print the next rung's matrix, or pick the best

Exit codes: 0 success, 1 failure (or no trial finished), 2 usage or configuration error.`,
    load: async () => (await import('./tune.js')).tuneCommand,
  },
  run: {
    summary: 'run a GitHub workflow of this repository on this machine, offline',
    help: `Usage: cdl run WORKFLOW [options]

Run a workflow file (a path, or NAME.yml or NAME in the repository's .github/workflows/, from any
directory of the repository) on this machine: the steps run on the host, actions/upload-artifact,
download-artifact, cache, checkout and setup-node have built-in offline equivalents, cdl's own
workflows and actions (cdl/cdl/...@vX) run from this cdl, and a results server on 127.0.0.1 serves
the unmodified @actions/artifact and @actions/cache. Logs and step summaries go to .cdl/runs/<id>/.

Options:
  -e, --event NAME        push, pull_request, release, workflow_dispatch, schedule or workflow_call
                          (default: the first of these the workflow runs on)
      --ref REF           branch, tag (release) or full ref (default: the checked-out branch)
  -i, --input KEY=VALUE   a workflow_dispatch / workflow_call input (repeatable)
      --payload FILE      event payload JSON, merged over the one built from git
  -s, --secret NAME=VAL   a secret (repeatable); masked in every log line
      --secrets-file FILE NAME=value lines
      --var NAME=VALUE    a configuration variable (vars context, repeatable)
  -j, --job ID            run this job and the jobs it needs
      --runs-on-any       run jobs whatever their runs-on labels
      --actions-dir DIR   checkouts of remote actions: DIR/owner/repo or DIR/owner/repo@ref
      --max-parallel N    jobs at once (default: the number of cores, at least 2)
      --state-dir DIR     runs, artifacts and caches (default: .cdl)
  -v, --verbose           show ::debug:: messages

This machine's labels: self-hosted, linux, x64 (arm64), gpu when nvidia-smi finds one, and any in
CDL_RUNNER_LABELS (comma-separated).

Exit codes: 0 success, 1 a job failed, 2 invalid workflow, input or expression.`,
    load: async () => (await import('./run.js')).runCommand,
  },
  evaluate: {
    summary: 'evaluate a model directory on the test split (and compare with a baseline)',
    help: `Usage: cdl evaluate --model DIR [--baseline DIR|TAG] [--config FILE] [--set key=value ...] [--json]

Evaluate model.onnx of a model directory with onnxruntime-node on the test split of cdl.yaml's data:
accuracy, macro-F1, per-class precision/recall/F1, confusion matrix, log loss, calibration error,
top-k (classification) or MAE, RMSE, R² (regression); latency p50/p95/p99 at batch 1, throughput at
batch 64 and file size. With --baseline, the baseline is evaluated on the same examples and each
change is tested for significance. Prints the table and writes evaluation.json into the directory.

Options:
  -m, --model DIR       the model directory (only model.onnx is required)
  -b, --baseline SPEC   a model directory, a release tag, artifact:<name>, or production
  -c, --config FILE     configuration file (default: cdl.yaml)
  -s, --set KEY=VAL     override a configuration value (repeatable)
      --json            print evaluation.json on stdout

Exit codes: 0 success, 1 failure, 2 usage or configuration error.`,
    load: async () => (await import('./evaluate.js')).evaluateCommand,
  },
  gate: {
    summary: 'evaluate the candidate against production, decide, and write the report',
    help: `Usage: cdl gate --model DIR [--baseline SPEC] [--config FILE] [--set key=value ...] [--force-bless REASON]

Evaluate the candidate and the baseline (default gate.baseline: production, the version deployed to
the production environment, or the latest release when nothing was deployed yet; fetched and
verified as deploy does) on the same test examples, apply the thresholds of gate.metrics with their
significance tests (none configured: the main metric must not be significantly worse than the
baseline), write blessing.json into the candidate's directory, and publish the report: locally under
.cdl/reports/<model>/ (report.md, report.html, comment.md, status.json), or on GitHub inside Actions.

Options:
  -m, --model DIR          the candidate model directory
  -b, --baseline SPEC      production, none, a model directory, a release tag, or artifact:<name>
  -c, --config FILE        configuration file (default: cdl.yaml)
  -s, --set KEY=VAL        override a configuration value (repeatable)
      --force-bless REASON bless a rejected candidate; the reason is recorded
      --no-fail            exit 0 even when rejected (as gate.fail_on_reject: false)
      --no-comment         no pull-request comment
      --report-dir DIR     where report.md and report.html go (default .cdl/reports/<model>)
      --json               print blessing.json on stdout

Exit codes: 0 blessed, 1 rejected or failure, 2 usage or configuration error.`,
    load: async () => (await import('./evaluate.js')).gateCommand,
  },
  serve: {
    summary: 'serve the models of a repository over the Open Inference Protocol (KServe/Triton v2 REST)',
    help: `Usage: cdl serve --repository DIR [--port N] [--grpc-port N] [--host ADDR] [--poll-ms N] [--log-level LEVEL] [limits]

Serve every model of a model repository, DIR/<model>/<version>/ (each version a model directory
holding model.onnx, checked against its SHA256SUMS when present), with onnxruntime-node over the
Open Inference Protocol v2: /v2/health/live|ready, /v2, /v2/models/<name>[/versions/<v>][/ready|/infer|/stats],
/v2/repository/index, /v2/repository/models/<name>/load|unload, and Prometheus /metrics.
DIR/<model>/config.yaml sets dynamic batching, queue bounds, timeouts, the version policy and a
canary (docs/serve.md). New versions are picked up while serving; a version that fails to load
leaves the old one serving. SIGTERM or SIGINT: stop accepting, drain, exit.

Options:
  -r, --repository DIR      the model repository
  -p, --port N              port (default 8000; 0 picks a free one)
      --grpc-port N         also answer the protocol over gRPC on port N (off by default; 8001 is usual;
                            proto/open_inference_grpc.proto)
      --host ADDR           address to listen on (default 127.0.0.1; 0.0.0.0 in a container)
      --poll-ms N           look for new versions every N ms (default 2000; 0: only through the load API)
      --drain-timeout-ms N  how long shutdown waits for requests in flight (default 30000)
      --max-body-bytes N    largest request body, refused with 413 before it is read (default 33554432, 32 MiB)
      --body-timeout-ms N   a request body must arrive within N ms, else 408 (default 30000)
      --headers-timeout-ms N  request headers must arrive within N ms (default 10000)
      --log-level LEVEL     debug, info, warn or error (JSON lines on stderr; default info)

Exit codes: 0 stopped by a signal, 1 failure (e.g. the address is in use), 2 usage error.`,
    load: async () => (await import('./serve.js')).serveCommand,
  },
  compress: {
    summary: 'quantize, prune or distill a model directory, refusing what loses too much accuracy',
    help: `Usage: cdl compress --model DIR [--method M ...] [--out DIR] [--config FILE] [--set key=value ...]

Apply each method of compress.methods (or --method) to the model directory's model.onnx:
  int8-dynamic  int8 weights per channel, activations quantized at run time (MatMul, Gemm, Conv)
  int8-static   QDQ int8 with activation ranges calibrated on training examples (MinMax, Percentile, Entropy)
  fp16          float16 weights and compute, float32 inputs and outputs kept
  prune         magnitude pruning to compress.prune.sparsity, fine-tuned when tfjs/ is there
  distill       a smaller student (compress.distill.layers) trained on the model's soft targets
Each result is evaluated on the test split against the parent (accuracy, latency p50/p95 at batch 1,
throughput at batch 64, size); one that loses more than max_accuracy_drop points is refused, and so
is one that does not beat the parent by compress.min_gain (5%) on compress.objective: latency
(default: batch-1 time on this machine), throughput (batch 64) or size, measured with parent and
variant alternating. The chosen model (the largest gain, or compress.select) is written as a model
directory whose lineage names the parent's hash and the method; with none kept, the parent is
kept and the report says why each variant was refused. The directory
also holds compression.json and compression.md (a table and Mermaid charts).

Options:
  -m, --model DIR             the parent model directory
  -o, --out DIR               where the chosen model goes (default .cdl/models/<model name>-compressed)
      --method M              a method, repeatable or comma-separated (default compress.methods)
      --max-accuracy-drop P   percentage points (default compress.max_accuracy_drop)
      --keep-candidates DIR   also write each method's model directory under DIR/<method>
  -c, --config FILE           configuration file (default: cdl.yaml)
  -s, --set KEY=VAL           override a configuration value (repeatable)
      --json                  print compression.json on stdout instead of the report

Exit codes: 0 success (also when the parent is kept), 1 failure, 2 usage or configuration error.`,
    load: async () => (await import('./compress.js')).compressCommand,
  },
  data: {
    summary: 'validate the data, record its version in a manifest, and tell whether the working data matches it',
    help: `Usage: cdl data <validate|version|status|push|pull> [--config FILE] [--set key=value ...] [options]

  validate  check shape, data type, value range, the label set, class balance, duplicates within a
            split, test examples leaked from train (identical by hash) and missing or unreadable
            files; thresholds in data.checks. Exit 1 when data.checks.fail_on is met.
  version   hash every data file and write the manifest (default cdl.data.json beside cdl.yaml):
            each file's SHA-256 and size, the dataset version, the CI cache key and the stratified
            validation split (fraction, seed, counts, a hash of its indices). Commit it with the code;
            it changes when and only when the data (or the split) changes. --check: exit 1 if stale.
  status    compare the working data with the manifest: files added, removed, modified, split changed.
            Exit 0 when they match, 1 when they differ.
  push      copy the manifest's files into a content-addressed store (--store DIR or $CDL_DATA_STORE)
  pull      restore them from the store, each checked against its hash

Options:
  -c, --config FILE     configuration file (default: cdl.yaml)
  -s, --set KEY=VAL     override a configuration value (repeatable)
  -m, --manifest FILE   the manifest (default: cdl.data.json beside cdl.yaml)
      --store DIR       push/pull: the store
      --check           version: do not write, exit 1 when the manifest is out of date
      --json            machine-readable output

Exit codes: 0 success (clean), 1 problems found or data differs, 2 usage or configuration error.`,
    load: async () => (await import('./data.js')).dataCommand,
  },
  models: {
    summary: 'list, show, promote, roll back and compare model versions (releases, aliases, lineage)',
    help: `Usage: cdl models list|show|history|promote|blessed|rollback|diff [args] [options]

A candidate is the model directory of a commit (the artifact model-<sha>); a version is a release
tagged by deploy.tag (default {model}@v{version}) holding its files, SHA256SUMS, blessing.json and a
provenance statement. Aliases (production, staging, your own) point at versions; every move is
recorded, so the history lists what was in production when (docs/registry.md).

  list                        versions, newest first, with the aliases pointing at each
  show VERSION                lineage: commit, dataset version, configuration, tuning, parent, gate
  history [--alias NAME]      every move of the aliases (deployments), newest first
  promote --model DIR --version X.Y.Z [--force --reason "..."] [--variant NAME=DIR] [--alias NAME]
                              turn a blessed candidate into a version (draft, assets, then published);
                              an unblessed one is refused unless --force with a reason
  blessed --commit SHA --out DIR
                              the model the push workflow blessed for a commit (artifact
                              model-<sha>), verified; what a release ships (release.on_missing_model)
  rollback [--alias NAME] [--to VERSION]
                              redeploy the version the alias held before, moving it back
  diff VERSION VERSION        what differs in lineage and metrics

Options:
  -c, --config FILE   configuration file (default: cdl.yaml); --name MODEL instead of one
  -s, --set KEY=VAL   override a configuration value (repeatable)
      --json          print JSON
  Deployment options of rollback: as cdl deploy.

Exit codes: 0 success, 1 failure (refused, rolled back), 2 usage or configuration error.`,
    load: async () => (await import('./models.js')).modelsCommand,
  },
  runs: {
    summary: 'every training run, recorded on the cdl-runs branch: list, show, compare, best, export, dashboard',
    help: `Usage: cdl runs list|show|compare|best|export|report [args] [options]

Every training run (cdl train, the train action on push and pull request, tuning trials, releases)
leaves a record on the cdl-runs branch of the repository: configuration, hyperparameters, per-epoch
history, metrics per split, the gate's decision, lineage, hardware, durations, the artifact and
release it went to (docs/runs.md). The branch is read with git, fetched from origin when there is one.

  list                  runs, newest first
  show RUN              one run: lineage, hyperparameters, metrics, history
  compare A B           configuration diff, metric deltas (B − A) and curves side by side
  best [--per-branch]   the best run by its main metric (per model, or per branch)
  export [--format csv|json] [--out FILE]
  report --out DIR      the dashboard: DIR/index.html, one self-contained page

RUN: a run id (or a unique prefix), latest, release (the latest release), a release tag, pr:N,
branch:NAME or commit:SHA.

Options:
  -m, --model NAME      only this model's runs
  -b, --branch NAME     only runs on this branch
      --pr N            only runs of pull request N
      --kind KIND       local, push, pull_request, tune_trial, release or other
      --since DATE      from this date (2026-01-31, an ISO time, or an age: 30d, 12h, 2w)
      --until DATE      up to this date
  -w, --where EXPR      a metric bound, e.g. accuracy>=0.9, validation.loss<0.4 (repeatable)
      --sort KEY        time (default) or a metric; --asc for ascending
  -n, --limit N         at most N runs
  -C, --repo DIR        the repository (default: the current directory)
      --no-fetch        do not fetch origin's cdl-runs first
      --json            print JSON

Exit codes: 0 success, 1 failure (an unreadable record), 2 usage error.`,
    load: async () => (await import('./runs.js')).runsCommand,
  },
  deploy: {
    summary: 'deploy a released version: verify checksums and blessing, roll out, record the deployment',
    help: `Usage: cdl deploy --version X.Y.Z|TAG [--target server|kserve|release] [options]

Find the model of the release (its assets, or the workflow artifact of its commit when the release
was published by hand without them), verify every SHA-256 and the blessing, and deploy it:
  server   write it into the model repository of a running cdl serve, load it, wait until it is
           ready, send a smoke inference; with a canary, watch its error rate and latency for the
           window, then promote it to 100% or roll it back on its own
  kserve   an InferenceService manifest (ONNX, Open Inference Protocol v2, canaryTrafficPercent),
           applied with kubectl when it has a current context, else written out
  release  verify the assets only
Each deployment is recorded with its statuses; a successful one moves the alias (deploy.environment).

Options:
      --version V          the version or release tag
      --target T           server, kserve or release (default deploy.target)
  -e, --environment NAME   the alias / GitHub environment (default deploy.environment, production)
      --server-url URL     the running cdl serve (default deploy.server.url)
      --repository DIR     its model repository (default deploy.server.repository)
      --canary-percent P   share of traffic for the canary (0: none)
      --canary-window S    seconds the canary is watched
      --shadow-fraction F  start the version in shadow instead: a copy of share F of production requests,
                           compared with production's answers and reported; the alias stays
      --shadow-window S    seconds the shadow comparison is watched before it is reported
  -o, --out DIR            where the kserve manifest is written (default .cdl/deploy/<tag>)
      --reason TEXT        recorded with the deployment
  -c, --config FILE        configuration file (default: cdl.yaml); --name MODEL instead of one
      --json               print the result as JSON

Exit codes: 0 deployed, 1 refused, failed or rolled back, 2 usage or configuration error.`,
    load: async () => (await import('./deploy.js')).deployCommand,
  },
  monitor: {
    summary: "compare production traffic with the model's reference statistics; report drift, open an issue, dispatch retraining",
    help: `Usage: cdl monitor [--model DIR] [--source URL|FILE] [--config FILE] [--set key=value ...] [options]

Compare what the model server recorded for the deployed model (predicted classes and input summaries,
GET /v2/models/<name>[/versions/<v>]/monitor, or a JSON file with the same content) with the
reference statistics in the model directory (reference.json, written by cdl train on the test split):
PSI for the predictions, PSI and Kolmogorov–Smirnov for the inputs, against monitor.psi (warn 0.1,
alert 0.25) and monitor.ks_p_value. On drift, one issue is opened or updated (GitHub inside Actions,
.cdl/issues/ locally) and, with monitor.retrain, the retraining workflow is dispatched.

Options:
  -m, --model DIR       the model directory (default production: the version deployed to the
                        production environment, else the latest release, fetched and verified;
                        with nothing released, .cdl/models/<model name>)
      --source URL|FILE the model server or a statistics file (default monitor.source)
  -c, --config FILE     configuration file (default: cdl.yaml)
  -s, --set KEY=VAL     override a configuration value (repeatable)
      --no-issue        do not open or update the issue
      --no-retrain      do not dispatch retraining
      --fail-on LEVEL   never (default), warn or alert: exit 1 from that level on
      --report FILE     also write the Markdown report there
      --json            print the drift report as JSON

Exit codes: 0 done (whatever the verdict, unless --fail-on), 1 failure or drift at --fail-on, 2 usage or configuration error.`,
    load: async () => (await import('./monitor.js')).monitorCommand,
  },
  validate: {
    summary: 'check a cdl.yaml and print every problem',
    help: `Usage: cdl validate [--config FILE] [--set key=value ...]

Validate cdl.yaml against its schema and report every problem with its path and line.`,
    load: async () => (await import('./validate.js')).validateCommand,
  },
  schema: {
    summary: 'print the JSON Schema of cdl.yaml (for editors)',
    help: `Usage: cdl schema [--out FILE]

Print the JSON Schema of cdl.yaml, generated from the same schema the validation uses.`,
    load: async () => (await import('./validate.js')).schemaCommand,
  },
};

export function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return `cdl ${CDL_VERSION} — continuous deep learning: train, evaluate, compress and deploy models from CI

Usage: cdl <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([k, v]) => `  ${k.padEnd(width)}  ${v.summary}`)
  .join('\n')}

Run "cdl <command> --help" for a command's options.`;
}
