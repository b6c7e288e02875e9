/**
 * train.launcher: kubernetes — the PyTorchJob manifest validates against a JSON schema of the
 * operator's documented kubeflow.org/v1 API (test/fixtures/kubeflow; no npm package ships the CRD
 * schema); without a cluster the manifest is written and training stops saying so; with a
 * stand-in kubectl that runs the master pod's container command on this machine (the shared
 * volume mounted at the same path), the job's log is streamed and rank 0's model directory
 * collected.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../src/config/index.js';
import { kubernetesLauncher } from '../src/config/schema/train.js';
import { jobName, renderPyTorchJob } from '../src/train/kubernetes.js';
import { train } from '../src/train/training.js';
import { TrainError } from '../src/util/errors.js';
import { removeTempDirs, siblings, tempDir } from './helpers/example.js';

afterAll(() => removeTempDirs());

const SCHEMA = JSON.parse(
  readFileSync(path.join(import.meta.dirname, 'fixtures', 'kubeflow', 'pytorchjob-v1.schema.json'), 'utf8'),
) as object;
const validate = new Ajv({ allErrors: true, strict: false }).compile(SCHEMA);

type Job = {
  metadata: { name: string; namespace: string };
  spec: {
    nprocPerNode: string;
    pytorchReplicaSpecs: Record<
      string,
      {
        replicas: number;
        restartPolicy: string;
        template: {
          spec: {
            containers: Array<{
              name: string;
              env: Array<{ name: string; value: string }>;
              resources: { limits: Record<string, number> };
            }>;
          };
        };
      }
    >;
  };
};

const launcher = (over: Record<string, unknown> = {}) =>
  kubernetesLauncher.parse({ type: 'kubernetes', image: 'ghcr.io/o/trainer:1', storage: { claim: 'cdl-shared' }, ...over });

describe('train.launcher: kubernetes', () => {
  it('renders a PyTorchJob that validates against the kubeflow.org/v1 schema, with the CDL_* contract', () => {
    const { manifest, yaml } = renderPyTorchJob({
      name: jobName('Fashion_MNIST pytorch', '0123456789abcdef'),
      launcher: launcher({ nodes: 3, nproc_per_node: 2, namespace: 'ml' }),
      command: 'python3 train.py',
      env: { CDL_OUTPUT_DIR: '/cdl/.cdl-jobs/x/model', CDL_EPOCHS: '3' },
    });
    expect(validate(manifest), JSON.stringify(validate.errors)).toBe(true);
    const job = parseYaml(yaml) as Job;
    expect(job.metadata).toMatchObject({ name: 'cdl-fashion-mnist-pytorch-01234567', namespace: 'ml' });
    expect(job.spec.nprocPerNode).toBe('2');
    const { Master, Worker } = job.spec.pytorchReplicaSpecs;
    expect([Master!.replicas, Worker!.replicas]).toEqual([1, 2]);
    const c = Worker!.template.spec.containers[0]!;
    expect(c.name).toBe('pytorch');
    expect(c.resources.limits['nvidia.com/gpu']).toBe(2);
    expect(c.env).toEqual(
      expect.arrayContaining([
        { name: 'CDL_OUTPUT_DIR', value: '/cdl/.cdl-jobs/x/model' },
        { name: 'CDL_TRAIN_COMMAND', value: 'python3 train.py' },
        { name: 'CDL_LAUNCHER', value: 'kubernetes' },
      ]),
    );
    // The schema has teeth: what the operator refuses, it refuses.
    const broken = (f: (j: Job) => void) => {
      const j = structuredClone(manifest) as unknown as Job;
      f(j);
      return validate(j);
    };
    expect(broken((j) => (j.spec.pytorchReplicaSpecs.Master!.template.spec.containers[0]!.name = 'trainer'))).toBe(false);
    expect(broken((j) => (j.spec.pytorchReplicaSpecs.Master!.replicas = 2))).toBe(false);
    expect(broken((j) => (j.spec.pytorchReplicaSpecs.Worker!.restartPolicy = 'Sometimes'))).toBe(false);
    expect(broken((j) => delete (j.spec.pytorchReplicaSpecs as Record<string, unknown>).Master)).toBe(false);
    expect(broken((j) => (j.metadata.name = 'Not_A_Name'))).toBe(false);
  });

  describe('through cdl train', () => {
    const saved = process.env.PATH;
    afterEach(() => {
      process.env.PATH = saved;
    });
    /** A project on the "shared volume" (a temp dir mounted at the same path in the pods). */
    const project = () => {
      const shared = tempDir('cdl-shared-');
      const dir = path.join(shared, 'repo');
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'd.csv'), 'x,label\n1,0\n');
      const command =
        'echo \\"rank $RANK of $WORLD_SIZE writes $CDL_OUTPUT_DIR\\"; [ \\"$RANK\\" = 0 ] || exit 0; ' +
        'printf onnx > \\"$CDL_OUTPUT_DIR/model.onnx\\"; echo \'{\\"accuracy\\": 0.75}\' > \\"$CDL_OUTPUT_DIR/metrics.json\\"';
      writeFileSync(
        path.join(dir, 'cdl.yaml'),
        [
          'model: { name: m, task: classification }',
          'data: { format: csv, path: d.csv }',
          'train:',
          `  command: "${command}"`,
          '  launcher:',
          '    type: kubernetes',
          '    image: ghcr.io/o/trainer:1',
          '    nodes: 1',
          '    nproc_per_node: 1',
          '    gpus_per_node: 0',
          `    storage: { claim: cdl-shared, mount_path: ${shared}, local_path: ${shared} }`,
          '',
        ].join('\n'),
      );
      return { shared, config: path.join(dir, 'cdl.yaml') };
    };

    it('without a cluster writes the manifest beside the model directory and stops, saying so', async () => {
      // No kubectl (this machine may have one: an empty folder stands for a PATH without it).
      process.env.PATH = `${tempDir('cdl-nokubectl-')}`;
      const { config, shared } = project();
      const loaded = await loadConfig(config);
      const out = path.join(tempDir('cdl-out-'), 'm');
      const err = await train({ loaded, outDir: out, log: () => {} }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TrainError);
      expect((err as Error).message).toBe(
        `train.launcher kubernetes: kubectl is not installed; the PyTorchJob manifest is at ${out}.pytorchjob.yaml: apply it with kubectl apply -f, or run cdl where kubectl has a context for the cluster`,
      );
      expect(siblings(out)).toEqual(['m.pytorchjob.yaml']);
      const job = parseYaml(readFileSync(`${out}.pytorchjob.yaml`, 'utf8')) as Job;
      expect(validate(job), JSON.stringify(validate.errors)).toBe(true);
      const env = Object.fromEntries(
        job.spec.pytorchReplicaSpecs.Master!.template.spec.containers[0]!.env.map((e) => [e.name, e.value]),
      );
      expect(env.CDL_OUTPUT_DIR).toMatch(new RegExp(`^${shared}/\\.cdl-jobs/cdl-m-[0-9a-f]+/model$`));
      expect(env.CDL_DATA_DIR).toBe(path.join(shared, 'repo', 'd.csv'));
      expect(env.CDL_WORKDIR).toBe(path.join(shared, 'repo'));
    });

    it.skipIf(!existsSync('/usr/bin/torchrun'))(
      'with a cluster: applies, streams the master log, waits, and collects the model directory rank 0 wrote',
      async () => {
        const bin = tempDir('cdl-kubectl-');
        writeFileSync(path.join(bin, 'kubectl'), standInKubectl(bin));
        chmodSync(path.join(bin, 'kubectl'), 0o755);
        process.env.PATH = `${bin}:/usr/bin:/bin`;
        const { config } = project();
        const loaded = await loadConfig(config);
        const out = path.join(tempDir('cdl-out-'), 'm');
        const lines: string[] = [];
        const r = await train({ loaded, outDir: out, log: (l) => lines.push(l) }).catch((e: unknown) => {
          throw new Error(`${(e as Error).message}\n${lines.join('\n')}`);
        });
        expect(lines).toContain(
          `  | applied PyTorchJob default/${(r.lineage.trainer as { launcher: { job: string } }).launcher.job} (context kind-test)`,
        );
        expect(lines.some((l) => /^ {2}\| rank 0 of 1 writes \/.*\/model$/.test(l))).toBe(true);
        expect(readdirSync(out).sort()).toEqual(['SHA256SUMS', 'lineage.json', 'metrics.json', 'model-card.md', 'model.onnx']);
        expect(r.metrics.main_metric_value).toBe(0.75);
        expect(r.lineage.trainer).toMatchObject({
          kind: 'command',
          launcher: { type: 'kubernetes', nodes: 1, namespace: 'default' },
        });
        const calls = readFileSync(path.join(bin, 'calls'), 'utf8');
        expect(calls).toMatch(/^-n default apply -f .*m\.pytorchjob\.yaml$/m);
        expect(calls).toMatch(/^-n default get pytorchjob cdl-m-/m);
      },
    );
  });
});

