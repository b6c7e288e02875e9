/**
 * Small hand-built models for the registry and deploy tests: y = x·w + b (so the answer tells
 * which version served it), candidate directories with lineage and a blessing for exactly their
 * model.onnx, and a temporary git project to release from.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { onnx } from '../../src/onnx/index.js';
import { git, tempDir } from './example.js';

/** ONNX bytes of y = x·[1, 1]ᵀ + bias with `inputs` features (inputs ≠ 2 breaks clients sending 2). */
export function linearOnnx(bias: number, inputs = 2): Uint8Array {
  const floats = (a: number[]) => new Uint8Array(Float32Array.from(a).buffer);
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'hand',
    graph: {
      name: 'lin',
      input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: inputs }] } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: 1 }] } } } }],
      initializer: [
        { name: 'w', dims: [inputs, 1], dataType: 1, rawData: floats(new Array<number>(inputs).fill(1)) },
        { name: 'b', dims: [1], dataType: 1, rawData: floats([bias]) },
      ],
      node: [
        { opType: 'MatMul', input: ['x', 'w'], output: ['xw'] },
        { opType: 'Add', input: ['xw', 'b'], output: ['y'] },
      ],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

export const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

export interface CandidateOptions {
  bias: number;
  inputs?: number;
  commit: string;
  blessed?: boolean | 'rejected';
  model?: string;
}

/** SHA256SUMS over every file of `dir`, as cdl writes it. */
export function writeSums(dir: string): void {
  const files = (readdirSync(dir, { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((e) => e.isFile() && e.name !== 'SHA256SUMS')
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
  writeFileSync(path.join(dir, 'SHA256SUMS'), files.map((f) => `${sha256(readFileSync(path.join(dir, f)))}  ${f}\n`).join(''));
}

/** A candidate model directory as train + evaluate-gate leave it (with SHA256SUMS over every file). */
export function candidate(dir: string, o: CandidateOptions): string {
  mkdirSync(path.join(dir, 'tfjs'), { recursive: true });
  const bytes = linearOnnx(o.bias, o.inputs);
  const model = o.model ?? 'lin';
  writeFileSync(path.join(dir, 'model.onnx'), bytes);
  writeFileSync(path.join(dir, 'tfjs', 'model.json'), JSON.stringify({ format: 'layers-model', bias: o.bias }));
  writeFileSync(path.join(dir, 'tfjs', 'weights.bin'), Buffer.from([1, 2, 3, o.bias & 255]));
  writeFileSync(
    path.join(dir, 'metrics.json'),
    JSON.stringify({
      schema_version: 1,
      model,
      task: 'regression',
      main_metric: 'rmse',
      main_metric_value: 1 / (1 + o.bias),
      higher_is_better: false,
      splits: {},
    }),
  );
  writeFileSync(
    path.join(dir, 'lineage.json'),
    JSON.stringify({
      schema_version: 1,
      model: { name: model, task: 'regression' },
      git: { commit: o.commit, branch: 'main', dirty: false },
      data: { version: `sha256:data${o.bias}` },
      config: { file: 'cdl.yaml', hash: `cfg${o.bias}`, overrides: [] },
      hyperparameters: { learning_rate: 0.01 },
      parent: null,
    }),
  );
  writeFileSync(path.join(dir, 'model-card.md'), `# ${model}\n\nbias ${o.bias}\n`);
  if (o.blessed !== false) {
    writeFileSync(
      path.join(dir, 'blessing.json'),
      JSON.stringify({
        schema_version: 1,
        decision: o.blessed === 'rejected' ? 'rejected' : 'blessed',
        reason: o.blessed === 'rejected' ? 'failed: rmse above 0.1' : 'all 1 threshold met',
        model,
        candidate: { dir, sha256: sha256(bytes), commit: o.commit },
        baseline: null,
      }),
    );
  }
  writeSums(dir);
  return dir;
}

/** A git project with one commit per call of `commit()`. */
export function project(): { dir: string; commit: (msg: string) => string } {
  const dir = tempDir('cdl-registry-');
  git(dir, 'init', '-q', '-b', 'main');
  let n = 0;
  return {
    dir,
    commit(msg: string) {
      writeFileSync(path.join(dir, 'train.txt'), `${msg} ${n++}\n`);
      git(dir, 'add', '.');
      git(dir, 'commit', '-q', '-m', msg);
      return git(dir, 'rev-parse', 'HEAD');
    },
  };
}

export function readJson(file: string): any {
  return JSON.parse(readFileSync(file, 'utf8'));
}
