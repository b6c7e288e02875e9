/**
 * The workflow templates: reusable workflows and the starter workflows that call them. Every job
 * is least-privilege and in a concurrency group, jobs on self-hosted runners never run for a pull
 * request from a fork (checked by evaluating their conditions and by running the example's
 * workflow under `cdl run` with a fork's payload), the starter metadata has GitHub's shape, and
 * the example's workflows are the templates as a user copies them.
 */
import { cpSync, existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { evaluate, ifCondition } from '../runner/engine/expr.js';
import { runWorkflow } from '../runner/engine/run.js';
import { exampleRepo, git, REPO, removeTempDirs, tempDir } from './helpers/example.js';

afterAll(() => removeTempDirs());

const TEMPLATES = path.join(REPO, 'workflows-templates');
const EXAMPLE_WORKFLOWS = path.join(REPO, 'examples', 'fashion-mnist', '.github', 'workflows');
/** Reusable workflows written and owned elsewhere; the starters that call them give the concurrency group. */
const CALLED_ONLY = new Set(['tune.yml', 'monitor.yml']);

interface Job {
  if?: string;
  needs?: string | string[];
  'runs-on'?: unknown;
  permissions?: unknown;
  concurrency?: unknown;
  uses?: string;
  steps?: Array<{ uses?: string; run?: string }>;
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

const ymls = readdirSync(TEMPLATES)
  .filter((f) => f.endsWith('.yml'))
  .sort();
const reusable = ymls.filter((f) => 'workflow_call' in read(path.join(TEMPLATES, f)).on);
const starters = ymls.filter((f) => !reusable.includes(f));
const mine = reusable.filter((f) => !CALLED_ONLY.has(f));

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
    ifCondition(job.if ?? ''),
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
  it('has reusable workflows for model CI, release and tuning, and starters calling them', () => {
    expect(reusable).toEqual(expect.arrayContaining(['cdl-model-ci.yml', 'cdl-release.yml', 'tune.yml', 'monitor.yml']));
    expect(starters).toEqual(expect.arrayContaining(['cdl.yml', 'cdl-tune.yml', 'cdl-monitor.yml']));
    const called = starters.flatMap((f) => Object.values(read(path.join(TEMPLATES, f)).jobs).map((j) => j.uses)).filter(Boolean);
    for (const r of reusable) expect(called, `${r} is called by no starter`).toContain(`./.github/workflows/${r}`);
    for (const u of called) expect(existsSync(path.join(TEMPLATES, path.basename(u!))), `${u} is not a template`).toBe(true);
  });

  it.each(mine)('%s: every job has its own least-privilege permissions and a concurrency group', (f) => {
    const wf = read(path.join(TEMPLATES, f));
    expect(wf.permissions).toEqual({ contents: 'read' });
    for (const [id, job] of Object.entries(wf.jobs)) {
      expect(job.permissions, `${f}: job ${id}`).toBeTypeOf('object');
      for (const [scope, level] of Object.entries(job.permissions as Record<string, string>)) {
        expect(['read', 'write', 'none'], `${f}: ${id}: ${scope}`).toContain(level);
      }
      expect(job.concurrency, `${f}: job ${id}`).toMatchObject({ group: expect.stringMatching(/^cdl-[a-z]+-\$\{\{/) });
    }
    const groups = Object.values(wf.jobs).map((j) => (j.concurrency as { group: string }).group);
    expect(new Set(groups).size).toBe(groups.length);
  });

  it.each(starters)('%s: a concurrency group over the run, and each called workflow gets no more than it declares', (f) => {
    const wf = read(path.join(TEMPLATES, f));
    expect(wf.permissions).toEqual({ contents: 'read' });
    expect(wf.concurrency).toMatchObject({ group: expect.stringMatching(/^cdl-/) });
    for (const [id, job] of Object.entries(wf.jobs)) {
      expect(job.uses, `${f}: ${id}`).toMatch(/^\.\/\.github\/workflows\/[\w-]+\.yml$/);
      const called = read(path.join(TEMPLATES, path.basename(job.uses!)));
      const needed: Record<string, string> = { ...(called.permissions as Record<string, string>) };
      for (const j of Object.values(called.jobs)) {
        for (const [scope, level] of Object.entries((j.permissions ?? {}) as Record<string, string>))
          if (level === 'write' || !needed[scope]) needed[scope] = level;
      }
      expect(job.permissions ?? wf.permissions, `${f}: ${id} grants what ${job.uses} needs, nothing else`).toEqual(needed);
    }
  });

  it.each(reusable)('%s: jobs on self-hosted runners never start for a pull request from a fork', (f) => {
    const wf = read(path.join(TEMPLATES, f));
    const guarded = Object.keys(wf.jobs).filter((id) => selfHosted(wf.jobs[id]!, wf));
    if (CALLED_ONLY.has(f)) return; // Not triggered by pull requests: their starters run on dispatch and schedule.
    expect(guarded.length).toBeGreaterThan(0);
    for (const id of guarded) expect(runs(wf, id, 'fork_pull_request'), `${f}: ${id} runs for a fork`).toBe(false);
    // …and the guard is not simply "never".
    const events = f === 'cdl-release.yml' ? (['release', 'workflow_dispatch'] as const) : (['push', 'pull_request'] as const);
    for (const e of events) for (const id of guarded) expect(runs(wf, id, e), `${f}: ${id} on ${e}`).toBe(true);
  });

  it('starters that call workflows owned by other templates are not triggered by pull requests', () => {
    for (const f of starters) {
      const wf = read(path.join(TEMPLATES, f));
      const callsOther = Object.values(wf.jobs).some((j) => CALLED_ONLY.has(path.basename(j.uses ?? '')));
      if (callsOther) expect(Object.keys(wf.on), f).not.toContain('pull_request');
    }
  });

  it('copying a starter and the workflows it calls, as documented, schedules each run once', () => {
    // A reusable workflow with its own schedule would run a second time beside its starter's.
    for (const f of reusable) expect(Object.keys(read(path.join(TEMPLATES, f)).on), f).toEqual(['workflow_call']);
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
    const called = read(path.join(TEMPLATES, 'monitor.yml'));
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
    for (const pattern of p.filePatterns as string[]) {
      const re = new RegExp(pattern);
      expect(re.test('cdl.yaml')).toBe(true);
    }
    const on = read(path.join(TEMPLATES, f)).on as Record<string, { branches?: string[] } | null>;
    for (const e of ['push', 'pull_request']) if (on[e]) expect(on[e]!.branches, `${f}: on.${e}`).toEqual(['$default-branch']);
  });

  it('every .properties.json belongs to a starter', () => {
    for (const f of readdirSync(TEMPLATES).filter((x) => x.endsWith('.properties.json'))) {
      expect(starters, f).toContain(f.replace(/\.properties\.json$/, '.yml'));
    }
  });

  it('cdl-release.yml ships the model blessed on push: it never trains, and copies no model file by hand', () => {
    const wf = read(path.join(TEMPLATES, 'cdl-release.yml'));
    const steps = Object.values(wf.jobs).flatMap((j) => j.steps ?? []);
    expect(steps.filter((s) => /actions\/(train|tune)\b/.test(s.uses ?? ''))).toEqual([]);
    expect(steps.filter((s) => /(^|\s)(cp|mv|rsync)\s/m.test(s.run ?? ''))).toEqual([]);
    const blessed = steps.find((s) => s.run?.includes('cdl models blessed'));
    expect(blessed?.run).toContain('--commit "$GITHUB_SHA"');
    expect(wf.jobs.package!.permissions).toMatchObject({ actions: 'read' });
  });

  it('runs-dashboard.yml: the page is built with read access only; only the Pages deployment may write, and only Pages', () => {
    const wf = read(path.join(TEMPLATES, 'runs-dashboard.yml'));
    expect(wf.jobs.build!.permissions).toEqual({ contents: 'read' });
    expect(wf.jobs.deploy!.permissions).toEqual({ pages: 'write', 'id-token': 'write' });
    expect(wf.jobs.build!.steps!.map((s) => s.uses ?? s.run)).toEqual([
      'actions/checkout@v4',
      expect.stringMatching(/^cdl runs report --repo cdl-runs --no-fetch --out /),
      'actions/upload-pages-artifact@v3',
    ]);
    expect(Object.keys(read(path.join(TEMPLATES, 'cdl-runs-dashboard.yml')).on)).toEqual(['push', 'workflow_dispatch']);
  });

  it("the example's workflows are the templates as a user copies them", () => {
    const files = readdirSync(EXAMPLE_WORKFLOWS).sort();
    expect(files).toEqual(expect.arrayContaining(['cdl.yml', 'cdl-model-ci.yml', 'cdl-release.yml']));
    for (const f of files) {
      const template = readFileSync(path.join(TEMPLATES, f), 'utf8').replaceAll('$default-branch', 'main');
      expect(readFileSync(path.join(EXAMPLE_WORKFLOWS, f), 'utf8'), f).toBe(template);
    }
  });
});

describe('the example pipeline under cdl run', () => {
  it('a pull request from a fork starts no job: nothing is trained on the self-hosted runner', async () => {
    const { dir } = exampleRepo();
    cpSync(EXAMPLE_WORKFLOWS, path.join(dir, '.github', 'workflows'), { recursive: true });
    symlinkSync(path.join(REPO, 'actions'), path.join(dir, 'actions'));
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
    expect(inner.map((j) => j.key).sort()).toEqual(['model / gate', 'model / train']);
    for (const j of r.jobs) if (j.key !== 'model') expect(j.result, `${j.key}\n${log.slice(-2000)}`).toBe('skipped');
  });
});
