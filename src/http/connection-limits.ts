/**
 * Caps on open connections, overall and per client address. A connection over a cap gets a short 503 and is
 * closed, before Node's HTTP parser ever sees it: that is what makes the refusal cheap and clean.
 */
import type { Server, Socket } from 'node:net';

export interface ConnectionCaps {
  total: number;
  perClient: number;
  /** Peers exempt from the per-client cap (trusted reverse proxies carry many clients). */
  exempt: (address: string) => boolean;
}

const REFUSAL_BODY = 'Too many connections; try again later.\n';
const REFUSAL = [
  'HTTP/1.1 503 Service Unavailable',
  'Content-Type: text/plain; charset=utf-8',
  `Content-Length: ${Buffer.byteLength(REFUSAL_BODY)}`,
  'Retry-After: 1',
  'Connection: close',
  '',
  REFUSAL_BODY,
].join('\r\n');
/** How long a refused connection is drained before it is closed, so that the client reads the 503 (no RST). */
const REFUSAL_LINGER_MS = 1000;

/** `server` is an http.Server that has not started listening. */
export function capConnections(server: Server, caps: ConnectionCaps): void {
  const listeners = server.listeners('connection');
  const [httpListener] = listeners;
  if (listeners.length !== 1 || typeof httpListener !== 'function') throw new Error('capConnections expects a fresh http.Server');
  server.removeListener('connection', httpListener as (...args: unknown[]) => void);

  let open = 0;
  let refusing = 0;
  const byClient = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const client = socket.remoteAddress ?? '';
    const fromClient = byClient.get(client) ?? 0;
    if (open >= caps.total || (fromClient >= caps.perClient && !caps.exempt(client))) {
      // Refusals hold a descriptor for a moment too; past the cap again, drop without a word.
      if (refusing >= caps.total) socket.destroy();
      else {
        refusing++;
        refuse(socket, () => refusing--);
      }
      return;
    }
    open++;
    byClient.set(client, fromClient + 1);
    socket.once('close', () => {
      open--;
      const left = (byClient.get(client) ?? 1) - 1;
      if (left > 0) byClient.set(client, left);
      else byClient.delete(client);
    });
    (httpListener as (socket: Socket) => void).call(server, socket);
  });
}

function refuse(socket: Socket, done: () => void): void {
  socket.once('close', done);
  socket.on('error', () => undefined);
  // Drain what the client already sent: closing with unread bytes would reset the connection, and the 503 with it.
  socket.resume();
  socket.end(REFUSAL);
  socket.once('end', () => socket.destroy());
  setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
}
