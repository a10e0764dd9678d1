/** Unauthenticated operational endpoints: GET /healthz, /readyz and /metrics. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Core } from '../core/index.ts';
import { renderMetrics } from './metrics.ts';

const READY_TIMEOUT_MS = 5_000;

/** The server's core once its data directory is open and bootstrapped; null while it is starting. */
export interface Startup {
  core: Core | null;
  readonly started: Promise<Core>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, startup: Startup, log: Logger) => Promise<void>;

export interface OpsEndpoint {
  op: 'Healthz' | 'Readyz' | 'Metrics';
  handle: Handler;
}

const ENDPOINTS: Record<string, OpsEndpoint> = {
  '/healthz': { op: 'Healthz', handle: readOnly(healthz) },
  '/readyz': { op: 'Readyz', handle: readOnly(readyz) },
  '/metrics': { op: 'Metrics', handle: readOnly(metrics) },
};

export function opsEndpointFor(path: string): OpsEndpoint | null {
  return Object.hasOwn(ENDPOINTS, path) ? (ENDPOINTS[path] ?? null) : null;
}

/** GET and HEAD only; never throws (a failure is logged and answered with a 500). */
function readOnly(handler: Handler): Handler {
  return async (req, res, startup, log) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(req, res, 405, 'Method Not Allowed\n');
      return;
    }
    try {
      await handler(req, res, startup, log);
    } catch (err) {
      log.error({ err, path: req.url }, 'operations endpoint failed');
      if (res.headersSent) res.destroy();
      else sendText(req, res, 500, 'Internal Server Error\n');
    }
  };
}

/** 200 whenever the process answers at all, also while it is still starting. */
async function healthz(req: IncomingMessage, res: ServerResponse): Promise<void> {
  sendText(req, res, 200, 'ok\n');
}

/** 200 when the stores answer, 503 while starting or when a store does not answer in time. */
async function readyz(req: IncomingMessage, res: ServerResponse, startup: Startup, log: Logger): Promise<void> {
  if (!startup.core) {
    sendText(req, res, 503, 'starting\n');
    return;
  }
  try {
    await withTimeout(startup.core.ready(), READY_TIMEOUT_MS);
    sendText(req, res, 200, 'ok\n');
  } catch (err) {
    log.warn({ err }, 'readiness check failed');
    sendText(req, res, 503, 'stores not reachable\n');
  }
}

async function metrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { contentType, text } = await renderMetrics();
  sendText(req, res, 200, text, contentType);
}

function sendText(req: IncomingMessage, res: ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  const body = Buffer.from(text);
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': body.length, 'Cache-Control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
