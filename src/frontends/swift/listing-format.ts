/** Swift listings in plain text, JSON or XML, chosen by `format` or the Accept header. */
import type { IncomingMessage } from 'node:http';
import type { ListEntry } from '../../core/listing.ts';
import type { Bucket, ObjectRecord } from '../../core/types.ts';
import { listingTime } from './headers.ts';
import { addIndirectFields } from './read-headers.ts';

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

/** Entries rendered per piece: a few milliseconds of work, after which the caller may let other requests run. */
const ENTRIES_PER_PIECE = 500;

export function renderObjectListing(format: ListingFormat, container: string, entries: ListEntry<ObjectRecord>[]): string {
  return [...objectListingPieces(format, container, entries)].join('');
}

export function renderContainerListing(format: ListingFormat, account: string, entries: ListEntry<Bucket>[]): string {
  return [...containerListingPieces(format, account, entries)].join('');
}

/** An object listing's text in pieces, each made only when asked for (see `encodeInTurns`). */
export function objectListingPieces(format: ListingFormat, container: string, entries: ListEntry<ObjectRecord>[]): Iterable<string> {
  const fields = (object: ObjectRecord): Record<string, string | number> => {
    const listed: Record<string, string | number> = {
      name: object.key,
      hash: object.etag,
      bytes: object.size,
      content_type: object.contentType,
      last_modified: listingTime(object.lastModified),
    };
    if (object.indirect) addIndirectFields(object, listed);
    return listed;
  };
  // Swift's XML keeps the listing order, objects and subdirs interleaved.
  const xml = (e: ListEntry<ObjectRecord>): string => (e.kind === 'prefix' ? subdirXml(e.prefix) : `<object>${xmlFields(fields(e.item))}</object>`);
  return listingPieces(format, 'container', container, entries, (e) => (e.kind === 'item' ? e.item.key : e.prefix), fields, xml);
}

export function containerListingPieces(format: ListingFormat, account: string, entries: ListEntry<Bucket>[]): Iterable<string> {
  const fields = (bucket: Bucket): Record<string, string | number> => ({
    name: bucket.name,
    count: bucket.objectCount,
    bytes: bucket.bytes,
    last_modified: listingTime(bucket.changedAt),
  });
  const xml = (e: ListEntry<Bucket>): string => (e.kind === 'prefix' ? subdirXml(e.prefix) : `<container>${xmlFields(fields(e.item))}</container>`);
  return listingPieces(format, 'account', account, entries, (e) => (e.kind === 'item' ? e.item.name : e.prefix), fields, xml);
}

function* listingPieces<T>(
  format: ListingFormat,
  root: 'container' | 'account',
  name: string,
  entries: ListEntry<T>[],
  nameOf: (entry: ListEntry<T>) => string,
  fields: (item: T) => Record<string, string | number>,
  xml: (entry: ListEntry<T>) => string,
): Generator<string> {
  const render = {
    plain: (e: ListEntry<T>) => plainLine(nameOf(e)),
    json: (e: ListEntry<T>) => JSON.stringify(e.kind === 'prefix' ? { subdir: e.prefix } : fields(e.item)),
    xml,
  }[format];
  // JSON.stringify of the whole array, made in pieces: '[' + elements joined by ',' + ']'.
  const separator = format === 'json' ? ',' : '';
  if (format === 'json') yield '[';
  if (format === 'xml') yield `<?xml version="1.0" encoding="UTF-8"?>\n<${root} name="${escapeXml(name)}">`;
  for (let i = 0; i < entries.length; i += ENTRIES_PER_PIECE) {
    yield (i > 0 ? separator : '') + entries.slice(i, i + ENTRIES_PER_PIECE).map(render).join(separator);
  }
  if (format === 'json') yield ']';
  if (format === 'xml') yield `</${root}>`;
}

function subdirXml(name: string): string {
  return `<subdir name="${escapeXml(name)}"><name>${escapeXml(name)}</name></subdir>`;
}

function xmlFields(fields: Record<string, string | number>): string {
  return Object.entries(fields)
    .map(([name, value]) => `<${name}>${escapeXml(String(value))}</${name}>`)
    .join('');
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
