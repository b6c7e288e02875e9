/** Evaluation of model directories on the test split, significance tests, and the gate decision. */
export * from './metrics.js';
export * from './layout.js';
export * from './evaluate-model.js';
export * from './significance.js';
export * from './prediction-changes.js';
export * from './gate.js';
export * from './baseline.js';
export * from './pipeline.js';
// The records the gate writes into a model directory (blessing.json, evaluation.json).
export * from '../model-dir/records.js';
