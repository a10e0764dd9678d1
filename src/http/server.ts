/** One listener; dispatch by path prefix to a front end; the outermost catcher (Swift's catch_errors). */
import { createServer, ServerResponse, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { Core } from '../core/index.ts';
import { bucketExtFrontEnd } from '../frontends/bucket-ext/handler.ts';
import { createConsoleFrontEnd, defaultConsoleDir, isConsolePath, rootFrontEnd } from '../frontends/console/handler.ts';
import { iamFrontEnd } from '../frontends/iam/handler.ts';
import { swiftFrontEnd, swiftInfo } from '../frontends/swift/handler.ts';
import { newTransactionId } from '../lib/ids.ts';
import type { FrontEnd, RequestContext } from './context.ts';

export interface HttpOptions {
  core: Core;
  log: Logger;
  publicUrl: string | null;
  region: string;
  /** Where the built web console is; the package's own build when null. */
  consoleDir?: string | null;
}

export function frontEndFor(path: string, consoleSite: FrontEnd): FrontEnd | null {
  if (path === '/identity' || path.startsWith('/identity/')) return iamFrontEnd;
  if (path === '/v1_ext' || path.startsWith('/v1_ext/')) return bucketExtFrontEnd;
  if (path.startsWith('/v1/')) return swiftFrontEnd;
  if (path === '/info') return swiftInfo;
  if (isConsolePath(path)) return consoleSite;
  if (path === '/') return rootFrontEnd;
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

export function createHttpServer(options: HttpOptions): Server<typeof IncomingMessage, typeof TracedResponse> {
  const consoleSite = createConsoleFrontEnd(options.consoleDir ?? defaultConsoleDir());
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0, ServerResponse: TracedResponse }, (req, res) => {
    void handleRequest(req, res, options, consoleSite);
  });
  return server;
}

async function handleRequest(req: IncomingMessage, res: TracedResponse, options: HttpOptions, consoleSite: FrontEnd): Promise<void> {
  const txId = newTransactionId();
  res.txId = txId;
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
    clientIp: req.socket.remoteAddress ?? '',
    rawPath,
    get query() {
      return (query ??= new URLSearchParams(queryAt < 0 ? '' : url.slice(queryAt + 1)));
    },
    core: options.core,
    publicUrl: options.publicUrl ?? `http://${req.headers.host ?? 'localhost'}`,
    region: options.region,
  };
  try {
    const frontEnd = frontEndFor(rawPath, consoleSite);
    if (!frontEnd) {
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

function sendPlain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
