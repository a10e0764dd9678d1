/** Swift's header conventions: metadata prefixes, stored headers, timestamps. */
import type { IncomingMessage } from 'node:http';
import { lastModifiedHeader } from '../../http/http-date.ts';
import { fail } from '../../core/errors.ts';
import type { Metadata, ObjectRecord } from '../../core/types.ts';
import { addReadHeaders } from './read-headers.ts';

export const OBJECT_META_PREFIXES = ['x-object-meta-', 'x-amz-meta-'] as const;
export const CONTAINER_META_PREFIX = 'x-container-meta-';
export const ACCOUNT_META_PREFIX = 'x-account-meta-';

/** Headers stored with an object and returned on GET/HEAD, as Swift allows. */
const STORED_OBJECT_HEADERS = ['content-disposition', 'content-encoding', 'content-language', 'cache-control', 'expires', 'x-robots-tag'];

const PLAIN_ASCII = /^[\t\x20-\x7e]*$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Node hands header values over as latin1; Swift clients send UTF-8. A stored value that is not UTF-8 is
 * refused (Swift answers 400 for such a Content-Type and account or container metadata), so that every value
 * Onggi keeps goes back out as the very bytes it came in as.
 */
export function utf8Header(value: string, refusal = 'Header values must be valid UTF-8'): string {
  if (PLAIN_ASCII.test(value)) return value;
  try {
    return strictUtf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return fail('InvalidArgument', refusal);
  }
}

/**
 * A stored value as header bytes: its UTF-8, as Swift sends it (Node writes header strings as latin1, and
 * refuses characters above U+00FF). Control characters, which no request could have carried, become spaces.
 */
export function wireHeader(value: string): string {
  if (PLAIN_ASCII.test(value)) return value;
  // eslint-disable-next-line no-control-regex
  return Buffer.from(value.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, ' '), 'utf8').toString('latin1');
}

export function metadataFrom(req: IncomingMessage, prefixes: readonly string[]): { set: Metadata; remove: string[] } {
  const set: Metadata = {};
  const remove: string[] = [];
  for (const [name, raw] of Object.entries(req.headers)) {
    if (raw === undefined) continue;
    const value = Array.isArray(raw) ? raw.join(',') : raw;
    for (const prefix of prefixes) {
      if (name.startsWith(prefix)) {
        // As Swift: an empty value removes the item (an object's write, which replaces them all, just leaves it out).
        const text = utf8Header(value, 'Metadata must be valid UTF-8').trim();
        if (text === '') remove.push(name.slice(prefix.length));
        else set[name.slice(prefix.length)] = text;
      }
      const removePrefix = prefix.replace(/^x-/, 'x-remove-');
      if (name.startsWith(removePrefix)) remove.push(name.slice(removePrefix.length));
    }
  }
  return { set, remove };
}

export function storedHeadersFrom(req: IncomingMessage): Metadata {
  const stored: Metadata = {};
  for (const name of STORED_OBJECT_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') stored[name] = utf8Header(value, `${titleCase(name)} must be valid UTF-8`);
  }
  return stored;
}

export function metadataHeaders(meta: Metadata, prefix: string, into: Record<string, string | number> = {}): Record<string, string | number> {
  for (const name in meta) into[titleCase(prefix + name)] = wireHeader(meta[name] ?? '');
  return into;
}

/**
 * The headers of an object's GET or HEAD. Objects are served on the console's origin, so none may run there as a
 * page: `Content-Security-Policy: sandbox` gives an object opened as a document an opaque origin without scripts
 * (no access to the console's session storage or cookies), and `nosniff` keeps a browser from reading, say, a
 * text/plain object as HTML or script. With `anonymous`, an object of an active type (HTML, SVG, XML, script)
 * that was not stored with a Content-Disposition of its own is also served as a download (`attachment`): a public
 * bucket is anyone's to fill, and its pages are never to be rendered on this origin.
 */
export function objectHeaders(record: ObjectRecord, anonymous = false): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    'Content-Type': wireHeader(record.contentType),
    ETag: record.etag,
    'Last-Modified': lastModifiedHeader(record),
    'X-Timestamp': swiftTimestamp(record.lastModified),
    'Accept-Ranges': 'bytes',
    'Content-Security-Policy': 'sandbox',
    'X-Content-Type-Options': 'nosniff',
  };
  metadataHeaders(record.meta, OBJECT_META_PREFIXES[0], headers);
  for (const name in record.headers) headers[titleCase(name)] = wireHeader(record.headers[name] ?? '');
  if (record.deleteAt !== null) headers['X-Delete-At'] = Math.floor(record.deleteAt / 1000);
  if (anonymous && record.headers['content-disposition'] === undefined && isActiveType(record.contentType)) headers['Content-Disposition'] = 'attachment';
  addReadHeaders(record, headers);
  return headers;
}

/** Types a browser renders as a document that can run script (or load it): HTML, XHTML, SVG, any XML, JavaScript. */
const ACTIVE_TYPE = /^\s*(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|[a-z0-9.+-]+\/[a-z0-9.-]+\+xml|text\/xsl|application\/xslt\+xml|text\/javascript|application\/javascript|application\/x-javascript|application\/ecmascript|text\/ecmascript|text\/jscript|text\/vbscript|application\/pdf|multipart\/x-mixed-replace|text\/cache-manifest)\s*(;|$)/i;

export function isActiveType(contentType: string): boolean {
  return ACTIVE_TYPE.test(contentType);
}

/** Swift's X-Timestamp: seconds with five decimals. */
export function swiftTimestamp(ms: number): string {
  return (ms / 1000).toFixed(5);
}

/** Swift's listing time: ISO 8601 with microseconds and no zone. */
export function listingTime(ms: number): string {
  // toISOString always ends in `.sssZ` (years 0 to 9999): microseconds as Swift shows them, without a regex per entry.
  return `${new Date(ms).toISOString().slice(0, -1)}000`;
}

export function titleCase(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('-');
}
