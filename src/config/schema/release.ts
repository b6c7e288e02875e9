/** release: what a release does when the tagged commit has no blessed model (cdl.yaml). */
import { z } from 'zod';

/** release: what a release does when the tagged commit has no blessed model (docs/pipeline.md). */
export const releaseSection = z.strictObject({
  on_missing_model: z
    .enum(['stop', 'retrain'])
    .default('stop')
    .describe(
      'When no blessed model-<sha> artifact exists for the released commit: stop (name the commit and what to do), or retrain at release (recorded in lineage)',
    ),
});

export type ReleaseSection = z.output<typeof releaseSection>;
