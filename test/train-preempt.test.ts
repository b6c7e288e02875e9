/**
 * Preemption-proof training under `cdl run`: the PyTorch example is killed (SIGKILL) mid-way through
 * the train action, whose post step saves its checkpoint to the cache; the rerun restores it,
 * resumes, and ends with the same metrics as an uninterrupted run. The action runs from its
 * TypeScript sources (the committed bundle is rebuilt separately).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { runWorkflow } from '../runner/engine/workflow-run.js';
import { loadConfig } from '../src/config/index.js';
import type { Metrics } from '../src/model-dir/index.js';
import { train } from '../src/train/training.js';
import { EXAMPLE_DIR, REPO, removeTempDirs, tempDir } from './helpers/example.js';
import { torchAvailable } from './helpers/torch.js';

afterAll(() => removeTempDirs());

const TORCH = torchAvailable();

// Trains; on the first attempt (nothing to resume) the training process is killed as soon as the
// first epoch's checkpoint exists, as a preempted machine would kill it.
const PREEMPT = `#!/bin/sh
/usr/bin/python3 train.py & pid=$!
if [ "$CDL_RESUME" != 1 ]; then
  while [ ! -f "$CDL_CHECKPOINT_DIR/checkpoint.pt" ] && kill -0 $pid 2>/dev/null; do sleep 0.05; done
  kill -9 $pid
  echo "killed the training process $pid"
  exit 137
fi
wait $pid
`;

const SETTINGS = [
  'train.epochs=3',
  'train.hyperparameters.max_train_examples=2000',
  'train.hyperparameters.max_test_examples=500',
  `data.path=${path.join(EXAMPLE_DIR, 'data')}`,
];

function workspace(outDir: string): string {
  const ws = tempDir('cdl-preempt-ws-');
  // The train action from its sources, run by tsx.
  const meta = parseYaml(readFileSync(path.join(REPO, 'actions', 'train', 'action.yml'), 'utf8')) as {
    runs: Record<string, string>;
  };
  Object.assign(meta.runs, { main: 'index.mjs', post: 'index.mjs' });
  mkdirSync(path.join(ws, 'train-action'));
  writeFileSync(path.join(ws, 'train-action', 'action.yml'), stringifyYaml(meta));
  const tsx = import.meta.resolve('tsx/esm/api');
  writeFileSync(
    path.join(ws, 'train-action', 'index.mjs'),
    `const { register } = await import(${JSON.stringify(tsx)});\nregister();\n` +
      `await import(${JSON.stringify(pathToFileURL(path.join(REPO, 'actions', 'train', 'src', 'index.ts')).href)});\n`,
  );
  mkdirSync(path.join(ws, 'pytorch'));
  for (const f of ['train.py', 'cdl.yaml']) copyFileSync(path.join(EXAMPLE_DIR, 'pytorch', f), path.join(ws, 'pytorch', f));
  writeFileSync(path.join(ws, 'pytorch', 'preempt.sh'), PREEMPT);
  mkdirSync(path.join(ws, '.github', 'workflows'), { recursive: true });
  writeFileSync(
    path.join(ws, '.github', 'workflows', 'train.yml'),
    stringifyYaml({
      name: 'train',
      on: 'push',
      permissions: { contents: 'read' },
      jobs: {
        train: {
          'runs-on': 'self-hosted',
          steps: [
            {
              uses: './train-action',
              with: {
                config: 'pytorch/cdl.yaml',
                set: ['train.command=sh preempt.sh', ...SETTINGS].join('\n'),
                out: outDir,
                upload: 'false',
              },
            },
          ],
        },
      },
    }),
  );
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ws, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@t.invalid', 'commit', '-qm', 'train');
  return ws;
}

it.skipIf(!TORCH)(
  'a training job killed mid-way resumes from the cached checkpoint on rerun and ends like an uninterrupted run',
  async () => {
    const out = path.join(tempDir('cdl-preempt-out-'), 'model');
    const ws = workspace(out);
    const state = tempDir('cdl-preempt-state-');
    const run = async () => {
      let log = '';
      const r = await runWorkflow({
        workflow: '.github/workflows/train.yml',
        repoRoot: ws,
        stateDir: state,
        write: (s) => (log += s),
      });
      return { code: r.exitCode, log };
    };

    const first = await run();
    expect(first.code, first.log.slice(-3000)).toBe(1);
    expect(first.log).toMatch(/killed the training process \d+/);
    expect(first.log).toMatch(/saved the checkpoint .*model\.checkpoint to the cache as cdl-train-checkpoint-[0-9a-f]{40}-/);
    expect(existsSync(out)).toBe(false);

    // The rerun starts on a clean machine: nothing of the first attempt is left on disk.
    rmSync(`${out}.checkpoint`, { recursive: true, force: true });
    const second = await run();
    expect(second.code, second.log.slice(-3000)).toBe(0);
    expect(second.log).toMatch(/restored the checkpoint of an interrupted run from the cache \(cdl-train-checkpoint-/);
    const resumedAt = Number(/resumed from the checkpoint of epoch (\d)/.exec(second.log)?.[1]);
    expect(resumedAt).toBeGreaterThanOrEqual(1);
    expect(resumedAt).toBeLessThan(3);
    expect(existsSync(`${out}.checkpoint`)).toBe(false);

    // An uninterrupted run of the same training.
    const loaded = await loadConfig(path.join(ws, 'pytorch', 'cdl.yaml'), [
      'train.command=/usr/bin/python3 train.py',
      ...SETTINGS,
    ]);
    const full = await train({ loaded, outDir: path.join(tempDir('cdl-preempt-full-'), 'model'), log: () => {} });
    const resumed = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8')) as Metrics;
    // Everything but the wall-clock seconds (the script's flat figures land in the test split).
    const figures = (m: Metrics) =>
      Object.fromEntries(Object.entries(m.splits).map(([k, v]) => [k, { ...v, seconds: undefined }]));
    expect(figures(resumed)).toEqual(figures(full.metrics));
    expect(resumed.splits.test!.accuracy).toBe(full.metrics.splits.test!.accuracy);
    expect(readFileSync(path.join(out, 'history.json'), 'utf8')).toBe(
      readFileSync(path.join(full.outDir, 'history.json'), 'utf8'),
    );
  },
);

it.skipIf(TORCH)('skipped: /usr/bin/python3 cannot import torch and numpy (Debian: apt install python3-torch)', () => {});
