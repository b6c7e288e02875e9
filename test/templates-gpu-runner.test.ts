/**
 * runner/gpu: the labels derived from what nvidia-smi reports, the just-in-time registration
 * request, the health check, and the shape of the systemd units and the ARC values. A fake
 * nvidia-smi on PATH stands in for the driver.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { REPO, removeTempDirs, tempDir } from './helpers/example.js';

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
      `  --query-gpu=name,memory.total) printf '${rows((g) => `NVIDIA ${g[0]}, ${g[1]}`)}\\n' ;;`,
      `  --query-gpu=compute_cap) printf '${rows((g) => g[3]!)}\\n' ;;`,
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
  ]) {
    const found = ['/usr/bin', '/bin', path.dirname(process.execPath)].map((d) => path.join(d, tool)).find((f) => existsSync(f));
    if (found) symlinkSync(found, path.join(bin, tool));
  }
  return bin;
}

function sh(script: string, args: string[], pathDirs: string[]) {
  const r = spawnSync('bash', [path.join(GPU_DIR, script), ...args], {
    encoding: 'utf8',
    env: { PATH: [...pathDirs, bareBin()].join(':'), HOME: process.env.HOME ?? '/tmp' },
    timeout: 300_000,
  });
  return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

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
    expect(scripts.sort()).toEqual(['health-check.sh', 'labels.sh', 'prepare.sh', 'register.sh']);
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
    expect(runner.securityContext.allowPrivilegeEscalation).toBe(false);
  });
});
