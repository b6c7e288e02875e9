/** The drift level from which monitoring fails the job (--fail-on, the fail-on input). */
import { UsageError } from '../util/errors.js';
import type { DriftStatus } from './drift.js';

/** Whether `status` fails the job under `failOn` (never, warn or alert). */
export function failsOn(status: DriftStatus, failOn: string): boolean {
  if (!['never', 'warn', 'alert'].includes(failOn))
    throw new UsageError(`fail-on: expected never, warn or alert, got "${failOn}"`);
  return (failOn === 'alert' && status === 'alert') || (failOn === 'warn' && (status === 'warn' || status === 'alert'));
}
