import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { assertTransactionIds, auth, createContainer, md5Hex, newProject, putObject } from '../helpers/swift.ts';

let server: RunningServer;
let session: Session;
let other: Session;
const SRC = 'copy-src';
const DST = 'copy-dst';
const data = randomBytes(70_000);
let sourceLastModified: string;

before(async () => {
  server = await startServer();
  session = await login(server.url);
  other = await newProject(server, 'copy');
  await createContainer(session, SRC);
  await createContainer(session, DST);
  const put = await putObject(session, SRC, 'dir/source.bin', data, {
    'Content-Type': 'application/x-source',
    'X-Object-Meta-Alpha': '1',
    'X-Object-Meta-Beta': '2',
    'Content-Disposition': 'inline',
  });
  sourceLastModified = put.headers.get('last-modified') ?? '';
  // Let the copies get a later Last-Modified second than the source.
  await new Promise((resolve) => setTimeout(resolve, 1100));
});
after(async () => {
  await server.destroy();
});

const url = (container: string, key: string): string => `${session.storageUrl}/${container}/${key}`;

async function read(container: string, key: string): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const res = await fetch(url(container, key), { headers: auth(session) });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

void describe('COPY with Destination', () => {
  void test('is 201 with X-Copied-From and X-Copied-From-Last-Modified', async () => {
    const res = await fetch(url(SRC, 'dir/source.bin'), { method: 'COPY', headers: auth(session, { Destination: `/${SRC}/copy-one.bin` }) });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-copied-from'), `${SRC}/dir/source.bin`);
    assert.equal(res.headers.get('x-copied-from-last-modified'), sourceLastModified);
    assert.equal(res.headers.get('etag'), md5Hex(data));
    assert.ok(!Number.isNaN(Date.parse(res.headers.get('last-modified') ?? '')));
    assertTransactionIds(res.headers);

    const copy = await read(SRC, 'copy-one.bin');
    assert.equal(copy.status, 200);
    assert.ok(copy.body.equals(data));
    assert.equal(copy.headers.get('content-type'), 'application/x-source');
    assert.equal(copy.headers.get('x-object-meta-alpha'), '1');
    assert.equal(copy.headers.get('x-object-meta-beta'), '2');
    assert.equal(copy.headers.get('content-disposition'), 'inline');
    assert.notEqual(copy.headers.get('last-modified'), sourceLastModified);

    const source = await read(SRC, 'dir/source.bin');
    assert.ok(source.body.equals(data));
  });

  void test('a Destination without the leading slash works, into another container', async () => {
    const res = await fetch(url(SRC, 'dir/source.bin'), { method: 'COPY', headers: auth(session, { Destination: `${DST}/nested/copy-two.bin` }) });
    assert.equal(res.status, 201);
    await res.body?.cancel();
    const copy = await read(DST, 'nested/copy-two.bin');
    assert.ok(copy.body.equals(data));
    const head = await fetch(`${session.storageUrl}/${DST}`, { method: 'HEAD', headers: auth(session) });
    assert.ok(Number(head.headers.get('x-container-object-count')) >= 1);
  });

  void test('metadata given with the COPY is merged over the source metadata', async () => {
    const res = await fetch(url(SRC, 'dir/source.bin'), {
      method: 'COPY',
      headers: auth(session, { Destination: `/${DST}/merged.bin`, 'X-Object-Meta-Beta': 'two', 'X-Object-Meta-Gamma': '3', 'Content-Type': 'text/x-new' }),
    });
    assert.equal(res.status, 201);
    await res.body?.cancel();
    const copy = await read(DST, 'merged.bin');
    assert.equal(copy.headers.get('x-object-meta-alpha'), '1');
    assert.equal(copy.headers.get('x-object-meta-beta'), 'two');
    assert.equal(copy.headers.get('x-object-meta-gamma'), '3');
    assert.equal(copy.headers.get('content-type'), 'text/x-new');
    const source = await read(SRC, 'dir/source.bin');
    assert.equal(source.headers.get('x-object-meta-beta'), '2');
    assert.equal(source.headers.get('x-object-meta-gamma'), null);
  });

  void test('X-Fresh-Metadata: true drops the source metadata', async () => {
    const res = await fetch(url(SRC, 'dir/source.bin'), {
      method: 'COPY',
      headers: auth(session, { Destination: `/${DST}/fresh.bin`, 'X-Fresh-Metadata': 'true', 'X-Object-Meta-Only': 'me' }),
    });
    assert.equal(res.status, 201);
    await res.body?.cancel();
    const copy = await read(DST, 'fresh.bin');
    assert.ok(copy.body.equals(data));
    assert.equal(copy.headers.get('x-object-meta-alpha'), null);
    assert.equal(copy.headers.get('x-object-meta-beta'), null);
    assert.equal(copy.headers.get('x-object-meta-only'), 'me');
  });

  void test('a %-encoded Destination is decoded', async () => {
    const res = await fetch(url(SRC, 'dir/source.bin'), { method: 'COPY', headers: auth(session, { Destination: `/${DST}/with%20space%2Fand-slash` }) });
    assert.equal(res.status, 201);
    await res.body?.cancel();
    const copy = await read(DST, 'with space/and-slash');
    assert.equal(copy.status, 200);
  });

  void test('a missing source is 404 and creates nothing', async () => {
    const res = await fetch(url(SRC, 'no-such-source'), { method: 'COPY', headers: auth(session, { Destination: `/${DST}/never` }) });
    assert.equal(res.status, 404);
    assertTransactionIds(res.headers);
    await res.body?.cancel();
    assert.equal((await read(DST, 'never')).status, 404);
  });

  void test('a missing destination container is 404', async () => {
    const res = await fetch(url(SRC, 'dir/source.bin'), { method: 'COPY', headers: auth(session, { Destination: '/no-such-container/x' }) });
    assert.equal(res.status, 404);
    await res.body?.cancel();
  });

  void test('a missing or malformed Destination is 412', async () => {
    for (const headers of [{}, { Destination: 'just-a-container' }, { Destination: `/${DST}/` }, { Destination: '/' }] as Record<string, string>[]) {
      const res = await fetch(url(SRC, 'dir/source.bin'), { method: 'COPY', headers: auth(session, headers) });
      assert.equal(res.status, 412, JSON.stringify(headers));
      assertTransactionIds(res.headers);
      await res.body?.cancel();
    }
  });

  void test('an invalid destination key is 400', async () => {
    const res = await fetch(url(SRC, 'dir/source.bin'), { method: 'COPY', headers: auth(session, { Destination: `/${DST}/${'k'.repeat(433)}` }) });
    assert.equal(res.status, 400);
    await res.body?.cancel();
  });

  void test('COPY without a token is 401', async () => {
    const res = await fetch(url(SRC, 'dir/source.bin'), { method: 'COPY', headers: { Destination: `/${DST}/anon` } });
    assert.equal(res.status, 401);
    await res.body?.cancel();
    assert.equal((await read(DST, 'anon')).status, 404);
  });
});

