/** Anonymous access to public buckets (acl.public = read-only) and its IP allow list, over real HTTP. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asRecord, createAccount, request } from '../helpers/accounts.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';

const PUBLIC_BODY = 'public bytes: <h1>hello from a public bucket</h1>';
const PRIVATE_BODY = 'PRIVATE-CONTENT-7f3a9c do not leak';

let server: RunningServer;
let root: Session;

before(async () => {
  server = await startServer();
  root = await login(server.url);
});
after(async () => {
  await server.destroy();
});

async function createBucket(session: Session, name: string): Promise<void> {
  const response = await request(`${server.url}/v1_ext/bucket`, { method: 'PUT', token: session.token, body: { name, type: 'STANDARD' } });
  assert.equal(response.status, 201, response.text);
}

async function setAcl(session: Session, name: string, acl: Record<string, unknown>): Promise<void> {
  const response = await request(`${server.url}/v1_ext/bucket/${name}`, { method: 'POST', token: session.token, body: { name, acl } });
  assert.equal(response.status, 200, response.text);
}

async function upload(session: Session, bucket: string, key: string, body: string, headers: Record<string, string> = {}): Promise<void> {
  const response = await fetch(`${session.storageUrl}/${bucket}/${key}`, {
    method: 'PUT',
    headers: { 'X-Auth-Token': session.token, ...headers },
    body,
  });
  assert.equal(response.status, 201, await response.text());
}

async function anonymous(url: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, text: await response.text() };
}

void describe('a public bucket', () => {
  let objectUrl: string;
  before(async () => {
    await createBucket(root, 'pub-site');
    await upload(root, 'pub-site', 'docs/index.html', PUBLIC_BODY, { 'Content-Type': 'text/html', 'X-Object-Meta-Company': 'kakao enterprise' });
    await setAcl(root, 'pub-site', { public: 'read-only' });
    objectUrl = `${root.storageUrl}/pub-site/docs/index.html`;
  });

  void test('anonymous GET of an object → 200 with its bytes and headers', async () => {
    const response = await anonymous(objectUrl);
    assert.equal(response.status, 200);
    assert.equal(response.text, PUBLIC_BODY);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(response.headers.get('content-length'), String(Buffer.byteLength(PUBLIC_BODY)));
    assert.match(response.headers.get('etag') ?? '', /^"?[0-9a-f]{32}"?$/);
    assert.ok(response.headers.get('last-modified'));
    assert.equal(response.headers.get('x-object-meta-company'), 'kakao enterprise');
  });

  void test('the console-style URL with %2F works too', async () => {
    const response = await anonymous(`${root.storageUrl}/pub-site/docs%2Findex.html`);
    assert.equal(response.status, 200);
    assert.equal(response.text, PUBLIC_BODY);
  });

  void test('anonymous HEAD → 200 with the headers and no body', async () => {
    const response = await anonymous(objectUrl, { method: 'HEAD' });
    assert.equal(response.status, 200);
    assert.equal(response.text, '');
    assert.equal(response.headers.get('content-length'), String(Buffer.byteLength(PUBLIC_BODY)));
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
  });

  void test('anonymous Range GET → 206', async () => {
    const response = await anonymous(objectUrl, { headers: { Range: 'bytes=0-5' } });
    assert.equal(response.status, 206);
    assert.equal(response.text, PUBLIC_BODY.slice(0, 6));
  });

  void test('a missing object in a public bucket → 404', async () => {
    assert.equal((await anonymous(`${root.storageUrl}/pub-site/docs/missing.html`)).status, 404);
  });

  void test('anonymous listing, PUT, DELETE and POST → 401, and nothing changes', async () => {
    for (const url of [`${root.storageUrl}/pub-site`, `${root.storageUrl}/pub-site?format=json`, root.storageUrl, `${root.storageUrl}?format=json`]) {
      const listing = await anonymous(url);
      assert.equal(listing.status, 401, `GET ${url}`);
      assert.ok(!listing.text.includes('index.html'), 'the listing does not leak');
      assert.equal((await anonymous(url, { method: 'HEAD' })).status, 401, `HEAD ${url}`);
    }
    assert.equal((await anonymous(`${root.storageUrl}/pub-site/new.txt`, { method: 'PUT', body: 'x' })).status, 401);
    assert.equal((await anonymous(objectUrl, { method: 'PUT', body: 'overwritten' })).status, 401);
    assert.equal((await anonymous(objectUrl, { method: 'DELETE' })).status, 401);
    assert.equal((await anonymous(objectUrl, { method: 'POST', headers: { 'X-Object-Meta-Company': 'someone else' } })).status, 401);
    assert.equal((await anonymous(`${root.storageUrl}/pub-site`, { method: 'POST', headers: { 'X-Container-Meta-X': 'y' } })).status, 401);
    assert.equal((await anonymous(`${root.storageUrl}/pub-site`, { method: 'DELETE' })).status, 401);
    assert.equal((await anonymous(`${root.storageUrl}/pub-site-2`, { method: 'PUT' })).status, 401);
    assert.equal((await anonymous(objectUrl, { method: 'COPY', headers: { Destination: 'pub-site/copy.html' } })).status, 401);
    assert.equal((await anonymous(`${root.storageUrl}/pub-site/copy.html`, { method: 'PUT', headers: { 'X-Copy-From': 'pub-site/docs/index.html' } })).status, 401);

    const check = await fetch(objectUrl, { headers: { 'X-Auth-Token': root.token } });
    assert.equal(check.status, 200);
    assert.equal(await check.text(), PUBLIC_BODY);
    assert.equal(check.headers.get('x-object-meta-company'), 'kakao enterprise');
    for (const key of ['new.txt', 'copy.html']) {
      const missing = await fetch(`${root.storageUrl}/pub-site/${key}`, { method: 'HEAD', headers: { 'X-Auth-Token': root.token } });
      assert.equal(missing.status, 404, key);
    }
  });
});

void describe('a private bucket', () => {
  void test('anonymous GET/HEAD → 401 with none of the object bytes', async () => {
    await createBucket(root, 'priv-bucket');
    await upload(root, 'priv-bucket', 'secret.txt', PRIVATE_BODY, { 'Content-Type': 'text/plain' });
    const url = `${root.storageUrl}/priv-bucket/secret.txt`;
    const got = await anonymous(url);
    assert.equal(got.status, 401);
    assert.ok(!got.text.includes(PRIVATE_BODY.slice(0, 16)), `body leaks the object: ${got.text}`);
    assert.notEqual(got.headers.get('content-length'), String(Buffer.byteLength(PRIVATE_BODY)));
    assert.equal(got.headers.get('etag'), null);
    const head = await anonymous(url, { method: 'HEAD' });
    assert.equal(head.status, 401);
    assert.equal(head.headers.get('etag'), null);
    // Missing objects and buckets look the same to an anonymous caller.
    assert.equal((await anonymous(`${root.storageUrl}/priv-bucket/nothing-here`)).status, 401);
    assert.equal((await anonymous(`${root.storageUrl}/no-such-bucket/nothing-here`)).status, 401);
  });

  void test('public, then back to private → 401 again', async () => {
    await createBucket(root, 'flip-bucket');
    await upload(root, 'flip-bucket', 'a.txt', PRIVATE_BODY);
    const url = `${root.storageUrl}/flip-bucket/a.txt`;
    assert.equal((await anonymous(url)).status, 401);
    await setAcl(root, 'flip-bucket', { public: 'read-only' });
    const open = await anonymous(url);
    assert.equal(open.status, 200);
    assert.equal(open.text, PRIVATE_BODY);
    await setAcl(root, 'flip-bucket', { public: 'none' });
    const closed = await anonymous(url);
    assert.equal(closed.status, 401);
    assert.ok(!closed.text.includes(PRIVATE_BODY.slice(0, 16)));
  });
});

void describe('the IP allow list', () => {
  let url: string;
  before(async () => {
    await createBucket(root, 'ip-bucket');
    await upload(root, 'ip-bucket', 'file.bin', PUBLIC_BODY);
    url = `${root.storageUrl}/ip-bucket/file.bin`;
  });

  void test('127.0.0.1 and 127.0.0.0/8 let a local anonymous reader in', async () => {
    await setAcl(root, 'ip-bucket', { public: 'read-only', public_read_allow_ip_list: ['127.0.0.1'] });
    const single = await anonymous(url);
    assert.equal(single.status, 200);
    assert.equal(single.text, PUBLIC_BODY);
    await setAcl(root, 'ip-bucket', { public: 'read-only', public_read_allow_ip_list: ['10.0.0.0/8', '127.0.0.0/8'] });
    assert.equal((await anonymous(url)).status, 200);
    assert.equal((await anonymous(url, { method: 'HEAD' })).status, 200);
  });

  void test('an address outside the list is refused with 403 without the bytes; X-Forwarded-For does not help', async () => {
    await setAcl(root, 'ip-bucket', { public: 'read-only', public_read_allow_ip_list: ['10.0.0.0/8'] });
    const refused = await anonymous(url);
    // KakaoCloud's clients read 403 as "public, but not for your address".
    assert.equal(refused.status, 403);
    assert.ok(!refused.text.includes(PUBLIC_BODY.slice(0, 16)));
    const spoofed = await anonymous(url, { headers: { 'X-Forwarded-For': '10.1.2.3', 'X-Real-IP': '10.1.2.3', Forwarded: 'for=10.1.2.3' } });
    assert.equal(spoofed.status, 403);
    // The owner still reads with a token whatever the list says.
    assert.equal((await fetch(url, { headers: { 'X-Auth-Token': root.token } })).status, 200);
  });

  void test('clearing the list opens the public bucket to every address again', async () => {
    await setAcl(root, 'ip-bucket', { public: 'read-only', public_read_allow_ip_list: [] });
    assert.equal((await anonymous(url)).status, 200);
  });

  void test('an allow list on a private bucket lets nobody in', async () => {
    await setAcl(root, 'ip-bucket', { public: 'none', public_read_allow_ip_list: ['127.0.0.1'] });
    assert.equal((await anonymous(url)).status, 401);
  });
});

void describe('projects', () => {
  void test("a public object of another project is reachable at that project's URL only", async () => {
    const account = await createAccount(server.dataDir, 'admin');
    const other = await login(server.url, account.keyId, account.secret);
    assert.notEqual(other.projectId, root.projectId);
    await createBucket(other, 'other-public');
    await upload(other, 'other-public', 'o.txt', PUBLIC_BODY);
    await setAcl(other, 'other-public', { public: 'read-only' });

    const atOwner = await anonymous(`${other.storageUrl}/other-public/o.txt`);
    assert.equal(atOwner.status, 200);
    assert.equal(atOwner.text, PUBLIC_BODY);
    const elsewhere = await anonymous(`${root.storageUrl}/other-public/o.txt`);
    assert.ok([401, 404].includes(elsewhere.status), `status ${elsewhere.status}`);
    assert.ok(!elsewhere.text.includes(PUBLIC_BODY.slice(0, 16)));
    const made = await anonymous(`${server.url}/v1/0123456789abcdef0123456789abcdef/other-public/o.txt`);
    assert.ok([401, 404].includes(made.status));
    // Even a token of the root project does not reach it under the wrong account.
    const rootToken = await fetch(`${root.storageUrl}/other-public/o.txt`, { headers: { 'X-Auth-Token': root.token } });
    assert.equal(rootToken.status, 404);
    const bucket = asRecord((await request(`${server.url}/v1_ext/bucket/other-public`, { token: other.token })).json);
    assert.equal(bucket.project, other.projectId);
  });
});
