// Finds the action a step uses: a local directory (`./path`), a built-in offline equivalent of a
// popular remote action, a checkout under --actions-dir, or a clear refusal.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadWorkflowParser } from './load.js';
import { formatWhere, type Where } from './expr.js';
import { selfReference } from './self.js';
import { WorkflowError, formatProblem, literal, stepsFromToken, tokenEntries, type StepDef } from './workflow.js';

export interface ActionDef {
  dir: string;
  /** action.yml path as shown in messages. */
  metadataFile: string;
  using: string;
  main?: string;
  pre?: string;
  preIf?: string;
  post?: string;
  postIf?: string;
  inputs: Record<string, { default?: unknown; required?: boolean }>;
  outputs: Record<string, { value?: unknown }>;
  steps?: StepDef[];
  /** owner/repo for remote actions. */
  repository?: string;
}

/** Remote actions cdl runs offline with its own implementation (runner/actions/<name>). */
const BUILTIN_ACTIONS: Record<string, string> = {
  'actions/checkout': 'checkout',
  'actions/upload-artifact': 'upload-artifact',
  'actions/download-artifact': 'download-artifact',
  'actions/cache': 'cache',
  'actions/cache/restore': 'cache-restore',
  'actions/cache/save': 'cache-save',
  'actions/setup-node': 'setup-node',
};

const BUILTIN_DIR = fileURLToPath(new URL('../actions/', import.meta.url));

interface ResolveOptions {
  workspace: string;
  actionsDir?: string;
  where: Where;
  fromAction?: string;
}

const cache = new Map<string, Promise<ActionDef>>();

/**
 * The absolute path of a local `uses: ./path`, which must stay inside the workspace (GitHub
 * refuses paths that leave the repository, and so does cdl run): `..` segments that lead outside
 * are a WorkflowError at `where`. Symlinks are followed as on GitHub: a repository that links an
 * action folder in (as this project's tests do) keeps working.
 */
export function localUsesPath(uses: string, workspace: string, where: Where, what = 'local action'): string {
  const at = formatWhere(where);
  if (!uses.startsWith('./') && uses !== '.') {
    throw new WorkflowError(`${at}: ${what} ${uses}: a local path must start with ./ (relative to the repository root)`);
  }
  const root = path.resolve(workspace);
  const dir = path.resolve(root, uses);
  const rel = path.relative(root, dir);
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    throw new WorkflowError(`${at}: ${what} ${uses} is outside the repository (GitHub runs only paths inside it)`);
  }
  return dir;
}

export function resolveAction(uses: string, opts: ResolveOptions): Promise<ActionDef> {
  const key = `${opts.workspace}\n${opts.actionsDir ?? ''}\n${uses}`;
  let found = cache.get(key);
  if (!found) {
    found = resolveUncached(uses, opts);
    cache.set(key, found);
    found.catch(() => cache.delete(key));
  }
  return found;
}

