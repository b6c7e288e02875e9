/**
 * The workflow templates: reusable workflows and the starter workflows that call them. Every job
 * is least-privilege and in a concurrency group, jobs on self-hosted runners never run for a pull
 * request from a fork (checked by evaluating their conditions and by running the example's
 * workflow under `cdl run` with a fork's payload), the starter metadata has GitHub's shape, and
 * the example's workflows are the templates as a user copies them.
 */
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { evaluate, ifCondition } from '../runner/engine/expr.js';
import { runWorkflow } from '../runner/engine/workflow-run.js';
import { CDL_REPOSITORY, CDL_VERSION } from '../src/version.js';
import { exampleRepo, git, REPO, removeTempDirs, tempDir } from './helpers/example.js';

afterAll(() => removeTempDirs());

const TEMPLATES = path.join(REPO, 'workflows-templates');
/** cdl's callable workflows: GitHub calls workflows of another repository only from .github/workflows/. */
const CALLABLE = path.join(REPO, '.github', 'workflows');
const EXAMPLE_WORKFLOWS = path.join(REPO, 'examples', 'fashion-mnist', '.github', 'workflows');
/** Called by the starters that hold their schedule; the starter gives the concurrency group. */
const CALLED_ONLY = new Set(['tune.yml', 'monitor.yml']);
const MAJOR = CDL_VERSION.split('.')[0]!;

interface Job {
  if?: string;
  needs?: string | string[];
  'runs-on'?: unknown;
  permissions?: unknown;
  concurrency?: unknown;
  uses?: string;
  with?: Record<string, unknown>;
  steps?: Array<{ uses?: string; run?: string; with?: Record<string, unknown> }>;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: unknown;
  concurrency?: unknown;
  jobs: Record<string, Job>;
}

function read(file: string): Workflow {
  return parseYaml(readFileSync(file, 'utf8')) as Workflow;
}

const starters = readdirSync(TEMPLATES)
  .filter((f) => f.endsWith('.yml'))
  .sort();
const reusable = readdirSync(CALLABLE)
  .filter((f) => f.endsWith('.yml') && 'workflow_call' in read(path.join(CALLABLE, f)).on)
  .sort();
/** The callable workflows whose jobs run steps and hold their own concurrency groups. */
const mine = ['model-ci.yml', 'release.yml'];

/** The callable workflow file a `uses:` of cdl's own repository names. */
function calledFile(uses: string): string {
  const m = new RegExp(`^${CDL_REPOSITORY}/\\.github/workflows/([\\w-]+\\.yml)@v[\\d.]+$`).exec(uses);
  expect(m, uses).not.toBeNull();
  return path.join(CALLABLE, m![1]!);
}

/** The permissions a called workflow's jobs ask for, through the workflows it calls. */
function needed(file: string): Record<string, string> {
  const called = read(file);
  const out: Record<string, string> = { ...(called.permissions as Record<string, string>) };
  const add = (perms: Record<string, string>) => {
    for (const [scope, level] of Object.entries(perms)) if (level === 'write' || !out[scope]) out[scope] = level;
  };
  for (const j of Object.values(called.jobs)) {
    add((j.permissions ?? {}) as Record<string, string>);
    if (j.uses) add(needed(calledFile(j.uses)));
  }
  return out;
}

/** The contexts GitHub gives a job for an event; a fork's pull request has a head in another repository. */
function contexts(
  event: 'push' | 'pull_request' | 'fork_pull_request' | 'release' | 'workflow_dispatch',
): Record<string, unknown> {
  const repository = 'octo/models';
  const name = event === 'fork_pull_request' ? 'pull_request' : event;
  const payload: Record<string, unknown> = {};
  if (name === 'pull_request')
    payload.pull_request = {
      number: 7,
      head: { repo: { full_name: event === 'fork_pull_request' ? 'mallory/models' : repository } },
    };
  if (name === 'release') payload.release = { tag_name: 'fashion-mnist@v1.0.0' };
  return {
    github: { event_name: name, repository, ref: 'refs/heads/main', workflow: 'cdl', event: payload },
    inputs: {},
    vars: {},
    needs: {},
  };
}

