/** Feeds core's bucket access log from finished HTTP requests (the fields of S3's server access log). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { RequestContext } from './context.ts';

export interface LoggedTarget {
  /** The bucket's project; null where the path does not say (the /v1_ext API: the caller's project). */
  account: string | null;
  bucket: string;
  key: string | null;
}

/** Records the request in its bucket's access log once the response has gone (if that bucket logs). */
export function logBucketAccess(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, target: LoggedTarget, operation: string): void {
  // The hot path pays one map lookup when the bucket does not log.
  if (!ctx.core.accessLog.logs(target.account, target.bucket)) return;
  const started = performance.now();
  const time = Date.now();
  const counted = target.account === null ? null : countBytes(res);
  res.once('finish', () => {
    const caller = ctx.caller;
    const account = target.account ?? (caller?.kind === 'user' ? caller.projectId : null);
    if (account === null) return;
    const sent = counted?.bytes ?? Number(res.getHeader('content-length') ?? NaN);
    const received = Number(req.headers['content-length'] ?? NaN);
    const objectSize = target.key === null ? null : req.method === 'PUT' ? received : sent;
    ctx.core.accessLog.record({
      account,
      bucket: target.bucket,
      time,
      remoteIp: ctx.clientIp,
      requester: caller?.kind === 'user' ? caller.userId : null,
      requestId: ctx.txId,
      operation,
      key: target.key,
      method: req.method ?? 'GET',
      requestUri: req.url ?? '/',
      httpVersion: req.httpVersion,
      status: res.statusCode,
      bytesSent: req.method === 'HEAD' || Number.isNaN(sent) ? null : sent,
      objectSize: objectSize === null || Number.isNaN(objectSize) ? null : objectSize,
      totalMs: performance.now() - started,
      referer: header(req, 'referer'),
      userAgent: header(req, 'user-agent'),
    });
  });
}

/** Counts the body bytes the response sends (only for requests to a bucket that logs). */
function countBytes(res: ServerResponse): { bytes: number } {
  const counter = { bytes: 0 };
  const add = (chunk: unknown, encoding?: unknown): void => {
    if (typeof chunk === 'string') counter.bytes += Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    else if (chunk instanceof Uint8Array) counter.bytes += chunk.byteLength;
  };
  const write = res.write.bind(res);
  const end = res.end.bind(res);
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    add(chunk, rest[0]);
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof res.write;
  res.end = ((...args: unknown[]) => {
    if (typeof args[0] !== 'function') add(args[0], args[1]);
    return (end as (...a: unknown[]) => ServerResponse)(...args);
  }) as typeof res.end;
  return counter;
}

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? null;
}
