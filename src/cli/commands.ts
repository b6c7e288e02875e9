/**
 * Every command's declaration: usage, description, flags and exit codes, from which both its flag
 * parsing and its `--help` are made (src/cli/args.ts). Over 400 lines because the declarations are
 * the CLI's reference and read best side by side; the handlers (src/cli/<command>.ts) hold no flags.
 */
import { CDL_VERSION } from '../version.js';
import { command, only, type CommandSpec, type Flags } from './args.js';

const CONFIG = {
  config: { type: 'string', short: 'c', default: 'cdl.yaml', value: 'FILE', help: 'configuration file (default: cdl.yaml)' },
} satisfies Flags;
const SET = {
  set: {
    type: 'string',
    short: 's',
    multiple: true,
    default: [] as string[],
    value: 'KEY=VAL',
    help: 'override a configuration value',
  },
} satisfies Flags;
const JSON_FLAG = (help: string) => ({ json: { type: 'boolean', default: false, help } }) satisfies Flags;

const init = command({
  usage: '[--data PATH] [--name NAME] [--yes] [--force]',
  summary: 'write cdl.yaml and the starter workflow for the data of this repository',
  description: `Look at the data (IDX files; train.csv and test.csv; train/ and test/ folders with one subfolder of
images per class), read it as training will, and write cdl.yaml (format, input shape, classes, a
model for the data, the example's gate, a comment per section) and .github/workflows/cdl.yml, the
starter workflow that calls cdl's workflows by version. Prints the next steps.`,
  options: {
    data: {
      type: 'string',
      short: 'd',
      value: 'PATH',
      help: 'the data: a folder, or a CSV file with its test file beside it (default ./data, else .)',
    },
    name: { type: 'string', value: 'NAME', help: "model name (default: the repository folder's name)" },
    yes: { type: 'boolean', short: 'y', default: false, help: 'do not ask before writing (required when not on a terminal)' },
    force: {
      type: 'boolean',
      short: 'f',
      default: false,
      help: 'overwrite cdl.yaml and .github/workflows/cdl.yml when they exist',
    },
  },
  exitCodes: '0 written, 1 refused (a file exists, the data cannot be read), 2 usage error.',
});

const train = command({
  usage: '[--config FILE] [--out DIR] [--set key=value ...] [--resume] [--quiet]',
  summary: 'train the model of a cdl.yaml and write a model directory',
  description: `Train the model that cdl.yaml describes (the built-in TF.js trainer, or train.command) and write a
model directory: model.onnx, tfjs/, metrics.json, lineage.json, model-card.md.`,
  options: {
    ...CONFIG,
    out: { type: 'string', short: 'o', value: 'DIR', help: 'model directory to write (default: .cdl/models/<model name>)' },
    set: { ...SET.set, help: 'override a configuration value, e.g. --set train.epochs=3' },
    resume: { type: 'boolean', default: false, help: 'continue from the checkpoint of a run that was stopped' },
    quiet: { type: 'boolean', short: 'q', default: false, help: 'no progress bar' },
    ...JSON_FLAG('print the metrics as JSON on stdout when done'),
  },
  exitCodes: '0 success, 1 failure, 2 usage or configuration error.',
});

const MANY_RUNNERS = 'Over many runners (a job matrix per rung; the workflow moves DIR between jobs)';

