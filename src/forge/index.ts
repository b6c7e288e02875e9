/** The forge chosen from the environment: GitHub inside Actions with a token, local files otherwise. */
import { LocalForge } from './local.js';
import type { Forge } from './types.js';

export interface SelectForgeOptions {
  /** GitHub token; default $GITHUB_TOKEN. */
  token?: string;
  /** Project root for the local forge; default the working directory. */
  root?: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

/**
 * `CDL_FORGE=local|github` decides when set; otherwise GitHub when running in GitHub Actions
 * (GITHUB_ACTIONS=true) with a token and a repository, local otherwise (`cdl run`, the CLI).
 */
export async function selectForge(opts: SelectForgeOptions = {}): Promise<Forge> {
  const env = opts.env ?? process.env;
  const token = opts.token || env.GITHUB_TOKEN || '';
  const wanted = env.CDL_FORGE;
  const github = wanted ? wanted === 'github' : env.GITHUB_ACTIONS === 'true' && Boolean(token) && Boolean(env.GITHUB_REPOSITORY);
  if (github) {
    const { GitHubForge } = await import('./github.js');
    return new GitHubForge({
      token,
      repository: env.GITHUB_REPOSITORY,
      apiUrl: env.GITHUB_API_URL,
      eventPath: env.GITHUB_EVENT_PATH,
      sha: env.GITHUB_SHA,
      log: opts.log,
    });
  }
  return new LocalForge({ root: opts.root, token });
}
