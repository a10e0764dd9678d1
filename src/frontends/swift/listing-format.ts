/** Swift listings in plain text, JSON or XML, chosen by `format` or the Accept header. */
import type { IncomingMessage } from 'node:http';
import XMLBuilder from 'fast-xml-builder';
import type { ListEntry } from '../../core/listing.ts';
import type { Bucket, ObjectRecord } from '../../core/types.ts';
import { listingTime } from './headers.ts';

export type ListingFormat = 'plain' | 'json' | 'xml';

export const CONTENT_TYPES: Record<ListingFormat, string> = {
  plain: 'text/plain; charset=utf-8',
  json: 'application/json; charset=utf-8',
  xml: 'application/xml; charset=utf-8',
};

const xml = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@', suppressEmptyNode: false });

export function listingFormat(req: IncomingMessage, query: URLSearchParams): ListingFormat {
  const format = query.get('format')?.toLowerCase();
  if (format === 'json' || format === 'xml' || format === 'plain') return format;
  const accept = req.headers.accept ?? '';
  if (/application\/json/i.test(accept)) return 'json';
  if (/(application|text)\/xml/i.test(accept)) return 'xml';
  return 'plain';
}

export function renderObjectListing(format: ListingFormat, container: string, entries: ListEntry<ObjectRecord>[]): string {
  if (format === 'plain') return entries.map((e) => `${e.kind === 'item' ? e.item.key : e.prefix}\n`).join('');
  const items = entries.map((e) =>
    e.kind === 'prefix'
      ? { subdir: e.prefix }
      : {
          name: e.item.key,
          hash: e.item.etag,
          bytes: e.item.size,
          content_type: e.item.contentType,
          last_modified: listingTime(e.item.lastModified),
        },
  );
  if (format === 'json') return JSON.stringify(items);
  const objects = items.filter((i) => !('subdir' in i));
  const subdirs = items.flatMap((i) => ('subdir' in i ? [{ '@name': i.subdir, name: i.subdir }] : []));
  return xmlDocument({ container: { '@name': container, object: objects, subdir: subdirs } });
}

export function renderContainerListing(format: ListingFormat, account: string, entries: ListEntry<Bucket>[]): string {
  if (format === 'plain') return entries.map((e) => `${e.kind === 'item' ? e.item.name : e.prefix}\n`).join('');
  const items = entries.map((e) =>
    e.kind === 'prefix'
      ? { subdir: e.prefix }
      : { name: e.item.name, count: e.item.objectCount, bytes: e.item.bytes, last_modified: listingTime(e.item.updatedAt) },
  );
  if (format === 'json') return JSON.stringify(items);
  const containers = items.filter((i) => !('subdir' in i));
  return xmlDocument({ account: { '@name': account, container: containers } });
}

function xmlDocument(body: unknown): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${xml.build(body)}`;
}
