/** One listener; dispatch by path prefix to a front end; the outermost catcher (Swift's catch_errors). */
import { createServer, ServerResponse, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { HttpLimits } from '../config.ts';
import type { OnggiError } from '../core/errors.ts';
import type { Core } from '../core/index.ts';
import { bucketExtFrontEnd } from '../frontends/bucket-ext/handler.ts';
import { iamFrontEnd } from '../frontends/iam/handler.ts';
import { swiftFrontEnd, swiftInfo } from '../frontends/swift/handler.ts';
import { newTransactionId } from '../lib/ids.ts';
import type { ClientAddresses } from './client-address.ts';
import { capConnections } from './connection-limits.ts';
import type { FrontEnd, RequestContext } from './context.ts';

export interface HttpOptions {
  core: Core;
  log: Logger;
  publicUrl: string | null;
  region: string;
  limits: HttpLimits;
  clientAddresses: ClientAddresses;
  /** The data directory's state; absent: always fine. */
  storage?: { refusal(access: 'read' | 'write'): OnggiError | null };
}

export function frontEndFor(path: string): FrontEnd | null {
  if (path === '/identity' || path.startsWith('/identity/')) return iamFrontEnd;
  if (path === '/v1_ext' || path.startsWith('/v1_ext/')) return bucketExtFrontEnd;
  if (path.startsWith('/v1/')) return swiftFrontEnd;
  if (path === '/info') return swiftInfo;
  return null;
}

/**
 * A response whose header block always carries its transaction id (Swift's X-Trans-Id, OpenStack's request
 * id). Added in writeHead rather than with setHeader up front: any setHeader sends Node down its slower
 * path that re-validates and merges every header of the response. (So it adds to the object it is given.)
 *
 * A response that goes out before its request's body has been read closes the connection: reading the rest
 * (Node's default, to keep the connection) would let a client that was just refused keep sending for ever.
 */
class TracedResponse extends ServerResponse {
  txId = '';
  /** How long the client may leave the response unread before the connection is dropped (0: no limit). */
  sendTimeoutMs = 0;

  override writeHead(statusCode: number, reasonOrHeaders?: string | OutgoingHttpHeaders | OutgoingHttpHeader[], maybeHeaders?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this {
    const reason = typeof reasonOrHeaders === 'string' ? reasonOrHeaders : undefined;
    const given = typeof reasonOrHeaders === 'string' ? maybeHeaders : reasonOrHeaders;
    const headers: OutgoingHttpHeaders = Array.isArray(given) || given === undefined ? {} : given;
    if (Array.isArray(given)) for (let i = 0; i + 1 < given.length; i += 2) headers[String(given[i])] = given[i + 1];
    headers['X-Trans-Id'] = this.txId;
    headers['X-Openstack-Request-Id'] = this.txId;
    if (hasUnreadBody(this.req)) headers.Connection = 'close';
    if (this.sendTimeoutMs > 0) this.socket?.setTimeout(this.sendTimeoutMs);
    return reason === undefined ? super.writeHead(statusCode, headers) : super.writeHead(statusCode, reason, headers);
  }
}

function hasUnreadBody(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** Sockets whose client let a timeout pass: their requests end as timeouts, not as disconnections. */
const timedOut = new WeakSet<Socket>();

export function createHttpServer(options: HttpOptions): Server<typeof IncomingMessage, typeof TracedResponse> {
  const { limits } = options;
  const server = createServer(
    {
      ServerResponse: TracedResponse,
      headersTimeout: limits.headersTimeoutMs,
      // No limit on a whole request: a 5 GiB upload at 10 MB/s takes nine minutes. Stalls are caught per byte instead.
      requestTimeout: 0,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, limits.headersTimeoutMs / 4)),
    },
    (req, res) => {
      void handleRequest(req, res, options);
    },
  );
  capConnections(server, { total: limits.maxConnections, perClient: limits.maxConnectionsPerClient, exempt: options.clientAddresses.isTrusted });
  server.on('connection', (socket: Socket) => {
    socket.once('timeout', () => timedOut.add(socket));
  });
  return server;
}

async function handleRequest(req: IncomingMessage, res: TracedResponse, options: HttpOptions): Promise<void> {
  const txId = newTransactionId();
  res.txId = txId;
  res.sendTimeoutMs = options.limits.bodyTimeoutMs;
  watchBody(req, options.limits.bodyTimeoutMs);
  const url = req.url ?? '/';
  const queryAt = url.indexOf('?');
  const rawPath = queryAt < 0 ? url : url.slice(0, queryAt);
  let log: Logger | undefined;
  let query: URLSearchParams | undefined;
  const ctx: RequestContext = {
    txId,
    get log() {
      return (log ??= options.log.child({ txId }));
    },
    clientIp: options.clientAddresses.of(req),
    rawPath,
    get query() {
      return (query ??= new URLSearchParams(queryAt < 0 ? '' : url.slice(queryAt + 1)));
    },
    core: options.core,
    publicUrl: options.publicUrl ?? `http://${req.headers.host ?? 'localhost'}`,
    region: options.region,
    checkStorage: (access) => {
      const refusal = options.storage?.refusal(access);
      if (refusal) throw refusal;
    },
  };
  let failed = false;
  res.once('close', () => {
    if (res.writableFinished || failed) return;
    // Logged once, without a stack: a client going away (or too slow) is not a fault of the server.
    const reason = timedOut.has(req.socket) ? 'timed out' : 'went away';
    ctx.log.info({ method: req.method, path: rawPath, status: res.headersSent ? res.statusCode : undefined }, `client ${reason} before the response was complete`);
  });
  try {
    const frontEnd = frontEndFor(rawPath);
    if (!frontEnd) {
      sendPlain(res, 404, 'Not Found');
      return;
    }
    await frontEnd(req, res, ctx);
  } catch (err) {
    if (clientIsGone(req, res)) return;
    failed = true;
    ctx.log.error({ err, method: req.method, path: rawPath }, 'unhandled error');
    if (res.headersSent) res.destroy();
    else sendPlain(res, 500, 'Internal Server Error');
  }
}

/**
 * While a request body is awaited, a client that sends nothing for `timeoutMs` is dropped (its upload then
 * fails like any interrupted one and leaves nothing behind). Cleared once the body is in, so that the server's
 * own work on it (hashing, fsync, a copy) is never cut short.
 */
function watchBody(req: IncomingMessage, timeoutMs: number): void {
  if (!hasUnreadBody(req)) return;
  req.socket.setTimeout(timeoutMs);
  req.once('end', () => {
    if (!req.socket.destroyed) req.socket.setTimeout(0);
  });
}

function clientIsGone(req: IncomingMessage, res: ServerResponse): boolean {
  return res.destroyed || req.socket.destroyed || (req.destroyed && !req.complete);
}

function sendPlain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