const tune = command({
  usage: '[--config FILE] [--out DIR] [--set key=value ...] [--parallel N] [--trials N] [--fresh]',
  summary: 'search hyperparameters (TPE, random or grid; ASHA or Hyperband) and report the best',
  description: `Search the hyperparameters of tune.space in cdl.yaml: the sampler (tune.sampler: tpe, random, grid)
proposes configurations, the scheduler (tune.scheduler: none, asha, hyperband) stops bad trials early
and continues good ones from their checkpoints. Trials run in separate processes, N at a time.
The study is saved after every trial (study.json): run the same command again to resume a stopped one.
Writes best.json, best.yaml (a configuration overlay), trials.csv, report.md and report.html.`,
  options: {
    ...CONFIG,
    out: { type: 'string', short: 'o', value: 'DIR', help: 'study directory (default: .cdl/tune/<model name>)' },
    set: { ...SET.set, help: 'override a configuration value for every trial' },
    parallel: { type: 'string', short: 'p', value: 'N', help: 'trials at a time (default: tune.parallel)' },
    trials: { type: 'string', short: 'n', value: 'N', help: 'number of trials (default: tune.trials)' },
    fresh: { type: 'boolean', default: false, help: 'start a new study instead of resuming the saved one' },
    'final-model': {
      type: 'boolean',
      default: false,
      help: 'train the final model with the best configuration into DIR/model',
    },
    verbose: { type: 'boolean', short: 'v', default: false, help: "show every trial's epochs" },
    ...JSON_FLAG('print best.json on stdout when done'),
    worker: {
      type: 'boolean',
      default: false,
      help: 'run as a trial worker process',
      internal: 'cdl tune starts its own trial processes with it',
    },
    mode: {
      type: 'string',
      default: 'tune',
      value: 'MODE',
      group: MANY_RUNNERS,
      help: `tune (default): the whole search here
plan: propose the trials; print the first rung's matrix {"include":[{trial,rung,checkpoint}]}
trial: run --trial N to the budget of --rung K
select: read --rung K's results, print the next rung's matrix, or pick the best`,
    },
    trial: { type: 'string', value: 'N', group: MANY_RUNNERS, help: 'the trial of --mode trial' },
    rung: { type: 'string', value: 'K', group: MANY_RUNNERS, help: 'the rung of --mode trial and --mode select' },
    checkpoint: {
      type: 'string',
      value: 'DIR',
      group: MANY_RUNNERS,
      help: "--mode trial: the trial's checkpoint (default DIR/trials/N/checkpoint)",
    },
    results: {
      type: 'string',
      value: 'DIR',
      group: MANY_RUNNERS,
      help: "the rungs' results (default DIR/results)",
    },
  },
  exitCodes: '0 success, 1 failure (or no trial finished), 2 usage or configuration error.',
});

const run = command({
  usage: 'WORKFLOW [options]',
  summary: 'run a GitHub workflow of this repository on this machine, offline',
  description: `Run a workflow file (a path, or NAME.yml or NAME in the repository's .github/workflows/, from any
directory of the repository) on this machine: the steps run on the host, actions/upload-artifact,
download-artifact, cache, checkout and setup-node have built-in offline equivalents, cdl's own
workflows and actions (cdl/cdl/...@vX) run from this cdl, and a results server on 127.0.0.1 serves
the unmodified @actions/artifact and @actions/cache. Logs and step summaries go to .cdl/runs/<id>/.`,
  positionals: true,
  options: {
    event: {
      type: 'string',
      short: 'e',
      value: 'NAME',
      help: `push, pull_request, release, workflow_dispatch, schedule or workflow_call
(default: the first of these the workflow runs on)`,
    },
    ref: { type: 'string', value: 'REF', help: 'branch, tag (release) or full ref (default: the checked-out branch)' },
    input: {
      type: 'string',
      short: 'i',
      multiple: true,
      default: [] as string[],
      value: 'KEY=VALUE',
      help: 'a workflow_dispatch / workflow_call input',
    },
    payload: { type: 'string', value: 'FILE', help: 'event payload JSON, merged over the one built from git' },
    secret: {
      type: 'string',
      short: 's',
      multiple: true,
      default: [] as string[],
      value: 'NAME=VAL',
      help: 'a secret (repeatable); masked in every log line',
    },
    'secrets-file': { type: 'string', value: 'FILE', help: 'NAME=value lines' },
    var: {
      type: 'string',
      multiple: true,
      default: [] as string[],
      value: 'NAME=VALUE',
      help: 'a configuration variable, in the vars context',
    },
    job: { type: 'string', short: 'j', value: 'ID', help: 'run this job and the jobs it needs' },
    'runs-on-any': { type: 'boolean', help: 'run jobs whatever their runs-on labels' },
    'actions-dir': { type: 'string', value: 'DIR', help: 'checkouts of remote actions: DIR/owner/repo or DIR/owner/repo@ref' },
    'max-parallel': { type: 'string', value: 'N', help: 'jobs at once (default: the number of cores, at least 2)' },
    'state-dir': { type: 'string', value: 'DIR', help: 'runs, artifacts and caches (default: .cdl)' },
    verbose: { type: 'boolean', short: 'v', help: 'show ::debug:: messages' },
  },
  notes: `This machine's labels: self-hosted, linux, x64 (arm64), gpu when nvidia-smi finds one, and any in
CDL_RUNNER_LABELS (comma-separated).`,
  exitCodes: '0 success, 1 a job failed, 2 invalid workflow, input or expression.',
});

