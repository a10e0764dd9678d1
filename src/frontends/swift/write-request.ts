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
 * X-Delete-At (Unix seconds) or X-Delete-After (seconds from now), as epoch milliseconds. Both must name a time
 * in the future and no later than MAX_DELETE_AT_SECONDS, where Swift caps them; past it Onggi refuses (400)
 * rather than quietly moving the date.
 */
export function deleteAtFrom(req: IncomingMessage): number | null {
  const at = headerValue(req, 'x-delete-at');
  const after = headerValue(req, 'x-delete-after');
  let deleteAt: number | null = null;
  let header = 'X-Delete-At';
  if (after !== undefined) {
    if (!/^\d+$/.test(after.trim())) fail('InvalidArgument', 'Non-integer X-Delete-After');
    deleteAt = Date.now() + Number(after) * 1000;
    header = 'X-Delete-After';
  } else if (at !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(at.trim())) fail('InvalidArgument', 'Non-integer X-Delete-At');
    deleteAt = Math.floor(Number(at)) * 1000;
  }
  if (deleteAt === null) return null;
  if (deleteAt <= Date.now()) fail('InvalidArgument', `${header} in past`);
  if (!(deleteAt <= MAX_DELETE_AT_SECONDS * 1000)) {
    fail('InvalidArgument', `${header} too far in the future: the deletion time may be at most ${MAX_DELETE_AT_SECONDS} (2286-11-20)`);
  }
  return deleteAt;
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