async function resolveUncached(uses: string, opts: ResolveOptions): Promise<ActionDef> {
  const at = formatWhere(opts.where);
  if (uses.startsWith('docker://')) {
    throw new WorkflowError(`${at}: ${uses}: container actions are not supported by cdl run (it runs steps on the host)`);
  }
  if (uses.startsWith('./') || uses.startsWith('../') || uses === '.') {
    const dir = localUsesPath(uses, opts.workspace, opts.where);
    const meta = metadataPath(dir);
    if (!meta) {
      throw new WorkflowError(
        `${at}: local action ${uses} not found: no action.yml or action.yaml in ${path.relative(opts.workspace, dir) || '.'}`,
      );
    }
    return readAction(dir, meta, path.relative(opts.workspace, meta));
  }
  const m = /^([^/@\s]+)\/([^/@\s]+)((?:\/[^@\s]+)?)@(\S+)$/.exec(uses);
  if (!m)
    throw new WorkflowError(`${at}: ${JSON.stringify(uses)} is not an action reference (expected ./path or owner/repo@ref)`);
  const [, owner, repo, sub, ref] = m as unknown as [string, string, string, string, string];
  const name = `${owner}/${repo}${sub}`.toLowerCase();
  if (opts.actionsDir) {
    for (const base of [path.join(opts.actionsDir, owner, `${repo}@${ref}`), path.join(opts.actionsDir, owner, repo)]) {
      const dir = path.join(base, sub);
      const meta = metadataPath(dir);
      if (meta) return { ...(await readAction(dir, meta, meta)), repository: `${owner}/${repo}` };
    }
  }
  // cdl's own actions (after --actions-dir, which may hold another copy of cdl).
  const self = selfReference(uses, opts.where);
  if (self?.kind === 'workflow')
    throw new WorkflowError(`${at}: ${uses} is a workflow: call it from a job's uses:, not a step's`);
  if (self)
    return {
      ...(await readAction(self.path, metadataPath(self.path)!, `${uses} (${self.path})`)),
      repository: uses.split('/', 2).join('/'),
    };
  const builtin = BUILTIN_ACTIONS[name];
  if (builtin) {
    const dir = path.join(BUILTIN_DIR, builtin);
    return { ...(await readAction(dir, path.join(dir, 'action.yml'), `${uses} (built-in)`)), repository: `${owner}/${repo}` };
  }
  throw new WorkflowError(
    `${at}: the action ${uses} is not available offline: cdl run has built-in equivalents of ` +
      `${Object.keys(BUILTIN_ACTIONS).join(', ')}; for others, put a checkout at ` +
      `${opts.actionsDir ? path.join(opts.actionsDir, owner, repo) : 'DIR/' + owner + '/' + repo} and pass --actions-dir DIR`,
  );
}

function metadataPath(dir: string): string | undefined {
  for (const f of ['action.yml', 'action.yaml']) if (existsSync(path.join(dir, f))) return path.join(dir, f);
  return undefined;
}

async function readAction(dir: string, file: string, display: string): Promise<ActionDef> {
  const wp = await loadWorkflowParser();
  const { parseAction } = await import('@actions/workflow-parser/actions/action-parser');
  const parsed = parseAction({ name: display, content: await readFile(file, 'utf8') }, new wp.NoOperationTraceWriter());
  // The runner does not insist on name and description; the schema does.
  const errors = parsed.context.errors
    .getErrors()
    .filter((e) => !/Required property is missing: (name|description)$/.test(e.message));
  if (errors.length || !parsed.value) {
    throw new WorkflowError(
      errors.map((e) => formatProblem(display, e.rawMessage, e.range)).join('\n') || `${display}: not an action`,
    );
  }
  const root = Object.fromEntries(tokenEntries(parsed.value).map(([k, v]) => [k, v]));
  const runs = Object.fromEntries(tokenEntries(root['runs']).map(([k, v]) => [k, v]));
  const str = (k: string) => (runs[k] ? String(literal(runs[k])) : undefined);
  const using = str('using') ?? '';
  const def: ActionDef = {
    dir,
    metadataFile: display,
    using,
    inputs: (literal(root['inputs']) ?? {}) as ActionDef['inputs'],
    outputs: (literal(root['outputs']) ?? {}) as ActionDef['outputs'],
  };
  if (/^node\d+$/.test(using)) {
    def.main = str('main');
    def.pre = str('pre');
    def.post = str('post');
    def.preIf = str('pre-if');
    def.postIf = str('post-if');
    if (!def.main) throw new WorkflowError(`${display}: runs.main is required for a ${using} action`);
  } else if (using === 'composite') {
    def.steps = stepsFromToken(runs['steps'], display);
  } else {
    throw new WorkflowError(
      `${display}: runs.using ${JSON.stringify(using)} is not supported by cdl run (node12-24 and composite actions are)`,
    );
  }
  return def;
}