void describe('PUT with X-Copy-From', () => {
  void test('Content-Length 0 is 201 with the copy headers', async () => {
    const res = await fetch(url(DST, 'put-copy.bin'), { method: 'PUT', headers: auth(session, { 'X-Copy-From': `/${SRC}/dir/source.bin`, 'Content-Length': '0' }) });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-copied-from'), `${SRC}/dir/source.bin`);
    assert.equal(res.headers.get('x-copied-from-last-modified'), sourceLastModified);
    assert.equal(res.headers.get('etag'), md5Hex(data));
    assertTransactionIds(res.headers);
    const copy = await read(DST, 'put-copy.bin');
    assert.ok(copy.body.equals(data));
    assert.equal(copy.headers.get('content-type'), 'application/x-source');
    assert.equal(copy.headers.get('x-object-meta-alpha'), '1');
  });

  void test('metadata is merged; X-Fresh-Metadata drops the old', async () => {
    const merged = await fetch(url(DST, 'put-merged'), { method: 'PUT', headers: auth(session, { 'X-Copy-From': `${SRC}/dir/source.bin`, 'X-Object-Meta-Alpha': 'one' }) });
    assert.equal(merged.status, 201);
    let copy = await read(DST, 'put-merged');
    assert.equal(copy.headers.get('x-object-meta-alpha'), 'one');
    assert.equal(copy.headers.get('x-object-meta-beta'), '2');

    const fresh = await fetch(url(DST, 'put-fresh'), {
      method: 'PUT',
      headers: auth(session, { 'X-Copy-From': `${SRC}/dir/source.bin`, 'X-Fresh-Metadata': 'true', 'X-Object-Meta-New': 'n' }),
    });
    assert.equal(fresh.status, 201);
    copy = await read(DST, 'put-fresh');
    assert.equal(copy.headers.get('x-object-meta-alpha'), null);
    assert.equal(copy.headers.get('x-object-meta-new'), 'n');
    assert.ok(copy.body.equals(data));
  });

  void test('a copy onto itself updates metadata and keeps the bytes', async () => {
    const body = randomBytes(5000);
    await putObject(session, DST, 'self', body, { 'X-Object-Meta-Old': 'o' });
    const res = await fetch(url(DST, 'self'), { method: 'PUT', headers: auth(session, { 'X-Copy-From': `/${DST}/self`, 'X-Object-Meta-Added': 'a' }) });
    assert.equal(res.status, 201);
    const copy = await read(DST, 'self');
    assert.ok(copy.body.equals(body));
    assert.equal(copy.headers.get('x-object-meta-old'), 'o');
    assert.equal(copy.headers.get('x-object-meta-added'), 'a');
  });

  void test('an overwrite by copy replaces the destination', async () => {
    await putObject(session, DST, 'replaced', 'old destination', { 'X-Object-Meta-Dest': 'd' });
    const res = await fetch(url(DST, 'replaced'), { method: 'PUT', headers: auth(session, { 'X-Copy-From': `/${SRC}/dir/source.bin` }) });
    assert.equal(res.status, 201);
    const copy = await read(DST, 'replaced');
    assert.ok(copy.body.equals(data));
    assert.equal(copy.headers.get('x-object-meta-dest'), null);
  });

  void test('a missing source is 404', async () => {
    const res = await fetch(url(DST, 'x'), { method: 'PUT', headers: auth(session, { 'X-Copy-From': `/${SRC}/missing` }) });
    assert.equal(res.status, 404);
    await res.body?.cancel();
    const noContainer = await fetch(url(DST, 'x'), { method: 'PUT', headers: auth(session, { 'X-Copy-From': '/no-such-container/missing' }) });
    assert.equal(noContainer.status, 404);
    await noContainer.body?.cancel();
    assert.equal((await read(DST, 'x')).status, 404);
  });

  void test('a malformed X-Copy-From is 412', async () => {
    const res = await fetch(url(DST, 'x'), { method: 'PUT', headers: auth(session, { 'X-Copy-From': 'no-object-part' }) });
    assert.equal(res.status, 412);
    await res.body?.cancel();
  });

  void test('a non-empty body with X-Copy-From is 400', async () => {
    const res = await fetch(url(DST, 'x'), { method: 'PUT', headers: auth(session, { 'X-Copy-From': `/${SRC}/dir/source.bin` }), body: 'not empty' });
    assert.equal(res.status, 400);
    await res.body?.cancel();
    assert.equal((await read(DST, 'x')).status, 404);
  });

  void test('an expired source is 404', async () => {
    await putObject(session, SRC, 'expiring', 'x', { 'X-Delete-After': '1' });
    await new Promise((resolve) => setTimeout(resolve, 1300));
    const res = await fetch(url(DST, 'from-expired'), { method: 'PUT', headers: auth(session, { 'X-Copy-From': `/${SRC}/expiring` }) });
    assert.equal(res.status, 404);
    await res.body?.cancel();
  });

  void test('X-Delete-After on the copy applies to the copy, not the source', async () => {
    const res = await fetch(url(DST, 'copy-expires'), { method: 'PUT', headers: auth(session, { 'X-Copy-From': `/${SRC}/dir/source.bin`, 'X-Delete-After': '100' }) });
    assert.equal(res.status, 201);
    assert.match((await read(DST, 'copy-expires')).headers.get('x-delete-at') ?? '', /^\d+$/);
    assert.equal((await read(SRC, 'dir/source.bin')).headers.get('x-delete-at'), null);
  });
});

