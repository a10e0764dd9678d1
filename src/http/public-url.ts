/**
 * The base URL of token catalogs and links when ONGGI_PUBLIC_URL is not set. A client's Host header is anyone's to
 * write (a token catalog naming an attacker's host sends the next client's token there), so it is used only when
 * it is one of the operator's ONGGI_PUBLIC_HOSTS; otherwise the URL is the address the connection reached, which
 * is the listen address (or, on a wildcard listener, the interface the client connected to).
 */
import type { IncomingMessage } from 'node:http';

export class PublicUrls {
  private readonly hosts: ReadonlySet<string>;

  constructor(hosts: readonly string[]) {
    this.hosts = new Set(hosts.map((host) => host.toLowerCase()));
  }

  of(req: IncomingMessage): string {
    const host = req.headers.host?.toLowerCase();
    if (host !== undefined && this.hosts.has(host)) return `http://${host}`;
    return listenUrlOf(req);
  }
}

function listenUrlOf(req: IncomingMessage): string {
  const { localAddress, localPort } = req.socket;
  if (localAddress === undefined) return 'http://localhost';
  const address = localAddress.startsWith('::ffff:') && localAddress.includes('.') ? localAddress.slice(7) : localAddress;
  const host = address.includes(':') ? `[${address}]` : address;
  return `http://${host}:${String(localPort)}`;
}
