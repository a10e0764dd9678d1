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

/** A request to account for when its response closes; kept on the response itself (see TracedResponse). */
export interface Accounting {
  req: IncomingMessage;
  /** The request's connection, kept here: by the time the response closes, `req.socket` may be gone. */
  socket: Socket;
  notes: RequestNotes;
  /** When the request arrived (performance.now()). */
  startedAt: number;
  /** Null when the access log is off; the metrics are kept either way. */
  log: Logger | null;
  /** Hears of a response that did not complete (the client went away, or the connection was cut mid-body). */
  onIncomplete?: (() => void) | undefined;
}

/**
 * Writes the access-log line of a response that has closed, and counts it. Bytes are what the connection carried
 * for this request, headers included.
 */
export function accountClosed(res: ServerResponse, { req, socket, notes, startedAt, log, onIncomplete }: Accounting): void {
  const seconds = (performance.now() - startedAt) / 1000;
  const status = res.writableFinished ? res.statusCode : INCOMPLETE_STATUS;
  if (status === INCOMPLETE_STATUS) onIncomplete?.();
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
}
