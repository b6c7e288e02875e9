/**
 * The input and output names of every action, as its action.yml declares them: the entry points
 * (actions/<name>/src/main.ts) read and set them only through these, and test/action-names.test.ts
 * checks that each list matches its action.yml exactly.
 */

export const COMPRESS = {
  inputs: {
    model: 'model',
    config: 'config',
    set: 'set',
    methods: 'methods',
    maxAccuracyDrop: 'max-accuracy-drop',
    out: 'out',
    artifactName: 'artifact-name',
    upload: 'upload',
    retentionDays: 'retention-days',
  },
  outputs: {
    modelDir: 'model-dir',
    artifactName: 'artifact-name',
    method: 'method',
    compressed: 'compressed',
    sizeRatio: 'size-ratio',
    report: 'report',
  },
} as const;

export const DATA = {
  inputs: {
    command: 'command',
    config: 'config',
    set: 'set',
    manifest: 'manifest',
    failOnChange: 'fail-on-change',
  },
  outputs: {
    errors: 'errors',
    warnings: 'warnings',
    report: 'report',
    version: 'version',
    cacheKey: 'cache-key',
    manifest: 'manifest',
    changed: 'changed',
    clean: 'clean',
  },
} as const;

export const DEPLOY = {
  inputs: {
    version: 'version',
    config: 'config',
    set: 'set',
    target: 'target',
    environment: 'environment',
    serverUrl: 'server-url',
    repository: 'repository',
    canaryPercent: 'canary-percent',
    token: 'token',
  },
  outputs: {
    tag: 'tag',
    version: 'version',
    state: 'state',
    outcome: 'outcome',
    source: 'source',
    environmentUrl: 'environment-url',
    deploymentId: 'deployment-id',
    manifest: 'manifest',
  },
} as const;

export const EVALUATE_GATE = {
  inputs: {
    model: 'model',
    baseline: 'baseline',
    config: 'config',
    set: 'set',
    failOnReject: 'fail-on-reject',
    comment: 'comment',
    forceBless: 'force-bless',
    reportDir: 'report-dir',
    token: 'token',
  },
  outputs: {
    blessed: 'blessed',
    decision: 'decision',
    metrics: 'metrics',
    report: 'report',
    blessing: 'blessing',
    modelDir: 'model-dir',
  },
} as const;

export const MONITOR = {
  inputs: {
    model: 'model',
    source: 'source',
    config: 'config',
    set: 'set',
    issue: 'issue',
    retrain: 'retrain',
    failOn: 'fail-on',
    token: 'token',
  },
  outputs: {
    status: 'status',
    predictionPsi: 'prediction-psi',
    drifted: 'drifted',
    report: 'report',
    issueUrl: 'issue-url',
    dispatched: 'dispatched',
  },
} as const;

export const PROMOTE = {
  inputs: {
    mode: 'mode',
    config: 'config',
    set: 'set',
    commit: 'commit',
    out: 'out',
    model: 'model',
    version: 'version',
    variants: 'variants',
    token: 'token',
  },
  outputs: {
    modelDir: 'model-dir',
    source: 'source',
    tag: 'tag',
    status: 'status',
  },
} as const;

export const RUNS_REPORT = {
  inputs: {
    repo: 'repo',
    out: 'out',
    title: 'title',
  },
  outputs: {
    file: 'file',
    runs: 'runs',
  },
} as const;

export const TRAIN = {
  inputs: {
    config: 'config',
    set: 'set',
    out: 'out',
    artifactName: 'artifact-name',
    upload: 'upload',
    retentionDays: 'retention-days',
    resume: 'resume',
    cacheCheckpoint: 'cache-checkpoint',
    token: 'token',
  },
  outputs: {
    modelDir: 'model-dir',
    artifactName: 'artifact-name',
    metrics: 'metrics',
    mainMetric: 'main-metric',
    mainMetricName: 'main-metric-name',
  },
} as const;

export const TUNE = {
  inputs: {
    config: 'config',
    set: 'set',
    mode: 'mode',
    out: 'out',
    parallel: 'parallel',
    trials: 'trials',
    trial: 'trial',
    rung: 'rung',
    resultsDir: 'results-dir',
    checkpointDir: 'checkpoint-dir',
    fresh: 'fresh',
    finalModel: 'final-model',
  },
  outputs: {
    studyDir: 'study-dir',
    matrix: 'matrix',
    done: 'done',
    best: 'best',
    bestValue: 'best-value',
    result: 'result',
  },
} as const;

/** Each action's names, by its folder under actions/. */
export const ACTION_NAMES = {
  compress: COMPRESS,
  data: DATA,
  deploy: DEPLOY,
  'evaluate-gate': EVALUATE_GATE,
  monitor: MONITOR,
  promote: PROMOTE,
  'runs-report': RUNS_REPORT,
  train: TRAIN,
  tune: TUNE,
} as const;