const MODEL_DIR = { model: { type: 'string', short: 'm', value: 'DIR', help: 'the model directory' } } satisfies Flags;

const evaluate = command({
  usage: '--model DIR [--baseline DIR|TAG] [--config FILE] [--set key=value ...] [--json]',
  summary: 'evaluate a model directory on the test split (and compare with a baseline)',
  description: `Evaluate model.onnx of a model directory with onnxruntime-node on the test split of cdl.yaml's data:
accuracy, macro-F1, per-class precision/recall/F1, confusion matrix, log loss, calibration error,
top-k (classification) or MAE, RMSE, R² (regression); latency p50/p95/p99 at batch 1, throughput at
batch 64 and file size. With --baseline, the baseline is evaluated on the same examples and each
change is tested for significance. Prints the table and writes evaluation.json into the directory.`,
  options: {
    model: { ...MODEL_DIR.model, help: 'the model directory (only model.onnx is required)' },
    baseline: {
      type: 'string',
      short: 'b',
      value: 'SPEC',
      help: 'a model directory, a release tag, artifact:<name>, or production',
    },
    ...CONFIG,
    ...SET,
    ...JSON_FLAG('print evaluation.json on stdout'),
  },
  exitCodes: '0 success, 1 failure, 2 usage or configuration error.',
});

const gate = command({
  usage: '--model DIR [--baseline SPEC] [--config FILE] [--set key=value ...] [--force-bless REASON]',
  summary: 'evaluate the candidate against production, decide, and write the report',
  description: `Evaluate the candidate and the baseline (default gate.baseline: production, the version deployed to
the production environment, or the latest release when nothing was deployed yet; fetched and
verified as deploy does) on the same test examples, apply the thresholds of gate.metrics with their
significance tests (none configured: the main metric must not be significantly worse than the
baseline), write blessing.json into the candidate's directory, and publish the report: locally under
.cdl/reports/<model>/ (report.md, report.html, comment.md, status.json), or on GitHub inside Actions.`,
  options: {
    model: { ...MODEL_DIR.model, help: 'the candidate model directory' },
    baseline: {
      type: 'string',
      short: 'b',
      value: 'SPEC',
      help: 'production, none, a model directory, a release tag, or artifact:<name>',
    },
    ...CONFIG,
    ...SET,
    'force-bless': {
      type: 'string',
      value: 'REASON',
      help: 'bless a rejected candidate; the reason is recorded',
    },
    'no-fail': { type: 'boolean', default: false, help: 'exit 0 even when rejected (as gate.fail_on_reject: false)' },
    'no-comment': { type: 'boolean', default: false, help: 'no pull-request comment' },
    'report-dir': {
      type: 'string',
      value: 'DIR',
      help: 'where report.md and report.html go (default .cdl/reports/<model>)',
    },
    ...JSON_FLAG('print blessing.json on stdout'),
  },
  exitCodes: '0 blessed, 1 rejected or failure, 2 usage or configuration error.',
});

