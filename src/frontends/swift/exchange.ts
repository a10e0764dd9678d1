/** What every Swift operation works with — the request, its response, the server's context, the caller — and the plain answers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Caller } from '../../core/types.ts';
import type { RequestContext } from '../../http/context.ts';

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  ctx: RequestContext;
  caller: Caller;
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string | number>): void {
  res.writeHead(status, { 'Content-Length': 0, 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end();
}

export function sendBody(res: ServerResponse, status: number, headers: Record<string, string | number>, body: string | Buffer): void {
  // A Buffer, not a string: Node would otherwise encode the (latin1) header block together with the body as UTF-8.
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  res.writeHead(status, { ...headers, 'Content-Length': bytes.length });
  res.end(res.req.method === 'HEAD' ? undefined : bytes);
}

/** A DELETE's or a metadata POST's 204, typed text/html as Swift types it. */
export function noContent(res: ServerResponse, headers: Record<string, string | number> = {}): void {
  res.writeHead(204, { 'Content-Length': 0, 'Content-Type': 'text/html; charset=UTF-8', ...headers }).end();
}
