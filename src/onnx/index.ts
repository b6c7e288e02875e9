export { exportOnnx, SUPPORTED_LAYERS, SUPPORTED_ACTIVATIONS, MIN_OPSET, MAX_OPSET, type ExportOnnxOptions } from './export.js';
export { tfPads, OnnxExportError } from './tf-layer.js';
export { readOnnxModel, summarizeOnnx, formatOnnxSummary, type OnnxSummary, type OnnxValueSummary } from './read.js';
export { onnx, toNumber, type ModelProto } from './proto.js';
