/**
 * Issue 9 item 12: behind a reverse proxy, a public bucket's IP allow list works on the client's address that a
 * trusted proxy (ONGGI_TRUSTED_PROXIES) reports; the same headers from anyone else change nothing. Issue 22 item 5:
 * only the header the proxy sets (ONGGI_TRUSTED_PROXY_HEADER) is read, so a client's own Forwarded passed through
 * a proxy that maintains X-Forwarded-For changes nothing either.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { request } from '../helpers/accounts.ts';
import { auth, createContainer, putObject } from '../helpers/swift.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';

const BODY = 'only for the office';

/** An anonymous GET from a chosen local address (any 127.0.0.0/8 address reaches the loopback listener). */
function anonymousGet(url: string, headers: Record<string, string>, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, localAddress, agent: false }, (res) => {
      res.resume();
      res.on('end', () => {
        resolve(res.statusCode ?? 0);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

void describe('ONGGI_TRUSTED_PROXIES', () => {
  let server: RunningServer;
  let session: Session;
  let objectUrl: string;
  before(async () => {
    // 127.0.0.2 plays the reverse proxy; 127.0.0.3 a client that talks to Onggi directly.
    server = await startServer({ env: { ONGGI_TRUSTED_PROXIES: '127.0.0.2/32, 10.0.0.0/8' } });
    session = await login(server.url);
    await createContainer(session, 'office');
    await putObject(session, 'office', 'doc.txt', BODY);
    const acl = await request(`${server.url}/v1_ext/bucket/office`, {
      method: 'POST',
      token: session.token,
      body: { acl: { public: 'read-only', public_read_allow_ip_list: ['198.51.100.0/24'] } },
    });
    assert.equal(acl.status, 200, acl.text);
    objectUrl = `${session.storageUrl}/office/doc.txt`;
  });
  after(async () => {
    await server.destroy();
  });

  void test('through the trusted proxy, the client it reports is checked against the allow list', async () => {
    assert.equal(await anonymousGet(objectUrl, { 'X-Forwarded-For': '198.51.100.20' }, '127.0.0.2'), 200);
    assert.equal(await anonymousGet(objectUrl, { 'X-Forwarded-For': '203.0.113.5' }, '127.0.0.2'), 403);
    assert.equal(await anonymousGet(objectUrl, { 'X-Forwarded-For': '198.51.100.20, 203.0.113.5' }, '127.0.0.2'), 403, 'the hop the proxy saw counts, not what the client claimed');
    assert.equal(await anonymousGet(objectUrl, {}, '127.0.0.2'), 403, 'the proxy itself is not on the list');
  });

  void test('a client-sent Forwarded that the proxy passed through does not override its X-Forwarded-For', async () => {
    // The proxy appends the address it saw (203.0.113.5) to X-Forwarded-For and leaves the client's Forwarded alone.
    assert.equal(await anonymousGet(objectUrl, { Forwarded: 'for=198.51.100.21', 'X-Forwarded-For': '203.0.113.5' }, '127.0.0.2'), 403);
    assert.equal(await anonymousGet(objectUrl, { Forwarded: 'for=198.51.100.21' }, '127.0.0.2'), 403, 'a Forwarded alone names no one');
  });

  void test('from an untrusted peer the same headers are ignored', async () => {
    assert.equal(await anonymousGet(objectUrl, { 'X-Forwarded-For': '198.51.100.20' }, '127.0.0.3'), 403);
    assert.equal(await anonymousGet(objectUrl, { Forwarded: 'for=198.51.100.20' }, '127.0.0.3'), 403);
  });

  void test('a bad entry stops the server at start with a clear message', async () => {
    await assert.rejects(startServer({ env: { ONGGI_TRUSTED_PROXIES: '10.0.0.0/8, proxy.local' } }), /ONGGI_TRUSTED_PROXIES: Not an IP address or CIDR block: proxy\.local/);
  });

  void test('ONGGI_TRUSTED_PROXY_HEADER=forwarded reads Forwarded only; an unknown header name stops the start', async () => {
    const other = await startServer({ env: { ONGGI_TRUSTED_PROXIES: '127.0.0.2/32', ONGGI_TRUSTED_PROXY_HEADER: 'forwarded' } });
    try {
      const own = await login(other.url);
      await createContainer(own, 'office');
      await putObject(own, 'office', 'doc.txt', BODY);
      const acl = await request(`${other.url}/v1_ext/bucket/office`, {
        method: 'POST',
        token: own.token,
        body: { acl: { public: 'read-only', public_read_allow_ip_list: ['198.51.100.0/24'] } },
      });
      assert.equal(acl.status, 200, acl.text);
      const url = `${own.storageUrl}/office/doc.txt`;
      assert.equal(await anonymousGet(url, { Forwarded: 'for=198.51.100.21;proto=https' }, '127.0.0.2'), 200);
      assert.equal(await anonymousGet(url, { Forwarded: 'for=198.51.100.21, for=203.0.113.5' }, '127.0.0.2'), 403, 'the right-most untrusted hop counts');
      assert.equal(await anonymousGet(url, { 'X-Forwarded-For': '198.51.100.20' }, '127.0.0.2'), 403);
    } finally {
      await other.destroy();
    }
    await assert.rejects(startServer({ env: { ONGGI_TRUSTED_PROXIES: '10.0.0.0/8', ONGGI_TRUSTED_PROXY_HEADER: 'x-real-ip' } }), /ONGGI_TRUSTED_PROXY_HEADER must be x-forwarded-for or forwarded/);
  });

  void test('authenticated requests are unaffected', async () => {
    const res = await fetch(objectUrl, { headers: auth(session) });
    assert.equal(await res.text(), BODY);
  });
});
