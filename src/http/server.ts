/** One listener; dispatch by path prefix to a front end; the outermost catcher (Swift's catch_errors). */
import { createServer, ServerResponse, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders, type Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Core } from '../core/index.ts';
import { bucketExtFrontEnd } from '../frontends/bucket-ext/handler.ts';
import { iamFrontEnd } from '../frontends/iam/handler.ts';
import { swiftFrontEnd, swiftInfo } from '../frontends/swift/handler.ts';
import { newTransactionId } from '../lib/ids.ts';
import { accountRequest, type RequestNotes } from './access-log.ts';
import type { FrontEnd, RequestContext } from './context.ts';
import { opsEndpointFor, type Startup } from './ops.ts';

export interface HttpOptions {
  /** A promise while the data directory is still being opened: requests other than /healthz wait for it. */
  core: Core | Promise<Core>;
  log: Logger;
  /** Writes one line per request at level info (so not when the log level is above info); false turns it off. */
  accessLog: boolean;
  publicUrl: string | null;
  region: string;
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
 */
class TracedResponse extends ServerResponse {
  txId = '';

  override writeHead(statusCode: number, reasonOrHeaders?: string | OutgoingHttpHeaders | OutgoingHttpHeader[], maybeHeaders?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this {
    const reason = typeof reasonOrHeaders === 'string' ? reasonOrHeaders : undefined;
    const given = typeof reasonOrHeaders === 'string' ? maybeHeaders : reasonOrHeaders;
    const headers: OutgoingHttpHeaders = Array.isArray(given) || given === undefined ? {} : given;
    if (Array.isArray(given)) for (let i = 0; i + 1 < given.length; i += 2) headers[String(given[i])] = given[i + 1];
    headers['X-Trans-Id'] = this.txId;
    headers['X-Openstack-Request-Id'] = this.txId;
    return reason === undefined ? super.writeHead(statusCode, headers) : super.writeHead(statusCode, reason, headers);
  }
}

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
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0, ServerResponse: TracedResponse }, (req, res) => {
    void handleRequest(req, res, listener);
  });
  return server;
}

async function handleRequest(req: IncomingMessage, res: TracedResponse, listener: Listener): Promise<void> {
  const arrivedAt = performance.now();
  const { options, startup } = listener;
  const txId = newTransactionId();
  res.txId = txId;
  const url = req.url ?? '/';
  const queryAt = url.indexOf('?');
  const rawPath = queryAt < 0 ? url : url.slice(0, queryAt);
  const clientIp = req.socket.remoteAddress ?? '';
  const ops = opsEndpointFor(rawPath);
  if (ops) {
    accountRequest(req, res, { txId, clientIp, op: ops.op, account: '' }, arrivedAt, listener.accessLog);
    await ops.handle(req, res, startup, options.log);
    return;
  }
  const core = startup.core ?? (await coreOrNull(startup, req, res, { txId, clientIp, op: 'Starting', account: '' }, arrivedAt, listener));
  if (!core) return;
  let log: Logger | undefined;
  let query: URLSearchParams | undefined;
  const ctx: RequestContext = {
    txId,
    op: 'Unknown',
    account: '',
    get log() {
      return (log ??= options.log.child({ txId }));
    },
    clientIp,
    rawPath,
    get query() {
      return (query ??= new URLSearchParams(queryAt < 0 ? '' : url.slice(queryAt + 1)));
    },
    core,
    publicUrl: options.publicUrl ?? `http://${req.headers.host ?? 'localhost'}`,
    region: options.region,
  };
  accountRequest(req, res, ctx, arrivedAt, listener.accessLog);
  try {
    const frontEnd = frontEndFor(rawPath);
    if (!frontEnd) {
      ctx.op = 'NotFound';
      sendPlain(res, 404, 'Not Found');
      return;
    }
    await frontEnd(req, res, ctx);
  } catch (err) {
    ctx.log.error({ err, method: req.method, path: rawPath }, 'unhandled error');
    if (res.headersSent) res.destroy();
    else sendPlain(res, 500, 'Internal Server Error');
  }
}

/** Waits for the start to finish; answers 503 (and gives null) when it failed. */
async function coreOrNull(
  startup: Startup,
  req: IncomingMessage,
  res: ServerResponse,
  notes: RequestNotes,
  arrivedAt: number,
  listener: Listener,
): Promise<Core | null> {
  try {
    return await startup.started;
  } catch {
    accountRequest(req, res, notes, arrivedAt, listener.accessLog);
    sendPlain(res, 503, 'Service Unavailable');
    return null;
  }
}

function sendPlain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