const serve = command({
  usage: '--repository DIR [--port N] [--grpc-port N] [--host ADDR] [--poll-ms N] [--log-level LEVEL] [limits]',
  summary: 'serve the models of a repository over the Open Inference Protocol (KServe/Triton v2 REST)',
  description: `Serve every model of a model repository, DIR/<model>/<version>/ (each version a model directory
holding model.onnx, checked against its SHA256SUMS when present), with onnxruntime-node over the
Open Inference Protocol v2: /v2/health/live|ready, /v2, /v2/models/<name>[/versions/<v>][/ready|/infer|/stats],
/v2/repository/index, /v2/repository/models/<name>/load|unload, and Prometheus /metrics.
DIR/<model>/config.yaml sets dynamic batching, queue bounds, timeouts, the version policy and a
canary (docs/serve.md). New versions are picked up while serving; a version that fails to load
leaves the old one serving. SIGTERM or SIGINT: stop accepting, drain, exit.`,
  options: {
    repository: { type: 'string', short: 'r', value: 'DIR', help: 'the model repository' },
    port: { type: 'string', short: 'p', value: 'N', help: 'port (default 8000; 0 picks a free one)' },
    'grpc-port': {
      type: 'string',
      value: 'N',
      help: `also answer the protocol over gRPC on port N (off by default; 8001 is usual;
proto/open_inference_grpc.proto)`,
    },
    host: { type: 'string', value: 'ADDR', help: 'address to listen on (default 127.0.0.1; 0.0.0.0 in a container)' },
    'poll-ms': {
      type: 'string',
      value: 'N',
      help: 'look for new versions every N ms (default 2000; 0: only through the load API)',
    },
    'drain-timeout-ms': {
      type: 'string',
      value: 'N',
      help: 'how long shutdown waits for requests in flight (default 30000)',
    },
    'max-body-bytes': {
      type: 'string',
      value: 'N',
      help: 'largest request body, refused with 413 before it is read (default 33554432, 32 MiB)',
    },
    'body-timeout-ms': {
      type: 'string',
      value: 'N',
      help: 'a request body must arrive within N ms, else 408 (default 30000)',
    },
    'headers-timeout-ms': { type: 'string', value: 'N', help: 'request headers must arrive within N ms (default 10000)' },
    'log-level': {
      type: 'string',
      value: 'LEVEL',
      help: 'debug, info, warn or error (JSON lines on stderr; default info)',
    },
  },
  exitCodes: '0 stopped by a signal, 1 failure (e.g. the address is in use), 2 usage error.',
});

const compress = command({
  usage: '--model DIR [--method M ...] [--out DIR] [--config FILE] [--set key=value ...]',
  summary: 'quantize, prune or distill a model directory, refusing what loses too much accuracy',
  description: `Apply each method of compress.methods (or --method) to the model directory's model.onnx:
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
also holds compression.json and compression.md (a table and Mermaid charts).`,
  options: {
    model: { ...MODEL_DIR.model, help: 'the parent model directory' },
    out: {
      type: 'string',
      short: 'o',
      value: 'DIR',
      help: 'where the chosen model goes (default .cdl/models/<model name>-compressed)',
    },
    method: {
      type: 'string',
      multiple: true,
      default: [] as string[],
      value: 'M',
      help: 'a method, repeatable or comma-separated (default compress.methods)',
    },
    'max-accuracy-drop': {
      type: 'string',
      value: 'P',
      help: 'percentage points (default compress.max_accuracy_drop)',
    },
    'keep-candidates': {
      type: 'string',
      value: 'DIR',
      help: "also write each method's model directory under DIR/<method>",
    },
    ...CONFIG,
    ...SET,
    ...JSON_FLAG('print compression.json on stdout instead of the report'),
  },
  exitCodes: '0 success (also when the parent is kept), 1 failure, 2 usage or configuration error.',
});

