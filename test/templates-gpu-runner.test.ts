/**
 * runner/gpu: the labels derived from what nvidia-smi reports, the just-in-time registration
 * request, the health check, and the shape of the systemd units and the ARC values. A fake
 * nvidia-smi on PATH stands in for the driver.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { REPO, removeTempDirs, tempDir } from './helpers/example.js';
import { startFakeGitHub, validateRequest } from './helpers/fake-github.js';
import { writeFakeNvidiaSmi } from './helpers/fake-nvidia-smi.js';

afterAll(() => removeTempDirs());

const GPU_DIR = path.join(REPO, 'runner', 'gpu');

/** A fake nvidia-smi answering the queries the scripts make, from GPUs given as "name|MiB|ecc|cc". */
function fakeDriver(gpus: string[], cuda = '12.4'): string {
  const bin = tempDir('cdl-fake-smi-');
  const rows = (fields: (g: string[], i: number) => string) => gpus.map((g, i) => fields(g.split('|'), i)).join('\\n');
  writeFileSync(
    path.join(bin, 'nvidia-smi'),
    [
      '#!/bin/sh',
      'case "$1" in',
      `  --query-gpu=index,name,memory.total) printf '${rows((g, i) => `${i}, NVIDIA ${g[0]}, ${g[1]}`)}\\n' ;;`,
      `  --query-gpu=index,compute_cap) printf '${rows((g, i) => `${i}, ${g[3]!}`)}\\n' ;;`,
      `  --query-gpu=index,name,ecc.errors.uncorrected.volatile.total,pstate) printf '${rows((g, i) => `${i}, NVIDIA ${g[0]}, ${g[2]}, P0`)}\\n' ;;`,
      `  *) echo '| NVIDIA-SMI 550.54.15   Driver Version: 550.54.15   CUDA Version: ${cuda}     |' ;;`,
      'esac',
      '',
    ].join('\n'),
  );
  chmodSync(path.join(bin, 'nvidia-smi'), 0o755);
  return bin;
}

/** PATH with only the basic tools (no nvidia-smi, whatever this machine has). */
function bareBin(): string {
  const bin = tempDir('cdl-bare-bin-');
  for (const tool of [
    'bash',
    'sh',
    'tr',
    'sed',
    'awk',
    'paste',
    'sort',
    'head',
    'grep',
    'od',
    'hostname',
    'uname',
    'cat',
    'dirname',
    'df',
    'node',
    'curl',
    'jq',
    'mkdir',
    'cut',
  ]) {
    const found = ['/usr/bin', '/bin', path.dirname(process.execPath)].map((d) => path.join(d, tool)).find((f) => existsSync(f));
    if (found) symlinkSync(found, path.join(bin, tool));
  }
  return bin;
}

function sh(script: string, args: string[], pathDirs: string[], env: Record<string, string> = {}) {
  const r = spawnSync('bash', [path.join(GPU_DIR, script), ...args], {
    encoding: 'utf8',
    env: { PATH: [...pathDirs, bareBin()].join(':'), HOME: process.env.HOME ?? '/tmp', ...env },
    timeout: 300_000,
  });
  return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

/** As sh, without blocking this process (an HTTP server in the test answers the script). */
function shAsync(script: string, args: string[], pathDirs: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('bash', [path.join(GPU_DIR, script), ...args], {
      env: { PATH: [...pathDirs, bareBin()].join(':'), HOME: process.env.HOME ?? '/tmp', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout: stdout.trim(), stderr: stderr.trim() }));
  });
}

const FOUR_GPUS = [
  { name: 'A100-SXM4-80GB', memory: 81920 },
  { name: 'A100-SXM4-80GB', memory: 81920 },
  { name: 'A10', memory: 23028, cc: '8.6' },
  { name: 'A10', memory: 23028, cc: '8.6', ecc: 2 },
];

