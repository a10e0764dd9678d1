import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { assertTransactionIds, auth, bucketName, createContainer, header, newProject, putObject, raw, storagePath } from '../helpers/swift.ts';

let server: RunningServer;
let session: Session;
let other: Session;

before(async () => {
  server = await startServer();
  session = await login(server.url);
  other = await newProject(server, 'cont');
});
after(async () => {
  await server.destroy();
});

async function extCreate(who: Session, body: unknown): Promise<Response> {
  return fetch(`${server.url}/v1_ext/bucket`, {
    method: 'PUT',
    headers: auth(who, { 'Content-Type': 'application/json' }),
    body: JSON.stringify(body),
  });
}

void describe('container lifecycle', () => {
  void test('PUT is 201, then 202 for an existing container', async () => {
    const name = bucketName('life');
    const first = await fetch(`${session.storageUrl}/${name}`, { method: 'PUT', headers: auth(session) });
    assert.equal(first.status, 201);
    assertTransactionIds(first.headers);
    const second = await fetch(`${session.storageUrl}/${name}`, { method: 'PUT', headers: auth(session) });
    assert.equal(second.status, 202);
    assertTransactionIds(second.headers);
  });

  void test('HEAD is 204 with object count, bytes, timestamp and policy', async () => {
    const name = bucketName('head');
    await createContainer(session, name);
    let head = await fetch(`${session.storageUrl}/${name}`, { method: 'HEAD', headers: auth(session) });
    assert.equal(head.status, 204);
    assert.equal(head.headers.get('x-container-object-count'), '0');
    assert.equal(head.headers.get('x-container-bytes-used'), '0');
    assert.match(head.headers.get('x-timestamp') ?? '', /^\d+\.\d{5}$/);
    assert.equal(head.headers.get('x-storage-policy'), 'STANDARD');
    assertTransactionIds(head.headers);

    await putObject(session, name, 'a', 'abc');
    await putObject(session, name, 'b', 'defgh');
    head = await fetch(`${session.storageUrl}/${name}`, { method: 'HEAD', headers: auth(session) });
    assert.equal(head.headers.get('x-container-object-count'), '2');
    assert.equal(head.headers.get('x-container-bytes-used'), '8');

    // An overwrite changes bytes, not the count.
    await putObject(session, name, 'a', 'abcdefghij');
    head = await fetch(`${session.storageUrl}/${name}`, { method: 'HEAD', headers: auth(session) });
    assert.equal(head.headers.get('x-container-object-count'), '2');
    assert.equal(head.headers.get('x-container-bytes-used'), '15');

    // The listing carries the same headers.
    const list = await fetch(`${session.storageUrl}/${name}`, { headers: auth(session) });
    assert.equal(list.status, 200);
    assert.equal(list.headers.get('x-container-object-count'), '2');
    assert.equal(await list.text(), 'a\nb\n');
  });

  void test('PUT with X-Container-Meta-* stores metadata; a later PUT adds to it', async () => {
    const name = bucketName('putmeta');
    await createContainer(session, name, { 'X-Container-Meta-Owner': 'team-a' });
    let head = await fetch(`${session.storageUrl}/${name}`, { method: 'HEAD', headers: auth(session) });
    assert.equal(head.headers.get('x-container-meta-owner'), 'team-a');
    const again = await fetch(`${session.storageUrl}/${name}`, { method: 'PUT', headers: auth(session, { 'X-Container-Meta-Stage': 'prod' }) });
    assert.equal(again.status, 202);
    head = await fetch(`${session.storageUrl}/${name}`, { method: 'HEAD', headers: auth(session) });
    assert.equal(head.headers.get('x-container-meta-owner'), 'team-a');
    assert.equal(head.headers.get('x-container-meta-stage'), 'prod');
  });

  void test('POST sets, overwrites and removes X-Container-Meta-*', async () => {
    const name = bucketName('postmeta');
    await createContainer(session, name);
    const set = await fetch(`${session.storageUrl}/${name}`, {
      method: 'POST',
      headers: auth(session, { 'X-Container-Meta-Color': 'red', 'X-Container-Meta-Size': 'large', 'X-Container-Meta-Empty-Me': 'x' }),
    });
    assert.equal(set.status, 204);
    assertTransactionIds(set.headers);
    let head = await fetch(`${session.storageUrl}/${name}`, { method: 'HEAD', headers: auth(session) });
    assert.equal(head.headers.get('x-container-meta-color'), 'red');
    assert.equal(head.headers.get('x-container-meta-size'), 'large');

    const change = await fetch(`${session.storageUrl}/${name}`, {
      method: 'POST',
      headers: auth(session, { 'X-Container-Meta-Color': 'green', 'X-Remove-Container-Meta-Size': 'yes', 'X-Container-Meta-Empty-Me': '' }),
    });
    assert.equal(change.status, 204);
    head = await fetch(`${session.storageUrl}/${name}`, { method: 'HEAD', headers: auth(session) });
    assert.equal(head.headers.get('x-container-meta-color'), 'green');
    assert.equal(head.headers.get('x-container-meta-size'), null);
    assert.equal(head.headers.get('x-container-meta-empty-me'), null);
  });

  void test('UTF-8 container metadata comes back byte-exact on HEAD and on a listing GET', async () => {
    const name = bucketName('utf8meta');
    await createContainer(session, name);
    const value = '옹기 저장소';
    const wire = Buffer.from(value, 'utf8').toString('latin1');
    const post = await raw(server.url, { method: 'POST', path: `${storagePath(session)}/${name}`, headers: { ...auth(session), 'X-Container-Meta-Label': wire } });
    assert.equal(post.status, 204);
    await putObject(session, name, 'one', '1');
    for (const method of ['HEAD', 'GET']) {
      const res = await raw(server.url, { method, path: `${storagePath(session)}/${name}?format=json`, headers: auth(session) });
      assert.equal(res.status, method === 'HEAD' ? 204 : 200);
      assert.equal(Buffer.from(header(res.headers, 'x-container-meta-label') ?? '', 'latin1').toString('utf8'), value, method);
    }
  });

  void test('POST with a too-long metadata name or value is 400', async () => {
    const name = bucketName('metalimit');
    await createContainer(session, name);
    const longName = await fetch(`${session.storageUrl}/${name}`, { method: 'POST', headers: auth(session, { [`X-Container-Meta-${'n'.repeat(129)}`]: 'v' }) });
    assert.equal(longName.status, 400);
    const longValue = await fetch(`${session.storageUrl}/${name}`, { method: 'POST', headers: auth(session, { 'X-Container-Meta-V': 'v'.repeat(257) }) });
    assert.equal(longValue.status, 400);
  });

  void test('POST, HEAD and GET on a missing container are 404', async () => {
    const name = bucketName('missing');
    for (const method of ['POST', 'HEAD', 'GET', 'DELETE']) {
      const res = await fetch(`${session.storageUrl}/${name}`, { method, headers: auth(session) });
      assert.equal(res.status, 404, method);
      assertTransactionIds(res.headers);
      if (method !== 'HEAD') assert.equal(await res.text(), '<html><h1>Not Found</h1><p>The resource could not be found.</p></html>');
    }
  });

  void test('DELETE is 204, 409 when not empty, 404 once gone', async () => {
    const name = bucketName('del');
    await createContainer(session, name);
    await putObject(session, name, 'keep.txt', 'x');
    const busy = await fetch(`${session.storageUrl}/${name}`, { method: 'DELETE', headers: auth(session) });
    assert.equal(busy.status, 409);
    assertTransactionIds(busy.headers);
    await busy.body?.cancel();
    assert.equal((await fetch(`${session.storageUrl}/${name}/keep.txt`, { method: 'DELETE', headers: auth(session) })).status, 204);
    const done = await fetch(`${session.storageUrl}/${name}`, { method: 'DELETE', headers: auth(session) });
    assert.equal(done.status, 204);
    assertTransactionIds(done.headers);
    const again = await fetch(`${session.storageUrl}/${name}`, { method: 'DELETE', headers: auth(session) });
    assert.equal(again.status, 404);
    await again.body?.cancel();
    const head = await fetch(`${session.storageUrl}/${name}`, { method: 'HEAD', headers: auth(session) });
    assert.equal(head.status, 404);
  });
});