const data = command({
  usage: '<validate|version|status|push|pull> [--config FILE] [--set key=value ...] [options]',
  summary: 'validate the data, record its version in a manifest, and tell whether the working data matches it',
  description: `  validate  check shape, data type, value range, the label set, class balance, duplicates within a
            split, test examples leaked from train (identical by hash) and missing or unreadable
            files; thresholds in data.checks. Exit 1 when data.checks.fail_on is met.
  version   hash every data file and write the manifest (default cdl.data.json beside cdl.yaml):
            each file's SHA-256 and size, the dataset version, the CI cache key and the stratified
            validation split (fraction, seed, counts, a hash of its indices). Commit it with the code;
            it changes when and only when the data (or the split) changes. --check: exit 1 if stale.
  status    compare the working data with the manifest: files added, removed, modified, split changed.
            Exit 0 when they match, 1 when they differ.
  push      copy the manifest's files into a content-addressed store (--store DIR or $CDL_DATA_STORE)
  pull      restore them from the store, each checked against its hash`,
  options: {
    ...CONFIG,
    ...SET,
    manifest: {
      type: 'string',
      short: 'm',
      value: 'FILE',
      help: 'the manifest (default: cdl.data.json beside cdl.yaml)',
    },
    store: { type: 'string', value: 'DIR', help: 'push/pull: the store' },
    check: { type: 'boolean', default: false, help: 'version: do not write, exit 1 when the manifest is out of date' },
    ...JSON_FLAG('machine-readable output'),
  },
  exitCodes: '0 success (clean), 1 problems found or data differs, 2 usage or configuration error.',
});

/** The flags of a deployment: `cdl deploy`, and `cdl models rollback` (which deploys the version before). */
const DEPLOYMENT = {
  target: { type: 'string', value: 'T', help: 'server, kserve or release (default deploy.target)' },
  environment: {
    type: 'string',
    short: 'e',
    value: 'NAME',
    help: 'the alias / GitHub environment (default deploy.environment, production)',
  },
  alias: { type: 'string', value: 'NAME', help: 'the same as --environment' },
  'server-url': { type: 'string', value: 'URL', help: 'the running cdl serve (default deploy.server.url)' },
  repository: { type: 'string', value: 'DIR', help: 'its model repository (default deploy.server.repository)' },
  'canary-percent': { type: 'string', value: 'P', help: 'share of traffic for the canary (0: none)' },
  'canary-window': { type: 'string', value: 'S', help: 'seconds the canary is watched' },
  'shadow-fraction': {
    type: 'string',
    value: 'F',
    help: `start the version in shadow instead: a copy of share F of production requests,
compared with production's answers and reported; the alias stays`,
  },
  'shadow-window': {
    type: 'string',
    value: 'S',
    help: 'seconds the shadow comparison is watched before it is reported',
  },
  out: {
    type: 'string',
    short: 'o',
    value: 'DIR',
    help: 'where the kserve manifest is written (default .cdl/deploy/<tag>)',
  },
  reason: { type: 'string', value: 'TEXT', help: 'recorded with the deployment' },
} satisfies Flags;

/** The flags every `cdl models` subcommand and `cdl deploy` take. */
const REGISTRY = {
  ...CONFIG,
  ...SET,
  name: { type: 'string', value: 'MODEL', help: 'the model, when there is no cdl.yaml' },
  ...JSON_FLAG('print JSON'),
} satisfies Flags;

