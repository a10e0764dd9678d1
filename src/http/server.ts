/** One listener; dispatch by path prefix to a front end; the outermost catcher (Swift's catch_errors). */
import { createServer, ServerResponse, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { HttpLimits } from '../config.ts';
import type { OnggiError } from '../core/errors.ts';
import type { Core } from '../core/index.ts';
import type { Caller } from '../core/types.ts';
import { newTransactionId } from '../lib/ids.ts';
import { accountClosed, type Accounting, type RequestNotes } from './access-log.ts';
import type { ClientAddresses } from './client-address.ts';
import { onBodyDeadline, trustBody, watchUntrustedBody } from './body-deadline.ts';
import { capConnections } from './connection-limits.ts';
import { OPENSTACK_REQUEST_IDS, type RequestContext, type Router } from './context.ts';
import type { Startup } from './ops.ts';
import { PublicUrls } from './public-url.ts';

export interface HttpOptions {
  /** A promise while the data directory is still being opened: requests other than /healthz wait for it. */
  core: Core | Promise<Core>;
  log: Logger;
  /** Writes one line per request at level info (so not when the log level is above info); false turns it off. */
  accessLog: boolean;
  publicUrl: string | null;
  /** Where the public URL comes from when publicUrl is null: allowed Host headers, else the listen address. */
  publicUrls?: PublicUrls;
  region: string;
  limits: HttpLimits;
  clientAddresses: ClientAddresses;
  /** The dispatch table (src/routes.ts). */
  route: Router;
  /** The data directory's state; absent: always fine. */
  storage?: { refusal(access: 'read' | 'write'): OnggiError | null };
  /** S3's SSE-C keys are taken over plain HTTP from any address (ONGGI_SSE_C_OVER_HTTP=on), not only over TLS or loopback. */
  sseCustomerKeysOverHttp?: boolean;
}

/**
 * A response whose header block always carries its transaction id, in the headers its protocol names
 * (Swift's X-Trans-Id and OpenStack's request id unless the route says otherwise). Added in writeHead rather than with setHeader up front: any setHeader sends Node down its slower
 * path that re-validates and merges every header of the response. (So it adds to the object it is given.)
 *
 * A response that goes out before its request's body has been read closes the connection: reading the rest
 * (Node's default, to keep the connection) would let a client that was just refused keep sending for ever.
 */
class TracedResponse extends ServerResponse {
  txId = '';
  requestIdHeaders = OPENSTACK_REQUEST_IDS;
  /** How long the client may leave the response unread before the connection is dropped (0: no limit). */
  sendTimeoutMs = 0;
  /** What to log and count once the response closes (a field read by one shared listener: no closure per request). */
  accounting: Accounting | null = null;

  // Every argument passed on: Node gives more than its types say (the server's response options).
  constructor(...args: ConstructorParameters<typeof ServerResponse>) {
    super(...args);
    this.on('close', settleAccounting);
  }

  override writeHead(statusCode: number, reasonOrHeaders?: string | OutgoingHttpHeaders | OutgoingHttpHeader[], maybeHeaders?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this {
    const reason = typeof reasonOrHeaders === 'string' ? reasonOrHeaders : undefined;
    const given = typeof reasonOrHeaders === 'string' ? maybeHeaders : reasonOrHeaders;
    const headers: OutgoingHttpHeaders = Array.isArray(given) || given === undefined ? {} : given;
    if (Array.isArray(given)) for (let i = 0; i + 1 < given.length; i += 2) headers[String(given[i])] = given[i + 1];
    for (const name of this.requestIdHeaders) headers[name] = this.txId;
    if (hasUnreadBody(this.req)) headers.Connection = 'close';
    // Set once per connection, not re-armed per response (every read and write of the socket restarts it anyway).
    const socket = this.socket;
    if (this.sendTimeoutMs > 0 && socket && socket.timeout !== this.sendTimeoutMs) socket.setTimeout(this.sendTimeoutMs);
    return reason === undefined ? super.writeHead(statusCode, headers) : super.writeHead(statusCode, reason, headers);
  }
}

function settleAccounting(this: TracedResponse): void {
  const { accounting } = this;
  if (!accounting) return;
  this.accounting = null;
  accountClosed(this, accounting);
}

/** Per connection, its responses queued behind another (pipelined requests) that have no socket yet. */
const queuedResponses = new WeakMap<Socket, Set<ServerResponse>>();

/**
 * A response queued behind another on a pipelined connection has no socket yet, and Node gives it no 'close' when
 * the connection drops before its turn (its writes then wait for ever, holding whatever feeds them). It gets one
 * here, as a response on a dropped connection does: bodies being streamed into it stop, and it is accounted.
 */
function closeWithConnection(socket: Socket, res: ServerResponse): void {
  const queued = queuedResponses.get(socket) ?? watchQueue(socket);
  queued.add(res);
  res.once('close', () => queued.delete(res));
}

function watchQueue(socket: Socket): Set<ServerResponse> {
  const queued = new Set<ServerResponse>();
  queuedResponses.set(socket, queued);
  socket.once('close', () => {
    for (const res of queued) {
      // One that has the socket by now is closed by Node itself.
      if (res.socket) continue;
      res.destroy();
      res.emit('close');
    }
    queued.clear();
  });
  return queued;
}

function hasUnreadBody(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** Sockets whose client let a timeout pass: their requests end as timeouts, not as disconnections. */
const timedOut = new WeakSet<Socket>();

interface Listener {
  options: HttpOptions;
  startup: Startup;
  accessLog: Logger | null;
}

export function createHttpServer(options: HttpOptions): Server<typeof IncomingMessage, typeof TracedResponse> {
  const started = Promise.resolve(options.core);
  const startup: Startup = { core: null, started };
  // A failed start ends the process (the caller sees the same rejection); waiting requests get a 503 meanwhile.
  started.then((core) => (startup.core = core)).catch(() => undefined);
  const accessLog = options.accessLog && options.log.isLevelEnabled('info') ? options.log : null;
  const listener: Listener = { options, startup, accessLog };
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
      void handleRequest(req, res, listener);
    },
  );
  capConnections(server, { total: limits.maxConnections, perClient: limits.maxConnectionsPerClient, exempt: options.clientAddresses.isTrusted });
  server.on('connection', (socket: Socket) => {
    socket.once('timeout', () => timedOut.add(socket));
  });
  onBodyDeadline((socket) => {
    timedOut.add(socket);
    socket.destroy();
  });
  return server;
}

async function handleRequest(req: IncomingMessage, res: TracedResponse, listener: Listener): Promise<void> {
  const arrivedAt = performance.now();
  const { options, startup } = listener;
  if (!res.socket) closeWithConnection(req.socket, res);
  const txId = newTransactionId();
  res.txId = txId;
  res.sendTimeoutMs = options.limits.bodyTimeoutMs;
  watchBody(req, options.limits);
  const url = req.url ?? '/';
  const queryAt = url.indexOf('?');
  const rawPath = queryAt < 0 ? url : url.slice(0, queryAt);
  const clientIp = options.clientAddresses.of(req);
  const routed = options.route(req.headers.host, rawPath, req);
  if (routed?.kind === 'ops') {
    const { endpoint } = routed;
    res.accounting = { req, socket: req.socket, notes: { txId, clientIp, op: endpoint.op, account: '' }, startedAt: arrivedAt, log: listener.accessLog };
    await endpoint.handle(req, res, startup, options.log);
    return;
  }
  if (routed) res.requestIdHeaders = routed.requestIdHeaders;
  const core = startup.core ?? (await coreOrNull(startup, req, res, { txId, clientIp, op: 'Starting', account: '' }, arrivedAt, listener));
  if (!core) return;
  const ctx = new Request(txId, clientIp, url, queryAt, rawPath, core, req, options);
  let failed = false;
  const onIncomplete = (): void => {
    if (failed) return;
    // Logged once, without a stack: a client going away (or too slow) is not a fault of the server.
    const reason = timedOut.has(req.socket) ? 'timed out' : 'went away';
    ctx.log.info({ method: req.method, path: rawPath, status: res.headersSent ? res.statusCode : undefined }, `client ${reason} before the response was complete`);
  };
  res.accounting = { req, socket: req.socket, notes: ctx, startedAt: arrivedAt, log: listener.accessLog, onIncomplete };
  try {
    if (!routed) {
      ctx.op = 'NotFound';
      sendPlain(res, 404, 'Not Found');
      return;
    }
    await routed.frontEnd(req, res, ctx);
  } catch (err) {
    if (clientIsGone(req, res)) return;
    failed = true;
    ctx.log.error({ err, method: req.method, path: rawPath }, 'unhandled error');
    if (res.headersSent) res.destroy();
    else sendPlain(res, 500, 'Internal Server Error');
  }
}

/** Without ONGGI_PUBLIC_HOSTS: always the listen address. */
const NO_PUBLIC_HOSTS = new PublicUrls([]);

/** The query of every request without one (front ends only read queries). */
const NO_QUERY = new URLSearchParams();

/** What a front end knows of the request it serves; what few requests need is made on first use. */
class Request implements RequestContext {
  op = 'Unknown';
  account = '';
  caller?: Caller | null;
  private logger: Logger | undefined;
  private parsedQuery: URLSearchParams | undefined;

  constructor(
    readonly txId: string,
    readonly clientIp: string,
    private readonly url: string,
    private readonly queryAt: number,
    readonly rawPath: string,
    readonly core: Core,
    private readonly req: IncomingMessage,
    private readonly options: HttpOptions,
  ) {}

  get log(): Logger {
    return (this.logger ??= this.options.log.child({ txId: this.txId }));
  }

  get query(): URLSearchParams {
    return (this.parsedQuery ??= this.queryAt < 0 ? NO_QUERY : new URLSearchParams(this.url.slice(this.queryAt + 1)));
  }

  get publicUrl(): string {
    return this.options.publicUrl ?? (this.options.publicUrls ?? NO_PUBLIC_HOSTS).of(this.req);
  }

  get region(): string {
    return this.options.region;
  }

  checkStorage(access: 'read' | 'write'): void {
    const refusal = this.options.storage?.refusal(access);
    if (refusal) throw refusal;
  }

  secureTransport(): boolean {
    return this.options.sseCustomerKeysOverHttp === true || this.overTls() || isLoopback(this.clientIp);
  }

  overTls(): boolean {
    if ((this.req.socket as { encrypted?: boolean }).encrypted === true) return true;
    const peer = this.req.socket.remoteAddress ?? '';
    if (!this.options.clientAddresses.isTrusted(peer)) return false;
    const proto = this.req.headers['x-forwarded-proto'];
    // The proxy nearest to the client speaks first; every hop must have been TLS for the first one to say https.
    return typeof proto === 'string' && proto.split(',')[0]?.trim().toLowerCase() === 'https';
  }
}

/** 127.0.0.0/8, ::1, and IPv4 loopback written as IPv6. */
function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
}

/** Waits for the start to finish; answers 503 (and gives null) when it failed. */
async function coreOrNull(
  startup: Startup,
  req: IncomingMessage,
  res: TracedResponse,
  notes: RequestNotes,
  arrivedAt: number,
  listener: Listener,
): Promise<Core | null> {
  try {
    return await startup.started;
  } catch {
    res.accounting = { req, socket: req.socket, notes, startedAt: arrivedAt, log: listener.accessLog };
    sendPlain(res, 503, 'Service Unavailable');
    return null;
  }
}

/**
 * While a request body is awaited, a client that sends nothing for `timeoutMs` is dropped (its upload then
 * fails like any interrupted one and leaves nothing behind). Cleared once the body is in, so that the server's
 * own work on it (hashing, fsync, a copy) is never cut short.
 */
function watchBody(req: IncomingMessage, limits: HttpLimits): void {
  if (!hasUnreadBody(req)) return;
  req.socket.setTimeout(limits.bodyTimeoutMs);
  // Until a token names a user (callerOf), the whole body has a deadline too (see body-deadline.ts).
  watchUntrustedBody(req, limits.untrustedBodyMs, limits.minBodyBytesPerSecond);
  req.once('end', () => {
    trustBody(req);
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
