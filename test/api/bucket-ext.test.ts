/** /v1_ext/bucket over real HTTP: the KakaoCloud bucket model, roles, paging, ACLs and deletion. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asArray, asRecord, createAccount, request, str, type JsonResponse } from '../helpers/accounts.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';

const BUCKET_FIELDS = [
  'account',
  'project',
  'name',
  'type',
  'bytes',
  'objectCount',
  'createdAt',
  'lastModified',
  'acl',
  'lifecycle_status',
  'use_encryption',
  'encryption_configuration',
].sort();
const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

let server: RunningServer;
let root: Session;
let reader: Session;
let member: Session;
let stranger: Session;
let bucketsUrl: string;

before(async () => {
  server = await startServer();
  bucketsUrl = `${server.url}/v1_ext/bucket`;
  const [readerAccount, memberAccount, strangerAccount] = await Promise.all([
    createAccount(server.dataDir, 'reader', { project: 'default' }),
    createAccount(server.dataDir, 'member', { project: 'default' }),
    createAccount(server.dataDir, 'admin'),
  ]);
  [root, reader, member, stranger] = await Promise.all([
    login(server.url),
    login(server.url, readerAccount.keyId, readerAccount.secret),
    login(server.url, memberAccount.keyId, memberAccount.secret),
    login(server.url, strangerAccount.keyId, strangerAccount.secret),
  ]);
});
after(async () => {
  await server.destroy();
});

function bucketUrl(name: string): string {
  return `${bucketsUrl}/${encodeURIComponent(name)}`;
}

async function create(session: Session | null, body: unknown): Promise<JsonResponse> {
  return request(bucketsUrl, { method: 'PUT', token: session?.token, body });
}

async function setAcl(session: Session, name: string, acl: unknown): Promise<JsonResponse> {
  return request(bucketUrl(name), { method: 'POST', token: session.token, body: { name, acl } });
}

async function putObject(session: Session, bucket: string, key: string, body: string): Promise<void> {
  const response = await fetch(`${session.storageUrl}/${bucket}/${key}`, { method: 'PUT', headers: { 'X-Auth-Token': session.token }, body });
  assert.equal(response.status, 201, await response.text());
}

async function deleteObject(session: Session, bucket: string, key: string): Promise<void> {
  const response = await fetch(`${session.storageUrl}/${bucket}/${key}`, { method: 'DELETE', headers: { 'X-Auth-Token': session.token } });
  assert.equal(response.status, 204);
}

function bucketOf(response: JsonResponse): Record<string, unknown> {
  return asRecord(response.json, 'bucket');
}

function assertApiError(response: JsonResponse, status: number, what = ''): void {
  assert.equal(response.status, status, `${what} ${response.text}`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const body = asRecord(response.json, 'error body');
  assert.equal(typeof body.message, 'string');
}

function assertBucketModel(bucket: Record<string, unknown>, expected: { name: string; projectId: string }): void {
  assert.deepEqual(Object.keys(bucket).sort(), BUCKET_FIELDS);
  assert.equal(bucket.account, expected.projectId);
  assert.equal(bucket.project, expected.projectId);
  assert.equal(bucket.name, expected.name);
  assert.equal(bucket.type, 'STANDARD');
  assert.ok(Number.isInteger(bucket.bytes));
  assert.ok(Number.isInteger(bucket.objectCount));
  assert.match(str(bucket, 'createdAt'), ISO_SECONDS);
  assert.match(str(bucket, 'lastModified'), ISO_SECONDS);
  const acl = asRecord(bucket.acl, 'acl');
  assert.deepEqual(Object.keys(acl).sort(), ['permissions', 'public', 'public_read_allow_ip_list']);
  asArray(acl.public_read_allow_ip_list, 'acl.public_read_allow_ip_list');
  assert.equal(typeof bucket.use_encryption, 'boolean');
}

void describe('CreateBucket', () => {
  void test('PUT /v1_ext/bucket → 201 with exactly the KakaoCloud bucket model', async () => {
    const now = Date.now();
    const response = await create(root, { name: 'ext-model', type: 'STANDARD' });
    assert.equal(response.status, 201, response.text);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    const bucket = bucketOf(response);
    assertBucketModel(bucket, { name: 'ext-model', projectId: root.projectId });
    assert.equal(bucket.bytes, 0);
    assert.equal(bucket.objectCount, 0);
    assert.match(str(bucket, 'createdAt'), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/, 'seconds precision');
    assert.ok(Math.abs(Date.parse(str(bucket, 'createdAt')) - now) < 60_000);
    const acl = asRecord(bucket.acl);
    // Every project member holds their project role's default bucket role; the root admin is a Storage Admin.
    const permissions = asArray(acl.permissions).map((p) => asRecord(p));
    assert.ok(permissions.some((p) => p.role === 'Storage Admin' && p.user_name === 'admin' && p.from === 'project'), JSON.stringify(permissions));
    assert.notEqual(acl.public, 'read-only', 'a new bucket is private');
    assert.deepEqual(acl.public_read_allow_ip_list, []);
    assert.equal(bucket.use_encryption, false);
    assert.equal(bucket.encryption_configuration, null);

    // The bucket is a Swift container of the token's project.
    const head = await fetch(`${root.storageUrl}/ext-model`, { method: 'HEAD', headers: { 'X-Auth-Token': root.token } });
    assert.ok(head.status === 204 || head.status === 200, `HEAD container: ${head.status}`);
  });

  void test("the tutorial's body (use_encryption + managed) → 201, encrypted", async () => {
    const response = await create(root, { name: 'ext-tutorial', type: 'STANDARD', use_encryption: true, encryption_configuration: { type: 'managed' } });
    assert.equal(response.status, 201, response.text);
    const bucket = bucketOf(response);
    assert.equal(bucket.use_encryption, true);
    assert.deepEqual(bucket.encryption_configuration, { type: 'managed' });
  });

  void test('use_encryption alone means managed; encryption_configuration wins over use_encryption', async () => {
    const alone = bucketOf(await create(root, { name: 'ext-enc-flag', use_encryption: true }));
    assert.equal(alone.use_encryption, true);
    assert.deepEqual(alone.encryption_configuration, { type: 'managed' });
    const overriding = bucketOf(await create(root, { name: 'ext-enc-config', use_encryption: false, encryption_configuration: { type: 'managed' } }));
    assert.equal(overriding.use_encryption, true);
    const nullConfig = bucketOf(await create(root, { name: 'ext-enc-null', use_encryption: true, encryption_configuration: null }));
    assert.equal(nullConfig.use_encryption, true, 'a null encryption_configuration counts as not given');
    const plain = bucketOf(await create(root, { name: 'ext-enc-none', use_encryption: false, encryption_configuration: null }));
    assert.equal(plain.use_encryption, false);
    assert.equal(plain.encryption_configuration, null);
    const typeDefault = bucketOf(await create(root, { name: 'ext-no-type' }));
    assert.equal(typeDefault.type, 'STANDARD');
    assert.equal(typeDefault.use_encryption, false);
  });

  void test('409 for an existing name, also when another project owns it', async () => {
    assert.equal((await create(root, { name: 'ext-taken', type: 'STANDARD' })).status, 201);
    assertApiError(await create(root, { name: 'ext-taken', type: 'STANDARD' }), 409);
    assertApiError(await create(stranger, { name: 'ext-taken', type: 'STANDARD' }), 409);
    assert.equal((await create(stranger, { name: 'ext-strangers', type: 'STANDARD' })).status, 201);
    assertApiError(await create(root, { name: 'ext-strangers', type: 'STANDARD' }), 409);
  });

  void test('400 for invalid names; 4 and 63 characters are fine', async () => {
    for (const name of ['abc', 'a'.repeat(64), 'Upper-Case', 'under_score', '-leading', 'trailing-', 'dot.ted', 'sp ace', '']) {
      assertApiError(await create(root, { name, type: 'STANDARD' }), 400, JSON.stringify(name));
    }
    assert.equal((await create(root, { name: 'abcd', type: 'STANDARD' })).status, 201);
    assert.equal((await create(root, { name: 'b'.repeat(63), type: 'STANDARD' })).status, 201);
  });

  void test('400 for reserved names', async () => {
    for (const name of ['v1_ext', 'swagger', 'status', 'ping', 'info']) {
      assertApiError(await create(root, { name, type: 'STANDARD' }), 400, name);
    }
  });

  void test('400 for bad JSON, a missing name, a wrong type or a bad encryption type', async () => {
    assertApiError(await create(root, '{"name": "ext-bad-json", '), 400, 'bad JSON');
    assertApiError(await create(root, '[1, 2]'), 400, 'array body');
    assertApiError(await create(root, { type: 'STANDARD' }), 400, 'no name');
    assertApiError(await create(root, { name: 'ext-cold', type: 'COLD' }), 400, 'type COLD');
    assertApiError(await create(root, { name: 'ext-cold', type: 'cold' }), 400, 'type cold');
    assertApiError(await create(root, { name: 'ext-kms', type: 'STANDARD', encryption_configuration: { type: 'kms' } }), 400, 'kms');
    assertApiError(await create(root, { name: 'ext-enc-str', type: 'STANDARD', use_encryption: 'yes' }), 400, 'use_encryption string');
    const wrongContentType = await request(bucketsUrl, {
      method: 'PUT',
      token: root.token,
      body: JSON.stringify({ name: 'ext-wrong-ct', type: 'STANDARD' }),
      headers: { 'Content-Type': 'text/plain' },
    });
    assertApiError(wrongContentType, 400, 'text/plain');
    for (const name of ['ext-bad-json', 'ext-cold', 'ext-kms', 'ext-enc-str', 'ext-wrong-ct']) {
      assert.equal((await request(bucketUrl(name), { token: root.token })).status, 404, `${name} was not created`);
    }
  });

  void test('401 without a token or with a bad one', async () => {
    assertApiError(await create(null, { name: 'ext-anon', type: 'STANDARD' }), 401);
    assertApiError(await request(bucketsUrl, { method: 'PUT', token: 'not-a-token', body: { name: 'ext-anon', type: 'STANDARD' } }), 401);
    assertApiError(await request(bucketsUrl), 401);
    assertApiError(await request(bucketsUrl, { token: 'not-a-token' }), 401);
    assertApiError(await request(bucketUrl('ext-model'), { token: 'not-a-token' }), 401);
    assertApiError(await request(bucketUrl('ext-model'), { method: 'DELETE' }), 401);
    assertApiError(await request(bucketUrl('ext-model'), { method: 'POST', body: { acl: { public: 'read-only' } } }), 401);
  });
});

void describe('roles', () => {
  before(async () => {
    assert.equal((await create(root, { name: 'ext-roles', type: 'STANDARD' })).status, 201);
  });

  void test('a reader lists and reads but cannot create, change the ACL or delete (403)', async () => {
    assert.equal((await request(bucketsUrl, { token: reader.token })).status, 200);
    assert.equal((await request(bucketUrl('ext-roles'), { token: reader.token })).status, 200);
    assertApiError(await create(reader, { name: 'ext-by-reader', type: 'STANDARD' }), 403);
    assertApiError(await setAcl(reader, 'ext-roles', { public: 'read-only' }), 403);
    assertApiError(await request(bucketUrl('ext-roles'), { method: 'DELETE', token: reader.token }), 403);
    const bucket = bucketOf(await request(bucketUrl('ext-roles'), { token: root.token }));
    assert.notEqual(asRecord(bucket.acl).public, 'read-only');
  });

  void test('a member creates buckets and writes objects, but cannot change the ACL or delete (403)', async () => {
    const created = await create(member, { name: 'ext-by-member', type: 'STANDARD' });
    assert.equal(created.status, 201, created.text);
    assert.equal(bucketOf(created).project, root.projectId);
    await putObject(member, 'ext-roles', 'member.txt', 'written by a member');
    assertApiError(await setAcl(member, 'ext-by-member', { public: 'read-only' }), 403);
    assertApiError(await request(bucketUrl('ext-by-member'), { method: 'DELETE', token: member.token }), 403);
    assert.equal((await request(bucketUrl('ext-by-member'), { token: member.token })).status, 200);
  });

  void test('an admin changes the ACL and deletes', async () => {
    assert.equal((await setAcl(root, 'ext-by-member', { public: 'read-only' })).status, 200);
    assert.equal((await request(bucketUrl('ext-by-member'), { method: 'DELETE', token: root.token })).status, 204);
  });

  void test("another project's bucket is invisible: 404 on detail, ACL and delete", async () => {
    assertApiError(await request(bucketUrl('ext-roles'), { token: stranger.token }), 404);
    assertApiError(await setAcl(stranger, 'ext-roles', { public: 'read-only' }), 404);
    assertApiError(await request(bucketUrl('ext-roles'), { method: 'DELETE', token: stranger.token }), 404);
    assert.equal((await request(bucketUrl('ext-roles'), { token: root.token })).status, 200);
  });
});

void describe('ListBuckets and GetBucketMeta', () => {
  const names = ['list-a-01', 'list-a-02', 'list-a-03', 'list-a-04', 'list-a-05'];
  before(async () => {
    for (const name of [...names].reverse()) assert.equal((await create(root, { name, type: 'STANDARD' })).status, 201);
  });

  void test('GET /v1_ext/bucket → {"items": [bucket…]} of the caller’s project only', async () => {
    const response = await request(bucketsUrl, { token: root.token });
    assert.equal(response.status, 200, response.text);
    const body = asRecord(response.json);
    const items = asArray(body.items, 'items').map((item) => asRecord(item, 'item'));
    const listed = items.map((item) => str(item, 'name'));
    for (const name of names) assert.ok(listed.includes(name), `${name} listed`);
    assert.deepEqual(listed, [...listed].sort(), 'sorted by name');
    assert.ok(!listed.includes('ext-strangers'), "another project's bucket is not listed");
    for (const item of items) assertBucketModel(item, { name: str(item, 'name'), projectId: root.projectId });
    assert.equal(body.next_marker, undefined, 'no next_marker on the last page');

    const theirs = asArray(asRecord((await request(bucketsUrl, { token: stranger.token })).json).items).map((item) => asRecord(item).name);
    assert.ok(theirs.includes('ext-strangers'));
    assert.ok(!theirs.includes('list-a-01'));
  });

  void test('limit and marker page through every bucket once', async () => {
    const all = asArray(asRecord((await request(bucketsUrl, { token: root.token })).json).items).map((item) => str(asRecord(item), 'name'));
    assert.ok(all.length > 4);
    const seen: string[] = [];
    let marker: string | undefined;
    for (let page = 0; page < 100; page += 1) {
      const query = new URLSearchParams({ limit: '2', ...(marker === undefined ? {} : { marker }) });
      const response = await request(`${bucketsUrl}?${query.toString()}`, { token: root.token });
      assert.equal(response.status, 200, response.text);
      const body = asRecord(response.json);
      const items = asArray(body.items).map((item) => str(asRecord(item), 'name'));
      assert.ok(items.length <= 2, `page of ${items.length}`);
      seen.push(...items);
      if (body.next_marker === undefined || body.next_marker === null) break;
      assert.equal(body.next_marker, items[items.length - 1], 'next_marker is the last name of the page');
      marker = str(body, 'next_marker');
    }
    assert.deepEqual(seen, all);

    const afterMarker = asRecord((await request(`${bucketsUrl}?limit=50&marker=list-a-03`, { token: root.token })).json);
    const rest = asArray(afterMarker.items).map((item) => str(asRecord(item), 'name'));
    assert.deepEqual(rest, all.filter((name) => name > 'list-a-03'));
  });

  void test("Kakao i Cloud's legacy type hot is STANDARD", async () => {
    const response = await create(root, { name: 'ext-legacy-hot', type: 'hot' });
    assert.equal(response.status, 201, response.text);
    assert.equal(bucketOf(response).type, 'STANDARD');
  });

  void test('a bad limit → 400; an empty one is the default', async () => {
    assert.equal((await request(`${bucketsUrl}?limit=`, { token: root.token })).status, 200);
    assertApiError(await request(`${bucketsUrl}?limit=abc`, { token: root.token }), 400);
    assertApiError(await request(`${bucketsUrl}?limit=-1`, { token: root.token }), 400);
  });

  void test('GET /v1_ext/bucket/{name} → 200 with the model; 404 when missing', async () => {
    const response = await request(bucketUrl('list-a-03'), { token: root.token });
    assert.equal(response.status, 200, response.text);
    assertBucketModel(bucketOf(response), { name: 'list-a-03', projectId: root.projectId });
    assertApiError(await request(bucketUrl('no-such-bucket'), { token: root.token }), 404);
  });

  void test('bytes and objectCount follow objects written through /v1', async () => {
    assert.equal((await create(root, { name: 'ext-usage', type: 'STANDARD' })).status, 201);
    await putObject(root, 'ext-usage', 'one.txt', 'hello');
    await putObject(root, 'ext-usage', 'dir/two.txt', 'goodbye');
    const detail = bucketOf(await request(bucketUrl('ext-usage'), { token: root.token }));
    assert.equal(detail.objectCount, 2);
    assert.equal(detail.bytes, 12);
    const all = asArray(asRecord((await request(bucketsUrl, { token: root.token })).json).items).map((item) => asRecord(item));
    const item = all.find((entry) => entry.name === 'ext-usage');
    assert.ok(item);
    assert.equal(item.objectCount, 2);
    assert.equal(item.bytes, 12);

    await putObject(root, 'ext-usage', 'one.txt', 'hello, again');
    await deleteObject(root, 'ext-usage', 'dir/two.txt');
    const after = bucketOf(await request(bucketUrl('ext-usage'), { token: root.token }));
    assert.equal(after.objectCount, 1);
    assert.equal(after.bytes, 12);
  });
});

void describe('UpdateBucketAcl', () => {
  before(async () => {
    assert.equal((await create(root, { name: 'ext-acl', type: 'STANDARD' })).status, 201);
  });

  void test('public read-only → 200 with the updated bucket; GET shows it', async () => {
    const response = await setAcl(root, 'ext-acl', { public: 'read-only' });
    assert.equal(response.status, 200, response.text);
    assertBucketModel(bucketOf(response), { name: 'ext-acl', projectId: root.projectId });
    assert.equal(asRecord(bucketOf(response).acl).public, 'read-only');
    const detail = bucketOf(await request(bucketUrl('ext-acl'), { token: root.token }));
    assert.equal(asRecord(detail.acl).public, 'read-only');
  });

  void test('the IP allow list takes IPs and CIDRs; invalid entries → 400 and nothing changes', async () => {
    const list = ['127.0.0.1', '10.0.0.0/8', '2001:db8::/32', '::1'];
    const response = await setAcl(root, 'ext-acl', { public: 'read-only', public_read_allow_ip_list: list });
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(asRecord(bucketOf(response).acl).public_read_allow_ip_list, list);
    for (const bad of ['not-an-ip', '10.0.0.0/33', '300.1.1.1', '10.0.0.1/8/1', '', '1.2.3.4/x']) {
      assertApiError(await setAcl(root, 'ext-acl', { public: 'read-only', public_read_allow_ip_list: ['127.0.0.1', bad] }), 400, JSON.stringify(bad));
    }
    const detail = bucketOf(await request(bucketUrl('ext-acl'), { token: root.token }));
    assert.deepEqual(asRecord(detail.acl).public_read_allow_ip_list, list);
    const nulled = await setAcl(root, 'ext-acl', { public: 'read-only', public_read_allow_ip_list: null });
    assert.equal(nulled.status, 200, nulled.text);
    assert.deepEqual(asRecord(bucketOf(nulled).acl).public_read_allow_ip_list, [], 'null clears the list');
    assert.equal((await setAcl(root, 'ext-acl', { public: 'read-only', public_read_allow_ip_list: list })).status, 200);
    const cleared = await setAcl(root, 'ext-acl', { public_read_allow_ip_list: [] });
    assert.equal(cleared.status, 200);
    assert.deepEqual(asRecord(bucketOf(cleared).acl).public_read_allow_ip_list, []);
    assert.equal(asRecord(bucketOf(cleared).acl).public, 'read-only', 'leaving out "public" keeps it');
  });

  void test('back to private → 200, not read-only any more', async () => {
    const response = await setAcl(root, 'ext-acl', { public: 'none' });
    assert.equal(response.status, 200, response.text);
    assert.notEqual(asRecord(bucketOf(response).acl).public, 'read-only');
    assert.equal((await setAcl(root, 'ext-acl', { public: 'read-only' })).status, 200);
    const viaPrivate = await setAcl(root, 'ext-acl', { public: 'private' });
    assert.equal(viaPrivate.status, 200);
    assert.notEqual(asRecord(bucketOf(viaPrivate).acl).public, 'read-only');
  });

  void test('404 for a missing bucket; 400 for bad JSON, a bad public value or a different name', async () => {
    assertApiError(await setAcl(root, 'no-such-bucket', { public: 'read-only' }), 404);
    assertApiError(await request(bucketUrl('ext-acl'), { method: 'POST', token: root.token, body: '{"acl": ' }), 400);
    assertApiError(await setAcl(root, 'ext-acl', { public: 'read-write' }), 400);
    assertApiError(await request(bucketUrl('ext-acl'), { method: 'POST', token: root.token, body: { name: 'ext-other', acl: { public: 'read-only' } } }), 400);
    assertApiError(await request(bucketUrl('ext-acl'), { method: 'POST', token: root.token, body: { name: 'ext-acl' } }), 400);
    const detail = bucketOf(await request(bucketUrl('ext-acl'), { token: root.token }));
    assert.notEqual(asRecord(detail.acl).public, 'read-only');
  });
});

void describe('DeleteBucket', () => {
  void test('409 while not empty, 204 when empty, then 404', async () => {
    assert.equal((await create(root, { name: 'ext-delete', type: 'STANDARD' })).status, 201);
    await putObject(root, 'ext-delete', 'keep.txt', 'x');
    assertApiError(await request(bucketUrl('ext-delete'), { method: 'DELETE', token: root.token }), 409);
    assert.equal((await request(bucketUrl('ext-delete'), { token: root.token })).status, 200);
    await deleteObject(root, 'ext-delete', 'keep.txt');
    const deleted = await request(bucketUrl('ext-delete'), { method: 'DELETE', token: root.token });
    assert.equal(deleted.status, 204, deleted.text);
    assert.equal(deleted.text, '');
    assertApiError(await request(bucketUrl('ext-delete'), { method: 'DELETE', token: root.token }), 404);
    assertApiError(await request(bucketUrl('ext-delete'), { token: root.token }), 404);
    const listed = asArray(asRecord((await request(bucketsUrl, { token: root.token })).json).items).map((item) => asRecord(item).name);
    assert.ok(!listed.includes('ext-delete'));
    // The name is free again.
    assert.equal((await create(root, { name: 'ext-delete', type: 'STANDARD' })).status, 201);
  });
});
