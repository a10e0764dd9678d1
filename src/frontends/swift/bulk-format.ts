/**
 * The answer format of Swift's bulk middleware, which SLO's manifest PUT (with heartbeats) and DELETE use too: a
 * few fields and a list of `[name, status]` errors, in plain text, JSON or XML as the Accept header asks.
 */
import type { IncomingMessage } from 'node:http';
import { escapeXml } from './listing-format.ts';

export type BulkFormat = 'plain' | 'json' | 'xml';

export const BULK_CONTENT_TYPES: Record<BulkFormat, string> = {
  plain: 'text/plain; charset=utf-8',
  json: 'application/json; charset=utf-8',
  xml: 'application/xml; charset=utf-8',
};

/** Swift's `req.accept.best_match(['application/json', 'application/xml', 'text/xml'])`, plain text otherwise. */
export function bulkFormat(req: IncomingMessage): BulkFormat {
  const accept = req.headers.accept ?? '';
  if (/application\/json/i.test(accept)) return 'json';
  if (/(application|text)\/xml/i.test(accept)) return 'xml';
  return 'plain';
}

export type BulkError = [name: string, status: string];

export function bulkBody(format: BulkFormat, fields: Record<string, string | number>, errors: readonly BulkError[], rootTag: string): string {
  if (format === 'json') return JSON.stringify({ ...fields, Errors: errors });
  const keys = Object.keys(fields).sort();
  if (format === 'xml') {
    const lines = keys.map((key) => {
      const tag = key.replace(/ /g, '_').toLowerCase();
      return `<${tag}>${escapeXml(String(fields[key]))}</${tag}>\n`;
    });
    const objects = errors.map(([name, status]) => `<object><name>${escapeXml(name)}</name><status>${escapeXml(status)}</status></object>\n`);
    return `<${rootTag}>\n${lines.join('')}<errors>\n${objects.join('')}</errors>\n</${rootTag}>\n`;
  }
  return `${keys.map((key) => `${key}: ${String(fields[key])}\n`).join('')}Errors:\n${errors.map(([name, status]) => `${name}, ${status}\n`).join('')}`;
}
