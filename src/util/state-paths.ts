/** The default places cdl writes to, under .cdl/ of the current directory: the one list of them. */
import path from 'node:path';

export const STATE_DIR = '.cdl';

export const defaultPaths = {
  /** A trained model directory. */
  model: (model: string) => path.join(STATE_DIR, 'models', model),
  /** The model `cdl compress` chose. */
  compressedModel: (model: string) => path.join(STATE_DIR, 'models', `${model}-compressed`),
  /** A tuning study. */
  study: (model: string) => path.join(STATE_DIR, 'tune', model),
  /** The gate's report. */
  reports: (model: string) => path.join(STATE_DIR, 'reports', model),
  /** A kserve manifest of a deployment. */
  deployment: (tag: string) => path.join(STATE_DIR, 'deploy', tag),
  /** The model a release ships. */
  releaseModel: () => path.join(STATE_DIR, 'release-model'),
};
