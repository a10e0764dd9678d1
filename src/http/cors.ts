/** CORS on the object APIs: browser preflights answered, and actual cross-origin requests given their headers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseRequestHeaders } from '../core/cors.ts';
import type { Core } from '../core/index.ts';
import { headerValue } from './context.ts';

/** Whether CORS has anything to do with the request (most requests come from no browser page of another origin). */
export function concernsCors(req: IncomingMessage): boolean {
  return req.method === 'OPTIONS' || req.headers.origin !== undefined;
}

/**
 * For a request to a bucket's objects: answers an OPTIONS preflight (true: the response is sent), or, for an
 * actual request with an Origin, adds the CORS headers its bucket's rules allow (false: carry on).
 */
export async function applyBucketCors(req: IncomingMessage, res: ServerResponse, core: Core, account: string, bucket: string | null): Promise<boolean> {
  const origin = headerValue(req, 'origin');
  if (req.method === 'OPTIONS') {
    await answerPreflight(req, res, core, account, bucket, origin);
    return true;
  }
  if (origin === undefined || bucket === null) return false;
  const headers = await core.buckets.cors(account, bucket, { origin, method: req.method ?? 'GET', headers: [] }, false);
  for (const [name, value] of Object.entries(headers ?? {})) res.setHeader(name, value);
  return false;
}

async function answerPreflight(req: IncomingMessage, res: ServerResponse, core: Core, account: string, bucket: string | null, origin: string | undefined): Promise<void> {
  const method = headerValue(req, 'access-control-request-method');
  if (origin === undefined || method === undefined) {
    sendText(res, 400, 'A CORS preflight needs the Origin and Access-Control-Request-Method headers.');
    return;
  }
  const request = { origin, method: method.toUpperCase(), headers: parseRequestHeaders(headerValue(req, 'access-control-request-headers')) };
  const headers = bucket === null ? null : await core.buckets.cors(account, bucket, request, true);
  if (!headers) {
    sendText(res, 403, 'This CORS request is not allowed.');
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Length': 0 }).end();
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) }).end(text);
}