/**
 * kubectl for one PyTorchJob on this machine: apply runs the master's container command with its
 * env (the operator's PET_* variables for one node), get reports the job's condition, logs -f
 * prints the master's output once it ends.
 */
function standInKubectl(dir: string): string {
  return `#!${process.execPath}
const fs = require('node:fs');
const { spawn } = require('node:child_process');
const dir = ${JSON.stringify(dir)};
const args = process.argv.slice(2);
fs.appendFileSync(dir + '/calls', args.join(' ') + '\\n');
const state = (n) => dir + '/job-' + n;
if (args[0] === 'config') { console.log('kind-test'); process.exit(0); }
const verb = args[2];
if (verb === 'apply') {
  const text = fs.readFileSync(args[4], 'utf8');
  import(${JSON.stringify(import.meta.resolve('yaml'))}).then(({ parse }) => {
    const job = parse(text);
    const c = job.spec.pytorchReplicaSpecs.Master.template.spec.containers[0];
    const env = { ...process.env, PET_NNODES: '1', PET_NPROC_PER_NODE: job.spec.nprocPerNode, PET_NODE_RANK: '0',
      PET_MASTER_ADDR: '127.0.0.1', PET_MASTER_PORT: String(29000 + Math.floor(Math.random() * 900)) };
    for (const e of c.env) env[e.name] = e.value;
    const out = fs.openSync(state(job.metadata.name) + '.log', 'w');
    const child = spawn(c.command[0], c.command.slice(1), { cwd: c.workingDir, env, stdio: ['ignore', out, out] });
    child.on('exit', (code) => { fs.writeFileSync(state(job.metadata.name) + '.code', String(code)); process.exit(0); });
    console.log('pytorchjob.kubeflow.org/' + job.metadata.name + ' created');
  });
} else if (verb === 'get') {
  const f = state(args[4]) + '.code';
  const code = fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : null;
  const jp = args[6] || '';
  if (jp.includes('message')) console.log('master exited with code ' + code);
  else console.log(code === null ? 'Created Running' : code === '0' ? 'Created Succeeded' : 'Created Failed');
} else if (verb === 'logs') {
  const name = args[args.length - 1].replace(/-master-0$/, '');
  const wait = () => fs.existsSync(state(name) + '.code') ? process.stdout.write(fs.readFileSync(state(name) + '.log', 'utf8')) : setTimeout(wait, 50);
  wait();
} else { console.error('unexpected: ' + args.join(' ')); process.exit(1); }
`;
}
