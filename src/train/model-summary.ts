/**
 * A built model described for people: layer list, output shapes and parameter counts.
 */
import { table } from '../util/table.js';
import type { LayersModel } from './tf.js';

export interface LayerDescription {
  name: string;
  className: string;
  /** Output shape with 'N' for the batch axis, e.g. "[N, 26, 26, 32]". */
  outputShape: string;
  params: number;
  activation?: string;
}

export interface ModelDescription {
  name: string;
  params: number;
  trainableParams: number;
  layers: LayerDescription[];
  /** A short table for logs and the model card. */
  text: string;
}

function countOf(ws: ReadonlyArray<{ shape: ReadonlyArray<number | null> }>): number {
  return ws.reduce((a, w) => a + w.shape.reduce<number>((p, d) => p * (d ?? 1), 1), 0);
}

const fmtInt = (n: number) => n.toLocaleString('en-US');

/** A short text for logs and the model card: name, parameter counts, one line per layer. */
export function describeModel(model: LayersModel): string {
  return modelSummary(model).text;
}

/** Layer list and parameter counts of a model. */
export function modelSummary(model: LayersModel): ModelDescription {
  const layers: LayerDescription[] = [];
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'InputLayer') continue;
    const raw = layer.outputShape as unknown;
    const shape = (Array.isArray(raw) && Array.isArray(raw[0]) ? raw[0] : raw) as Array<number | null>;
    const cfg = layer.getConfig() as { activation?: unknown };
    const act = typeof cfg.activation === 'string' && cfg.activation !== 'linear' ? cfg.activation : undefined;
    layers.push({
      name: layer.name,
      className: cls,
      outputShape: `[${shape.map((d, i) => (d === null && i === 0 ? 'N' : String(d))).join(', ')}]`,
      params: countOf(layer.weights),
      ...(act ? { activation: act } : {}),
    });
  }
  const params = countOf(model.weights);
  const trainableParams = countOf(model.trainableWeights);
  const text = [
    `${model.name}: ${layers.length} layers, ${fmtInt(params)} parameters (${fmtInt(trainableParams)} trainable)`,
    table(
      [
        ['layer', 'class', 'output', 'params', 'activation'],
        ...layers.map((l) => [l.name, l.className, l.outputShape, fmtInt(l.params), l.activation ?? '']),
      ],
      { rightAligned: [3] },
    ),
  ].join('\n');
  return { name: model.name, params, trainableParams, layers, text };
}
