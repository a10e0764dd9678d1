import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Core } from '../core/index.ts';
import type { Caller } from '../core/types.ts';
import type { RequestNotes } from './access-log.ts';
import { trustBody } from './body-deadline.ts';

/** `op` and `account` (from RequestNotes) are set by the front end, for the access log and the metrics. */
export interface RequestContext extends RequestNotes {
  readonly txId: string;
  readonly log: Logger;
  readonly clientIp: string;
  /** The path exactly as sent, still percent-encoded; front ends decode the parts they own. */
  readonly rawPath: string;
  readonly query: URLSearchParams;
  readonly core: Core;
  /** Base URL clients reach this server at (config, or derived from the request's Host). */
  readonly publicUrl: string;
  readonly region: string;
  /** Who the request was authenticated as, once callerOf has run (the bucket access log's requester). */
  caller?: Caller | null;
  /** Throws StorageUnavailable while the data directory cannot serve this kind of request (see DataDirHealth). */
  checkStorage(access: 'read' | 'write'): void;
}

export function accessOf(method: string | undefined): 'read' | 'write' {
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

export type FrontEnd = (req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => Promise<void>;

/** The caller behind a request: a token holder (X-Auth-Token / X-Storage-Token) or anonymous. */
export async function callerOf(req: IncomingMessage, ctx: RequestContext): Promise<Caller | null> {
  const token = headerValue(req, 'x-auth-token') ?? headerValue(req, 'x-storage-token');
  const caller = token === undefined ? { kind: 'anonymous' as const, ip: ctx.clientIp } : await ctx.core.identity.callerFromToken(token);
  ctx.caller = caller;
  if (caller?.kind === 'user') trustBody(req);
  return caller;
}

export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
