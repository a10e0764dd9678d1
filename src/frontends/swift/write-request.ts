/** What a Swift write request says about the object it writes: its attributes (type, metadata, expiry) and its length. */
import type { IncomingMessage } from 'node:http';
import { MAX_DELETE_AT_SECONDS } from '../../core/constraints.ts';
import { fail } from '../../core/errors.ts';
import type { WriteAttributes } from '../../core/objects.ts';
import { headerValue } from '../../http/context.ts';
import { metadataFrom, OBJECT_META_PREFIXES, storedHeadersFrom, utf8Header } from './headers.ts';

export function writeAttributes(req: IncomingMessage): WriteAttributes {
  return {
    contentType: explicitContentType(req),
    meta: metadataFrom(req, OBJECT_META_PREFIXES).set,
    headers: storedHeadersFrom(req),
    deleteAt: deleteAtFrom(req),
  };
}

export function explicitContentType(req: IncomingMessage): string | undefined {
  const value = headerValue(req, 'content-type');
  return value === undefined || value === '' ? undefined : utf8Header(value, 'Invalid Content-Type: it must be valid UTF-8');
}

/**
 * X-Delete-At (Unix seconds) or X-Delete-After (seconds from now), as epoch milliseconds, read as Swift's
 * check_delete_headers reads them: an integer as Python's int() takes it, clamped to 0..MAX_DELETE_AT_SECONDS,
 * and then in the future. A number too long to be a float (Swift fails with a 500 there) is refused.
 */
export function deleteAtFrom(req: IncomingMessage): number | null {
  const after = headerValue(req, 'x-delete-after');
  const at = headerValue(req, 'x-delete-at');
  const header = after !== undefined ? 'X-Delete-After' : 'X-Delete-At';
  const text = after ?? at;
  if (text === undefined) return null;
  const value = pythonInt(text);
  if (value === null || !Number.isFinite(value)) fail('InvalidArgument', `Non-integer ${header}`);
  const now = Date.now() / 1000;
  const seconds = Math.floor(Math.min(Math.max(0, after !== undefined ? now + value : value), MAX_DELETE_AT_SECONDS));
  if (seconds <= now) fail('InvalidArgument', `${header} in past`);
  return seconds * 1000;
}

/** Python's int() of a header: digits with an optional sign, around spaces; underscores between digits. */
export function pythonInt(text: string): number | null {
  const match = /^\s*([+-]?)(\d+(?:_\d+)*)\s*$/.exec(text);
  if (!match) return null;
  const magnitude = Number((match[2] ?? '').replace(/_/g, ''));
  return match[1] === '-' ? -magnitude : magnitude;
}

export function declaredLength(req: IncomingMessage): number | null {
  const length = headerValue(req, 'content-length');
  if (length !== undefined) {
    if (!/^\d+$/.test(length)) fail('InvalidArgument', 'Invalid Content-Length');
    return Number(length);
  }
  if (/\bchunked\b/i.test(headerValue(req, 'transfer-encoding') ?? '')) return null;
  if (req.method === 'PUT' && headerValue(req, 'x-copy-from') === undefined) fail('LengthRequired', 'Missing Content-Length header.');
  return 0;
}
