/** What the environment says about the workflow run cdl is in: the server, the run's URL, the actor. Read here only. */
import os from 'node:os';

/** The GitHub server (GITHUB_SERVER_URL), github.com outside Actions. */
export function serverUrl(env: NodeJS.ProcessEnv = process.env): string {
  return (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
}

/** The URL of the workflow run, when cdl runs inside one (`repository` defaults to GITHUB_REPOSITORY). */
export function runUrl(env: NodeJS.ProcessEnv = process.env, repository = env.GITHUB_REPOSITORY): string | undefined {
  return env.GITHUB_RUN_ID && repository ? `${serverUrl(env)}/${repository}/actions/runs/${env.GITHUB_RUN_ID}` : undefined;
}

/** Who acts: the user that started the workflow run, else the user of this machine. */
export function actor(env: NodeJS.ProcessEnv = process.env): string {
  return env.GITHUB_ACTOR || os.userInfo().username;
}
