/** Swift temp URLs over real HTTP: keys, digests and their forms, expiry, prefixes, IP ranges, methods, headers. */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { asRecord, createAccount } from '../helpers/accounts.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { auth, bucketName, createContainer, putObject } from '../helpers/swift.ts';

const ACCOUNT_KEY = 'account-secret-key-not-real';
const ACCOUNT_KEY_2 = 'second-account-key-not-real';
const CONTAINER_KEY = 'container-secret-key-not-real';
const INVALID = '401 Unauthorized: Temp URL invalid\n';

let server: RunningServer;
let root: Session;
let reader: Session;
let container: string;
let otherContainer: string;

before(async () => {
  server = await startServer();
  root = await login(server.url);
  const readerAccount = await createAccount(server.dataDir, 'reader', { project: root.projectId });
  reader = await login(server.url, readerAccount.keyId, readerAccount.secret);
  const set = await fetch(root.storageUrl, { method: 'POST', headers: auth(root, { 'X-Account-Meta-Temp-URL-Key': ACCOUNT_KEY, 'X-Account-Meta-Temp-URL-Key-2': ACCOUNT_KEY_2 }) });
  assert.equal(set.status, 204);
  container = bucketName('tempurl');
  otherContainer = bucketName('tempurl-other');
  await createContainer(root, container, { 'X-Container-Meta-Temp-URL-Key': CONTAINER_KEY });
  await createContainer(root, otherContainer);
  await putObject(root, container, 'doc.txt', 'temp url bytes', { 'X-Object-Meta-Secret': 'hidden', 'X-Object-Meta-Public-Color': 'blue' });
  await putObject(root, container, 'dir/a.txt', 'under the prefix');
  await putObject(root, container, 'other/b.txt', 'outside the prefix');
  await putObject(root, otherContainer, 'doc.txt', 'other container');
});
after(async () => {
  await server.destroy();
});

type Digest = 'sha1' | 'sha256' | 'sha512';

interface SignOptions {
  key?: string;
  digest?: Digest;
  /** How the signature is written: hex, `<digest>:<base64>`, or the URL-safe base64 alphabet. */
  form?: 'hex' | 'base64' | 'base64url';
  ipRange?: string;
  prefix?: string;
  expires?: number | string;
  /** Seconds since the epoch that go into the HMAC (default: `expires`). */
  signedExpires?: number;
}

function inAnHour(): number {
  return Math.floor(Date.now() / 1000) + 3600;
}

/** A temp URL as `swift tempurl` makes one: the HMAC of `[ip=…\n]METHOD\nEXPIRES\nPATH`. */
function tempUrl(method: string, containerName: string, object: string, options: SignOptions = {}): string {
  const expires = options.expires ?? inAnHour();
  const signedExpires = options.signedExpires ?? Number(expires);
  const account = root.projectId;
  const path = options.prefix === undefined ? `/v1/${account}/${containerName}/${object}` : `prefix:/v1/${account}/${containerName}/${options.prefix}`;
  const body = `${options.ipRange === undefined ? '' : `ip=${options.ipRange}\n`}${method}\n${signedExpires}\n${path}`;
  const digest = options.digest ?? 'sha256';
  const mac = createHmac(digest, options.key ?? ACCOUNT_KEY).update(body).digest();
  const form = options.form ?? 'hex';
  const sig = form === 'hex' ? mac.toString('hex') : `${digest}:${mac.toString(form === 'base64' ? 'base64' : 'base64url')}`;
  const query = new URLSearchParams({ temp_url_sig: sig, temp_url_expires: String(expires) });
  if (options.prefix !== undefined) query.set('temp_url_prefix', options.prefix);
  if (options.ipRange !== undefined) query.set('temp_url_ip_range', options.ipRange);
  return `${server.url}/v1/${account}/${containerName}/${object}?${query.toString()}`;
}

async function invalid(url: string, init: RequestInit = {}): Promise<void> {
  const response = await fetch(url, init);
  assert.equal(response.status, 401);
  assert.equal(await response.text(), init.method === 'HEAD' ? '' : INVALID);
}

