/** A forced blessing (--force-bless, the force-bless input): its reason and who gave it. */
import { UsageError } from '../util/errors.js';
import { actor } from '../util/run-env.js';

/** The reason given with --force-bless; a bare yes/true is not a reason. */
function forceBlessReason(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (!v || /^(true|yes|1|on)$/i.test(v)) {
    throw new UsageError(
      'force-bless needs a reason, e.g. --force-bless "accuracy drop accepted: new class added" (it is recorded in blessing.json)',
    );
  }
  return v;
}

/** The forced blessing of a given value (undefined: none), recorded with the actor. */
export function forceBless(value: string | undefined): { reason: string; by: string } | undefined {
  const reason = forceBlessReason(value);
  return reason ? { reason, by: actor() } : undefined;
}
