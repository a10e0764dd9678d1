/**
 * The client's address. Behind a reverse proxy every peer is the proxy, so the proxy's Forwarded (RFC 7239) or
 * X-Forwarded-For header names the client — but only a trusted proxy's: anyone else could write those headers.
 * Only the one header the operator says the proxy maintains is read (ONGGI_TRUSTED_PROXY_HEADER): a proxy that
 * appends to X-Forwarded-For passes a client's own Forwarded header through untouched.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { addressMatcher } from '../core/authz.ts';

/** The header a trusted proxy sets to name the client. */
export type ProxyHeader = 'x-forwarded-for' | 'forwarded';

export class ClientAddresses {
  readonly isTrusted: (ip: string) => boolean;
  private readonly anyTrusted: boolean;

  constructor(
    trustedProxies: readonly string[],
    private readonly header: ProxyHeader = 'x-forwarded-for',
  ) {
    this.anyTrusted = trustedProxies.length > 0;
    this.isTrusted = this.anyTrusted ? addressMatcher(trustedProxies) : () => false;
  }

  /**
   * The peer, unless it is a trusted proxy: then the hops it reports in the configured header (the other one is
   * ignored), walked from the nearest back (right-most first), up to the first one that is not itself a trusted
   * proxy. A hop that is not an address ("unknown", an obfuscated name) is returned as it is, and matches no allow
   * list.
   */
  of(req: IncomingMessage): string {
    const peer = req.socket.remoteAddress ?? '';
    if (!this.anyTrusted || !this.isTrusted(peer)) return peer;
    const hops = forwardedHops(req, this.header);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i] ?? '';
      if (isIP(hop) === 0 || !this.isTrusted(hop)) return hop;
    }
    return hops[0] ?? peer;
  }
}

function forwardedHops(req: IncomingMessage, header: ProxyHeader): string[] {
  if (header === 'forwarded') {
    const forwarded = req.headers.forwarded;
    return forwarded === undefined ? [] : forwarded.split(',').map(forValue);
  }
  const xff = req.headers['x-forwarded-for'];
  if (xff === undefined) return [];
  return (Array.isArray(xff) ? xff.join(',') : xff).split(',').map((hop) => stripPort(hop.trim()));
}

/** The `for=` parameter of one Forwarded element, unquoted, without brackets or port. */
function forValue(element: string): string {
  for (const pair of element.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue;
    return stripPort(pair.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
  }
  return 'unknown';
}

/** `[2001:db8::1]:4711` → `2001:db8::1`; `192.0.2.1:80` → `192.0.2.1`; a bare IPv6 address stays as it is. */
function stripPort(hop: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed?.[1]) return bracketed[1];
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(hop);
  return v4?.[1] ?? hop;
}
