/** What every S3 operation handler gets: the request, the response, the context, the caller, the bucket's project. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Caller } from '../../core/types.ts';
import type { RequestContext } from '../../http/context.ts';

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  ctx: RequestContext;
  caller: Caller;
  /** The project the addressed bucket belongs to (or would, for CreateBucket). */
  account: string;
}

export function sendXml(res: ServerResponse, status: number, xml: string, headers: Record<string, string | number> = {}): void {
  const bytes = Buffer.from(xml, 'utf8');
  res.writeHead(status, { ...headers, 'Content-Type': 'application/xml', 'Content-Length': bytes.length });
  res.end(res.req.method === 'HEAD' ? undefined : bytes);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string | number> = {}): void {
  res.writeHead(status, { ...headers, 'Content-Length': 0 });
  res.end();
}

/** The owner shown in listings and ACLs: the project (S3's account). */
export function ownerOf(account: string): { ID: string; DisplayName: string } {
  return { ID: account, DisplayName: account };
}
