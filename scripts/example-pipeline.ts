/**
 * The example pipeline, end to end on this machine, in the order users live it: a temporary git
 * repository holding the Fashion-MNIST example and its starter workflow (.github/workflows/cdl.yml
 * calling cdl's pipeline.yml by version, exactly as a user copies it), run with `cdl run`:
 *   push to main     → train and gate (nothing in production yet: the first model is blessed)
 *   release 1.0.0    → the model blessed on that push (never trained again): compress, promote to
 *                      fashion-mnist@v1.0.0, deploy to a local cdl serve: production is v1.0.0
 *   pull request     → train, gate against production v1.0.0: the comment with deltas,
 *                      significance and per-class changes
 *   merge, push      → train and gate the merged commit
 *   release 1.1.0    → when that model was blessed: ship it; otherwise the candidate stays rejected
 * then a prediction from the served model. Prints where to read the pull request's comment, the
 * HTML report, the endpoint and the prediction. `npm run example` (the project goes to
 * .cdl/example; `--dir DIR` elsewhere, `--serve` keeps the server running until Ctrl-C).
 *
 * The functions are shared with the end-to-end test (test/e2e.test.ts).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/index.js';
import { loadDataset } from '../src/data/index.js';
import { MODEL_FILES } from '../src/model-dir/files.js';
import { runWorkflow, type RunSummary } from '../runner/engine/workflow-run.js';

export const CDL_REPO = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const EXAMPLE = path.join(CDL_REPO, 'examples', 'fashion-mnist');
export const MODEL = 'fashion-mnist';

export interface Project {
  dir: string;
  /** The model repository the local cdl serve serves. */
  serveRepository: string;
  git: (...args: string[]) => Promise<string>;
}

/**
 * A git repository (branch main) holding the example as a user has it: cdl.yaml, the data and the
 * starter workflow, which calls cdl's workflows by version (`cdl run` runs them from this cdl).
 * `edit` changes cdl.yaml before the first commit.
 */
export async function createProject(opts: { dir?: string; edit?: (yaml: string) => string } = {}): Promise<Project> {
  const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'cdl-pipeline-'));
  mkdirSync(dir, { recursive: true });
  const yaml = readFileSync(path.join(EXAMPLE, 'cdl.yaml'), 'utf8').replace(/^# yaml-language-server.*\n/, '');
  writeFileSync(path.join(dir, 'cdl.yaml'), opts.edit ? opts.edit(yaml) : yaml);
  cpSync(path.join(EXAMPLE, 'data'), path.join(dir, 'data'), { recursive: true });
  cpSync(path.join(EXAMPLE, '.github'), path.join(dir, '.github'), { recursive: true });
  writeFileSync(path.join(dir, '.gitignore'), '.cdl/\nserve/\n');
  const serveRepository = path.join(dir, 'serve');
  mkdirSync(serveRepository, { recursive: true });

  // Inside cdl run the forge is the local one: releases, comments and deployments under .cdl/.
  process.env.CDL_FORGE = 'local';

  const git = async (...args: string[]) =>
    execFileSync(
      'git',
      ['-c', 'user.name=cdl example', '-c', 'user.email=example@localhost', '-c', 'commit.gpgsign=false', ...args],
      {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    ).trim();
  await git('init', '-q', '-b', 'main');
  await git('add', '.');
  await git('commit', '-q', '-m', 'The Fashion-MNIST example with the cdl workflows');
  return { dir, serveRepository, git };
}

/** Change cdl.yaml on the current branch and commit it. */
export async function commitConfig(p: Project, message: string, edit: (yaml: string) => string): Promise<void> {
  const file = path.join(p.dir, 'cdl.yaml');
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
  await p.git('add', 'cdl.yaml');
  await p.git('commit', '-q', '-m', message);
}

export interface WorkflowRun {
  summary: RunSummary;
  log: string;
  seconds: number;
}

/** `cdl run .github/workflows/cdl.yml` for an event, with the local server as the deploy target. */
export async function runPipeline(
  p: Project,
  serveUrl: string,
  event: 'push' | 'pull_request' | 'workflow_dispatch',
  opts: { inputs?: Record<string, string>; echo?: (text: string) => void } = {},
): Promise<WorkflowRun> {
  let log = '';
  const start = Date.now();
  const summary = await runWorkflow({
    workflow: '.github/workflows/cdl.yml',
    repoRoot: p.dir,
    event,
    inputs: opts.inputs,
    // This machine stands in for the GPU runner the workflows ask for.
    runsOnAny: true,
    vars: { CDL_DEPLOY_TARGET: 'server', CDL_SERVE_URL: serveUrl, CDL_SERVE_REPOSITORY: p.serveRepository },
    write: (s) => {
      log += s;
      opts.echo?.(s);
    },
  });
  return { summary, log, seconds: (Date.now() - start) / 1000 };
}

export interface Server {
  url: string;
  child: ChildProcess;
  stop: () => Promise<void>;
}

/** `cdl serve` on a free port over the project's model repository. */
export function startServe(repository: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(CDL_REPO, 'bin', 'cdl.js'), 'serve', '--repository', repository, '--port', '0', '--poll-ms', '500'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cdl serve did not start within 60 s: ${err.slice(-1000)}`));
    }, 60_000);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      const m = /"msg":"listening".*?"url":"([^"]+)"/.exec(err) ?? /"url":"([^"]+)".*?"listening"/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1]!,
          child,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cdl serve exited with ${code}: ${err.slice(-1000)}`));
    });
  });
}

