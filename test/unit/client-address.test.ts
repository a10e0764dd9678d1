/** Which address is the client's: the peer, or — only behind a trusted proxy — what Forwarded / X-Forwarded-For say. */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { ClientAddresses } from '../../src/http/client-address.ts';

function request(peer: string, headers: Record<string, string> = {}): IncomingMessage {
  return { socket: { remoteAddress: peer }, headers } as unknown as IncomingMessage;
}

void describe('ClientAddresses', () => {
  const trusted = new ClientAddresses(['10.0.0.0/8', '::1', '192.168.1.1']);
  const trustedForwarded = new ClientAddresses(['10.0.0.0/8', '::1', '192.168.1.1'], 'forwarded');
  const table: [string, string, Record<string, string>, string][] = [
    ['no proxy configured: the peer, headers ignored', '203.0.113.9', { 'x-forwarded-for': '1.2.3.4' }, '203.0.113.9'],
    ['an untrusted peer cannot claim another address', '203.0.113.9', { forwarded: 'for=1.2.3.4' }, '203.0.113.9'],
    ['a trusted peer names the client', '10.1.2.3', { 'x-forwarded-for': '198.51.100.7' }, '198.51.100.7'],
    ['the nearest untrusted hop wins, not what the client wrote first', '10.1.2.3', { 'x-forwarded-for': '6.6.6.6, 198.51.100.7' }, '198.51.100.7'],
    ['trusted hops are skipped', '10.1.2.3', { 'x-forwarded-for': '198.51.100.7, 10.9.9.9' }, '198.51.100.7'],
    ['a port on an X-Forwarded-For hop is dropped', '10.1.2.3', { 'x-forwarded-for': '198.51.100.7:5000' }, '198.51.100.7'],
    ['forwarded: Forwarded, with its quoting and IPv6 brackets', '::1', { forwarded: 'for="[2001:db8:cafe::17]:4711";proto=https' }, '2001:db8:cafe::17'],
    ['a client-sent Forwarded is ignored behind a proxy that sets X-Forwarded-For', '10.1.2.3', { forwarded: 'for=198.51.100.8', 'x-forwarded-for': '198.51.100.7' }, '198.51.100.7'],
    ['forwarded: X-Forwarded-For is ignored behind a proxy that sets Forwarded', '10.1.2.3', { forwarded: 'for=198.51.100.8', 'x-forwarded-for': '198.51.100.7' }, '198.51.100.8'],
    ['forwarded: several Forwarded elements: the nearest untrusted', '10.1.2.3', { forwarded: 'for=6.6.6.6, for=198.51.100.8;by=10.1.2.3, for=10.0.0.5' }, '198.51.100.8'],
    ['forwarded: an obfuscated hop matches nothing', '10.1.2.3', { forwarded: 'for=_hidden' }, '_hidden'],
    ['a trusted peer without headers is the client', '192.168.1.1', {}, '192.168.1.1'],
    ['IPv4-mapped peers count as their IPv4 address', '::ffff:10.1.2.3', { 'x-forwarded-for': '198.51.100.7' }, '198.51.100.7'],
  ];
  for (const [label, peer, headers, expected] of table) {
    void test(label, () => {
      const addresses = label.startsWith('no proxy') ? new ClientAddresses([]) : label.startsWith('forwarded:') ? trustedForwarded : trusted;
      assert.equal(addresses.of(request(peer, headers)), expected);
    });
  }
});
