/** Bodies large enough to be hashed on the MD5 worker (ETag, 422 on a wrong ETag, truncation, encryption) and large objects made of them. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { auth, createContainer, md5Hex, storagePath, truncatedPut } from '../helpers/swift.ts';

const BIG = 24 * 1024 * 1024 + 5;
let server: RunningServer;
let session: Session;

before(async () => {
  server = await startServer();
  session = await login(server.url);
  await createContainer(session, 'large-objects');
  const created = await fetch(`${server.url}/v1_ext/bucket`, {
    method: 'PUT',
    headers: { 'X-Auth-Token': session.token, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'large-encrypted', use_encryption: true }),
  });
  assert.equal(created.status, 201);
});
after(async () => {
  await server.destroy();
});

for (const container of ['large-objects', 'large-encrypted']) {
  test(`${container}: a ${BIG}-byte object round-trips with its MD5 as ETag, ranges included`, async () => {
    const data = randomBytes(BIG);
    const put = await fetch(`${session.storageUrl}/${container}/big.bin`, { method: 'PUT', headers: auth(session), body: data });
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('etag'), md5Hex(data));
    const got = await fetch(`${session.storageUrl}/${container}/big.bin`, { headers: auth(session) });
    assert.equal(got.headers.get('etag'), md5Hex(data));
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(data));
    const tail = await fetch(`${session.storageUrl}/${container}/big.bin`, { headers: auth(session, { Range: `bytes=${BIG - 70_000}-` }) });
    assert.equal(tail.status, 206);
    assert.ok(Buffer.from(await tail.arrayBuffer()).equals(data.subarray(BIG - 70_000)));
  });
}

for (const container of ['large-objects', 'large-encrypted']) {
  test(`${container}: static and dynamic large objects of big segments read back whole and across the boundary`, async () => {
    const segments = [randomBytes(9 * 1024 * 1024 + 7), randomBytes(6 * 1024 * 1024 + 1)];
    for (const [i, data] of segments.entries()) {
      const put = await fetch(`${session.storageUrl}/${container}/segments/${i}`, { method: 'PUT', headers: auth(session), body: data });
      assert.equal(put.status, 201);
    }
    const manifest = segments.map((data, i) => ({ path: `/${container}/segments/${i}`, etag: md5Hex(data), size_bytes: data.length }));
    const slo = await fetch(`${session.storageUrl}/${container}/big.slo?multipart-manifest=put`, { method: 'PUT', headers: auth(session), body: JSON.stringify(manifest) });
    assert.equal(slo.status, 201);
    const dlo = await fetch(`${session.storageUrl}/${container}/big.dlo`, { method: 'PUT', headers: auth(session, { 'X-Object-Manifest': `${container}/segments/` }), body: '' });
    assert.equal(dlo.status, 201);
    const whole = Buffer.concat(segments);
    const boundary = segments[0]?.length ?? 0;
    for (const name of ['big.slo', 'big.dlo']) {
      const got = await fetch(`${session.storageUrl}/${container}/${name}`, { headers: auth(session) });
      assert.ok(Buffer.from(await got.arrayBuffer()).equals(whole), name);
      const across = await fetch(`${session.storageUrl}/${container}/${name}`, { headers: auth(session, { Range: `bytes=${boundary - 100_000}-${boundary + 100_000}` }) });
      assert.equal(across.status, 206);
      assert.ok(Buffer.from(await across.arrayBuffer()).equals(whole.subarray(boundary - 100_000, boundary + 100_001)), `${name} across`);
    }
  });
}

test('a wrong ETag on a large body is 422 and stores nothing', async () => {
  const data = randomBytes(BIG);
  const put = await fetch(`${session.storageUrl}/large-objects/wrong-etag.bin`, { method: 'PUT', headers: auth(session, { ETag: md5Hex('other') }), body: data });
  assert.equal(put.status, 422);
  await put.body?.cancel();
  assert.equal((await fetch(`${session.storageUrl}/large-objects/wrong-etag.bin`, { method: 'HEAD', headers: auth(session) })).status, 404);
});

test('a large upload cut short leaves no object, and the server keeps hashing others correctly', async () => {
  await truncatedPut(server.url, `${storagePath(session)}/large-objects/cut.bin`, session.token, BIG, randomBytes(10 * 1024 * 1024));
  assert.equal((await fetch(`${session.storageUrl}/large-objects/cut.bin`, { method: 'HEAD', headers: auth(session) })).status, 404);
  const data = randomBytes(BIG);
  const put = await fetch(`${session.storageUrl}/large-objects/after-cut.bin`, { method: 'PUT', headers: auth(session), body: data });
  assert.equal(put.headers.get('etag'), md5Hex(data));
});