void describe('container names', () => {
  const invalid = ['abc', 'a'.repeat(64), 'Upper-Case', 'under_score', '-leading', 'trailing-', 'has.dot', 'sp%20ace', 'v1_ext', 'info', 'ping', 'status', 'swagger'];
  for (const name of invalid) {
    void test(`"${decodeURIComponent(name)}" is rejected with 400`, async () => {
      const res = await fetch(`${session.storageUrl}/${name}`, { method: 'PUT', headers: auth(session) });
      assert.equal(res.status, 400);
      assertTransactionIds(res.headers);
      await res.body?.cancel();
    });
  }

  void test('4 and 63 characters are accepted', async () => {
    for (const name of ['a1b2', `z${'9'.repeat(61)}z`]) {
      const res = await fetch(`${session.storageUrl}/${name}`, { method: 'PUT', headers: auth(session) });
      assert.equal(res.status, 201, name);
    }
  });
});

void describe('bucket API and Swift see the same buckets', () => {
  void test('a bucket created with /v1_ext is a container', async () => {
    const name = bucketName('ext');
    const created = await extCreate(session, { name, type: 'STANDARD' });
    assert.equal(created.status, 201);
    await created.body?.cancel();
    const head = await fetch(`${session.storageUrl}/${name}`, { method: 'HEAD', headers: auth(session) });
    assert.equal(head.status, 204);
    const put = await fetch(`${session.storageUrl}/${name}`, { method: 'PUT', headers: auth(session) });
    assert.equal(put.status, 202);
    const list = await fetch(`${session.storageUrl}?format=json&prefix=${name}`, { headers: auth(session) });
    assert.deepEqual(((await list.json()) as { name: string }[]).map((e) => e.name), [name]);
  });

  void test('a container created with Swift is a bucket', async () => {
    const name = bucketName('swift');
    await createContainer(session, name);
    await putObject(session, name, 'x', '12345');
    const meta = await fetch(`${server.url}/v1_ext/bucket/${name}`, { headers: auth(session) });
    assert.equal(meta.status, 200);
    const body = (await meta.json()) as { name: string; project: string; bytes: number; objectCount: number };
    assert.equal(body.name, name);
    assert.equal(body.project, session.projectId);
    assert.equal(body.objectCount, 1);
    assert.equal(body.bytes, 5);
    const again = await extCreate(session, { name });
    assert.equal(again.status, 409);
    await again.body?.cancel();
  });

  void test('a bucket deleted through /v1_ext is gone from Swift', async () => {
    const name = bucketName('extdel');
    await createContainer(session, name);
    const del = await fetch(`${server.url}/v1_ext/bucket/${name}`, { method: 'DELETE', headers: auth(session) });
    assert.ok(del.status === 200 || del.status === 204, String(del.status));
    await del.body?.cancel();
    const head = await fetch(`${session.storageUrl}/${name}`, { method: 'HEAD', headers: auth(session) });
    assert.equal(head.status, 404);
  });
});

