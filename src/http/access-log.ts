/** One access-log line and one metrics update per request, when its response is done (or cut off). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { recordRequest } from './metrics.ts';

/** Logged when a response did not complete: the client went away, or the connection was cut mid-body. */
export const INCOMPLETE_STATUS = 499;

/** Query parameters whose values are credentials (temp URLs, presigned URLs), besides any `*token*`. */
const SECRET_PARAMS = new Set(['temp_url_sig', 'x-amz-signature', 'x-amz-credential', 'x-amz-security-token', 'signature', 'awsaccesskeyid']);

/** What the log line says about a request besides its HTTP facts; front ends fill in `op` and `account`. */
export interface RequestNotes {
  readonly txId: string;
  readonly clientIp: string;
  /** The operation's name (`GetObject`, `CreateBucket`, `IssueToken`, …). */
  op: string;
  /** The project id the request acts on, when known ('' otherwise). */
  account: string;
}

/** The socket's counters when the previous request on it was accounted (keep-alive connections carry many). */
const accounted = new WeakMap<Socket, { read: number; written: number }>();

/** Replaces the values of secret-carrying query parameters; the rest of the query stays as sent. */
export function redactQuery(query: string): string {
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      return isSecretParam(pair.slice(0, eq)) ? `${pair.slice(0, eq)}=REDACTED` : pair;
    })
    .join('&');
}

function isSecretParam(rawName: string): boolean {
  let name: string;
  try {
    name = decodeURIComponent(rawName.replace(/\+/g, ' ')).toLowerCase();
  } catch {
    name = rawName.toLowerCase();
  }
  return SECRET_PARAMS.has(name) || name.includes('token');
}

/**
 * Starts accounting for a request that arrived at `startedAt` (performance.now()): when the response closes,
 * writes its access-log line and counts it. Bytes are what the connection carried for this request, headers
 * included. `log` is null when the access log
 * is off; the metrics are kept either way.
 */
export function accountRequest(req: IncomingMessage, res: ServerResponse, notes: RequestNotes, startedAt: number, log: Logger | null): void {
  const socket = req.socket;
  res.once('close', () => {
    const seconds = (performance.now() - startedAt) / 1000;
    const status = res.writableFinished ? res.statusCode : INCOMPLETE_STATUS;
    const { bytesIn, bytesOut } = bytesSinceLastRequest(socket);
    recordRequest({ op: notes.op, status, seconds, bytesIn, bytesOut });
    log?.info({
      method: req.method,
      path: loggedPath(req.url ?? '/'),
      status,
      bytesIn,
      bytesOut,
      ms: Math.round(seconds * 1e6) / 1000,
      txId: notes.txId,
      account: notes.account,
      op: notes.op,
      clientIp: notes.clientIp,
    }, 'access');
  });
}

function bytesSinceLastRequest(socket: Socket): { bytesIn: number; bytesOut: number } {
  const read = socket.bytesRead;
  const written = socket.bytesWritten;
  const last = accounted.get(socket);
  if (!last) {
    accounted.set(socket, { read, written });
    return { bytesIn: read, bytesOut: written };
  }
  const counted = { bytesIn: read - last.read, bytesOut: written - last.written };
  last.read = read;
  last.written = written;
  return counted;
}

function loggedPath(url: string): string {
  const queryAt = url.indexOf('?');
  return queryAt < 0 ? url : `${url.slice(0, queryAt)}?${redactQuery(url.slice(queryAt + 1))}`;
/** Feeds core's bucket access log from finished HTTP requests (the fields of S3's server access log). */
import type { Caller } from '../core/types.ts';
import type { RequestContext } from './context.ts';
/** The caller each request was authenticated as (set by callerOf), for the log line's requester. */
const callers = new WeakMap<IncomingMessage, Caller>();
export function rememberCaller(req: IncomingMessage, caller: Caller): void {
  callers.set(req, caller);
export interface LoggedTarget {
  /** The bucket's project; null where the path does not say (the /v1_ext API: the caller's project). */
  account: string | null;
  bucket: string;
  key: string | null;
/** Records the request in its bucket's access log once the response has gone (if that bucket logs). */
export function logBucketAccess(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, target: LoggedTarget, operation: string): void {
  // The hot path pays one map lookup when the bucket does not log.
  if (!ctx.core.accessLog.logs(target.account, target.bucket)) return;
  const started = performance.now();
  const time = Date.now();
  const counted = target.account === null ? null : countBytes(res);
  res.once('finish', () => {
    const caller = callers.get(req);
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
function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? null;
}
