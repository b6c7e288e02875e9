/**
 * A request parser thread (request-parser.ts): parses and checks large inference request bodies
 * off the main thread, and sends the tensors back with their buffers transferred.
 */
import { parentPort } from 'node:worker_threads';
import { HttpError } from './errors.js';
import { packValues, parseInferBody, requestBuffers, type ParseJob, type ParseReply } from './request-parser.js';

const port = parentPort!;
port.on('message', ({ id, job }: { id: number; job: ParseJob }) => {
  try {
    const request = packValues(parseInferBody(job), job.signature);
    port.postMessage({ id, request } satisfies ParseReply, requestBuffers(request));
  } catch (e) {
    const status = e instanceof HttpError ? e.status : 500;
    const message = e instanceof HttpError ? e.message : `internal error while parsing the request: ${(e as Error).message}`;
    port.postMessage({ id, status, message } satisfies ParseReply);
  }
});
