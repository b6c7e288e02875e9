/** The model server: Open Inference Protocol v2 over HTTP, dynamic batching, versions, canaries, metrics. */
export { ModelServer, type ServeOptions, SERVER_NAME, EXTENSIONS } from './server.js';
export { ModelRepository, type IndexEntry, type VersionState } from './repository.js';
export { readModelConfig, validateModelConfig, defaultModelConfig, type ServeModelConfig, type VersionPolicy } from './config.js';
export { parseInferRequest, inferResponse, HttpError, type Signature, type TensorSpec } from './protocol.js';
export { Batcher, type BatcherOptions } from './batcher.js';
export { ServeMetrics } from './metrics.js';
export { jsonLogger, silentLogger, type Logger, type LogLevel } from './log.js';
