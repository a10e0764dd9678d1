/**
 * `POST /v1_ext/bucket/{name}/temp_url` (the console's temporary links): a Swift temp URL signed by the server for
 * a caller who may read the object; a container key made only when asked and allowed; nothing for anyone else.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asRecord, createAccount, str } from '../helpers/accounts.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { auth, bucketName, createContainer, newProject, putObject } from '../helpers/swift.ts';

let server: RunningServer;
let root: Session;
let reader: Session;
let keyed: string;
let keyless: string;

before(async () => {
  server = await startServer();
  root = await login(server.url);
  const readerAccount = await createAccount(server.dataDir, 'reader', { project: root.projectId });
  reader = await login(server.url, readerAccount.keyId, readerAccount.secret);
  keyed = bucketName('templink');
  keyless = bucketName('templink-nokey');
  await createContainer(root, keyed, { 'X-Container-Meta-Temp-URL-Key': 'container-key-not-real' });
  await createContainer(root, keyless);
  await putObject(root, keyed, 'dir/report 1.txt', 'private bytes');
  await putObject(root, keyless, 'doc.txt', 'keyless bytes');
});
after(async () => {
  await server.destroy();
});

async function sign(session: Session | null, bucket: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ...(session ? { 'X-Auth-Token': session.token } : {}) };
  const res = await fetch(`${server.url}/v1_ext/bucket/${encodeURIComponent(bucket)}/temp_url`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, json: asRecord(await res.json()) };
}

function linkOf(json: Record<string, unknown>): string {
  return `${server.url}${str(json, 'path')}?${str(json, 'query')}`;
}

describe('temporary links signed by the server', () => {
  test('a reader gets a link that reads the object without a token until it expires', async () => {
    const before = Date.now();
    const signed = await sign(reader, keyed, { object: 'dir/report 1.txt', expires_in: 3600 });
    assert.equal(signed.status, 200);
    assert.match(str(signed.json, 'query'), /^temp_url_sig=[0-9a-f]{64}&temp_url_expires=\d+$/);
    const expiresAt = Date.parse(str(signed.json, 'expires_at'));
    assert.ok(Math.abs(expiresAt - (before + 3600_000)) < 5000, str(signed.json, 'expires_at'));
    const got = await fetch(linkOf(signed.json));
    assert.equal(got.status, 200);
    assert.equal(await got.text(), 'private bytes');
    // Signed for GET on that object only.
    const put = await fetch(linkOf(signed.json), { method: 'PUT', body: 'x' });
    assert.equal(put.status, 401);
    await put.body?.cancel();
    const other = await fetch(linkOf(signed.json).replace('report%201.txt', 'other.txt'));
    assert.equal(other.status, 401);
    await other.body?.cancel();
  });

  test('after its expiry the link is refused', async () => {
    const signed = await sign(root, keyed, { object: 'dir/report 1.txt', expires_in: 1 });
    assert.equal(signed.status, 200);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const got = await fetch(linkOf(signed.json));
    assert.equal(got.status, 401);
    await got.body?.cancel();
  });

  test('no link without read access: no token, another project, a missing object', async () => {
    assert.equal((await sign(null, keyed, { object: 'dir/report 1.txt', expires_in: 60 })).status, 401);
    const stranger = await newProject(server, 'templink');
    const refused = await sign(stranger, keyed, { object: 'dir/report 1.txt', expires_in: 60 });
    assert.equal(refused.status, 404);
    assert.equal(refused.json.code, 'NoSuchBucket');
    assert.equal(refused.json.path, undefined);
    assert.equal((await sign(reader, keyed, { object: 'missing.txt', expires_in: 60 })).status, 404);
  });

  test('expiry between a second and a week; the object is named', async () => {
    for (const body of [{ object: 'dir/report 1.txt', expires_in: 0 }, { object: 'dir/report 1.txt', expires_in: 7 * 24 * 3600 + 1 }, { object: '', expires_in: 60 }, { expires_in: 60 }]) {
      const signed = await sign(root, keyed, body);
      assert.equal(signed.status, 400, JSON.stringify(body));
    }
    assert.equal((await sign(root, keyed, { object: 'dir/report 1.txt', expires_in: 7 * 24 * 3600 })).status, 200);
  });

  test('a bucket without a key: 409 saying who may make one; only they make it, and only when asked', async () => {
    const forReader = await sign(reader, keyless, { object: 'doc.txt', expires_in: 60 });
    assert.equal(forReader.status, 409);
    assert.deepEqual([forReader.json.code, forReader.json.may_create], ['NoTempUrlKey', false]);
    const readerAsks = await sign(reader, keyless, { object: 'doc.txt', expires_in: 60, create_key: true });
    assert.equal(readerAsks.status, 403);
    const forAdmin = await sign(root, keyless, { object: 'doc.txt', expires_in: 60 });
    assert.deepEqual([forAdmin.status, forAdmin.json.may_create], [409, true]);
    const head = async (): Promise<string | null> => (await fetch(`${root.storageUrl}/${keyless}`, { method: 'HEAD', headers: auth(root) })).headers.get('x-container-meta-temp-url-key');
    assert.equal(await head(), null, 'no key is made without being asked');
    const made = await sign(root, keyless, { object: 'doc.txt', expires_in: 60, create_key: true });
    assert.equal(made.status, 200);
    const key = await head();
    assert.match(key ?? '', /^[0-9a-f]{64}$/);
    assert.equal(await (await fetch(linkOf(made.json))).text(), 'keyless bytes');
    // Made once: asking again keeps the key (links already given keep working); the reader may now sign too.
    assert.equal((await sign(root, keyless, { object: 'doc.txt', expires_in: 60, create_key: true })).status, 200);
    assert.equal(await head(), key);
    assert.equal((await fetch(linkOf(made.json))).status, 200);
    const now = await sign(reader, keyless, { object: 'doc.txt', expires_in: 60 });
    assert.equal(await (await fetch(linkOf(now.json))).text(), 'keyless bytes');
  });

  test('the account key signs when the container has none', async () => {
    const project = await newProject(server, 'templink-account');
    const set = await fetch(project.storageUrl, { method: 'POST', headers: auth(project, { 'X-Account-Meta-Temp-URL-Key': 'account-key-not-real' }) });
    assert.equal(set.status, 204);
    const name = bucketName('templink-acct');
    await createContainer(project, name);
    await putObject(project, name, 'a.txt', 'account signed');
    const signed = await sign(project, name, { object: 'a.txt', expires_in: 60 });
    assert.equal(signed.status, 200);
    assert.equal(await (await fetch(linkOf(signed.json))).text(), 'account signed');
  });
});