/** Whether a job starts for the event, following its needs (a job whose needs are skipped is skipped). */
function runs(wf: Workflow, id: string, event: Parameters<typeof contexts>[0]): boolean {
  const job = wf.jobs[id]!;
  const needs = job.needs === undefined ? [] : ([] as string[]).concat(job.needs);
  const status = needs.every((n) => runs(wf, n, event)) ? 'success' : 'skipped';
  if (status === 'skipped' && !/\b(always|failure|cancelled)\s*\(/.test(job.if ?? '')) return false;
  const value = evaluate(
    ifCondition((job.if ?? '').replace(/^\$\{\{\s*|\s*\}\}$/g, '')),
    contexts(event),
    { status: () => (status === 'skipped' ? 'success' : status), workspace: REPO },
    { file: id, line: 0, column: 0 },
  );
  return Boolean(value);
}

function selfHosted(job: Job, wf: Workflow): boolean {
  const labels = JSON.stringify(job['runs-on'] ?? '');
  if (labels.includes('self-hosted')) return true;
  // runs-on from an input: self-hosted when the input's default names it.
  const m = /inputs\.([\w-]+)/.exec(labels);
  const inputs = (wf.on.workflow_call as { inputs?: Record<string, { default?: unknown }> } | null)?.inputs ?? {};
  return Boolean(m && String(inputs[m[1]!]?.default ?? '').includes('self-hosted'));
}

describe('workflow templates', () => {
  it('cdl has callable workflows for the pipeline, model CI, release, tuning and monitoring, and starters calling them', () => {
    expect(reusable).toEqual(expect.arrayContaining(['pipeline.yml', 'model-ci.yml', 'release.yml', 'tune.yml', 'monitor.yml']));
    expect(starters).toEqual(['cdl-monitor.yml', 'cdl-runs-dashboard.yml', 'cdl-tune.yml', 'cdl.yml']);
    const called = [...starters.map((f) => path.join(TEMPLATES, f)), ...reusable.map((f) => path.join(CALLABLE, f))]
      .flatMap((f) => Object.values(read(f).jobs).map((j) => j.uses))
      .filter(Boolean)
      .map((u) => path.basename(calledFile(u!)));
    for (const r of reusable) expect(called, `${r} is called by no starter`).toContain(r);
  });

  it.each(starters)('%s: at most about 15 lines, calling cdl by its major version with the secrets inherited', (f) => {
    const text = readFileSync(path.join(TEMPLATES, f), 'utf8');
    expect(text.trimEnd().split('\n').length).toBeLessThanOrEqual(16);
    const wf = read(path.join(TEMPLATES, f));
    for (const job of Object.values(wf.jobs)) {
      expect(job.uses).toMatch(new RegExp(`^${CDL_REPOSITORY}/\\.github/workflows/[\\w-]+\\.yml@v${MAJOR}$`));
      expect(job).toMatchObject({ secrets: 'inherit' });
    }
    // Nothing for the user to edit: no $default-branch (filled in only by an organisation's starter
    // templates), no local actions.
    expect(text).not.toContain('$default-branch');
    expect(text).not.toMatch(/\.\/actions\//);
    const on = wf.on as Record<string, { branches?: string[] } | null>;
    if (on.push) expect(on.push.branches).toEqual(['main']);
  });

  it.each(reusable)('%s: only called, and every cdl reference in it is pinned to this release', (f) => {
    const wf = read(path.join(CALLABLE, f));
    // A reusable workflow with its own schedule would run a second time beside its starter's.
    expect(Object.keys(wf.on)).toEqual(['workflow_call']);
    const uses = Object.values(wf.jobs)
      .flatMap((j) => [j.uses, ...(j.steps ?? []).map((s) => s.uses)])
      .filter(Boolean) as string[];
    for (const u of uses) {
      expect(u, `${f}: ${u}`).not.toMatch(/^\.\//);
      if (u.startsWith(`${CDL_REPOSITORY}/`)) expect(u, f).toMatch(new RegExp(`@v${CDL_VERSION.replaceAll('.', '\\.')}$`));
    }
    // No step needs the cdl command line on the runner: everything cdl does is an action.
    const scripts = Object.values(wf.jobs).flatMap((j) => (j.steps ?? []).map((st) => st.run ?? ''));
    expect(
      scripts.filter((r) => /(^|[\s;|&(])cdl\s/m.test(r)),
      f,
    ).toEqual([]);
    expect(wf.permissions).toEqual({ contents: 'read' });
    for (const [id, job] of Object.entries(wf.jobs))
      expect(job.permissions ?? wf.permissions, `${f}: job ${id}`).toBeTypeOf('object');
  });

  it.each(mine)('%s: every job has its own least-privilege permissions and a concurrency group', (f) => {
    const wf = read(path.join(CALLABLE, f));
    for (const [id, job] of Object.entries(wf.jobs)) {
      for (const [scope, level] of Object.entries(job.permissions as Record<string, string>)) {
        expect(['read', 'write', 'none'], `${f}: ${id}: ${scope}`).toContain(level);
      }
      expect(job.concurrency, `${f}: job ${id}`).toMatchObject({ group: expect.stringMatching(/^cdl-[a-z]+-\$\{\{/) });
    }
    const groups = Object.values(wf.jobs).map((j) => (j.concurrency as { group: string }).group);
    expect(new Set(groups).size).toBe(groups.length);
  });

  it.each([...starters.map((f) => path.join(TEMPLATES, f)), path.join(CALLABLE, 'pipeline.yml')])(
    '%s: each call grants what the called workflow asks for, nothing else',
    (file) => {
      const wf = read(file);
      for (const [id, job] of Object.entries(wf.jobs)) {
        // One concurrency group over the run: the starter's, or the called pipeline's.
        const group = wf.concurrency ?? read(calledFile(job.uses!)).concurrency;
        expect(group, `${file}: ${id}`).toMatchObject({ group: expect.stringMatching(/^cdl-/) });
        expect(job.permissions ?? wf.permissions, `${file}: ${id} grants what ${job.uses} needs`).toEqual(
          needed(calledFile(job.uses!)),
        );
      }
    },
  );

  it.each(reusable)('%s: jobs on self-hosted runners never start for a pull request from a fork', (f) => {
    const wf = read(path.join(CALLABLE, f));
    const guarded = Object.keys(wf.jobs).filter((id) => selfHosted(wf.jobs[id]!, wf));
    for (const id of guarded) expect(runs(wf, id, 'fork_pull_request'), `${f}: ${id} runs for a fork`).toBe(false);
    if (f === 'pipeline.yml') {
      // It runs no step itself; model-ci.yml, which it calls on pull requests, holds the guard.
      expect(guarded).toEqual([]);
      expect(runs(wf, 'model', 'fork_pull_request')).toBe(true);
      return;
    }
    expect(guarded.length).toBeGreaterThan(0);
    // …and the guard is not simply "never".
    const events =
      f === 'release.yml'
        ? (['release', 'workflow_dispatch'] as const)
        : f === 'model-ci.yml'
          ? (['push', 'pull_request'] as const)
          : (['workflow_dispatch'] as const);
    const roots = guarded.filter((id) => !wf.jobs[id]!.needs);
    for (const e of events) for (const id of roots) expect(runs(wf, id, e), `${f}: ${id} on ${e}`).toBe(true);
  });

  it('starters that call tuning or monitoring are not triggered by pull requests', () => {
    for (const f of starters) {
      const wf = read(path.join(TEMPLATES, f));
      const callsOther = Object.values(wf.jobs).some((j) => CALLED_ONLY.has(path.basename(calledFile(j.uses!))));
      if (callsOther) expect(Object.keys(wf.on), f).not.toContain('pull_request');
    }
  });

  it('cdl-monitor.yml: monitoring runs on a self-hosted runner (inside the network of the model server) unless told otherwise', () => {
    const starter = read(path.join(TEMPLATES, 'cdl-monitor.yml'));
    const job = starter.jobs.monitor as Job & { with: Record<string, string> };
    const labels = (vars: Record<string, string>) =>
      JSON.parse(
        String(
          evaluate(
            job.with['runs-on']!.replace(/^\$\{\{\s*|\s*\}\}$/g, ''),
            { ...contexts('workflow_dispatch'), vars },
            { status: () => 'success', workspace: REPO },
            { file: 'cdl-monitor.yml', line: 0, column: 0 },
          ),
        ),
      ) as string[];
    expect(labels({})).toEqual(['self-hosted', 'gpu']);
    expect(labels({ CDL_MONITOR_RUNS_ON: '["self-hosted", "monitor"]' })).toEqual(['self-hosted', 'monitor']);
    const called = read(path.join(CALLABLE, 'monitor.yml'));
    expect(JSON.stringify(called.jobs.monitor!['runs-on'])).toContain('inputs.runs-on');
  });

  it.each(starters)("%s has a starter-workflow .properties.json of GitHub's shape", (f) => {
    const file = path.join(TEMPLATES, f.replace(/\.yml$/, '.properties.json'));
    expect(existsSync(file), file).toBe(true);
    const p = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(
      Object.keys(p).every((k) =>
        ['name', 'description', 'iconName', 'categories', 'filePatterns', 'creator', 'labels'].includes(k),
      ),
    ).toBe(true);
    expect(p.name).toEqual(expect.any(String));
    expect(p.description).toEqual(expect.any(String));
    expect(p.iconName).toMatch(/^(octicon [a-z0-9-]+|[a-z0-9-]+)$/);
    expect(p.categories).toEqual(expect.arrayContaining([expect.any(String)]));
    for (const pattern of p.filePatterns as string[]) expect(new RegExp(pattern).test('cdl.yaml')).toBe(true);
  });

  it('every .properties.json belongs to a starter', () => {
    for (const f of readdirSync(TEMPLATES).filter((x) => x.endsWith('.properties.json'))) {
      expect(starters, f).toContain(f.replace(/\.properties\.json$/, '.yml'));
    }
  });

  it('release.yml ships the model blessed on push with actions only: it never trains, and runs no cdl command line', () => {
    const wf = read(path.join(CALLABLE, 'release.yml'));
    const steps = Object.values(wf.jobs).flatMap((j) => j.steps ?? []);
    expect(steps.filter((s) => /actions\/(train|tune)\b/.test(s.uses ?? ''))).toEqual([]);
    expect(steps.filter((s) => /(^|\s)(cp|mv|rsync)\s/m.test(s.run ?? ''))).toEqual([]);
    expect(steps.filter((s) => /(^|[\s;|&(])cdl\s/m.test(s.run ?? ''))).toEqual([]);
    const promote = steps.filter((s) => s.uses?.startsWith(`${CDL_REPOSITORY}/actions/promote@`));
    expect(promote.map((s) => s.with?.mode)).toEqual(['blessed', 'promote']);
    // Reading the push run's artifact, and signing the provenance statement.
    expect(wf.jobs.package!.permissions).toMatchObject({ actions: 'read', 'id-token': 'write', attestations: 'write' });
  });

  it('runs-dashboard.yml: the page is built with read access only; only the Pages deployment may write, and only Pages', () => {
    const wf = read(path.join(CALLABLE, 'runs-dashboard.yml'));
    expect(wf.jobs.build!.permissions).toEqual({ contents: 'read' });
    expect(wf.jobs.deploy!.permissions).toEqual({ pages: 'write', 'id-token': 'write' });
    expect(wf.jobs.build!.steps!.map((s) => s.uses ?? s.run)).toEqual([
      'actions/checkout@v4',
      `${CDL_REPOSITORY}/actions/runs-report@v${CDL_VERSION}`,
      'actions/upload-pages-artifact@v3',
    ]);
    expect(Object.keys(read(path.join(TEMPLATES, 'cdl-runs-dashboard.yml')).on)).toEqual(['push', 'workflow_dispatch']);
  });

  it("the example's workflow is the starter a user copies, with no local actions", () => {
    expect(readdirSync(EXAMPLE_WORKFLOWS)).toEqual(['cdl.yml']);
    expect(readFileSync(path.join(EXAMPLE_WORKFLOWS, 'cdl.yml'), 'utf8')).toBe(
      readFileSync(path.join(TEMPLATES, 'cdl.yml'), 'utf8'),
    );
  });
});

describe('the example pipeline under cdl run', () => {
  it('a pull request from a fork starts no job: nothing is trained on the self-hosted runner', async () => {
    const { dir } = exampleRepo();
    cpSync(EXAMPLE_WORKFLOWS, path.join(dir, '.github', 'workflows'), { recursive: true });
    git(dir, 'add', '.');
    git(dir, 'commit', '-q', '-m', 'workflows');
    git(dir, 'checkout', '-q', '-b', 'contributor/patch');
    const payload = path.join(tempDir('cdl-fork-'), 'payload.json');
    writeFileSync(payload, JSON.stringify({ pull_request: { head: { repo: { full_name: 'mallory/models', fork: true } } } }));
    let log = '';
    const r = await runWorkflow({
      workflow: '.github/workflows/cdl.yml',
      repoRoot: dir,
      event: 'pull_request',
      payloadFile: payload,
      stateDir: tempDir('cdl-fork-state-'),
      write: (s) => (log += s),
    });
    expect(r.exitCode, log.slice(-2000)).toBe(0);
    // The callers of reusable workflows run no step themselves; every job with steps is skipped.
    const inner = r.jobs.filter((j) => j.key.includes(' / '));
    expect(inner.map((j) => j.key).sort()).toEqual(['cdl / model', 'cdl / model / gate', 'cdl / model / train', 'cdl / release']);
    for (const j of r.jobs)
      if (!['cdl', 'cdl / model'].includes(j.key)) expect(j.result, `${j.key}\n${log.slice(-2000)}`).toBe('skipped');
  });
});
