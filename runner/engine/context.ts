// What one `cdl run` shares between its jobs: the results server, paths, secrets, logging.
import type { ResultsServer } from '../results-server/index.js';
import type { Masker } from './commands.js';
import { ExpressionFailure } from './expr.js';

export type Result = 'success' | 'failure' | 'cancelled' | 'skipped';

export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  job: string;
  message: string;
  file?: string;
  line?: string;
  col?: string;
}

export interface RunContext {
  repoRoot: string;
  runDir: string;
  runId: string;
  runAttempt: string;
  server: ResultsServer;
  masker: Masker;
  /** The github context of the run (event, sha, ref, repository...). */
  github: Record<string, unknown>;
  eventPath: string;
  vars: Record<string, string>;
  /** Labels this machine answers to (runs-on). */
  labels: string[];
  runsOnAny: boolean;
  /** Directory of action checkouts: DIR/owner/repo[@ref]. */
  actionsDir?: string;
  verbose: boolean;
  /** Live log output (already masked). */
  write: (text: string) => void;
  annotations: Annotation[];
  /** Set when an expression could not be evaluated (the run then exits with 2). */
  expressionErrors: string[];
  signal: AbortSignal;
}

/** Runs an evaluation; an expression that fails is also recorded in the run's expression errors. */
export function recordingExpressionErrors<T>(run: RunContext, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof ExpressionFailure) run.expressionErrors.push(error.message);
    throw error;
  }
}
