/**
 * Swift's container-metadata CORS over real HTTP (`X-Container-Meta-Access-Control-Allow-Origin`, `-Max-Age`,
 * `-Expose-Headers`): OPTIONS preflights on Swift paths, the headers of actual requests, how it stands beside the
 * `/v1_ext` CORS rules (one evaluation: the bucket's rules first, then the metadata's), and `/crossdomain.xml`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asRecord, request } from '../helpers/accounts.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { auth, bucketName, createContainer, putObject } from '../helpers/swift.ts';

let server: RunningServer;
let root: Session;

before(async () => {
  server = await startServer();
  root = await login(server.url);
});
after(async () => {
  await server.destroy();
});

async function preflight(url: string, origin: string, method: string, headers?: string): Promise<Response> {
  const sent: Record<string, string> = { Origin: origin, 'Access-Control-Request-Method': method };
  if (headers !== undefined) sent['Access-Control-Request-Headers'] = headers;
  const response = await fetch(url, { method: 'OPTIONS', headers: sent });
  await response.arrayBuffer();
  return response;
}

async function withCorsMetadata(label: string, meta: Record<string, string>): Promise<{ container: string; url: string }> {
  const container = bucketName(label);
  await createContainer(root, container, meta);
  await putObject(root, container, 'doc.txt', 'hello', { 'X-Object-Meta-Color': 'blue' });
  return { container, url: `${root.storageUrl}/${container}/doc.txt` };
}

void describe('container metadata CORS', () => {
  test('preflight from a listed origin: allowed with its methods, the headers asked for and the max age; others refused', async () => {
    const { url } = await withCorsMetadata('scors', {
      'X-Container-Meta-Access-Control-Allow-Origin': 'https://app.example https://other.example',
      'X-Container-Meta-Access-Control-Max-Age': '600',
    });
    const allowed = await preflight(url, 'https://app.example', 'PUT', 'x-auth-token, content-type');
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.match(allowed.headers.get('access-control-allow-methods') ?? '', /PUT/);
    assert.match(allowed.headers.get('access-control-allow-methods') ?? '', /COPY/);
    assert.equal(allowed.headers.get('access-control-allow-headers'), 'x-auth-token, content-type');
    assert.equal(allowed.headers.get('access-control-max-age'), '600');
    assert.equal((await preflight(url, 'https://other.example', 'DELETE')).status, 200);
    const refused = await preflight(url, 'https://evil.example', 'GET');
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get('access-control-allow-origin'), null);
  });

  test("actual requests: the allowed origin gets Access-Control-Allow-Origin and Swift's exposed headers plus the listed ones", async () => {
    const { url } = await withCorsMetadata('scors-actual', {
      'X-Container-Meta-Access-Control-Allow-Origin': 'https://app.example',
      'X-Container-Meta-Access-Control-Expose-Headers': 'X-Object-Meta-Color X-Object-Meta-Size',
    });
    const response = await fetch(url, { headers: auth(root, { Origin: 'https://app.example' }) });
    assert.equal(await response.text(), 'hello');
    assert.equal(response.headers.get('access-control-allow-origin'), 'https://app.example');
    const exposed = (response.headers.get('access-control-expose-headers') ?? '').split(', ');
    for (const name of ['etag', 'last-modified', 'content-type', 'x-timestamp', 'x-object-meta-color', 'x-object-meta-size']) assert.ok(exposed.includes(name), name);
    const other = await fetch(url, { headers: auth(root, { Origin: 'https://evil.example' }) });
    assert.equal(other.status, 200);
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  test('`*` allows any origin and answers `*`; removing the metadata closes it', async () => {
    const { container, url } = await withCorsMetadata('scors-any', { 'X-Container-Meta-Access-Control-Allow-Origin': '*' });
    const allowed = await preflight(url, 'https://anywhere.example', 'GET');
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers.get('access-control-allow-origin'), '*');
    const removed = await fetch(`${root.storageUrl}/${container}`, { method: 'POST', headers: auth(root, { 'X-Remove-Container-Meta-Access-Control-Allow-Origin': 'x' }) });
    assert.equal(removed.status, 204);
    assert.equal((await preflight(url, 'https://anywhere.example', 'GET')).status, 403);
  });

  test('beside /v1_ext rules: the rules decide for the origins they name, the metadata for the rest', async () => {
    const { container, url } = await withCorsMetadata('scors-both', { 'X-Container-Meta-Access-Control-Allow-Origin': 'https://swift.example https://rules.example' });
    const rules = await request(`${server.url}/v1_ext/bucket/${container}/cors`, {
      method: 'PUT',
      token: root.token,
      body: { rules: [{ allowed_origins: ['https://rules.example'], allowed_methods: ['GET'] }] },
    });
    assert.equal(rules.status, 200, rules.text);
    assert.equal((await preflight(url, 'https://rules.example', 'GET')).status, 200);
    // The rule names this origin and allows GET only: a PUT is refused though the metadata lists the origin too.
    assert.equal((await preflight(url, 'https://rules.example', 'PUT')).status, 403);
    assert.equal((await preflight(url, 'https://swift.example', 'PUT')).status, 200);
    // The rules are what /v1_ext shows; the metadata is what Swift shows.
    const shown = await request(`${server.url}/v1_ext/bucket/${container}/cors`, { token: root.token });
    assert.equal((asRecord(shown.json).rules as unknown[]).length, 1);
    const head = await fetch(`${root.storageUrl}/${container}`, { method: 'HEAD', headers: auth(root) });
    assert.equal(head.headers.get('x-container-meta-access-control-allow-origin'), 'https://swift.example https://rules.example');
  });
});

void describe('/crossdomain.xml', () => {
  test("GET: Swift's default policy as XML; other methods 405; listed in /info", async () => {
    const response = await fetch(`${server.url}/crossdomain.xml`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/xml; charset=utf-8');
    const body = await response.text();
    assert.match(body, /^<\?xml version="1.0"\?>\n<!DOCTYPE cross-domain-policy /);
    assert.match(body, /<allow-access-from domain="\*" secure="false" \/>/);
    assert.equal((await fetch(`${server.url}/crossdomain.xml`, { method: 'POST' })).status, 405);
    const info = asRecord(await (await fetch(`${server.url}/info`)).json());
    assert.deepEqual(info.crossdomain, {});
  });
});
