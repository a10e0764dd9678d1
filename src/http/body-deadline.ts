/**
 * Deadlines for the bodies of requests not (yet) authenticated. The body timeout alone measures inactivity, so a
 * client sending a byte now and then holds its connection for ever; without credentials, that is anyone holding
 * every connection slot. So a request body must arrive whole within a total time (ONGGI_UNAUTHENTICATED_BODY_TIMEOUT,
 * plus its declared length at ONGGI_MIN_BODY_RATE) unless the request is authenticated first: `trustBody` lifts the
 * deadline once a token names a user, and a slow upload that keeps moving then has only the inactivity timeout.
 *
 * One shared sweep checks the deadlines (no timer per request); a request costs one Map entry while its body is read.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

const SWEEP_MS = 250;

const deadlines = new Map<IncomingMessage, number>();
let sweeper: NodeJS.Timeout | null = null;
let onExpired: (socket: Socket) => void = () => undefined;

/** Called once by the listener: what to do with the connection of a request whose deadline passed. */
export function onBodyDeadline(handler: (socket: Socket) => void): void {
  onExpired = handler;
}

/** Starts the deadline of a request whose body is still to come: `baseMs` plus its declared length at `bytesPerSecond`. */
export function watchUntrustedBody(req: IncomingMessage, baseMs: number, bytesPerSecond: number): void {
  const declared = Number(req.headers['content-length'] ?? 0);
  const allowance = Number.isFinite(declared) && declared > 0 ? (declared / bytesPerSecond) * 1000 : 0;
  deadlines.set(req, performance.now() + baseMs + allowance);
  sweeper ??= setInterval(sweep, SWEEP_MS).unref();
}

/** The request's body is awaited no longer (it ended), or the request is authenticated: no deadline. */
export function trustBody(req: IncomingMessage): void {
  deadlines.delete(req);
}

function sweep(): void {
  const now = performance.now();
  for (const [req, deadline] of deadlines) {
    if (req.complete || req.socket.destroyed) deadlines.delete(req);
    else if (now > deadline) {
      deadlines.delete(req);
      onExpired(req.socket);
    }
  }
  if (deadlines.size === 0 && sweeper) {
    clearInterval(sweeper);
    sweeper = null;
  }
}
