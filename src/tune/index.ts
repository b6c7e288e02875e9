export {
  resolveSpace,
  assignmentOverrides,
  HYPERPARAMETER_ALIASES,
  type Assignment,
  type SearchSpace,
  type ResolvedParam,
} from './space.js';
export { createSampler, randomSampler, gridSampler, tpeSampler, type Sampler, type Observation } from './sampler.js';
export { Scheduler, rungBudgets, schedulerSettings, type Decision, type TrialView } from './scheduler.js';
export { readStudy, saveStudy, bestTrial, totalEpochs, type Study, type TrialRecord } from './study.js';
export { tune, workerMain, defaultWorker, type TuneOptions, type TuneOutcome, type WorkerEntry } from './run.js';
export { runSegment, type SegmentJob, type SegmentResult } from './trial.js';
export { markdownReport, htmlReport, trialsTable, objectiveChart } from './report.js';
export { bestResult, configOverlay, type BestResult } from './output.js';
