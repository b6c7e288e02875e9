/**
 * Typed errors that map to exit codes in one place (the CLI and the actions).
 * 0 success, 1 failure, 2 usage or configuration error.
 */
export class CdlError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command line: unknown flag, missing argument. Exit code 2. */
export class UsageError extends CdlError {
  override readonly exitCode = 2;
}

/** cdl.yaml or an override is invalid. Exit code 2. */
export class ConfigError extends CdlError {
  override readonly exitCode = 2;
}

/** Data cannot be read or does not have the expected form. Exit code 1. */
export class DataError extends CdlError {}

/** Training failed (including a user training command). Exit code 1. */
export class TrainError extends CdlError {}

export function exitCodeOf(err: unknown): number {
  return err instanceof CdlError ? err.exitCode : 1;
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
