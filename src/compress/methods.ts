/**
 * The compression methods of compress.methods: what each does to the parent model, and the
 * settings of each that lineage and the report record.
 */
import type { LoadedConfig } from '../config/index.js';
import type { CompressMethod, CompressSection } from '../config/schema/compress.js';
import type { Dataset } from '../data/index.js';
import type { OpenedModelDir } from '../model-dir/index.js';
import { convertFp16 } from '../onnx/fp16.js';
import { pruneOnnx } from '../onnx/prune.js';
import { quantizeDynamic } from '../onnx/quantize.js';
import { quantizeStatic } from '../onnx/quantize-static.js';
import { loadOrt } from '../runtime/onnxruntime.js';
import { CdlError } from '../util/errors.js';
import { CDL_VERSION } from '../version.js';
import { examplesFor } from './data.js';
import { distill, pruneAndFineTune, type TfjsFiles } from './train.js';

/** The settings that matter for one method, recorded in lineage and the report. */
export function methodSettings(method: CompressMethod, c: CompressSection): Record<string, unknown> {
  switch (method) {
    case 'int8-dynamic':
      return {
        weights: 'int8 symmetric per channel',
        activations: 'uint8 at run time',
        conv: c.int8.dynamic_conv,
        reduce_range: c.int8.reduce_range,
        exclude: c.int8.exclude,
      };
    case 'int8-static':
      return {
        format: 'QDQ',
        weights: 'int8 symmetric per channel',
        activations: 'uint8 asymmetric',
        calibration: c.int8.calibration,
        reduce_range: c.int8.reduce_range,
        exclude: c.int8.exclude,
      };
    case 'fp16':
      return { keep_io_types: c.fp16.keep_io_types };
    case 'prune':
      return { ...c.prune };
    case 'distill':
      return { ...c.distill };
  }
}

export interface Candidate {
  onnx: Uint8Array;
  tfjs?: TfjsFiles;
  details: Record<string, unknown>;
}

export async function applyMethod(
  method: CompressMethod,
  parent: OpenedModelDir,
  bytes: Uint8Array,
  ctx: { loaded: LoadedConfig; c: CompressSection; dataset: Dataset; log: (l: string) => void },
): Promise<Candidate> {
  const { c, dataset, loaded, log } = ctx;
  const cfg = loaded.config;
  const metadata = { cdl_version: CDL_VERSION, parent_sha256: parent.sha256, compression: method };
  switch (method) {
    case 'int8-dynamic': {
      const r = quantizeDynamic(bytes, { reduceRange: c.int8.reduce_range, exclude: c.int8.exclude, conv: c.int8.dynamic_conv });
      return { onnx: r.bytes, details: { quantized_nodes: r.quantized } };
    }
    case 'int8-static': {
      const { ort } = await loadOrt({ log });
      const n = Math.min(c.int8.calibration.samples, dataset.train.n);
      if (n === 0) throw new CdlError('int8-static: the training split is empty; expected examples to calibrate on');
      const calibration = examplesFor(bytes, dataset.train.x, n, dataset.shape);
      const r = await quantizeStatic(bytes, {
        ort,
        calibration,
        method: c.int8.calibration.method,
        percentile: c.int8.calibration.percentile,
        reduceRange: c.int8.reduce_range,
        exclude: c.int8.exclude,
      });
      return { onnx: r.bytes, details: { quantized_nodes: r.quantized, calibration_examples: n, ranges: r.ranges } };
    }
    case 'fp16': {
      const r = convertFp16(bytes, { keepIo: c.fp16.keep_io_types });
      return { onnx: r.bytes, details: { converted_initializers: r.converted } };
    }
    case 'prune': {
      if (parent.hasTfjs && c.prune.fine_tune_epochs > 0) {
        const r = await pruneAndFineTune({
          dir: parent.dir,
          dataset,
          train: cfg.train,
          settings: c.prune,
          task: cfg.model.task,
          modelName: cfg.model.name,
          metadata,
          log,
        });
        return { onnx: r.onnx, tfjs: r.tfjs, details: { fine_tuned: true, ...r.details } };
      }
      const r = pruneOnnx(bytes, { sparsity: c.prune.sparsity, scope: c.prune.scope });
      const why = parent.hasTfjs ? 'fine_tune_epochs is 0' : 'the model directory has no tfjs/ model';
      log(`  prune: not fine-tuned (${why})`);
      return { onnx: r.bytes, details: { fine_tuned: false, reason: why, sparsity: r.sparsity, sparsity_per_layer: r.layers } };
    }
    case 'distill': {
      const { ort } = await loadOrt({ log });
      const r = await distill({
        teacher: bytes,
        ort,
        dataset,
        train: cfg.train,
        settings: c.distill,
        modelName: cfg.model.name,
        metadata,
        log,
      });
      return { onnx: r.onnx, tfjs: r.tfjs, details: r.details };
    }
  }
}