void describe('copies across projects', () => {
  before(async () => {
    await createContainer(other, 'copy-other-src');
    await putObject(other, 'copy-other-src', 'theirs', 'their data');
  });

  void test("copying from another project's bucket is refused", async () => {
    const res = await fetch(url(DST, 'stolen'), { method: 'PUT', headers: auth(session, { 'X-Copy-From': '/copy-other-src/theirs' }) });
    assert.ok(res.status === 404 || res.status === 403, String(res.status));
    await res.body?.cancel();
    const viaAccount = await fetch(url(DST, 'stolen'), {
      method: 'PUT',
      headers: auth(session, { 'X-Copy-From': '/copy-other-src/theirs', 'X-Copy-From-Account': other.projectId }),
    });
    assert.equal(viaAccount.status, 403);
    await viaAccount.body?.cancel();
    assert.equal((await read(DST, 'stolen')).status, 404);
  });

  void test("copying into another project's account is 403", async () => {
    const res = await fetch(url(SRC, 'dir/source.bin'), {
      method: 'COPY',
      headers: auth(session, { Destination: '/copy-other-src/planted', 'Destination-Account': other.projectId }),
    });
    assert.equal(res.status, 403);
    await res.body?.cancel();
    const check = await fetch(`${other.storageUrl}/copy-other-src/planted`, { headers: auth(other) });
    assert.equal(check.status, 404);
    await check.body?.cancel();
  });
});
