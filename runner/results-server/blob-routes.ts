// The blob routes (/blob/<container>/<blob>?<signature>): Azure blob storage's Put Blob, Put Block,
// Put Block List and Get Blob (ranges included), as the toolkit's blob clients call them through
// the signed URLs the services hand out. Errors answer in Azure's XML form.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { readSmallBody } from '../../src/util/http.js';
import type { ArtifactService } from './artifact-service.js';
import { BlobError, isBlobName, isContainer, type BlobProperties, type Container } from './blob-store.js';
import { checkBlobSignature } from './blob-url.js';
import type { CacheService } from './cache-service.js';
import type { Storage } from './storage.js';

const MAX_BLOCK_LIST_BODY = 16 * 1024 * 1024;
const MAX_BLOCK_ID_BYTES = 64;
const STORAGE_VERSION = '2025-01-05';

interface BlobServices {
  storage: Storage;
  artifacts: ArtifactService;
  cache: CacheService;
}

/** The handler of the blob routes over `storage`, writing only the uploads the services expect. */
export function blobHandler(services: BlobServices): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  const { storage, artifacts, cache } = services;
  const secret = storage.secret;

  function blobHeaders(extra: Record<string, string> = {}): Record<string, string> {
    return { 'x-ms-request-id': randomUUID(), 'x-ms-version': STORAGE_VERSION, ...extra };
  }

  function sendBlobError(req: IncomingMessage, res: ServerResponse, err: BlobError): void {
    req.resume();
    const xml =
      `<?xml version="1.0" encoding="utf-8"?><Error><Code>${err.code}</Code>` +
      `<Message>${escapeXml(err.message)}</Message></Error>`;
    res.writeHead(
      err.status,
      blobHeaders({
        'Content-Type': 'application/xml',
        'Content-Length': String(Buffer.byteLength(xml)),
        'x-ms-error-code': err.code,
      }),
    );
    res.end(req.method === 'HEAD' ? undefined : xml);
  }

  function putResponse(res: ServerResponse, props: BlobProperties | undefined, md5?: string): void {
    const headers = blobHeaders({ 'Content-Length': '0', 'x-ms-request-server-encrypted': 'false' });
    if (props) {
      headers['ETag'] = props.etag;
      headers['Last-Modified'] = new Date(props.lastModified).toUTCString();
    }
    if (md5) headers['Content-MD5'] = md5;
    res.writeHead(201, headers);
    res.end();
  }

  async function handleBlob(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    try {
      const parts = url.pathname.split('/').slice(2); // ['', 'blob', container, blob]
      const [container, blob] = parts.map((p) => decodeURIComponent(p));
      if (parts.length !== 2 || !container || !blob || !isContainer(container) || !isBlobName(blob)) {
        throw new BlobError(400, 'InvalidUri', `${url.pathname} is not /blob/<container>/<blob>`);
      }
      const method = req.method ?? 'GET';
      const needed = method === 'PUT' ? 'w' : method === 'GET' || method === 'HEAD' ? 'r' : undefined;
      if (!needed) throw new BlobError(405, 'UnsupportedHttpVerb', `method ${method} is not supported`);
      const sig = checkBlobSignature(secret, container, blob, url.searchParams, needed);
      if (typeof sig === 'string') throw new BlobError(403, 'AuthenticationFailed', sig);
      if (needed === 'w') await handleBlobPut(req, res, url, container, blob);
      else await handleBlobGet(req, res, container, blob, sig.contentDisposition);
    } catch (error) {
      if (error instanceof BlobError) sendBlobError(req, res, error);
      else sendBlobError(req, res, new BlobError(500, 'InternalError', (error as Error).message));
    }
  }

  async function handleBlobPut(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    container: Container,
    blob: string,
  ): Promise<void> {
    if (!(container === 'artifacts' ? artifacts : cache).canWrite(blob)) {
      throw new BlobError(409, 'BlobImmutable', 'this blob is not open for upload (already finalized, or never created)');
    }
    const length = contentLength(req);
    const headers = {
      contentType: header(req, 'x-ms-blob-content-type'),
      contentEncoding: header(req, 'x-ms-blob-content-encoding'),
      contentDisposition: header(req, 'x-ms-blob-content-disposition'),
    };
    const comp = url.searchParams.get('comp');
    if (comp === 'block') {
      const blockId = url.searchParams.get('blockid');
      if (!blockId) throw new BlobError(400, 'MissingRequiredQueryParameter', 'blockid is required with comp=block');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(blockId) || Buffer.from(blockId, 'base64').length > MAX_BLOCK_ID_BYTES) {
        throw new BlobError(400, 'InvalidQueryParameterValue', `blockid must be base64 of at most ${MAX_BLOCK_ID_BYTES} bytes`);
      }
      const md5 = await storage.blobs.putBlock(container, blob, blockId, req, length);
      putResponse(res, undefined, md5);
    } else if (comp === 'blocklist') {
      const xml = (
        await readSmallBody(req, MAX_BLOCK_LIST_BODY).catch(() => {
          throw new BlobError(413, 'RequestBodyTooLarge', `block list is larger than ${MAX_BLOCK_LIST_BODY} bytes`);
        })
      ).toString('utf8');
      const ids = parseBlockList(xml);
      const props = await storage.blobs.putBlockList(container, blob, ids, headers);
      putResponse(res, props);
    } else if (comp === null) {
      const blobType = header(req, 'x-ms-blob-type');
      if (blobType !== 'BlockBlob') {
        throw new BlobError(400, 'MissingRequiredHeader', 'x-ms-blob-type: BlockBlob is required for Put Blob');
      }
      if (!headers.contentType) headers.contentType = header(req, 'content-type');
      const props = await storage.blobs.putBlob(container, blob, req, length, headers);
      putResponse(res, props, props.md5);
    } else {
      throw new BlobError(400, 'UnsupportedQueryParameter', `comp=${comp} is not supported`);
    }
  }

  async function handleBlobGet(
    req: IncomingMessage,
    res: ServerResponse,
    container: Container,
    blob: string,
    disposition: string | undefined,
  ): Promise<void> {
    const props = await storage.blobs.blobProperties(container, blob);
    if (!props) throw new BlobError(404, 'BlobNotFound', 'The specified blob does not exist.');
    const headers = blobHeaders({
      'Content-Type': props.contentType,
      ETag: props.etag,
      'Last-Modified': new Date(props.lastModified).toUTCString(),
      'Accept-Ranges': 'bytes',
      'x-ms-blob-type': 'BlockBlob',
      'x-ms-creation-time': new Date(props.lastModified).toUTCString(),
      'x-ms-server-encrypted': 'false',
    });
    if (props.contentEncoding) headers['Content-Encoding'] = props.contentEncoding;
    const cd = disposition ?? props.contentDisposition;
    if (cd) headers['Content-Disposition'] = cd;

    let start = 0;
    let end = props.size - 1;
    let status = 200;
    const range = header(req, 'x-ms-range') ?? header(req, 'range');
    if (range !== undefined) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range.trim());
      if (!m) throw new BlobError(400, 'InvalidRange', `unsupported range ${JSON.stringify(range)}`);
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), props.size - 1) : props.size - 1;
      if (start >= props.size || end < start) {
        res.writeHead(416, blobHeaders({ 'Content-Range': `bytes */${props.size}`, 'x-ms-error-code': 'InvalidRange' }));
        res.end();
        return;
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${props.size}`;
    } else {
      headers['Content-MD5'] = props.md5;
    }
    headers['Content-Length'] = String(props.size === 0 ? 0 : end - start + 1);
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || props.size === 0) {
      res.end();
      return;
    }
    await pipeline(storage.blobs.readBlob(container, blob, { start, end }), res);
  }

  return handleBlob;
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function contentLength(req: IncomingMessage): number | undefined {
  const value = header(req, 'content-length');
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new BlobError(400, 'InvalidHeaderValue', 'Content-Length is not a number');
  return Number(value);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_m, d: string) => String.fromCharCode(Number(d)))
    .replace(/&amp;/g, '&');
}

/** Block ids from a Put Block List body, in document order (Committed, Uncommitted or Latest). */
function parseBlockList(xml: string): string[] {
  if (!/<BlockList[\s>/]/.test(xml)) throw new BlobError(400, 'InvalidXmlDocument', 'body is not a <BlockList> document');
  const ids: string[] = [];
  const re = /<(Committed|Uncommitted|Latest)>([^<]*)<\/\1>/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) ids.push(unescapeXml((m[2] as string).trim()));
  return ids;
}
