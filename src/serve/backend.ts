/**
 * What a protocol endpoint (REST, gRPC) needs of the model server: the same readiness,
 * metadata, request checks, batching queue, metrics and repository. Declared on its own so that the
 * server, which starts its endpoints, and the endpoints, which call back into it, do not import
 * each other.
 */
import type { Logger } from './log.js';
import type { ModelVersion } from './model-version.js';
import type { InferRequest, OutputTensor } from './tensors.js';
import type { tensorMetadata } from './protocol.js';
import type { ServeMetrics } from './metrics.js';
import type { ModelRepository } from './repository.js';

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: ReturnType<typeof tensorMetadata>;
  outputs: ReturnType<typeof tensorMetadata>;
  parameters: Record<string, unknown>;
}

export interface InferenceBackend {
  readonly log: Logger;
  readonly repository: ModelRepository;
  readonly metrics: ServeMetrics;
  readonly isReady: boolean;
  readonly isDraining: boolean;
  /** Run `fn` as one in-flight request, so that draining waits for it. */
  track<T>(fn: () => Promise<T>): Promise<T>;
  serverMetadata(): { name: string; version: string; extensions: string[] };
  modelReady(name: string, version: string | undefined): boolean;
  modelMetadata(name: string, version: string | undefined): ModelMetadata;
  loadModel(name: string, action: 'load' | 'unload'): Promise<void>;
  inferOnce<T>(
    name: string,
    version: string | undefined,
    parse: (mv: ModelVersion) => InferRequest,
    answer: (mv: ModelVersion, parsed: InferRequest, outputs: OutputTensor[]) => T,
  ): Promise<T>;
  /** Send a copy of a production request to the model's shadow version, when one is due. */
  mirror(name: string, mv: ModelVersion, parsed: InferRequest, outputs: OutputTensor[], productionMs: number): void;
}
