/** Swift listings in plain text, JSON or XML, chosen by `format` or the Accept header. */
import type { IncomingMessage } from 'node:http';
import type { ListEntry } from '../../core/listing.ts';
import type { Bucket, ObjectRecord } from '../../core/types.ts';
import { listingTime } from './headers.ts';

export type ListingFormat = 'plain' | 'json' | 'xml';

export const CONTENT_TYPES: Record<ListingFormat, string> = {
  plain: 'text/plain; charset=utf-8',
  json: 'application/json; charset=utf-8',
  xml: 'application/xml; charset=utf-8',
};

export function listingFormat(req: IncomingMessage, query: URLSearchParams): ListingFormat {
  const format = query.get('format')?.toLowerCase();
  if (format === 'json' || format === 'xml' || format === 'plain') return format;
  const accept = req.headers.accept ?? '';
  if (/application\/json/i.test(accept)) return 'json';
  if (/(application|text)\/xml/i.test(accept)) return 'xml';
  return 'plain';
}

export function renderObjectListing(format: ListingFormat, container: string, entries: ListEntry<ObjectRecord>[]): string {
  if (format === 'plain') return entries.map((e) => plainLine(e.kind === 'item' ? e.item.key : e.prefix)).join('');
  if (format === 'json') {
    return JSON.stringify(
      entries.map((e) =>
        e.kind === 'prefix'
          ? { subdir: e.prefix }
          : { name: e.item.key, hash: e.item.etag, bytes: e.item.size, content_type: e.item.contentType, last_modified: listingTime(e.item.lastModified) },
      ),
    );
  }
  // Swift's XML keeps the listing order, objects and subdirs interleaved.
  const body = entries
    .map((e) =>
      e.kind === 'prefix'
        ? subdirXml(e.prefix)
        : `<object>${xmlFields({ name: e.item.key, hash: e.item.etag, bytes: e.item.size, content_type: e.item.contentType, last_modified: listingTime(e.item.lastModified) })}</object>`,
    )
    .join('');
  return xmlDocument('container', container, body);
}

export function renderContainerListing(format: ListingFormat, account: string, entries: ListEntry<Bucket>[]): string {
  if (format === 'plain') return entries.map((e) => plainLine(e.kind === 'item' ? e.item.name : e.prefix)).join('');
  const fields = (bucket: Bucket): Record<string, string | number> => ({
    name: bucket.name,
    count: bucket.objectCount,
    bytes: bucket.bytes,
    last_modified: listingTime(bucket.updatedAt),
  });
  if (format === 'json') return JSON.stringify(entries.map((e) => (e.kind === 'prefix' ? { subdir: e.prefix } : fields(e.item))));
  const body = entries.map((e) => (e.kind === 'prefix' ? subdirXml(e.prefix) : `<container>${xmlFields(fields(e.item))}</container>`)).join('');
  return xmlDocument('account', account, body);
}

function subdirXml(name: string): string {
  return `<subdir name="${escapeXml(name)}"><name>${escapeXml(name)}</name></subdir>`;
}

function xmlFields(fields: Record<string, string | number>): string {
  return Object.entries(fields)
    .map(([name, value]) => `<${name}>${escapeXml(String(value))}</${name}>`)
    .join('');
}

function xmlDocument(root: 'container' | 'account', name: string, body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} name="${escapeXml(name)}">${body}</${root}>`;
}

/**
 * One name per line. Names with control characters are refused at creation; one stored before that rule still
 * lists on one line, its controls shown as U+FFFD (the JSON listing has the name exactly).
 */
function plainLine(name: string): string {
  // eslint-disable-next-line no-control-regex
  return `${name.replace(/[\u0000-\u001f\u007f]/g, '\ufffd')}\n`;
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' };

/**
 * Text for XML 1.0, element content or attribute: markup and the three whitespace controls escaped (as
 * references, so that parsers keep them exactly), and the characters XML 1.0 cannot carry at all (other C0
 * controls, U+FFFE, U+FFFF, lone surrogates) replaced by U+FFFD.
 */
export function escapeXml(value: string): string {
  return value
    .replace(/[&<>"'\t\n\r]/g, (c) => XML_ESCAPES[c] ?? c)
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}
