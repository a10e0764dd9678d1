/**
 * Swift quotas over real HTTP: container `X-Container-Meta-Quota-Bytes` / `-Quota-Count` set by the container's
 * writers, the account's `X-Account-Meta-Quota-Bytes` set by the operator (`onggi admin project quota`, Swift's
 * reseller) and refused to tokens; 413 `Upload exceeds quota.` for PUTs (declared or chunked), copies, segments
 * and FormPost, with nothing stored.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { asRecord, createAccount } from '../helpers/accounts.ts';
import { admin, login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { auth, bucketName, createContainer, putObject, raw } from '../helpers/swift.ts';

let server: RunningServer;
let root: Session;

before(async () => {
  server = await startServer();
  root = await login(server.url);
});
after(async () => {
  await server.destroy();
});

async function put(session: Session, path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(`${session.storageUrl}/${path}`, { method: 'PUT', headers: auth(session, headers), body });
  return { status: response.status, text: await response.text() };
}

async function objectStatus(session: Session, path: string): Promise<number> {
  const response = await fetch(`${session.storageUrl}/${path}`, { method: 'HEAD', headers: auth(session) });
  return response.status;
}

async function containerTotals(session: Session, container: string): Promise<{ count: string | null; bytes: string | null }> {
  const response = await fetch(`${session.storageUrl}/${container}`, { method: 'HEAD', headers: auth(session) });
  return { count: response.headers.get('x-container-object-count'), bytes: response.headers.get('x-container-bytes-used') };
}

const EXCEEDED = { status: 413, text: 'Upload exceeds quota.' };

void describe('container quotas', () => {
  test('bytes: a PUT up to the quota is stored, one byte past it is 413 and nothing is stored', async () => {
    const container = bucketName('quota-bytes');
    await createContainer(root, container, { 'X-Container-Meta-Quota-Bytes': '10' });
    assert.equal((await put(root, `${container}/a`, '123456')).status, 201);
    assert.deepEqual(await put(root, `${container}/b`, '12345'), EXCEEDED);
    assert.equal(await objectStatus(root, `${container}/b`), 404);
    assert.equal((await put(root, `${container}/c`, '1234')).status, 201);
    assert.deepEqual(await containerTotals(root, container), { count: '2', bytes: '10' });
    assert.deepEqual(await put(root, `${container}/d`, 'x'), EXCEEDED);
  });

  test('bytes: a chunked body is cut off where it passes the room left; nothing is stored', async () => {
    const container = bucketName('quota-chunked');
    await createContainer(root, container, { 'X-Container-Meta-Quota-Bytes': '8' });
    const over = await raw(server.url, { method: 'PUT', path: `/v1/${root.projectId}/${container}/big`, headers: { 'X-Auth-Token': root.token }, chunks: ['12345', '67890'] });
    assert.equal(over.status, 413);
    assert.equal(over.body.toString(), 'Upload exceeds quota.');
    assert.equal(await objectStatus(root, `${container}/big`), 404);
    const fits = await raw(server.url, { method: 'PUT', path: `/v1/${root.projectId}/${container}/fits`, headers: { 'X-Auth-Token': root.token }, chunks: ['1234', '5678'] });
    assert.equal(fits.status, 201);
  });

  test('count: as Swift counts, the objects held plus one', async () => {
    const container = bucketName('quota-count');
    await createContainer(root, container, { 'X-Container-Meta-Quota-Count': '2' });
    assert.equal((await put(root, `${container}/1`, 'a')).status, 201);
    assert.equal((await put(root, `${container}/2`, 'b')).status, 201);
    assert.deepEqual(await put(root, `${container}/3`, 'c'), EXCEEDED);
    assert.equal(await objectStatus(root, `${container}/3`), 404);
    // Raised by a POST: room again.
    const raised = await fetch(`${root.storageUrl}/${container}`, { method: 'POST', headers: auth(root, { 'X-Container-Meta-Quota-Count': '3' }) });
    assert.equal(raised.status, 204);
    assert.equal((await put(root, `${container}/3`, 'c')).status, 201);
    // Removed with an empty value: no quota.
    await fetch(`${root.storageUrl}/${container}`, { method: 'POST', headers: auth(root, { 'X-Container-Meta-Quota-Count': '' }) });
    assert.equal((await put(root, `${container}/4`, 'd')).status, 201);
  });

  test('invalid quotas → 400 with Swift’s words, nothing changed', async () => {
    const container = bucketName('quota-bad');
    await createContainer(root, container);
    for (const [header, value, message] of [
      ['X-Container-Meta-Quota-Bytes', 'abc', 'Invalid bytes quota.'],
      ['X-Container-Meta-Quota-Bytes', '-1', 'Invalid bytes quota.'],
      ['X-Container-Meta-Quota-Count', '1.5', 'Invalid count quota.'],
    ] as const) {
      const response = await fetch(`${root.storageUrl}/${container}`, { method: 'POST', headers: auth(root, { [header]: value, 'X-Container-Meta-Color': 'red' }) });
      assert.equal(response.status, 400);
      assert.equal(await response.text(), message);
      const made = await fetch(`${root.storageUrl}/${bucketName('quota-bad-put')}`, { method: 'PUT', headers: auth(root, { [header]: value }) });
      assert.equal(made.status, 400);
    }
    const seen = await fetch(`${root.storageUrl}/${container}`, { method: 'HEAD', headers: auth(root) });
    assert.equal(seen.headers.get('x-container-meta-color'), null);
  });

  test('copies: COPY and X-Copy-From into a full container → 413, nothing stored; within the quota they work', async () => {
    const source = bucketName('quota-src');
    const target = bucketName('quota-dst');
    await createContainer(root, source);
    await createContainer(root, target, { 'X-Container-Meta-Quota-Bytes': '12' });
    await putObject(root, source, 'ten', '0123456789');
    const copied = await fetch(`${root.storageUrl}/${source}/ten`, { method: 'COPY', headers: auth(root, { Destination: `${target}/first` }) });
    assert.equal(copied.status, 201);
    const again = await fetch(`${root.storageUrl}/${source}/ten`, { method: 'COPY', headers: auth(root, { Destination: `${target}/second` }) });
    assert.equal(again.status, 413);
    assert.equal(await again.text(), 'Upload exceeds quota.');
    const fromHeader = await put(root, `${target}/third`, '', { 'X-Copy-From': `${source}/ten` });
    assert.deepEqual(fromHeader, EXCEEDED);
    assert.equal(await objectStatus(root, `${target}/second`), 404);
    assert.equal(await objectStatus(root, `${target}/third`), 404);
  });

  test('large objects: a segment past the segments container’s quota → 413; the manifest over the rest still reads', async () => {
    const segments = bucketName('quota-seg');
    const objects = bucketName('quota-lo');
    await createContainer(root, segments, { 'X-Container-Meta-Quota-Bytes': '8' });
    await createContainer(root, objects);
    assert.equal((await put(root, `${segments}/big/1`, 'abcd')).status, 201);
    assert.equal((await put(root, `${segments}/big/2`, 'efgh')).status, 201);
    assert.deepEqual(await put(root, `${segments}/big/3`, 'ijkl'), EXCEEDED);
    assert.equal((await put(root, `${objects}/big`, '', { 'X-Object-Manifest': `${segments}/big/` })).status, 201);
    const read = await fetch(`${root.storageUrl}/${objects}/big`, { headers: auth(root) });
    assert.equal(await read.text(), 'abcdefgh');
  });

  test('FormPost: a file past the quota is refused with 413, not stored', async () => {
    const key = 'quota-formpost-key-not-real';
    const container = bucketName('quota-fp');
    await createContainer(root, container, { 'X-Container-Meta-Quota-Bytes': '5', 'X-Container-Meta-Temp-URL-Key': key });
    const path = `/v1/${root.projectId}/${container}`;
    const expires = String(Math.floor(Date.now() / 1000) + 600);
    const signature = createHmac('sha256', key).update([path, '', '1024', '5', expires].join('\n')).digest('hex');
    const form = new FormData();
    for (const [name, value] of [['redirect', ''], ['max_file_size', '1024'], ['max_file_count', '5'], ['expires', expires], ['signature', signature]]) form.append(name ?? '', value ?? '');
    form.append('file1', new Blob(['more than five bytes']), 'f.txt');
    const response = await fetch(`${server.url}${path}`, { method: 'POST', body: form });
    assert.match(await response.text(), /^413/);
    assert.equal(await objectStatus(root, `${container}/f.txt`), 404);
  });

  test('/info lists container_quotas and account_quotas', async () => {
    const info = asRecord(await (await fetch(`${server.url}/info`)).json());
    assert.deepEqual(info.container_quotas, {});
    assert.deepEqual(info.account_quotas, {});
  });
});

void describe('account quota (the operator’s)', () => {
  test('a token may not set or remove it (403, as Swift refuses account owners); the operator sets it with onggi admin', async () => {
    const owner = await createAccount(server.dataDir, 'admin');
    const session = await login(server.url, owner.keyId, owner.secret);
    const refused = await fetch(session.storageUrl, { method: 'POST', headers: auth(session, { 'X-Account-Meta-Quota-Bytes': '100' }) });
    assert.equal(refused.status, 403);
    const removal = await fetch(session.storageUrl, { method: 'POST', headers: auth(session, { 'X-Remove-Account-Meta-Quota-Bytes': 'x' }) });
    assert.equal(removal.status, 403);

    await admin(server.dataDir, 'project', 'quota', owner.projectId, '10');
    // This node may trust account settings it read for up to a second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const head = await fetch(session.storageUrl, { method: 'HEAD', headers: auth(session) });
    assert.equal(head.headers.get('x-account-meta-quota-bytes'), '10');
    const one = bucketName('acct-quota-1');
    const two = bucketName('acct-quota-2');
    await createContainer(session, one);
    await createContainer(session, two);
    assert.equal((await put(session, `${one}/a`, '123456')).status, 201);
    // Across containers: the account's bytes count.
    assert.deepEqual(await put(session, `${two}/b`, '12345'), EXCEEDED);
    assert.equal((await put(session, `${two}/b`, '1234')).status, 201);
    // Other account metadata still changes, and keeps the quota.
    const meta = await fetch(session.storageUrl, { method: 'POST', headers: auth(session, { 'X-Account-Meta-Color': 'blue' }) });
    assert.equal(meta.status, 204);

    await admin(server.dataDir, 'project', 'quota', owner.projectId, 'none');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const cleared = await fetch(session.storageUrl, { method: 'HEAD', headers: auth(session) });
    assert.equal(cleared.headers.get('x-account-meta-quota-bytes'), null);
    assert.equal(cleared.headers.get('x-account-meta-color'), 'blue');
    assert.equal((await put(session, `${two}/c`, '12345')).status, 201);
  });
});
