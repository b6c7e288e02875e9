/**
 * The trained TF.js model's other forms: its tfjs/ files, and the check that the exported
 * model.onnx computes what the TF.js model computes.
 */
import type { Dataset } from '../data/index.js';
import { loadOrt } from '../runtime/onnxruntime.js';
import { TrainError } from '../util/errors.js';
import { CDL_VERSION } from '../version.js';
import { predictSplit } from './split-evaluation.js';
import type { LayersModel, Tf } from './tf.js';

/** The model's tfjs/ files: model.json (topology and weights manifest) and weights.bin. */
export async function tfjsArtifacts(tf: Tf, model: LayersModel): Promise<{ modelJson: unknown; weights: Uint8Array }> {
  let out: { modelJson: unknown; weights: Uint8Array } | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const data = a.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(a.weightData);
      out = {
        modelJson: {
          format: 'layers-model',
          generatedBy: `cdl ${CDL_VERSION}`,
          convertedBy: null,
          modelTopology: a.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
        },
        weights: new Uint8Array(data),
      };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return out!;
}

/** Run the exported model in onnxruntime on the first test examples and compare with TF.js. */
export async function onnxParity(
  tf: Tf,
  model: LayersModel,
  onnx: Uint8Array,
  ds: Dataset,
  log: (s: string) => void,
): Promise<{ examples: number; max_abs_diff: number; runtime: string }> {
  const { ort } = await loadOrt({ log });
  const n = Math.min(100, ds.test.n || ds.validation.n);
  const split = ds.test.n ? ds.test : ds.validation;
  const rowSize = ds.shape.reduce((a, b) => a * b, 1);
  const sub = { x: split.x.subarray(0, n * rowSize), y: split.y.subarray(0, n), n };
  const expected = predictSplit(tf, model, sub, ds.shape);
  const session = await ort.InferenceSession.create(onnx);
  try {
    const input = new ort.Tensor('float32', Float32Array.from(sub.x), [n, ...ds.shape]);
    const res = await session.run({ [session.inputNames[0]!]: input });
    const got = res[session.outputNames[0]!]!.data as Float32Array;
    let maxDiff = 0;
    for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs(expected[i]! - got[i]!));
    if (got.length !== expected.length || !(maxDiff <= 1e-3)) {
      throw new TrainError(
        `the exported model.onnx disagrees with the trained TF.js model on ${n} test examples (max difference ${maxDiff}); ` +
          `expected agreement within 1e-3. This is a bug in cdl's ONNX export.`,
      );
    }
    return { examples: n, max_abs_diff: maxDiff, runtime: `onnxruntime-node ${ort.env?.versions?.node ?? ''}`.trim() };
  } finally {
    await session.release?.();
  }
}
