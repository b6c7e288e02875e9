/** `cdl init`: write cdl.yaml and the starter workflow for the data of this repository (src/init). */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { fileURLToPath } from 'node:url';
import { findData, inferData, modelName, renderConfig, renderStarter } from '../init/index.js';
import { CdlError, UsageError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { parse } from './args.js';
import { COMMANDS } from './commands.js';
import { repositoryRoot } from './run.js';

const TEMPLATES = fileURLToPath(new URL('../../workflows-templates/', import.meta.url));

/** The branch the repository is on (its default branch in a fresh repository), else main. */
function currentBranch(root: string): string {
  try {
    const b = execFileSync('git', ['symbolic-ref', '--short', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return /^[\w./-]+$/.test(b) ? b : 'main';
  } catch {
    return 'main';
  }
}

export async function initCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, COMMANDS.init, 'init');
  if (!values.yes && !process.stdin.isTTY)
    throw new UsageError('init: not a terminal; pass --yes to write cdl.yaml and .github/workflows/cdl.yml');
  const root = repositoryRoot(process.cwd());
  const dataPath = (values.data as string | undefined) ?? findData(root);
  const config = path.join(root, 'cdl.yaml');
  const starter = path.join(root, '.github', 'workflows', 'cdl.yml');
  if (!values.force) {
    for (const f of [config, starter])
      if (existsSync(f))
        throw new CdlError(`${path.relative(process.cwd(), f) || f} exists; cdl init leaves it alone (--force to overwrite it)`);
  }
  const name = (values.name as string | undefined) ?? modelName(root);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
    throw new UsageError(`init: --name ${JSON.stringify(name)}: expected letters, digits, ".", "_" and "-"`);
  const inf = await inferData(path.relative(root, path.resolve(dataPath)) || '.', root);
  const yaml = renderConfig(inf, name);
  const workflow = renderStarter(TEMPLATES, currentBranch(root));
  const out = (s: string) => process.stdout.write(s + '\n');
  out(
    `${inf.data.path}: ${inf.format}, ${inf.examples.train} training and ${inf.examples.test} test examples of shape [${inf.shape.join(', ')}], ${inf.classes.length} classes (${inf.classes.slice(0, 10).join(', ')}${inf.classes.length > 10 ? ', …' : ''})`,
  );
  if (!values.yes) {
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const answer = (await rl.question('Write cdl.yaml and .github/workflows/cdl.yml? [Y/n] ')).trim().toLowerCase();
    rl.close();
    if (answer && !['y', 'yes'].includes(answer)) {
      out('Nothing written.');
      return 1;
    }
  }
  await writeFileAtomic(config, yaml);
  await writeFileAtomic(starter, workflow);
  const ignore = path.join(root, '.gitignore');
  const ignored = existsSync(ignore) ? readFileSync(ignore, 'utf8') : '';
  if (!/^\/?\.cdl\/?$/m.test(ignored))
    await writeFileAtomic(ignore, `${ignored}${ignored && !ignored.endsWith('\n') ? '\n' : ''}.cdl/\n`);
  out(`Wrote ${path.relative(process.cwd(), config) || config} and ${path.relative(process.cwd(), starter)}.`);
  out('Next:');
  out('  1. Try it here: cdl run cdl.yml --event push --runs-on-any   (trains and gates on this machine)');
  out('  2. Register a GPU runner labelled gpu: runner/gpu/register.sh of cdl (docs/gpu-runners.md)');
  out('  3. Set the repository variables CDL_DEPLOY_TARGET, CDL_SERVE_URL, CDL_SERVE_REPOSITORY for deployment, then push');
  return 0;
}
