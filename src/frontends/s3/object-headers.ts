/** S3's object headers both ways: what a write stores (metadata, content headers), what a read returns. */
import type { IncomingMessage } from 'node:http';
import { unquote, type ReadConditions } from '../../core/conditions.ts';
import { lastModifiedHeader } from '../../http/http-date.ts';
import type { WriteAttributes } from '../../core/objects.ts';
import type { Metadata, ObjectRecord } from '../../core/types.ts';
import { headerValue } from '../../http/context.ts';
import { isActiveType, utf8Header, wireHeader } from '../swift/headers.ts';
import { S3Error } from './errors.ts';
import { addVersionSettingHeaders } from './version-settings.ts';
import { addEncryptionHeaders } from './sse-headers.ts';
import type { CustomerKey } from '../../core/customer-keys.ts';

const META_PREFIX = 'x-amz-meta-';
/** Stored with the object and returned on reads, under the same names Swift stores them. */
const STORED_HEADERS = ['content-disposition', 'content-encoding', 'content-language', 'cache-control', 'expires'] as const;
const CHECKSUM_PREFIX = 'x-amz-checksum-';
/** `response-*` query parameters of a GET, and the header each overrides. */
const OVERRIDES: ReadonlyArray<readonly [string, string]> = [
  ['response-content-type', 'Content-Type'],
  ['response-content-language', 'Content-Language'],
  ['response-expires', 'Expires'],
  ['response-cache-control', 'Cache-Control'],
  ['response-content-disposition', 'Content-Disposition'],
  ['response-content-encoding', 'Content-Encoding'],
];

export function writeAttributes(req: IncomingMessage): WriteAttributes {
  const contentType = headerValue(req, 'content-type');
  return { contentType: contentType ? utf8Header(contentType, 'Content-Type must be valid UTF-8') : undefined, meta: userMetadata(req), headers: storedHeaders(req), deleteAt: null };
}

export function userMetadata(req: IncomingMessage): Metadata {
  const meta: Metadata = {};
  for (const name in req.headers) {
    if (!name.startsWith(META_PREFIX)) continue;
    const value = req.headers[name];
    meta[name.slice(META_PREFIX.length)] = utf8Header(Array.isArray(value) ? value.join(',') : (value ?? ''), 'Metadata must be valid UTF-8').trim();
  }
  return meta;
}

export function storedHeaders(req: IncomingMessage): Metadata {
  const stored: Metadata = {};
  for (const name of STORED_HEADERS) {
    let value = headerValue(req, name);
    // aws-chunked is how the body came, not what the object is.
    if (name === 'content-encoding' && value !== undefined) value = value.split(',').map((v) => v.trim()).filter((v) => v !== '' && v.toLowerCase() !== 'aws-chunked').join(',') || undefined;
    if (value !== undefined) stored[name] = utf8Header(value, `${name} must be valid UTF-8`);
  }
  return stored;
}

/** Content-MD5 (base64) as the hex MD5 core compares with; InvalidDigest when it is not one. */
export function expectedMd5(req: IncomingMessage): string | undefined {
  const value = headerValue(req, 'content-md5');
  if (value === undefined) return undefined;
  const bytes = Buffer.from(value.trim(), 'base64');
  if (bytes.length !== 16) throw new S3Error('InvalidDigest', 400, 'The Content-MD5 you specified was invalid.');
  return bytes.toString('hex');
}

export function readConditions(req: IncomingMessage, prefix = ''): ReadConditions {
  return {
    ifMatch: headerValue(req, `${prefix}if-match`),
    ifNoneMatch: headerValue(req, `${prefix}if-none-match`),
    ifModifiedSince: headerValue(req, `${prefix}if-modified-since`),
    ifUnmodifiedSince: headerValue(req, `${prefix}if-unmodified-since`),
  };
}

/**
 * The headers of a GET or HEAD of `record`. Path-style S3 shares the console's origin, so objects are kept from
 * running there as Swift's are (see the Swift front end's objectHeaders): sandboxed, not sniffed, and an active
 * type read by an anonymous caller is a download.
 */
export function objectHeaders(record: ObjectRecord, query: URLSearchParams, withChecksums: boolean, anonymous = false, customerKey?: CustomerKey): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    'Content-Type': wireHeader(record.contentType),
    ETag: `"${record.etag}"`,
    'Last-Modified': lastModifiedHeader(record),
    'Accept-Ranges': 'bytes',
    'Content-Security-Policy': 'sandbox',
    'X-Content-Type-Options': 'nosniff',
  };
  if (anonymous && record.headers['content-disposition'] === undefined && isActiveType(record.contentType)) headers['Content-Disposition'] = 'attachment';
  if (record.versionId !== 'null') headers['x-amz-version-id'] = record.versionId;
  for (const name in record.meta) headers[META_PREFIX + name] = wireHeader(record.meta[name] ?? '');
  for (const name in record.headers) {
    if (name.startsWith(CHECKSUM_PREFIX)) {
      if (withChecksums) {
        headers[name] = record.headers[name] ?? '';
        // A multipart object stores its type (COMPOSITE or FULL_OBJECT); a single-part one's is FULL_OBJECT.
        headers['x-amz-checksum-type'] ??= 'FULL_OBJECT';
      }
    } else {
      headers[name] = wireHeader(record.headers[name] ?? '');
    }
  }
  addVersionSettingHeaders(record, headers);
  if (record.encryption !== undefined) addEncryptionHeaders(headers, record.encryption, customerKey);
  if (query.size > 0) {
    for (const [parameter, header] of OVERRIDES) {
      const value = query.get(parameter);
      if (value !== null) headers[header] = wireHeader(value);
    }
  }
  return headers;
}

/** S3 refuses `response-*` overrides to anonymous callers: nobody may choose how another's public object is served. */
export function refuseAnonymousOverrides(query: URLSearchParams, anonymous: boolean): void {
  if (anonymous && OVERRIDES.some(([parameter]) => query.has(parameter))) {
    throw new S3Error('InvalidRequest', 400, 'Request specific response headers cannot be used for anonymous GET requests.');
  }
}

/** `"etag"` or etag as a client sent it, without the quotes. */
export function etagOf(value: string): string {
  return unquote(value.trim());
}
