/**
 * Per-epoch checkpoints: model weights, optimizer state, history and early-stopping state,
 * written to a temporary directory and renamed so a killed run leaves the previous one intact.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { LayersModel, Tf } from './tf.js';
import type { Optimizer } from './optimizer.js';
import type { EpochRecord } from './epoch-record.js';
import { TrainError } from '../util/errors.js';

export interface NamedArray {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

export interface CheckpointState {
  format: 'cdl-checkpoint/1';
  /** Number of completed epochs. */
  epoch: number;
  configHash: string;
  datasetVersion: string;
  history: EpochRecord[];
  best: { epoch: number; value: number } | null;
  badEpochs: number;
  stopped: boolean;
  trainSeconds: number;
}

export interface Checkpoint {
  state: CheckpointState;
  weights: NamedArray[];
  optimizer: NamedArray[];
  best?: NamedArray[];
}

async function packArrays(file: string, arrays: NamedArray[]): Promise<void> {
  const index = [] as Array<{ name: string; shape: number[]; dtype: string; offset: number; length: number }>;
  let offset = 0;
  for (const a of arrays) {
    index.push({ name: a.name, shape: a.shape, dtype: a.dtype, offset, length: a.data.length });
    offset += a.data.byteLength;
  }
  const buf = Buffer.alloc(offset);
  for (let i = 0; i < arrays.length; i++) {
    const a = arrays[i]!;
    Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).copy(buf, index[i]!.offset);
  }
  await writeFile(`${file}.bin`, buf);
  await writeFile(`${file}.json`, JSON.stringify(index));
}

async function unpackArrays(file: string): Promise<NamedArray[]> {
  const index = JSON.parse(await readFile(`${file}.json`, 'utf8')) as Array<{
    name: string;
    shape: number[];
    dtype: 'float32' | 'int32';
    offset: number;
    length: number;
  }>;
  const buf = await readFile(`${file}.bin`);
  return index.map((e) => {
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset + e.offset, e.length * 4).slice();
    const data = e.dtype === 'int32' ? new Int32Array(bytes.buffer) : new Float32Array(bytes.buffer);
    return { name: e.name, shape: e.shape, dtype: e.dtype, data };
  });
}

export function modelArrays(model: LayersModel): NamedArray[] {
  return model.weights.map((w) => {
    const t = w.read();
    return { name: w.originalName, shape: t.shape.slice(), dtype: 'float32' as const, data: t.dataSync() as Float32Array };
  });
}

export function setModelArrays(tf: Tf, model: LayersModel, arrays: NamedArray[]): void {
  const weights = model.weights;
  if (weights.length !== arrays.length) {
    throw new TrainError(
      `checkpoint has ${arrays.length} weight arrays but the model has ${weights.length}; was the model changed?`,
    );
  }
  model.setWeights(
    arrays.map((a, i) => {
      const want = weights[i]!.shape;
      if (want.join(',') !== a.shape.join(',')) {
        throw new TrainError(`checkpoint weight "${a.name}" has shape [${a.shape}] but the model expects [${want.join(',')}]`);
      }
      return tf.tensor(a.data, a.shape, a.dtype);
    }),
  );
}

/**
 * Adam keeps beta1^t and beta2^t as running products that getWeights() leaves out; its setWeights()
 * recomputes them with pow(), which differs from the product in the last bits. They are saved under
 * these names so a resumed run continues bit for bit.
 */
const ADAM_ACC = ['cdl/adam/accBeta1', 'cdl/adam/accBeta2'] as const;
type AdamAcc = Partial<Record<'accBeta1' | 'accBeta2', { assign(t: unknown): void; dataSync(): Float32Array }>>;

export async function optimizerArrays(optimizer: Optimizer): Promise<NamedArray[]> {
  const named = await optimizer.getWeights();
  const out = named.map((n) => ({
    name: n.name,
    shape: n.tensor.shape.slice(),
    dtype: n.tensor.dtype === 'int32' ? ('int32' as const) : ('float32' as const),
    data: n.tensor.dataSync() as Float32Array | Int32Array,
  }));
  const acc = optimizer as unknown as AdamAcc;
  if (acc.accBeta1 && acc.accBeta2) {
    out.push({ name: ADAM_ACC[0], shape: [], dtype: 'float32', data: Float32Array.from(acc.accBeta1.dataSync()) });
    out.push({ name: ADAM_ACC[1], shape: [], dtype: 'float32', data: Float32Array.from(acc.accBeta2.dataSync()) });
  }
  return out;
}

export async function setOptimizerArrays(tf: Tf, optimizer: Optimizer, arrays: NamedArray[]): Promise<void> {
  if (arrays.length === 0) return;
  const own = arrays.filter((a) => !(ADAM_ACC as readonly string[]).includes(a.name));
  await optimizer.setWeights(own.map((a) => ({ name: a.name, tensor: tf.tensor(a.data, a.shape, a.dtype) })));
  const acc = optimizer as unknown as AdamAcc;
  const [b1, b2] = ADAM_ACC.map((n) => arrays.find((a) => a.name === n));
  if (b1 && b2 && acc.accBeta1 && acc.accBeta2) {
    tf.tidy(() => {
      acc.accBeta1!.assign(tf.scalar(b1.data[0]!));
      acc.accBeta2!.assign(tf.scalar(b2.data[0]!));
    });
  }
}

/** Atomically replace the checkpoint in `dir`. */
export async function saveCheckpoint(dir: string, ckpt: Checkpoint): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await packArrays(path.join(tmp, 'weights'), ckpt.weights);
  await packArrays(path.join(tmp, 'optimizer'), ckpt.optimizer);
  if (ckpt.best) await packArrays(path.join(tmp, 'best'), ckpt.best);
  await writeFile(path.join(tmp, 'state.json'), JSON.stringify(ckpt.state, null, 2));
  const old = `${dir}.old-${process.pid}`;
  if (existsSync(dir)) await rename(dir, old);
  await rename(tmp, dir);
  await rm(old, { recursive: true, force: true });
}

export async function loadCheckpoint(dir: string): Promise<Checkpoint | undefined> {
  const stateFile = path.join(dir, 'state.json');
  if (!existsSync(stateFile)) return undefined;
  let state: CheckpointState;
  try {
    state = JSON.parse(await readFile(stateFile, 'utf8')) as CheckpointState;
  } catch (e) {
    throw new TrainError(`${stateFile}: unreadable checkpoint (${(e as Error).message}); delete ${dir} to start over`);
  }
  if (state.format !== 'cdl-checkpoint/1') {
    throw new TrainError(`${stateFile}: unknown checkpoint format ${JSON.stringify(state.format)}; expected "cdl-checkpoint/1"`);
  }
  return {
    state,
    weights: await unpackArrays(path.join(dir, 'weights')),
    optimizer: await unpackArrays(path.join(dir, 'optimizer')),
    best: existsSync(path.join(dir, 'best.json')) ? await unpackArrays(path.join(dir, 'best')) : undefined,
  };
}
