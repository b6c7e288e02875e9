// Signed blob URLs, shaped like Azure SAS URLs because the toolkit's blob clients expect that form:
// /blob/<container>/<blob>?sv&sr&sp&se[&rscd]&sig, where sig is an HMAC-SHA256 of the permission,
// blob, expiry and content disposition. (Not a JWT: the SAS form has no place for one.)
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Container } from './blob-store.js';

const UPLOAD_URL_LIFETIME_MS = 6 * 3600 * 1000;
const DOWNLOAD_URL_LIFETIME_MS = 3600 * 1000;

function hmac(secret: Buffer, data: string): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

type BlobPermission = 'r' | 'w';

interface BlobSignature {
  permission: BlobPermission;
  container: string;
  blob: string;
  /** Expiry, ms since epoch. */
  expires: number;
  /** Content-Disposition the download answers with (SAS `rscd`). */
  contentDisposition?: string;
}

function signingString(sig: BlobSignature, expiresIso: string): string {
  return [sig.permission, sig.container, sig.blob, expiresIso, sig.contentDisposition ?? ''].join('\n');
}

/** Builds a SAS-like signed URL for a blob: /blob/<container>/<blob>?sv&sr&sp&se[&rscd]&sig. */
function signBlobUrl(secret: Buffer, baseUrl: string, sig: BlobSignature): string {
  const se = new Date(sig.expires).toISOString();
  const url = new URL(`blob/${sig.container}/${sig.blob}`, baseUrl);
  url.searchParams.set('sv', '2025-01-05');
  url.searchParams.set('sr', 'b');
  url.searchParams.set('sp', sig.permission);
  url.searchParams.set('se', se);
  if (sig.contentDisposition !== undefined) url.searchParams.set('rscd', sig.contentDisposition);
  url.searchParams.set('sig', hmac(secret, signingString(sig, se)).toString('base64url'));
  return url.href;
}

/**
 * Checks the signature on a blob request. Returns the content disposition to
 * answer with (if any), or an error string.
 */
export function checkBlobSignature(
  secret: Buffer,
  container: string,
  blob: string,
  query: URLSearchParams,
  needed: BlobPermission,
): { contentDisposition?: string } | string {
  const sp = query.get('sp');
  const se = query.get('se');
  const sig = query.get('sig');
  if (!sp || !se || !sig) return 'the URL is not signed (sp, se and sig are required)';
  if (sp !== needed) return `the URL grants permission '${sp}', this request needs '${needed}'`;
  const expires = Date.parse(se);
  if (Number.isNaN(expires)) return 'se is not a valid time';
  const rscd = query.get('rscd') ?? undefined;
  const expected = hmac(secret, signingString({ permission: sp, container, blob, expires, contentDisposition: rscd }, se));
  if (!safeEqual(Buffer.from(sig, 'base64url'), expected)) return 'the signature does not match';
  if (expires < Date.now()) return 'the signed URL has expired';
  return rscd === undefined ? {} : { contentDisposition: rscd };
}

/** Upload and download URLs for the blobs of one server (its key, its base URL). */
export class BlobUrls {
  constructor(
    private readonly secret: Buffer,
    /** Base URL of this server, with a trailing slash. */
    private readonly baseUrl: () => string,
  ) {}

  upload(container: Container, blob: string): string {
    return signBlobUrl(this.secret, this.baseUrl(), {
      permission: 'w',
      container,
      blob,
      expires: Date.now() + UPLOAD_URL_LIFETIME_MS,
    });
  }

  /** A download URL; with `fileName`, the download names itself so (Content-Disposition). */
  download(container: Container, blob: string, fileName?: string): string {
    return signBlobUrl(this.secret, this.baseUrl(), {
      permission: 'r',
      container,
      blob,
      expires: Date.now() + DOWNLOAD_URL_LIFETIME_MS,
      contentDisposition: fileName === undefined ? undefined : contentDisposition(fileName),
    });
  }
}

/** Content-Disposition with an ASCII fallback and an RFC 5987 UTF-8 name. */
function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\;]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