void describe('GET and HEAD', () => {
  test('a signed GET serves the object as an attachment, without its private metadata, with Expires', async () => {
    const expires = inAnHour();
    const response = await fetch(tempUrl('GET', container, 'doc.txt', { expires }));
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'temp url bytes');
    assert.equal(response.headers.get('content-disposition'), `attachment; filename="doc.txt"; filename*=UTF-8''doc.txt`);
    assert.equal(response.headers.get('expires'), new Date(expires * 1000).toUTCString());
    assert.equal(response.headers.get('x-object-meta-secret'), null);
    assert.equal(response.headers.get('x-object-meta-public-color'), 'blue');
  });

  const forms: [string, SignOptions][] = [
    ['sha1 hex', { digest: 'sha1' }],
    ['sha256 hex', { digest: 'sha256' }],
    ['sha512 hex', { digest: 'sha512' }],
    ['sha1:<base64>', { digest: 'sha1', form: 'base64' }],
    ['sha256:<base64>', { digest: 'sha256', form: 'base64' }],
    ['sha512:<base64url>', { digest: 'sha512', form: 'base64url' }],
    ['the account\'s second key', { key: ACCOUNT_KEY_2 }],
    ["the container's key", { key: CONTAINER_KEY }],
  ];
  for (const [name, options] of forms) {
    test(`signed with ${name}`, async () => {
      const response = await fetch(tempUrl('GET', container, 'doc.txt', options));
      assert.equal(response.status, 200);
      assert.equal(await response.text(), 'temp url bytes');
    });
  }

  test('temp_url_expires in ISO 8601 (the HMAC over its Unix seconds)', async () => {
    const seconds = inAnHour();
    const iso = new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const response = await fetch(tempUrl('GET', container, 'doc.txt', { expires: iso, signedExpires: seconds }));
    assert.equal(response.status, 200);
  });

  test('HEAD with a URL signed for GET (or PUT)', async () => {
    for (const method of ['GET', 'PUT', 'HEAD']) {
      const response = await fetch(tempUrl(method, container, 'doc.txt'), { method: 'HEAD' });
      assert.equal(response.status, 200, method);
      assert.equal(response.headers.get('content-length'), String('temp url bytes'.length));
    }
  });

  test('inline and filename', async () => {
    const inline = await fetch(`${tempUrl('GET', container, 'doc.txt')}&inline`);
    assert.equal(inline.headers.get('content-disposition'), 'inline');
    const named = await fetch(`${tempUrl('GET', container, 'doc.txt')}&filename=${encodeURIComponent('보고서 1.txt')}`);
    assert.equal(named.headers.get('content-disposition'), `attachment; filename="%EB%B3%B4%EA%B3%A0%EC%84%9C 1.txt"; filename*=UTF-8''%EB%B3%B4%EA%B3%A0%EC%84%9C%201.txt`);
    const both = await fetch(`${tempUrl('GET', container, 'doc.txt')}&inline&filename=a.txt`);
    assert.equal(both.headers.get('content-disposition'), `inline; filename="a.txt"; filename*=UTF-8''a.txt`);
  });
});

void describe('refusals: 401 Temp URL invalid', () => {
  test('expired', async () => {
    await invalid(tempUrl('GET', container, 'doc.txt', { expires: Math.floor(Date.now() / 1000) - 10 }));
    await invalid(tempUrl('GET', container, 'doc.txt', { expires: '2001-01-01T00:00:00Z', signedExpires: 978307200 }));
  });

  test('wrongly signed: another key, another object, another method, a bad form', async () => {
    await invalid(tempUrl('GET', container, 'doc.txt', { key: 'not-the-key' }));
    await invalid(tempUrl('GET', container, 'doc.txt').replace('/doc.txt?', '/dir/a.txt?'));
    await invalid(tempUrl('GET', container, 'doc.txt'), { method: 'DELETE' });
    await invalid(tempUrl('GET', container, 'doc.txt').replace(/temp_url_sig=[0-9a-f]+/, 'temp_url_sig=abc'));
    await invalid(tempUrl('GET', container, 'doc.txt').replace(/temp_url_sig=[0-9a-f]+/, 'temp_url_sig=md5%3AAAAA'));
    await invalid(`${server.url}/v1/${root.projectId}/${container}/doc.txt?temp_url_expires=${inAnHour()}`);
    // Even with a valid token beside it: the temp URL decides.
    await invalid(tempUrl('GET', container, 'doc.txt', { key: 'not-the-key' }), { headers: auth(root) });
  });

  test("a container's key signs for that container only", async () => {
    assert.equal((await fetch(tempUrl('GET', container, 'doc.txt', { key: CONTAINER_KEY }))).status, 200);
    await invalid(tempUrl('GET', otherContainer, 'doc.txt', { key: CONTAINER_KEY }));
    assert.equal((await fetch(tempUrl('GET', otherContainer, 'doc.txt'))).status, 200);
  });

  test('HEAD answers 401 with no body', async () => {
    await invalid(tempUrl('GET', container, 'doc.txt', { key: 'nope' }), { method: 'HEAD' });
  });

  test('a container or account path is no temp URL', async () => {
    const url = tempUrl('GET', container, 'doc.txt').replace('/doc.txt?', '?');
    await invalid(url);
  });
});