describe('runner/gpu', () => {
  it('labels.sh derives the labels from the GPUs nvidia-smi reports', () => {
    const two = sh('labels.sh', [], [fakeDriver(['A100-SXM4-80GB|81920|0|8.0', 'A100-SXM4-80GB|81920|0|8.0'])]);
    expect(two).toMatchObject({ code: 0, stdout: 'gpu,gpu-a100-sxm4-80gb,gpu-count-2,gpu-mem-80g,cuda-12,sm-80' });
    const mixed = sh('labels.sh', ['--extra', 'lab,gpu'], [fakeDriver(['H100 80GB HBM3|81559|0|9.0', 'A10|23028|0|8.6'])]);
    expect(mixed.stdout).toBe('gpu,gpu-h100-80gb-hbm3,gpu-a10,gpu-count-2,gpu-mem-22g,cuda-12,sm-86,lab');
    const none = sh('labels.sh', [], []);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/nvidia-smi not found/);
  });

  it('register.sh asks for a just-in-time runner with those labels, and refuses bad arguments', () => {
    const driver = fakeDriver(['RTX 4090|24564|0|8.9']);
    const r = sh('register.sh', ['--repo', 'octo/models', '--name', 'box-1', '--labels', 'fast', '--dry-run'], [driver]);
    expect(r.code, r.stderr).toBe(0);
    const m = /^POST (\S+) (\{.*\})$/m.exec(r.stdout);
    expect(m![1]).toBe('https://api.github.com/repos/octo/models/actions/runners/generate-jitconfig');
    const body = JSON.parse(m![2]!) as { name: string; labels: string[]; runner_group_id: number };
    expect(body).toMatchObject({ name: 'box-1', runner_group_id: 1 });
    expect(body.labels).toEqual([
      'self-hosted',
      'linux',
      expect.stringMatching(/^(x64|arm64)$/),
      'gpu',
      'gpu-rtx-4090',
      'gpu-count-1',
      'gpu-mem-23g',
      'cuda-12',
      'sm-89',
      'fast',
    ]);
    const eph = sh('register.sh', ['--org', 'octo', '--ephemeral', '--dry-run'], [driver]);
    expect(eph.stdout).toMatch(/^POST https:\/\/api\.github\.com\/orgs\/octo\/actions\/runners\/registration-token$/m);
    expect(sh('register.sh', ['--dry-run'], [driver]).code).toBe(2);
    expect(sh('register.sh', ['--repo', 'octo/models;rm -rf /', '--dry-run'], [driver]).code).toBe(2);
    expect(sh('register.sh', ['--repo', 'octo/models', '--dry-run'], []).stderr).toMatch(/no GPU found/);
  });

  it('health-check.sh passes a healthy GPU and fails one with uncorrectable ECC errors', () => {
    const runtime = tempDir('cdl-runtime-');
    const args = ['--runtime-dir', runtime, '--runner-dir', runtime, '--min-disk-gb', '0'];
    const ok = sh('health-check.sh', args, [fakeDriver(['A100-SXM4-40GB|40960|0|8.0'])]);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/ok {4}GPU 0: ?NVIDIA A100-SXM4-40GB/);
    const sick = sh('health-check.sh', args, [fakeDriver(['A100-SXM4-40GB|40960|0|8.0', 'A100-SXM4-40GB|40960|3|8.0'])]);
    expect(sick.code).toBe(1);
    expect(sick.stdout).toMatch(/FAIL {2}GPU 1 \(.*\): 3 uncorrectable ECC errors/);
    // A GPU lost since registration.
    mkdirSync(path.join(runtime, 'r'));
    writeFileSync(path.join(runtime, 'r', '.runner'), '{"agentName":"box","labels":"gpu,gpu-count-2"}');
    const lost = sh(
      'health-check.sh',
      [...args.slice(0, 2), '--runner-dir', path.join(runtime, 'r'), '--min-disk-gb', '0'],
      [fakeDriver(['A10|23028|0|8.6'])],
    );
    expect(lost.stdout).toMatch(/registered with 2 GPUs, 1 visible now/);
    expect(sh('health-check.sh', args, []).code).toBe(1);
  });

  it('every script is valid bash, executable, and the units start what exists', () => {
    const scripts = readdirSync(GPU_DIR).filter((f) => f.endsWith('.sh'));
    expect(scripts.sort()).toEqual(['health-check.sh', 'labels.sh', 'prepare.sh', 'register.sh', 'slots.sh']);
    for (const s of scripts) {
      const r = spawnSync('bash', ['-n', path.join(GPU_DIR, s)], { encoding: 'utf8' });
      expect(r.status, `${s}: ${r.stderr}`).toBe(0);
      expect(readFileSync(path.join(GPU_DIR, s), 'utf8')).toMatch(/^#!\/usr\/bin\/env bash\n[\s\S]*set -[eu]+o pipefail/);
    }
    const unit = readFileSync(path.join(GPU_DIR, 'cdl-runner.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/opt\/cdl-runner\/register\.sh .*--jit/m);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^User=cdl-runner$/m);
    expect(unit).toMatch(/^LoadCredential=github-token:/m);
    expect(unit).toMatch(/^NoNewPrivileges=true$/m);
    for (const [, exe] of unit.matchAll(/^Exec\w+=(\/opt\/cdl-runner\/[\w.-]+)/gm))
      expect(scripts).toContain(path.basename(exe!));
    expect(readFileSync(path.join(GPU_DIR, 'cdl-runner-health.timer'), 'utf8')).toMatch(/^Unit=cdl-runner-health\.service$/m);

    // One runner per GPU slot: the template units pin instance N to slot N and check its GPUs first.
    const perGpu = readFileSync(path.join(GPU_DIR, 'cdl-runner@.service'), 'utf8');
    expect(perGpu).toMatch(
      /^ExecStartPre=\/opt\/cdl-runner\/health-check\.sh .*--slot %i .*--runner-dir \/opt\/actions-runner\/%i$/m,
    );
    expect(perGpu).toMatch(
      /^ExecStart=\/opt\/cdl-runner\/register\.sh .*--jit --slot %i --runner-dir \/opt\/actions-runner\/%i /m,
    );
    expect(perGpu).toMatch(/^Restart=always$/m);
    expect(perGpu).toMatch(/^NoNewPrivileges=true$/m);
    for (const [, exe] of perGpu.matchAll(/^Exec\w+=(\/opt\/cdl-runner\/[\w.-]+)/gm))
      expect(scripts).toContain(path.basename(exe!));
    const perGpuHealth = readFileSync(path.join(GPU_DIR, 'cdl-runner-health@.service'), 'utf8');
    expect(perGpuHealth).toMatch(/health-check\.sh --quiet --slot %i .*systemctl --no-block stop cdl-runner@%i\.service/);
    expect(readFileSync(path.join(GPU_DIR, 'cdl-runner-health@.timer'), 'utf8')).toMatch(/^Unit=cdl-runner-health@%i\.service$/m);
  });

  it('a host with 4 GPUs gets 4 runners, each registered with and pinned to its own GPU', async () => {
    const driver = writeFakeNvidiaSmi(tempDir('cdl-smi4-'), FOUR_GPUS);
    const plan = sh('register.sh', ['--plan'], [driver]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout.split('\n')).toEqual([
      'cdl-runner@0 CUDA_VISIBLE_DEVICES=0 labels=gpu,gpu-a100-sxm4-80gb,gpu-count-1,gpu-mem-80g,cuda-12,sm-80,gpu-index-0',
      'cdl-runner@1 CUDA_VISIBLE_DEVICES=1 labels=gpu,gpu-a100-sxm4-80gb,gpu-count-1,gpu-mem-80g,cuda-12,sm-80,gpu-index-1',
      'cdl-runner@2 CUDA_VISIBLE_DEVICES=2 labels=gpu,gpu-a10,gpu-count-1,gpu-mem-22g,cuda-12,sm-86,gpu-index-2',
      'cdl-runner@3 CUDA_VISIBLE_DEVICES=3 labels=gpu,gpu-a10,gpu-count-1,gpu-mem-22g,cuda-12,sm-86,gpu-index-3',
    ]);
    // Groups of two GPUs: two runners.
    expect(sh('register.sh', ['--plan'], [driver], { GPUS_PER_RUNNER: '2' }).stdout).toMatch(
      /^cdl-runner@0 CUDA_VISIBLE_DEVICES=0,1 labels=\S*gpu-count-2\S*,gpu-index-0,gpu-index-1\ncdl-runner@1 CUDA_VISIBLE_DEVICES=2,3 labels=\S*gpu-index-2,gpu-index-3$/,
    );
    expect(sh('slots.sh', [], [driver], { GPUS_PER_RUNNER: '3' }).stderr).toMatch(/GPUs 3 get no runner/);
    expect(sh('slots.sh', [], [driver], { GPUS_PER_RUNNER: 'two' }).code).toBe(2);

    // Register them for real against a stand-in REST API, with a runner folder per slot whose
    // config.sh and run.sh record what they were given and the GPUs their jobs would see.
    const gh = await startFakeGitHub();
    const api = gh.url;
    try {
      const seen: Array<{ config: string; run: string; env: string }> = [];
      for (let slot = 0; slot < 4; slot++) {
        const dir = tempDir(`cdl-runner-${slot}-`);
        for (const f of ['config.sh', 'run.sh']) {
          writeFileSync(
            path.join(dir, f),
            `#!/bin/bash\necho "$* CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES" > "$(dirname "$0")/${f}.log"\n`,
          );
          chmodSync(path.join(dir, f), 0o755);
        }
        const args = ['--repo', 'octo/models', '--ephemeral', '--slot', String(slot), '--runner-dir', dir, '--api', api];
        const r = await shAsync('register.sh', args, [driver], { GITHUB_TOKEN: 'tok', GITHUB_SERVER_URL: 'https://github.com' });
        expect(r.code, r.stderr).toBe(0);
        seen.push({
          config: readFileSync(path.join(dir, 'config.sh.log'), 'utf8'),
          run: readFileSync(path.join(dir, 'run.sh.log'), 'utf8').trim(),
          env: readFileSync(path.join(dir, '.env'), 'utf8'),
        });
      }
      expect(gh.requests.map((r) => `${r.method} ${r.path} ${r.headers.authorization}`)).toEqual(
        Array(4).fill('POST /repos/octo/models/actions/runners/registration-token Bearer tok'),
      );
      for (const r of gh.requests) expect(validateRequest(r).errors, `${r.method} ${r.path}`).toEqual([]);
      const names = new Set<string>();
      seen.forEach((s, gpu) => {
        expect(s.config).toContain(`--url https://github.com/octo/models --token reg-${gpu + 1}`);
        const labels = /--labels (\S+)/.exec(s.config)![1]!.split(',');
        expect(labels).toContain(`gpu-index-${gpu}`);
        expect(labels.filter((l) => l.startsWith('gpu-index-'))).toHaveLength(1);
        expect(labels).toContain('gpu-count-1');
        expect(labels).toContain(gpu < 2 ? 'gpu-mem-80g' : 'gpu-mem-22g');
        expect(s.config).toMatch(new RegExp(` CUDA_VISIBLE_DEVICES=${gpu}\n$`));
        expect(s.run).toBe(`CUDA_VISIBLE_DEVICES=${gpu}`);
        expect(s.env).toContain(`CUDA_VISIBLE_DEVICES=${gpu}\n`);
        names.add(/--name (\S+)/.exec(s.config)![1]!);
      });
      expect([...names].every((n) => /-gpu[0-3]-[0-9a-f]{6}$/.test(n))).toBe(true);
      expect(names.size).toBe(4);
    } finally {
      await gh.close();
    }
    expect(sh('register.sh', ['--repo', 'octo/models', '--slot', '4', '--dry-run'], [driver]).stderr).toMatch(
      /no slot 4: this host has 4/,
    );
    expect(sh('register.sh', ['--repo', 'octo/models', '--gpus', '0;id', '--dry-run'], [driver]).code).toBe(2);
  });

  it('a GPU that fails its health check stops only its own runner', () => {
    const driver = writeFakeNvidiaSmi(tempDir('cdl-smi4-'), FOUR_GPUS);
    const dir = tempDir('cdl-runner-');
    const check = (slot: number, env: Record<string, string> = {}) =>
      sh(
        'health-check.sh',
        ['--slot', String(slot), '--runtime-dir', dir, '--runner-dir', dir, '--min-disk-gb', '0'],
        [driver],
        env,
      );
    expect([0, 1, 2, 3].map((s) => check(s).code)).toEqual([0, 0, 0, 1]);
    expect(check(3).stdout).toMatch(/FAIL {2}GPU 3 \(.*A10\): 2 uncorrectable ECC errors/);
    expect(check(2).stdout).not.toMatch(/GPU 3/);
    // In pairs, GPU 3's partner goes with it.
    expect([0, 1].map((s) => check(s, { GPUS_PER_RUNNER: '2' }).code)).toEqual([0, 1]);
    // A slot the host no longer has (a GPU fell off the bus) fails too.
    const three = writeFakeNvidiaSmi(tempDir('cdl-smi3-'), FOUR_GPUS.slice(0, 3));
    const lost = sh('health-check.sh', ['--slot', '3', '--runtime-dir', dir, '--runner-dir', dir, '--min-disk-gb', '0'], [three]);
    expect(lost.code).toBe(1);
    expect(lost.stdout).toMatch(/FAIL {2}slot 3: .*no slot 3: this host has 3/);
  });

  it('the ARC values put one GPU in each runner pod, scaling from zero', () => {
    const v = parseYaml(readFileSync(path.join(GPU_DIR, 'arc-values.yaml'), 'utf8')) as {
      runnerScaleSetName: string;
      minRunners: number;
      maxRunners: number;
      githubConfigSecret: string;
      template: {
        spec: {
          nodeSelector: Record<string, string>;
          containers: Array<{
            name: string;
            resources: { limits: Record<string, unknown> };
            securityContext: { allowPrivilegeEscalation: boolean };
          }>;
        };
      };
    };
    expect(v).toMatchObject({ runnerScaleSetName: 'cdl-gpu', minRunners: 0, githubConfigSecret: expect.any(String) });
    expect(v.maxRunners).toBeGreaterThan(0);
    expect(v.template.spec.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
    const runner = v.template.spec.containers.find((c) => c.name === 'runner')!;
    expect(runner.resources.limits['nvidia.com/gpu']).toBe(1);
    expect((runner.resources as unknown as { requests: Record<string, unknown> }).requests['nvidia.com/gpu']).toBe(1);
    // The device plugin decides which GPU a pod sees; "all" would hand it every GPU of the node.
    expect(JSON.stringify(runner)).not.toMatch(/NVIDIA_VISIBLE_DEVICES/);
    expect(runner.securityContext.allowPrivilegeEscalation).toBe(false);
  });
});
