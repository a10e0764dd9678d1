/** The console as files over HTTP: where it lives, content types, caching, gzip, fallback, and its weight. */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { removeDir, startServer } from '../helpers/server.ts';
import { rawRequest, startConsoleServer, type ConsoleServer } from './harness.ts';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
let server: ConsoleServer;

before(async () => {
  server = await startConsoleServer();
});
after(async () => {
  await server.destroy();
});

/** The script and style files index.html loads. */
function assetsOf(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+\.(?:js|css))"/g)].map((match) => match[1] ?? '');
}

describe('where the console lives', () => {
  test('GET / from a browser redirects to /console/', async () => {
    const response = await rawRequest(`${server.url}/`, { Accept: BROWSER_ACCEPT });
    assert.equal(response.status, 302);
    assert.equal(response.headers.location, '/console/');
  });

  test('GET / from an API client is not found, and one signed for S3 is S3’s (ListBuckets), never the console', async () => {
    assert.equal((await rawRequest(`${server.url}/`, { Accept: '*/*' })).status, 404);
    const signed = await rawRequest(`${server.url}/`, { Accept: BROWSER_ACCEPT, Authorization: 'AWS4-HMAC-SHA256 Credential=x' });
    assert.equal(signed.status, 400);
    assert.equal(signed.headers.location, undefined);
    assert.match(signed.body.toString(), /<Code>AuthorizationHeaderMalformed<\/Code>/);
  });

  test('/console redirects to /console/', async () => {
    const response = await rawRequest(`${server.url}/console`);
    assert.equal(response.status, 301);
    assert.equal(response.headers.location, '/console/');
  });

  test('only GET and HEAD', async () => {
    const response = await rawRequest(`${server.url}/console/`, {}, 'POST');
    assert.equal(response.status, 405);
    assert.equal(response.headers.allow, 'GET, HEAD');
  });
});

describe('the files', () => {
  test('index.html: HTML, revalidated on every load, with a strict content security policy', async () => {
    const response = await rawRequest(`${server.url}/console/`);
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(response.headers['cache-control'], 'no-cache');
    assert.match(String(response.headers['content-security-policy']), /default-src 'self'/);
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
    assert.match(response.body.toString(), /<div id="app">/);
    const etag = String(response.headers.etag);
    const again = await rawRequest(`${server.url}/console/`, { 'If-None-Match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
  });

  test('hashed assets: right content type, cached for good, gzipped when asked', async () => {
    const html = (await rawRequest(`${server.url}/console/`)).body.toString();
    const assets = assetsOf(html);
    assert.ok(assets.some((path) => path.endsWith('.js')) && assets.some((path) => path.endsWith('.css')), html);
    for (const path of assets) {
      const plain = await rawRequest(`${server.url}${path}`);
      assert.equal(plain.status, 200, path);
      assert.equal(plain.headers['content-type'], path.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
      assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.equal(plain.headers['content-encoding'], undefined);
      const gzipped = await rawRequest(`${server.url}${path}`, { 'Accept-Encoding': 'gzip, deflate, br' });
      assert.equal(gzipped.headers['content-encoding'], 'gzip');
      assert.equal(gzipped.headers.vary, 'Accept-Encoding');
      assert.ok(gzipped.body.length < plain.body.length);
      assert.deepEqual(gunzipSync(gzipped.body), plain.body);
      const refused = await rawRequest(`${server.url}${path}`, { 'Accept-Encoding': 'gzip;q=0' });
      assert.equal(refused.headers['content-encoding'], undefined);
    }
  });

  test('HEAD gives the headers alone', async () => {
    const response = await rawRequest(`${server.url}/console/`, {}, 'HEAD');
    assert.equal(response.status, 200);
    assert.ok(Number(response.headers['content-length']) > 0);
    assert.equal(response.body.length, 0);
  });

  test('console screens fall back to index.html; a missing asset is a 404', async () => {
    const screen = await rawRequest(`${server.url}/console/buckets/some-bucket?folder=a%2F`);
    assert.equal(screen.status, 200);
    assert.match(screen.body.toString(), /<div id="app">/);
    assert.equal((await rawRequest(`${server.url}/console/assets/missing-0000.js`)).status, 404);
  });

  test('page weight: JavaScript + CSS of the first load, gzipped, under 150 KiB', async (t) => {
    const html = (await rawRequest(`${server.url}/console/`)).body.toString();
    let total = 0;
    for (const path of assetsOf(html)) {
      const response = await rawRequest(`${server.url}${path}`, { 'Accept-Encoding': 'gzip' });
      total += response.body.length;
    }
    t.diagnostic(`console first load: ${(total / 1024).toFixed(1)} KiB of JS + CSS (gzip)`);
    assert.ok(total < 150 * 1024, `${total} bytes`);
  });
});

test('an Onggi without a built console says how to build it', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'onggi-no-console-'));
  const bare = await startServer({ env: { ONGGI_CONSOLE_DIR: empty } });
  try {
    const response = await rawRequest(`${bare.url}/console/`);
    assert.equal(response.status, 503);
    assert.match(response.body.toString(), /npm run build/);
  } finally {
    await bare.destroy();
    await removeDir(empty);
  }
});

test('GET /info publishes the bucket naming rules the console checks as you type', async () => {
  const response = await fetch(`${server.url}/info`);
  const body = (await response.json()) as { onggi?: { bucket_naming?: { profile: string; pattern: string; reserved: string[] } } };
  const naming = body.onggi?.bucket_naming;
  assert.equal(naming?.profile, 'kakaocloud');
  assert.ok(new RegExp(naming.pattern, 'u').test('my-bucket'));
  assert.ok(!new RegExp(naming.pattern, 'u').test('My_Bucket'));
  assert.ok(naming.reserved.includes('v1_ext'));
});