void describe('prefixes and IP ranges', () => {
  test('temp_url_prefix signs every object under it, nothing else', async () => {
    const good = await fetch(tempUrl('GET', container, 'dir/a.txt', { prefix: 'dir/' }));
    assert.equal(good.status, 200);
    assert.equal(await good.text(), 'under the prefix');
    await invalid(tempUrl('GET', container, 'other/b.txt', { prefix: 'dir/' }));
    // Signed for the prefix, not for the object alone (and the other way round).
    await invalid(tempUrl('GET', container, 'dir/a.txt', { prefix: 'dir/' }).replace('&temp_url_prefix=dir%2F', ''));
  });

  test('temp_url_ip_range: the client address must be in it', async () => {
    assert.equal((await fetch(tempUrl('GET', container, 'doc.txt', { ipRange: '127.0.0.1' }))).status, 200);
    assert.equal((await fetch(tempUrl('GET', container, 'doc.txt', { ipRange: '127.0.0.0/8' }))).status, 200);
    await invalid(tempUrl('GET', container, 'doc.txt', { ipRange: '10.0.0.0/8' }));
    await invalid(tempUrl('GET', container, 'doc.txt', { ipRange: 'not-an-address' }));
    // The range is signed: dropping it or changing it breaks the signature.
    await invalid(tempUrl('GET', container, 'doc.txt', { ipRange: '10.0.0.0/8' }).replace('10.0.0.0%2F8', '127.0.0.0%2F8'));
  });
});

void describe('writes', () => {
  test('PUT, POST and DELETE with URLs signed for them', async () => {
    const put = await fetch(tempUrl('PUT', container, 'uploaded.txt'), { method: 'PUT', body: 'sent by a temp URL' });
    assert.equal(put.status, 201, await put.text());
    const read = await fetch(`${root.storageUrl}/${container}/uploaded.txt`, { headers: auth(root) });
    assert.equal(await read.text(), 'sent by a temp URL');
    const posted = await fetch(tempUrl('POST', container, 'uploaded.txt'), { method: 'POST', headers: { 'X-Object-Meta-Note': 'via temp url' } });
    assert.equal(posted.status, 202);
    const headed = await fetch(`${root.storageUrl}/${container}/uploaded.txt`, { method: 'HEAD', headers: auth(root) });
    assert.equal(headed.headers.get('x-object-meta-note'), 'via temp url');
    await invalid(tempUrl('PUT', container, 'uploaded.txt'), { method: 'DELETE' });
    const deleted = await fetch(tempUrl('DELETE', container, 'uploaded.txt'), { method: 'DELETE' });
    assert.equal(deleted.status, 204);
    assert.equal((await fetch(`${root.storageUrl}/${container}/uploaded.txt`, { headers: auth(root) })).status, 404);
  });

  test('a signed PUT may not point at other bytes: X-Object-Manifest → 400, X-Copy-From refused', async () => {
    const manifest = await fetch(tempUrl('PUT', container, 'm.txt'), { method: 'PUT', headers: { 'X-Object-Manifest': `${otherContainer}/doc` }, body: '' });
    assert.equal(manifest.status, 400);
    assert.equal(await manifest.text(), "The header 'X-Object-Manifest' is not allowed in this tempurl");
    const copy = await fetch(tempUrl('PUT', container, 'c.txt'), { method: 'PUT', headers: { 'X-Copy-From': `${otherContainer}/doc.txt`, 'Content-Length': '0' } });
    assert.equal(copy.status, 401);
    assert.equal((await fetch(`${root.storageUrl}/${container}/c.txt`, { headers: auth(root) })).status, 404);
  });
});

void describe('the keys', () => {
  test('shown to those who may set them, hidden from the others', async () => {
    const asAdmin = await fetch(root.storageUrl, { method: 'HEAD', headers: auth(root) });
    assert.equal(asAdmin.headers.get('x-account-meta-temp-url-key'), ACCOUNT_KEY);
    const asReader = await fetch(root.storageUrl, { method: 'HEAD', headers: auth(reader) });
    assert.equal(asReader.status, 204);
    assert.equal(asReader.headers.get('x-account-meta-temp-url-key'), null);
    assert.equal(asReader.headers.get('x-account-meta-temp-url-key-2'), null);
    const containerAsAdmin = await fetch(`${root.storageUrl}/${container}`, { method: 'HEAD', headers: auth(root) });
    assert.equal(containerAsAdmin.headers.get('x-container-meta-temp-url-key'), CONTAINER_KEY);
    const containerAsReader = await fetch(`${root.storageUrl}/${container}`, { method: 'HEAD', headers: auth(reader) });
    assert.equal(containerAsReader.headers.get('x-container-meta-temp-url-key'), null);
  });

  test('/info advertises tempurl with its methods and digests', async () => {
    const info = asRecord(await (await fetch(`${server.url}/info`)).json());
    const tempurl = asRecord(info.tempurl);
    assert.deepEqual(tempurl.methods, ['GET', 'HEAD', 'PUT', 'POST', 'DELETE']);
    assert.deepEqual(tempurl.allowed_digests, ['sha1', 'sha256', 'sha512']);
  });
});