const models = command({
  usage: 'list|show|history|promote|blessed|rollback|diff [args] [options]',
  summary: 'list, show, promote, roll back and compare model versions (releases, aliases, lineage)',
  description: `A candidate is the model directory of a commit (the artifact model-<sha>); a version is a release
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
  diff VERSION VERSION        what differs in lineage and metrics`,
  options: {
    ...REGISTRY,
    ...only(['history', 'promote', 'rollback'], {
      alias: {
        type: 'string',
        value: 'NAME',
        help: `history: only this alias's moves; promote: move it to the new version;
rollback: the alias to move back (as --environment)`,
      },
    }),
    ...only(['promote'], {
      model: { ...MODEL_DIR.model, help: 'the blessed candidate model directory' },
      version: { type: 'string', value: 'X.Y.Z', help: 'the version to release' },
      force: { type: 'boolean', default: false, help: 'release an unblessed candidate (needs --reason)' },
      variant: {
        type: 'string',
        multiple: true,
        default: [] as string[],
        value: 'NAME=DIR',
        help: 'a variant model directory released beside it',
      },
    }),
    ...only(['promote', 'rollback'], {
      reason: { type: 'string', value: 'TEXT', help: 'recorded with the release (promote --force) or the deployment' },
    }),
    ...only(['promote', 'blessed'], {
      commit: { type: 'string', value: 'SHA', help: 'the commit of the model (blessed: required, 40 hex digits)' },
    }),
    ...only(['blessed', 'rollback'], {
      out: {
        type: 'string',
        short: 'o',
        value: 'DIR',
        help: 'blessed: where the model directory goes; rollback: where a kserve manifest is written',
      },
    }),
    ...only(['rollback'], {
      target: DEPLOYMENT.target,
      environment: DEPLOYMENT.environment,
      'server-url': DEPLOYMENT['server-url'],
      repository: DEPLOYMENT.repository,
      'canary-percent': DEPLOYMENT['canary-percent'],
      'canary-window': DEPLOYMENT['canary-window'],
      'shadow-fraction': DEPLOYMENT['shadow-fraction'],
      'shadow-window': DEPLOYMENT['shadow-window'],
      to: { type: 'string', value: 'VERSION', help: 'the version to go back to (default: the one before)' },
    }),
  },
  exitCodes: '0 success, 1 failure (refused, rolled back), 2 usage or configuration error.',
});

const runs = command({
  usage: 'list|show|compare|best|export|report [args] [options]',
  summary: 'every training run, recorded on the cdl-runs branch: list, show, compare, best, export, dashboard',
  description: `Every training run (cdl train, the train action on push and pull request, tuning trials, releases)
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
branch:NAME or commit:SHA.`,
  options: {
    model: { type: 'string', short: 'm', value: 'NAME', help: "only this model's runs" },
    branch: { type: 'string', short: 'b', value: 'NAME', help: 'only runs on this branch' },
    pr: { type: 'string', value: 'N', help: 'only runs of pull request N' },
    kind: { type: 'string', value: 'KIND', help: 'local, push, pull_request, tune_trial, release or other' },
    since: {
      type: 'string',
      value: 'DATE',
      help: 'from this date (2026-01-31, an ISO time, or an age: 30d, 12h, 2w)',
    },
    until: { type: 'string', value: 'DATE', help: 'up to this date' },
    where: {
      type: 'string',
      short: 'w',
      multiple: true,
      default: [] as string[],
      value: 'EXPR',
      help: 'a metric bound, e.g. accuracy>=0.9, validation.loss<0.4',
    },
    sort: { type: 'string', value: 'KEY', help: 'time (default) or a metric' },
    asc: { type: 'boolean', default: false, help: 'with --sort: ascending' },
    limit: { type: 'string', short: 'n', value: 'N', help: 'at most N runs' },
    repo: { type: 'string', short: 'C', value: 'DIR', help: 'the repository (default: the current directory)' },
    'no-fetch': { type: 'boolean', default: false, help: "do not fetch origin's cdl-runs first" },
    'per-branch': { type: 'boolean', default: false, help: 'best: the best run of each branch' },
    format: { type: 'string', value: 'FORMAT', help: 'export: csv (default) or json' },
    out: { type: 'string', short: 'o', value: 'PATH', help: 'export: the file (default stdout); report: the folder' },
    title: { type: 'string', value: 'TEXT', help: "report: the dashboard's title" },
    ...JSON_FLAG('print JSON'),
  },
  exitCodes: '0 success, 1 failure (an unreadable record), 2 usage error.',
});

const deploy = command({
  usage: '--version X.Y.Z|TAG [--target server|kserve|release] [options]',
  summary: 'deploy a released version: verify checksums and blessing, roll out, record the deployment',
  description: `Find the model of the release (its assets, or the workflow artifact of its commit when the release
was published by hand without them), verify every SHA-256 and the blessing, and deploy it:
  server   write it into the model repository of a running cdl serve, load it, wait until it is
           ready, send a smoke inference; with a canary, watch its error rate and latency for the
           window, then promote it to 100% or roll it back on its own
  kserve   an InferenceService manifest (ONNX, Open Inference Protocol v2, canaryTrafficPercent),
           applied with kubectl when it has a current context, else written out
  release  verify the assets only
Each deployment is recorded with its statuses; a successful one moves the alias (deploy.environment).`,
  options: {
    version: { type: 'string', value: 'V', help: 'the version or release tag' },
    ...DEPLOYMENT,
    ...REGISTRY,
    ...JSON_FLAG('print the result as JSON'),
  },
  exitCodes: '0 deployed, 1 refused, failed or rolled back, 2 usage or configuration error.',
});

