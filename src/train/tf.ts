/**
 * The TensorFlow.js namespace the trainer works with. Code takes a `Tf` value instead of importing
 * tfjs statically, because `@tensorflow/tfjs-node(-gpu)`, when present, brings its own copy of
 * tfjs-core and must be used through the namespace it exports.
 */
import * as tfc from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export type Tf = typeof tfc & typeof tfl;
export type LayersModel = tfl.LayersModel;
export type Tensor = tfc.Tensor;

/** The bundled tfjs (core + layers), used with the wasm and cpu backends. */
export function bundledTf(): Tf {
  return { ...tfc, ...tfl } as Tf;
}
