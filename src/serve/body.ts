/**
 * Request bodies under limits: a size checked before anything is read (Content-Length) and counted
 * as chunked bodies arrive, a time within which the whole body must arrive, and a refusal that
 * reaches the client as a response rather than a reset connection. Bodies still arriving are
 * not in flight: shutdown refuses them at once (abortAll) instead of waiting for them.
 */
import type http from 'node:http';
import type { Socket } from 'node:net';
import { HttpError } from './errors.js';

export interface BodyLimits {
  /** Largest body in bytes (413 past it). */
  maxBytes: number;
  /** The whole body must arrive within this many ms of the request's headers (408 past it). */
  timeoutMs: number;
}

/**
 * Answer on this request's connection, then close it without a reset: the client may still be
 * sending a body we refused, and closing a socket with unread bytes makes the kernel send RST,
 * which can destroy the response before the client reads it. So the connection says
 * `Connection: close`, half-closes after the response, drops what still arrives (many HTTP
 * clients read no response before they have sent the whole body), and is destroyed when the
 * client closes its side or after `lingerMs` (the body timeout).
 */
export function closeAfterResponse(req: http.IncomingMessage, res: http.ServerResponse, lingerMs: number): void {
  if (!res.headersSent) res.setHeader('connection', 'close');
  if (req.complete) return;
  const socket = req.socket as Socket & { destroySoon?: () => void };
  socket.destroySoon = function (this: Socket) {
    this.end();
    const timer = setTimeout(() => this.destroy(), lingerMs);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    this.on('end', () => this.destroy());
  };
  req.on('data', () => {});
  req.resume();
}

const mib = (n: number) => (n >= 1024 * 1024 ? `${+(n / 1024 / 1024).toFixed(1)} MiB` : `${n} bytes`);

/** Bodies from this size on are large: read a few at a time, and parsed off the main thread. */
export const LARGE_BODY_BYTES = 256 * 1024;

/** Requests waiting for a large-body slot before new ones are refused with 503. */
const MAX_WAITING = 64;

/**
 * Reads bodies under BodyLimits and knows which are still arriving. At most `largeSlots` large
 * bodies (or bodies of unknown size) are read and parsed at once; the others wait unread (TCP
 * holds them back), so memory is bounded by the slots, not by how many clients send at once.
 */
export class BodyReader {
  private readonly arriving = new Set<(e: HttpError) => void>();
  private free: number;
  private readonly waiting: Array<{ grant: () => void; refuse: (e: HttpError) => void }> = [];

  constructor(
    private readonly limits: BodyLimits,
    largeSlots = 4,
  ) {
    this.free = largeSlots;
  }

  /** Whether this request's body is large (or of unknown size until it has arrived). */
  isLarge(req: http.IncomingMessage): boolean {
    const h = req.headers['content-length'];
    return h === undefined || Number(h) >= LARGE_BODY_BYTES;
  }

  /**
   * Wait for a large-body slot; the function returned gives it back. 503 when too many wait, or
   * at shutdown (abortAll).
   */
  slot(): Promise<() => void> {
    const release = () => {
      const next = this.waiting.shift();
      if (next) next.grant();
      else this.free++;
    };
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(once(release));
    }
    if (this.waiting.length >= MAX_WAITING)
      return Promise.reject(new HttpError(503, `${MAX_WAITING} large request bodies are already waiting; retry later`));
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => resolve(once(release)),
        refuse: (e: HttpError) => {
          this.waiting.splice(this.waiting.indexOf(entry), 1);
          reject(e);
        },
      };
      this.waiting.push(entry);
    });
  }

  get maxBytes(): number {
    return this.limits.maxBytes;
  }

  /** Requests whose bodies are still arriving. */
  get pending(): number {
    return this.arriving.size;
  }

  /**
   * The declared body size, refused (413) before a byte is read when it is over the limit; null
   * for a chunked body.
   */
  declaredSize(req: http.IncomingMessage, maxBytes = this.limits.maxBytes): number | null {
    const h = req.headers['content-length'];
    if (h === undefined) return null;
    // Node's parser has already refused a Content-Length that is not a number.
    const n = Number(h);
    if (n > maxBytes) {
      throw new HttpError(
        413,
        `request body of ${mib(n)} (Content-Length) is over the limit of ${mib(maxBytes)}; send smaller batches or binary tensor data${maxBytes === this.limits.maxBytes ? ', or raise --max-body-bytes' : ''}`,
      );
    }
    return n;
  }

  /**
   * The whole body, in a buffer of its own (`ownsBuffer` holds for it), or an HttpError: 413 (too large), 408 (too slow), 503 (abortAll), 400 (client gone). */
  read(req: http.IncomingMessage, maxBytes = this.limits.maxBytes): Promise<Buffer> {
    const declared = this.declaredSize(req, maxBytes);
    const { timeoutMs } = this.limits;
    return new Promise<Buffer>((resolve, reject) => {
      // One buffer of its own (never the shared pool's, so it can be moved to a parser thread
      // without a copy): the declared size, or for a chunked body the limit, which the system
      // commits only as bytes arrive. Chunks are copied in as they come (64 KiB at a time); the
      // main thread never concatenates or copies the whole body.
      const whole = Buffer.allocUnsafeSlow(declared ?? maxBytes);
      let size = 0;
      let done = false;
      const finish = (e?: HttpError) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.arriving.delete(abort);
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('aborted', onAborted);
        req.off('error', onAborted);
        if (e) {
          // What still arrives is dropped (closeAfterResponse), never kept.
          req.on('data', () => {});
          reject(e);
        } else resolve(whole.subarray(0, size));
      };
      const abort = (e: HttpError) => finish(e);
      const onData = (c: Buffer) => {
        if (done) return;
        if (size + c.length > maxBytes) {
          return finish(
            new HttpError(413, `request body over the limit of ${mib(maxBytes)}; send smaller batches or raise --max-body-bytes`),
          );
        }
        c.copy(whole, size);
        size += c.length;
      };
      const onEnd = () => finish();
      const onAborted = () => finish(new HttpError(400, 'the client closed the connection before the request body arrived'));
      const timer = setTimeout(
        () =>
          finish(
            new HttpError(
              408,
              `request body not received within ${timeoutMs} ms (${size}${declared !== null ? ` of ${declared}` : ''} bytes arrived); send it faster or raise --body-timeout-ms`,
            ),
          ),
        timeoutMs,
      );
      this.arriving.add(abort);
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('aborted', onAborted);
      req.on('error', onAborted);
    });
  }

  /**
   * Shutdown: refuse the bodies not yet started at once, and those still arriving after `graceMs`
   * (an upload about to finish is answered; a trickle is not waited for). Returns a function
   * that cancels the pending refusal.
   */
  abortAll(message: string, graceMs = 0): () => void {
    for (const w of [...this.waiting]) w.refuse(new HttpError(503, message));
    const refuse = () => {
      for (const abort of [...this.arriving]) abort(new HttpError(503, message));
    };
    if (graceMs <= 0) {
      refuse();
      return () => {};
    }
    const timer = setTimeout(refuse, graceMs);
    timer.unref();
    return () => clearTimeout(timer);
  }
}

function once(f: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    f();
  };
}
