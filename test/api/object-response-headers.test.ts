/**
 * Issue 22 item 4 (the headers; test/browser/object-origin.test.ts is the attack in a real browser): every object
 * GET and HEAD carries `Content-Security-Policy: sandbox` and `X-Content-Type-Options: nosniff`; to an anonymous
 * caller of a public bucket, active types (HTML, SVG, XML, script) come as `Content-Disposition: attachment`
 * unless the object was stored with a Content-Disposition of its own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from '../helpers/accounts.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { auth, createContainer, putObject } from '../helpers/swift.ts';

let server: RunningServer;
let session: Session;
const BUCKET = 'pages';

before(async () => {
  server = await startServer();
  session = await login(server.url);
  await createContainer(session, BUCKET);
  const acl = await request(`${server.url}/v1_ext/bucket/${BUCKET}`, { method: 'POST', token: session.token, body: { acl: { public: 'read-only' } } });
  assert.equal(acl.status, 200, acl.text);
  await putObject(session, BUCKET, 'page.html', '<script>alert(1)</script>', { 'Content-Type': 'text/html' });
  await putObject(session, BUCKET, 'image.svg', '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', { 'Content-Type': 'image/svg+xml' });
  await putObject(session, BUCKET, 'data.xml', '<a/>', { 'Content-Type': 'application/xml; charset=utf-8' });
  await putObject(session, BUCKET, 'code.js', 'alert(1)', { 'Content-Type': 'text/javascript' });
  await putObject(session, BUCKET, 'inline.html', '<p>hi</p>', { 'Content-Type': 'text/html', 'Content-Disposition': 'inline' });
  await putObject(session, BUCKET, 'photo.png', 'not really a png', { 'Content-Type': 'image/png' });
  await putObject(session, BUCKET, 'note.txt', '<script>alert(1)</script>', { 'Content-Type': 'text/plain' });
});
after(async () => {
  await server.destroy();
});

async function headersOf(key: string, method: 'GET' | 'HEAD', anonymous: boolean): Promise<Headers> {
  const res = await fetch(`${session.storageUrl}/${BUCKET}/${key}`, { method, headers: anonymous ? {} : auth(session) });
  await res.arrayBuffer();
  assert.equal(res.status, 200, `${method} ${key}`);
  return res.headers;
}

void describe('object response headers', () => {
  void test('every object GET and HEAD: CSP sandbox and nosniff, whoever asks', async () => {
    for (const key of ['page.html', 'photo.png', 'note.txt', 'inline.html']) {
      for (const method of ['GET', 'HEAD'] as const) {
        for (const anonymous of [false, true]) {
          const headers = await headersOf(key, method, anonymous);
          assert.equal(headers.get('content-security-policy'), 'sandbox', `${method} ${key} anonymous=${String(anonymous)}`);
          assert.equal(headers.get('x-content-type-options'), 'nosniff', `${method} ${key} anonymous=${String(anonymous)}`);
        }
      }
    }
    const ranged = await fetch(`${session.storageUrl}/${BUCKET}/page.html`, { headers: { Range: 'bytes=0-3' } });
    await ranged.arrayBuffer();
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-security-policy'), 'sandbox');
  });

  void test('active types from a public bucket to an anonymous caller: attachment', async () => {
    for (const key of ['page.html', 'image.svg', 'data.xml', 'code.js']) {
      for (const method of ['GET', 'HEAD'] as const) assert.equal((await headersOf(key, method, true)).get('content-disposition'), 'attachment', `${method} ${key}`);
    }
  });

  void test('not for passive types, not for a caller with a token, not over a stored Content-Disposition', async () => {
    for (const key of ['photo.png', 'note.txt']) assert.equal((await headersOf(key, 'GET', true)).get('content-disposition'), null, key);
    assert.equal((await headersOf('page.html', 'GET', false)).get('content-disposition'), null);
    assert.equal((await headersOf('inline.html', 'GET', true)).get('content-disposition'), 'inline');
  });
});