const monitor = command({
  usage: '[--model DIR] [--source URL|FILE] [--config FILE] [--set key=value ...] [options]',
  summary: "compare production traffic with the model's reference statistics; report drift, open an issue, dispatch retraining",
  description: `Compare what the model server recorded for the deployed model (predicted classes and input summaries,
GET /v2/models/<name>[/versions/<v>]/monitor, or a JSON file with the same content) with the
reference statistics in the model directory (reference.json, written by cdl train on the test split):
PSI for the predictions, PSI and Kolmogorov–Smirnov for the inputs, against monitor.psi (warn 0.1,
alert 0.25) and monitor.ks_p_value. On drift, one issue is opened or updated (GitHub inside Actions,
.cdl/issues/ locally) and, with monitor.retrain, the retraining workflow is dispatched.`,
  options: {
    model: {
      ...MODEL_DIR.model,
      help: `the model directory (default production: the version deployed to the
production environment, else the latest release, fetched and verified;
with nothing released, .cdl/models/<model name>)`,
    },
    source: {
      type: 'string',
      value: 'URL|FILE',
      help: 'the model server or a statistics file (default monitor.source)',
    },
    ...CONFIG,
    ...SET,
    'no-issue': { type: 'boolean', default: false, help: 'do not open or update the issue' },
    'no-retrain': { type: 'boolean', default: false, help: 'do not dispatch retraining' },
    'fail-on': {
      type: 'string',
      default: 'never',
      value: 'LEVEL',
      help: 'never (default), warn or alert: exit 1 from that level on',
    },
    report: { type: 'string', value: 'FILE', help: 'also write the Markdown report there' },
    ...JSON_FLAG('print the drift report as JSON'),
  },
  exitCodes: '0 done (whatever the verdict, unless --fail-on), 1 failure or drift at --fail-on, 2 usage or configuration error.',
});

const validate = command({
  usage: '[--config FILE] [--set key=value ...]',
  summary: 'check a cdl.yaml and print every problem',
  description: 'Validate cdl.yaml against its schema and report every problem with its path and line.',
  options: { ...CONFIG, ...SET },
  exitCodes: '0 valid, 2 not valid, or a usage error (no such file).',
});

const schema = command({
  usage: '[--out FILE]',
  summary: 'print the JSON Schema of cdl.yaml (for editors)',
  description: 'Print the JSON Schema of cdl.yaml, generated from the same schema the validation uses.',
  options: { out: { type: 'string', short: 'o', value: 'FILE', help: 'write it to FILE instead of stdout' } },
  exitCodes: '0 printed or written, 2 usage error.',
});

/** Every command, in the order `cdl --help` lists them. */
export const COMMANDS = {
  init,
  train,
  tune,
  run,
  evaluate,
  gate,
  serve,
  compress,
  data,
  models,
  runs,
  deploy,
  monitor,
  validate,
  schema,
} satisfies Record<string, CommandSpec>;

/** The declaration of a command by name, if there is one. */
export function commandSpec(name: string): CommandSpec | undefined {
  return Object.hasOwn(COMMANDS, name) ? (COMMANDS as Record<string, CommandSpec>)[name] : undefined;
}

export function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return `cdl ${CDL_VERSION} — continuous deep learning: train, evaluate, compress and deploy models from CI

Usage: cdl <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([k, v]) => `  ${k.padEnd(width)}  ${(v as CommandSpec).summary}`)
  .join('\n')}

Run "cdl <command> --help" for a command's options.`;
}
