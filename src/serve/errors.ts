/**
 * What the model repository refuses, as domain errors, and the one place where a domain error's
 * HTTP status is chosen. The repository says what went wrong (no such model, a load that failed);
 * the edges answer with httpStatus(e): REST (server.ts) as the status, gRPC (grpc.ts) through its
 * mapping of that status. HttpError stays for the refusals that are the protocol's
 * own (a malformed request, a body too large, a full queue).
 */

/** An HTTP error with the status code to answer; the body is `{"error": message}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Why, where the status alone does not tell (queue_full: the batch queue refused it). */
    readonly reason?: 'queue_full',
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** No such model or version to answer with: unknown, not being served, or a shadow that answers no client. */
export class ModelNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelNotFoundError';
  }
}

/** A model that the repository API was asked to load failed to load (its files or its config). */
export class ModelLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelLoadError';
  }
}

/** The HTTP status a domain error is answered with; undefined for an unexpected error (answered 500, and logged). */
export function httpStatus(e: unknown): number | undefined {
  if (e instanceof HttpError) return e.status;
  if (e instanceof ModelNotFoundError) return 404;
  if (e instanceof ModelLoadError) return 400;
  return undefined;
}