export interface Prediction {
  model_version: string;
  /** The release tag that version was deployed from. */
  tag: string | null;
  predicted: number;
  className: string;
  label: number;
  labelName: string;
  probability: number;
}

/** The first test image of the project's data, sent to the served model. */
export async function predict(p: Project, serveUrl: string, index = 0): Promise<Prediction> {
  const loaded = await loadConfig(path.join(p.dir, 'cdl.yaml'), [`data.limit.train=20`, `data.limit.test=${index + 1}`]);
  const data = await loadDataset(loaded.config.data, { baseDir: p.dir, task: 'classification' });
  const size = data.shape.reduce((a, b) => a * b, 1);
  const x = Array.from(data.test.x.subarray(index * size, (index + 1) * size));
  const body = { id: 'example', inputs: [{ name: 'input', shape: [1, ...data.shape], datatype: 'FP32', data: x }] };
  const r = await fetch(`${serveUrl}/v2/models/${MODEL}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await r.json()) as { model_version: string; outputs: Array<{ data: number[] }>; error?: string };
  if (r.status !== 200) throw new Error(`inference: HTTP ${r.status} ${json.error ?? ''}`);
  const probs = json.outputs[0]!.data;
  const predicted = probs.indexOf(Math.max(...probs));
  const label = Number(data.test.y[index]);
  const releaseFile = path.join(p.serveRepository, MODEL, json.model_version, MODEL_FILES.release);
  const tag = existsSync(releaseFile) ? ((JSON.parse(readFileSync(releaseFile, 'utf8')) as { tag?: string }).tag ?? null) : null;
  return {
    model_version: json.model_version,
    tag,
    predicted,
    className: data.classes[predicted] ?? String(predicted),
    label,
    labelName: data.classes[label] ?? String(label),
    probability: probs[predicted]!,
  };
}

/** Where the local forge keeps the gate's report of the model: comment.md, report.html, status.json. */
export function reportDir(p: Project): string {
  return path.join(p.dir, '.cdl', 'reports', MODEL);
}

function failed(step: string, run: WorkflowRun): Error {
  return new Error(`${step}: cdl run ended with ${run.summary.result} (${run.summary.runDir})\n${run.log.slice(-4000)}`);
}

async function main(argv: string[]): Promise<number> {
  const serve = argv.includes('--serve');
  const dirAt = argv.indexOf('--dir');
  const dir = path.resolve(dirAt >= 0 ? (argv[dirAt + 1] ?? '') : path.join(CDL_REPO, '.cdl', 'example'));
  rmSync(dir, { recursive: true, force: true });
  const started = Date.now();
  const say = (line: string) => console.log(`\n== ${line} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  const echo = (s: string) => process.stdout.write(s);
  const p = await createProject({ dir });
  const server = await startServe(p.serveRepository);
  try {
    say(`project ${p.dir}, cdl serve at ${server.url}`);
    say('push to main: train, then evaluate-gate against production (nothing in production yet: the first model is blessed)');
    const push = await runPipeline(p, server.url, 'push', { echo });
    if (push.summary.exitCode !== 0) throw failed('push', push);

    say('release 1.0.0: the model blessed on that push (not trained again), compressed, promoted, deployed to cdl serve');
    const first = await runPipeline(p, server.url, 'workflow_dispatch', { inputs: { version: '1.0.0' }, echo });
    if (first.summary.exitCode !== 0) throw failed('release 1.0.0', first);

    say('pull request: a wider first layer, trained and compared with production (v1.0.0)');
    await p.git('checkout', '-q', '-b', 'wider');
    await commitConfig(p, 'Wider first layer', (y) => y.replace('units: 256', 'units: 384'));
    const pr = await runPipeline(p, server.url, 'pull_request', { echo });
    const comment = path.join(reportDir(p), 'comment.md');
    if (!existsSync(comment)) throw failed('pull request (no comment written)', pr);
    console.log(`\n${readFileSync(comment, 'utf8')}`);
    // Later gates write their own report in the same place: keep the pull request's.
    const prReport = path.join(p.dir, '.cdl', 'pull-request-report');
    cpSync(reportDir(p), prReport, { recursive: true });

    say('merge, then push to main: train and gate the merged commit against production');
    await p.git('checkout', '-q', 'main');
    await p.git('merge', '-q', '--no-ff', '-m', 'Merge wider', 'wider');
    const merged = await runPipeline(p, server.url, 'push', { echo });
    let second: WorkflowRun | undefined;
    if (merged.summary.exitCode === 0) {
      say('release 1.1.0: the model blessed on the merge, shipped and deployed');
      second = await runPipeline(p, server.url, 'workflow_dispatch', { inputs: { version: '1.1.0' }, echo });
      if (second.summary.exitCode !== 0) throw failed('release 1.1.0', second);
    } else {
      say('the merged model was rejected against production: nothing to release, v1.0.0 keeps serving');
    }
    const prediction = await predict(p, server.url);

    say('done');
    console.log(`pull request comment: ${path.join(prReport, 'comment.md')} (the candidate against production v1.0.0)`);
    console.log(`HTML report:          ${path.join(prReport, 'report.html')}`);
    console.log(`served endpoint:      ${server.url}/v2/models/${MODEL}/infer`);
    console.log(
      `sample prediction:    test image 0, a ${prediction.labelName} → ${prediction.className} ` +
        `(p=${prediction.probability.toFixed(3)}) from model version ${prediction.model_version} = ${prediction.tag ?? 'untagged'}`,
    );
    console.log(
      `timings:              push ${push.seconds.toFixed(0)} s, release 1.0.0 ${first.seconds.toFixed(0)} s, ` +
        `pull request ${pr.seconds.toFixed(0)} s, merge push ${merged.seconds.toFixed(0)} s` +
        (second ? `, release 1.1.0 ${second.seconds.toFixed(0)} s` : '') +
        `, total ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    if (serve) {
      console.log(`serving until Ctrl-C`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    } else {
      console.log(
        `(the server is stopped now; --serve keeps it running, or: node bin/cdl.js serve --repository ${path.relative(process.cwd(), p.serveRepository)})`,
      );
    }
    return 0;
  } finally {
    await server.stop();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