void describe('bucket names are unique across projects', () => {
  let taken: string;
  before(async () => {
    taken = bucketName('taken');
    await createContainer(other, taken, { 'X-Container-Meta-Secret': 'hidden' });
    await putObject(other, taken, 'private.txt', 'private data');
  });

  void test("PUT of another project's bucket name is 409", async () => {
    const res = await fetch(`${session.storageUrl}/${taken}`, { method: 'PUT', headers: auth(session) });
    assert.equal(res.status, 409);
    assertTransactionIds(res.headers);
    const ext = await extCreate(session, { name: taken });
    assert.equal(ext.status, 409);
    await ext.body?.cancel();
  });

  void test('the other project’s bucket stays invisible through our own account', async () => {
    const base = `${session.storageUrl}/${taken}`;
    for (const [method, url] of [
      ['HEAD', base],
      ['GET', base],
      ['GET', `${base}?format=json`],
      ['POST', base],
      ['DELETE', base],
      ['GET', `${base}/private.txt`],
      ['HEAD', `${base}/private.txt`],
      ['PUT', `${base}/intrusion.txt`],
      ['DELETE', `${base}/private.txt`],
    ] as const) {
      const res = await fetch(url, { method, headers: auth(session, method === 'PUT' ? { 'Content-Length': '0' } : {}) });
      assert.ok(res.status === 404 || res.status === 403, `${method} ${url}: ${String(res.status)}`);
      assert.equal(res.headers.get('x-container-meta-secret'), null);
      assert.equal(res.headers.get('x-container-object-count'), null);
      const text = method === 'HEAD' ? '' : await res.text();
      assert.ok(!text.includes('private'), text);
    }
    const own = await fetch(`${session.storageUrl}?format=json`, { headers: auth(session) });
    const names = ((await own.json()) as { name: string }[]).map((e) => e.name);
    assert.ok(!names.includes(taken));

    const intact = await fetch(`${other.storageUrl}/${taken}/private.txt`, { headers: auth(other) });
    assert.equal(await intact.text(), 'private data');
    const head = await fetch(`${other.storageUrl}/${taken}`, { method: 'HEAD', headers: auth(other) });
    assert.equal(head.headers.get('x-container-object-count'), '1');
    assert.equal(head.headers.get('x-container-meta-secret'), 'hidden');
  });

  void test('the name becomes free again once its owner deletes it', async () => {
    const name = bucketName('freed');
    await createContainer(other, name);
    assert.equal((await fetch(`${other.storageUrl}/${name}`, { method: 'DELETE', headers: auth(other) })).status, 204);
    await createContainer(session, name);
  });
});

void describe('container methods', () => {
  void test('COPY on a container is 405', async () => {
    const name = bucketName('meth');
    await createContainer(session, name);
    const res = await fetch(`${session.storageUrl}/${name}`, { method: 'COPY', headers: auth(session) });
    assert.equal(res.status, 405);
    assertTransactionIds(res.headers);
    await res.body?.cancel();
  });
});
