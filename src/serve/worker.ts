/**
 * One inference worker (a node:worker_threads thread): its own onnxruntime session, loaded from
 * the bytes the main thread verified, and a warm-up row; then it runs the batches it is sent and
 * answers each with its outputs, their buffers transferred back (no copies). onnxruntime-node's
 * run blocks the thread it is called on, so it is called here and never on the thread that
 * accepts and parses requests. Spawned by pool.ts; the messages are defined there.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadOrt } from '../runtime/onnxruntime.js';
import type { WorkerInit, WorkerReply, WorkerRequest, WireTensor } from './pool.js';
import { makeTensorData, type TensorData } from './tensors.js';
import { InputStatsRecorder } from './input-stats.js';

const port = parentPort!;
const init = workerData as WorkerInit;
/** Bins each batch's inputs for monitoring (the counts go back with the outputs). */
const stats = init.reference ? new InputStatsRecorder(init.reference, '', '') : undefined;

function fail(message: string): void {
  port.postMessage({ type: 'failed', message } satisfies WorkerReply);
}

async function main(): Promise<void> {
  const { ort } = await loadOrt();
  type Session = Awaited<ReturnType<typeof ort.InferenceSession.create>>;
  let session: Session;
  try {
    session = await ort.InferenceSession.create(new Uint8Array(init.model), {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: init.threads,
      interOpNumThreads: 1,
      // Idle intra-op threads sleep instead of spinning: they share the cores with the thread that
      // handles HTTP, and spinning between small batches took about half the server's CPU.
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
  } catch (e) {
    return fail(`onnxruntime cannot load it: ${(e as Error).message}`);
  }

  const run = async (feeds: WireTensor[]): Promise<{ outputs: WireTensor[]; transfer: ArrayBuffer[] }> => {
    const inputs: Record<string, InstanceType<typeof ort.Tensor>> = {};
    for (const f of feeds) inputs[f.name] = new ort.Tensor(f.type as 'float32', f.data as Float32Array, f.dims);
    const res = await session.run(inputs);
    const outputs: WireTensor[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const name of init.outputs) {
      const t = res[name];
      if (!t) continue;
      let data = t.data as TensorData;
      // Transfer the output's own buffer when it holds exactly this tensor; otherwise copy it out.
      if (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength || !(data.buffer instanceof ArrayBuffer))
        data = data.slice();
      outputs.push({ name, type: t.type, dims: [...t.dims], data });
      transfer.push(data.buffer as ArrayBuffer);
    }
    return { outputs, transfer };
  };

  // One row of zeros (open dimensions set to 1) before any traffic.
  if (init.inputs.every((i) => i.ort)) {
    try {
      await run(
        init.inputs.map((i) => {
          const dims = i.shape.map((d) => (d < 0 ? 1 : d));
          return {
            name: i.name,
            type: i.ort!,
            dims,
            data: makeTensorData(
              i.ort!,
              dims.reduce((a, b) => a * b, 1),
            ),
          };
        }),
      );
    } catch (e) {
      await session.release();
      return fail(`the warm-up inference failed: ${(e as Error).message}`);
    }
  }

  port.on('message', (m: WorkerRequest) => {
    if (m.type === 'release') {
      void session.release().finally(() => port.postMessage({ type: 'released' } satisfies WorkerReply));
      return;
    }
    run(m.feeds).then(
      ({ outputs, transfer }) => {
        const x = m.feeds[0];
        const inputCounts = stats && x && x.dims.length > 0 ? stats.countInputs(x.data as Float32Array, x.dims[0]!) : null;
        port.postMessage({ type: 'result', id: m.id, outputs, inputCounts } satisfies WorkerReply, transfer);
      },
      (e: Error) => port.postMessage({ type: 'error', id: m.id, message: e.message } satisfies WorkerReply),
    );
  });
  port.postMessage({ type: 'ready' } satisfies WorkerReply);
}

main().catch((e: Error) => fail(e.message));
