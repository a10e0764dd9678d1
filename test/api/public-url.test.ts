/**
 * Issue 22 item 10: without ONGGI_PUBLIC_URL, the token catalog's URLs do not follow a client's Host header (a
 * forged Host would send the next client's token to another server): they name the listen address, or the Host
 * when it is one of ONGGI_PUBLIC_HOSTS; the server warns at start that ONGGI_PUBLIC_URL is not set.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../helpers/accounts.ts';
import { ROOT_KEY_ID, ROOT_SECRET, startServer, type RunningServer } from '../helpers/server.ts';
import { raw } from '../helpers/swift.ts';

const TOKEN_BODY = JSON.stringify({ auth: { identity: { methods: ['application_credential'], application_credential: { id: ROOT_KEY_ID, secret: ROOT_SECRET } } } });

/** Every URL of a token's catalog, issued with the given Host header. */
async function catalogUrls(server: RunningServer, host: string): Promise<string[]> {
  const res = await raw(server.url, {
    method: 'POST',
    path: '/identity/v3/auth/tokens',
    headers: { Host: host, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(TOKEN_BODY) },
    body: TOKEN_BODY,
  });
  assert.equal(res.status, 201, res.body.toString());
  const body = JSON.parse(res.body.toString()) as { token: { catalog: { endpoints: { url: string }[] }[] } };
  return body.token.catalog.flatMap((entry) => entry.endpoints.map((endpoint) => endpoint.url));
}

void describe('token catalog without ONGGI_PUBLIC_URL', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ env: { ONGGI_PUBLIC_HOSTS: 'storage.example.test, Alias.Example.Test:8443' } });
  });
  after(async () => {
    await server.destroy();
  });

  void test('a forged Host header does not reach the catalog: it names the listen address', async () => {
    const urls = await catalogUrls(server, 'attacker.example:9999');
    assert.ok(urls.length >= 2, JSON.stringify(urls));
    for (const url of urls) {
      assert.ok(url.startsWith(`${server.url}/`), `${url} should start with the listen address ${server.url}`);
      assert.doesNotMatch(url, /attacker/);
    }
  });

  void test('a Host of ONGGI_PUBLIC_HOSTS is used as it is', async () => {
    for (const url of await catalogUrls(server, 'storage.example.test')) assert.ok(url.startsWith('http://storage.example.test/'), url);
    for (const url of await catalogUrls(server, 'alias.example.test:8443')) assert.ok(url.startsWith('http://alias.example.test:8443/'), url);
    for (const url of await catalogUrls(server, 'storage.example.test:1234')) assert.ok(url.startsWith(`${server.url}/`), `another port is another host: ${url}`);
  });

  void test('the start warns that ONGGI_PUBLIC_URL is not set', async () => {
    const warned = await waitFor(async () => /"level":40[^\n]*ONGGI_PUBLIC_URL is not set/.test(server.errors()), 5000);
    assert.notEqual(warned, null, server.errors());
  });

  void test('with ONGGI_PUBLIC_URL, that URL and no warning', async () => {
    const pinned = await startServer({ env: { ONGGI_PUBLIC_URL: 'https://objects.example.test' } });
    try {
      for (const url of await catalogUrls(pinned, 'attacker.example')) assert.ok(url.startsWith('https://objects.example.test/'), url);
      assert.doesNotMatch(pinned.errors(), /ONGGI_PUBLIC_URL is not set/);
    } finally {
      await pinned.destroy();
    }
  });
});
