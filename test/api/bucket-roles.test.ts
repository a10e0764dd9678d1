/**
 * Bucket roles (Storage Admin / Editor / Viewer) over real HTTP: the /v1_ext API that assigns them, and the
 * permission matrix: every bucket role and project role × every operation of /v1_ext and Swift × own bucket /
 * another project's bucket → allowed or refused, with nothing of another project's bucket revealed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asArray, asRecord, createAccount, request, str, uniqueName, waitFor, type Account, type JsonResponse } from '../helpers/accounts.ts';
import { admin, login, startServer, type RunningServer, type Session } from '../helpers/server.ts';

type BucketRole = 'Storage Admin' | 'Storage Editor' | 'Storage Viewer';

let server: RunningServer;
let root: Session;
let member: Session;
let reader: Session;
let spare: Account;
let memberAccount: Account;
let readerAccount: Account;
let rootUserId: string;
let other: Session;

before(async () => {
  server = await startServer();
  let otherAccount: Account;
  [memberAccount, readerAccount, spare, otherAccount] = await Promise.all([
    createAccount(server.dataDir, 'member', { project: 'default' }),
    createAccount(server.dataDir, 'reader', { project: 'default' }),
    createAccount(server.dataDir, 'member', { project: 'default' }),
    createAccount(server.dataDir, 'admin'),
  ]);
  [root, member, reader, other] = await Promise.all([
    login(server.url),
    login(server.url, memberAccount.keyId, memberAccount.secret),
    login(server.url, readerAccount.keyId, readerAccount.secret),
    login(server.url, otherAccount.keyId, otherAccount.secret),
  ]);
  const validated = await request(`${server.url}/identity/v3/auth/tokens`, { token: root.token, headers: { 'X-Subject-Token': root.token } });
  rootUserId = str(asRecord(asRecord(asRecord(validated.json).token).user), 'id');
});
after(async () => {
  await server.destroy();
});

const ext = (name: string, rest = ''): string => `${server.url}/v1_ext/bucket/${encodeURIComponent(name)}${rest}`;

async function createBucket(session: Session, name: string): Promise<void> {
  const response = await request(`${server.url}/v1_ext/bucket`, { method: 'PUT', token: session.token, body: { name, type: 'STANDARD' } });
  assert.equal(response.status, 201, response.text);
}

async function putObject(session: Session, bucket: string, key: string): Promise<void> {
  const response = await fetch(`${session.storageUrl}/${bucket}/${key}`, { method: 'PUT', headers: { 'X-Auth-Token': session.token }, body: 'data' });
  assert.equal(response.status, 201, `PUT ${bucket}/${key}: ${response.status}`);
}

async function assign(session: Session, bucket: string, userId: string, role: string): Promise<JsonResponse> {
  return request(ext(bucket, '/permissions'), { method: 'PUT', token: session.token, body: { user_id: userId, role } });
}

async function unassign(session: Session, bucket: string, userId: string): Promise<JsonResponse> {
  return request(ext(bucket, `/permissions/${userId}`), { method: 'DELETE', token: session.token });
}

function roleTable(response: JsonResponse, key = 'permissions'): Map<string, string> {
  const list = asArray(asRecord(response.json)[key]).map((p) => asRecord(p));
  return new Map(list.map((p) => [str(p, 'user_id'), str(p, 'role')]));
}

function apiError(response: JsonResponse, status: number): string {
  assert.equal(response.status, status, response.text);
  return str(asRecord(response.json), 'message');
}

void describe('the bucket roles API', () => {
  void test('roles default from the project role and show in acl.permissions and /permissions', async () => {
    const name = uniqueName('roles-default');
    await createBucket(member, name);
    const listed = await request(ext(name, '/permissions'), { token: root.token });
    assert.equal(listed.status, 200, listed.text);
    const roles = roleTable(listed);
    assert.equal(roles.get(rootUserId), 'Storage Admin');
    assert.equal(roles.get(memberAccount.userId), 'Storage Editor');
    assert.equal(roles.get(readerAccount.userId), 'Storage Viewer');
    const entry = asArray(asRecord(listed.json).permissions).map((p) => asRecord(p)).find((p) => p.user_id === readerAccount.userId);
    assert.deepEqual(entry, { user_id: readerAccount.userId, user_name: readerAccount.userName, role: 'Storage Viewer', from: 'project' });

    const bucket = await request(ext(name), { token: root.token });
    assert.deepEqual(roleTable({ ...bucket, json: asRecord(asRecord(bucket.json).acl) }), roles);
    // Issue 22 item 7: one who may not manage the roles sees only their own.
    const own = new Map([[readerAccount.userId, 'Storage Viewer']]);
    assert.deepEqual(roleTable(await request(ext(name, '/permissions'), { token: reader.token })), own);
    const asReader = await request(ext(name), { token: reader.token });
    assert.deepEqual(roleTable({ ...asReader, json: asRecord(asRecord(asReader.json).acl) }), own);
  });

  void test('a Storage Admin assigns and removes roles; the change applies at once', async () => {
    const name = uniqueName('roles-assign');
    await createBucket(root, name);
    await putObject(root, name, 'readme');
    const write = async (session: Session): Promise<number> =>
      (await fetch(`${session.storageUrl}/${name}/by-reader`, { method: 'PUT', headers: { 'X-Auth-Token': session.token }, body: 'x' })).status;
    assert.equal(await write(reader), 403, 'a Storage Viewer cannot write objects');

    const assigned = await assign(root, name, readerAccount.userId, 'Storage Editor');
    assert.equal(assigned.status, 200, assigned.text);
    assert.equal(roleTable(assigned).get(readerAccount.userId), 'Storage Editor');
    assert.equal(await write(reader), 201, 'the reader, now a Storage Editor, writes');
    const shown = asArray(asRecord(asRecord((await request(ext(name), { token: root.token })).json).acl).permissions).map((p) => asRecord(p));
    assert.equal(shown.find((p) => p.user_id === readerAccount.userId)?.from, 'bucket');

    const removed = await unassign(root, name, readerAccount.userId);
    assert.equal(removed.status, 204, removed.text);
    const afterRemoval = roleTable(await request(ext(name, '/permissions'), { token: root.token }));
    assert.equal(afterRemoval.has(readerAccount.userId), false, 'a removed user is not listed');
    assert.equal((await fetch(`${reader.storageUrl}/${name}/readme`, { headers: { 'X-Auth-Token': reader.token } })).status, 403, 'no role: no reads');
    assert.equal((await request(ext(name), { token: reader.token })).status, 403);
    // The role can be given back.
    assert.equal((await assign(root, name, readerAccount.userId, 'Storage Viewer')).status, 200);
    assert.equal((await fetch(`${reader.storageUrl}/${name}/readme`, { headers: { 'X-Auth-Token': reader.token } })).status, 200);
  });

  void test('at least one Storage Admin is kept (409)', async () => {
    const name = uniqueName('roles-last');
    await createBucket(root, name);
    assert.match(apiError(await unassign(root, name, rootUserId), 409), /at least one Storage Admin/);
    assert.match(apiError(await assign(root, name, rootUserId, 'Storage Viewer'), 409), /at least one Storage Admin/);
    // With a second Storage Admin, the first may step down; then it is a viewer and can change nothing.
    assert.equal((await assign(root, name, spare.userId, 'Storage Admin')).status, 200);
    assert.equal((await assign(root, name, rootUserId, 'Storage Viewer')).status, 200);
    apiError(await assign(root, name, rootUserId, 'Storage Admin'), 403);
    const spareSession = await login(server.url, spare.keyId, spare.secret);
    assert.match(apiError(await unassign(spareSession, name, spare.userId), 409), /at least one Storage Admin/);
    assert.equal((await assign(spareSession, name, rootUserId, 'Storage Admin')).status, 200);
  });

  void test('errors: 400 naming the field, 404 for a non-member or unknown bucket, 403 below Storage Admin, 401 without a token', async () => {
    const name = uniqueName('roles-errors');
    await createBucket(root, name);
    assert.match(apiError(await assign(root, name, readerAccount.userId, 'Storage Owner'), 400), /role/);
    assert.match(apiError(await request(ext(name, '/permissions'), { method: 'PUT', token: root.token, body: { role: 'Storage Viewer' } }), 400), /user_id/);
    const notJson = await request(ext(name, '/permissions'), { method: 'PUT', token: root.token, body: '{', headers: { 'Content-Type': 'application/json' } });
    assert.equal(notJson.status, 400);
    assert.match(apiError(await assign(root, name, 'no-such-user', 'Storage Viewer'), 404), /not a member/);
    const outsider = await request(`${server.url}/identity/v3/auth/tokens`, { token: other.token, headers: { 'X-Subject-Token': other.token } });
    const outsiderId = str(asRecord(asRecord(asRecord(outsider.json).token).user), 'id');
    assert.match(apiError(await assign(root, name, outsiderId, 'Storage Viewer'), 404), /not a member/);
    apiError(await assign(root, 'no-such-bucket-here', readerAccount.userId, 'Storage Viewer'), 404);
    apiError(await assign(member, name, readerAccount.userId, 'Storage Viewer'), 403);
    apiError(await unassign(member, name, readerAccount.userId), 403);
    assert.equal((await unassign(root, name, readerAccount.userId)).status, 204);
    assert.match(apiError(await unassign(root, name, readerAccount.userId), 404), /no role/);
    apiError(await request(ext(name, '/permissions')), 401);
    apiError(await request(ext(name, '/permissions'), { method: 'PATCH', token: root.token }), 405);
  });
});

void describe('bucket roles when project membership changes', () => {
  void test('a user who leaves loses their bucket roles; a bucket left without a Storage Admin returns to the project admins', async () => {
    const name = uniqueName('roles-leave');
    await createBucket(root, name);
    assert.equal((await assign(root, name, spare.userId, 'Storage Admin')).status, 200);
    assert.equal((await assign(root, name, rootUserId, 'Storage Viewer')).status, 200);
    apiError(await assign(root, name, readerAccount.userId, 'Storage Editor'), 403);

    await admin(server.dataDir, 'role', 'remove', 'default', spare.userId);
    // The CLI wrote the store directly; this server may trust its copy of the bucket for up to a second.
    const restored = await waitFor(async () => (await assign(root, name, readerAccount.userId, 'Storage Editor')).status === 200, 5000);
    assert.notEqual(restored, null, 'the project admin did not get the orphaned bucket back');
    const roles = roleTable(await request(ext(name, '/permissions'), { token: root.token }));
    assert.equal(roles.get(rootUserId), 'Storage Admin');
    assert.equal(roles.has(spare.userId), false);

    // Back in the project, the user starts from the default of the new project role.
    await admin(server.dataDir, 'role', 'assign', 'default', spare.userId, 'member');
    const back = roleTable(await request(ext(name, '/permissions'), { token: root.token }));
    assert.equal(back.get(spare.userId), 'Storage Editor');
  });
});

// --- the permission matrix ---------------------------------------------------------------------------

const RANK: Record<BucketRole | 'none', number> = { none: 0, 'Storage Viewer': 1, 'Storage Editor': 2, 'Storage Admin': 3 };

interface Target {
  account: string;
  bucket: string;
}

interface Probe {
  status: number;
  body: string;
}

interface BucketOp {
  name: string;
  needs: BucketRole;
  /** Statuses meaning "allowed" besides 2xx (e.g. deleting a non-empty bucket: 409). */
  alsoAllowed?: number[];
  /** Runs before the operation, with a session that may set the fixture up. */
  prepare?: (owner: Session, target: Target) => Promise<void>;
  run: (session: Session, target: Target) => Promise<Probe>;
}

async function probe(url: string, session: Session, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Probe> {
  const response = await fetch(url, { method: init.method ?? 'GET', headers: { 'X-Auth-Token': session.token, ...init.headers }, ...(init.body === undefined ? {} : { body: init.body }) });
  return { status: response.status, body: await response.text() };
}

const CORS_RULE = { allowed_origins: ['https://app.example'], allowed_methods: ['GET'] };

async function putCorsAs(owner: Session, bucket: string): Promise<void> {
  await request(ext(bucket, '/cors'), { method: 'PUT', token: owner.token, body: { rules: [CORS_RULE] } });
}

const LIFECYCLE_RULE = { id: 'old', status: 'Enabled', filter: { prefix: 'never/' }, expiration: { days: 365 } };

async function putLifecycleAs(owner: Session, bucket: string): Promise<void> {
  await request(ext(bucket, '/lifecycle'), { method: 'PUT', token: owner.token, body: { rules: [LIFECYCLE_RULE] } });
}

async function putLoggingAs(owner: Session, bucket: string): Promise<void> {
  await request(ext(bucket, '/logging'), { method: 'PUT', token: owner.token, body: { target_bucket: bucket, target_prefix: 'log/' } });
}

const swift = (t: Target, rest = ''): string => `${server.url}/v1/${t.account}/${t.bucket}${rest}`;
const json = { 'Content-Type': 'application/json' };

const BUCKET_OPS: BucketOp[] = [
  { name: 'Swift HEAD container', needs: 'Storage Viewer', run: (s, t) => probe(swift(t), s, { method: 'HEAD' }) },
  { name: 'Swift GET container (list)', needs: 'Storage Viewer', run: (s, t) => probe(swift(t, '?format=json'), s) },
  { name: 'Swift POST container', needs: 'Storage Editor', run: (s, t) => probe(swift(t), s, { method: 'POST', headers: { 'X-Container-Meta-Color': 'blue' } }) },
  { name: 'Swift PUT container (existing)', needs: 'Storage Editor', run: (s, t) => probe(swift(t), s, { method: 'PUT' }) },
  { name: 'Swift DELETE container (not empty)', needs: 'Storage Admin', alsoAllowed: [409], run: (s, t) => probe(swift(t), s, { method: 'DELETE' }) },
  { name: 'Swift PUT object', needs: 'Storage Editor', run: (s, t) => probe(swift(t, '/written'), s, { method: 'PUT', body: 'new' }) },
  { name: 'Swift GET object', needs: 'Storage Viewer', run: (s, t) => probe(swift(t, '/obj'), s) },
  { name: 'Swift HEAD object', needs: 'Storage Viewer', run: (s, t) => probe(swift(t, '/obj'), s, { method: 'HEAD' }) },
  { name: 'Swift POST object', needs: 'Storage Editor', run: (s, t) => probe(swift(t, '/obj'), s, { method: 'POST', headers: { 'X-Object-Meta-Color': 'red' } }) },
  { name: 'Swift COPY object', needs: 'Storage Editor', run: (s, t) => probe(swift(t, '/obj'), s, { method: 'COPY', headers: { Destination: `${t.bucket}/copied` } }) },
  {
    name: 'Swift DELETE object',
    needs: 'Storage Editor',
    prepare: (owner, t) => putObject(owner, t.bucket, 'victim'),
    run: (s, t) => probe(swift(t, '/victim'), s, { method: 'DELETE' }),
  },
  { name: 'GetBucketMeta', needs: 'Storage Viewer', run: (s, t) => probe(ext(t.bucket), s) },
  {
    name: 'UpdateBucketAcl',
    needs: 'Storage Admin',
    run: (s, t) => probe(ext(t.bucket), s, { method: 'POST', headers: json, body: JSON.stringify({ acl: { public: 'none' } }) }),
  },
  { name: 'DeleteBucket (not empty)', needs: 'Storage Admin', alsoAllowed: [409], run: (s, t) => probe(ext(t.bucket), s, { method: 'DELETE' }) },
  { name: 'ListBucketPermissions', needs: 'Storage Viewer', run: (s, t) => probe(ext(t.bucket, '/permissions'), s) },
  {
    name: 'PutBucketPermission',
    needs: 'Storage Admin',
    run: (s, t) => probe(ext(t.bucket, '/permissions'), s, { method: 'PUT', headers: json, body: JSON.stringify({ user_id: spare.userId, role: 'Storage Viewer' }) }),
  },
  {
    name: 'DeleteBucketPermission',
    needs: 'Storage Admin',
    prepare: async (owner, t) => {
      await assign(owner, t.bucket, spare.userId, 'Storage Viewer');
    },
    run: (s, t) => probe(ext(t.bucket, `/permissions/${spare.userId}`), s, { method: 'DELETE' }),
  },
  {
    name: 'GetBucketCors',
    needs: 'Storage Viewer',
    prepare: async (owner, t) => {
      await putCorsAs(owner, t.bucket);
    },
    run: (s, t) => probe(ext(t.bucket, '/cors'), s),
  },
  { name: 'PutBucketCors', needs: 'Storage Admin', run: (s, t) => probe(ext(t.bucket, '/cors'), s, { method: 'PUT', headers: json, body: JSON.stringify({ rules: [CORS_RULE] }) }) },
  {
    name: 'DeleteBucketCors',
    needs: 'Storage Admin',
    prepare: async (owner, t) => {
      await putCorsAs(owner, t.bucket);
    },
    run: (s, t) => probe(ext(t.bucket, '/cors'), s, { method: 'DELETE' }),
  },
  {
    name: 'GetBucketLifecycle',
    needs: 'Storage Viewer',
    prepare: async (owner, t) => {
      await putLifecycleAs(owner, t.bucket);
    },
    run: (s, t) => probe(ext(t.bucket, '/lifecycle'), s),
  },
  {
    name: 'PutBucketLifecycle',
    needs: 'Storage Admin',
    run: (s, t) => probe(ext(t.bucket, '/lifecycle'), s, { method: 'PUT', headers: json, body: JSON.stringify({ rules: [LIFECYCLE_RULE] }) }),
  },
  {
    name: 'DeleteBucketLifecycle',
    needs: 'Storage Admin',
    prepare: async (owner, t) => {
      await putLifecycleAs(owner, t.bucket);
    },
    run: (s, t) => probe(ext(t.bucket, '/lifecycle'), s, { method: 'DELETE' }),
  },
  {
    name: 'GetBucketLogging',
    needs: 'Storage Viewer',
    prepare: async (owner, t) => {
      await putLoggingAs(owner, t.bucket);
    },
    run: (s, t) => probe(ext(t.bucket, '/logging'), s),
  },
  {
    name: 'PutBucketLogging',
    needs: 'Storage Admin',
    run: (s, t) => probe(ext(t.bucket, '/logging'), s, { method: 'PUT', headers: json, body: JSON.stringify({ target_bucket: t.bucket, target_prefix: 'log/' }) }),
  },
  {
    name: 'DeleteBucketLogging',
    needs: 'Storage Admin',
    prepare: async (owner, t) => {
      await putLoggingAs(owner, t.bucket);
    },
    run: (s, t) => probe(ext(t.bucket, '/logging'), s, { method: 'DELETE' }),
  },
];

type ProjectRole = 'admin' | 'member' | 'reader';

interface AccountOp {
  name: string;
  allowed: readonly ProjectRole[];
  run: (session: Session, account: string) => Promise<Probe>;
}

const ACCOUNT_OPS: AccountOp[] = [
  { name: 'Swift HEAD account', allowed: ['admin', 'member', 'reader'], run: (s, a) => probe(`${server.url}/v1/${a}`, s, { method: 'HEAD' }) },
  { name: 'Swift GET account', allowed: ['admin', 'member', 'reader'], run: (s, a) => probe(`${server.url}/v1/${a}?format=json`, s) },
  { name: 'Swift POST account', allowed: ['admin'], run: (s, a) => probe(`${server.url}/v1/${a}`, s, { method: 'POST', headers: { 'X-Account-Meta-Team': 'x' } }) },
  { name: 'Swift PUT container (new)', allowed: ['admin', 'member'], run: (s, a) => probe(`${server.url}/v1/${a}/${uniqueName('mx-new')}`, s, { method: 'PUT' }) },
];

const allowedStatus = (status: number, extra: readonly number[] = []): boolean => (status >= 200 && status < 300) || extra.includes(status);

void describe('the permission matrix', () => {
  void test('every bucket role and project role × every /v1_ext and Swift operation × own / another project\'s bucket', async () => {
    const plain = uniqueName('mx-plain');
    const assigned = uniqueName('mx-assigned');
    const theirs = uniqueName('mx-theirs');
    const ghost = uniqueName('mx-ghost');
    for (const name of [plain, assigned]) {
      await createBucket(root, name);
      await putObject(root, name, 'obj');
    }
    await createBucket(other, theirs);
    await putObject(other, theirs, 'obj');
    // On `assigned`, bucket roles override the project roles: the reader is its Storage Admin, the project admin a
    // Storage Viewer, and the member has no role at all.
    assert.equal((await assign(root, assigned, readerAccount.userId, 'Storage Admin')).status, 200);
    assert.equal((await assign(reader, assigned, rootUserId, 'Storage Viewer')).status, 200);
    assert.equal((await unassign(reader, assigned, memberAccount.userId)).status, 204);

    const subjects: Array<{ who: string; session: Session; projectRole: ProjectRole; bucket: string; role: BucketRole | 'none'; owner: Session }> = [
      { who: 'project admin (default)', session: root, projectRole: 'admin', bucket: plain, role: 'Storage Admin', owner: root },
      { who: 'project member (default)', session: member, projectRole: 'member', bucket: plain, role: 'Storage Editor', owner: root },
      { who: 'project reader (default)', session: reader, projectRole: 'reader', bucket: plain, role: 'Storage Viewer', owner: root },
      { who: 'reader assigned Storage Admin', session: reader, projectRole: 'reader', bucket: assigned, role: 'Storage Admin', owner: reader },
      { who: 'admin assigned Storage Viewer', session: root, projectRole: 'admin', bucket: assigned, role: 'Storage Viewer', owner: reader },
      { who: 'member with the role removed', session: member, projectRole: 'member', bucket: assigned, role: 'none', owner: reader },
    ];
    const failures: string[] = [];
    let checks = 0;
    const theirsTarget: Target = { account: other.projectId, bucket: theirs };
    const ghostTarget: Target = { account: other.projectId, bucket: ghost };

    for (const subject of subjects) {
      const own: Target = { account: root.projectId, bucket: subject.bucket };
      for (const op of BUCKET_OPS) {
        await op.prepare?.(subject.owner, own);
        const result = await op.run(subject.session, own);
        const allowed = RANK[subject.role] >= RANK[op.needs];
        checks++;
        const ok = allowed ? allowedStatus(result.status, op.alsoAllowed) : result.status === 403;
        if (!ok) failures.push(`${subject.who} · ${op.name} · own bucket: expected ${allowed ? 'allowed' : '403'}, got ${result.status} ${result.body.slice(0, 120)}`);

        // Another project's bucket answers exactly as a bucket that never existed there.
        await op.prepare?.(other, theirsTarget);
        const onTheirs = await op.run(subject.session, theirsTarget);
        const onGhost = await op.run(subject.session, ghostTarget);
        checks++;
        const isExt = !op.name.startsWith('Swift');
        const refused = isExt ? onTheirs.status === 404 : onTheirs.status === 403;
        if (!refused) failures.push(`${subject.who} · ${op.name} · another project's bucket: expected ${isExt ? 404 : 403}, got ${onTheirs.status}`);
        if (onTheirs.status !== onGhost.status || onTheirs.body !== onGhost.body) {
          failures.push(`${subject.who} · ${op.name}: another project's bucket (${onTheirs.status} ${onTheirs.body}) ≠ a missing one (${onGhost.status} ${onGhost.body})`);
        }
        assert.ok(!onTheirs.body.includes('data'), 'no object data of another project');
      }
      for (const op of ACCOUNT_OPS) {
        const result = await op.run(subject.session, root.projectId);
        const allowed = op.allowed.includes(subject.projectRole);
        checks++;
        if (allowed ? !allowedStatus(result.status) : result.status !== 403) {
          failures.push(`${subject.who} · ${op.name} · own project: expected ${allowed ? 'allowed' : '403'}, got ${result.status}`);
        }
        const onOther = await op.run(subject.session, other.projectId);
        checks++;
        if (onOther.status !== 403) failures.push(`${subject.who} · ${op.name} · another project: expected 403, got ${onOther.status}`);
      }
      const listed = await probe(`${server.url}/v1_ext/bucket`, subject.session);
      const created = await probe(`${server.url}/v1_ext/bucket`, subject.session, { method: 'PUT', headers: json, body: JSON.stringify({ name: uniqueName('mx-made'), type: 'STANDARD' }) });
      checks += 2;
      if (listed.status !== 200) failures.push(`${subject.who} · ListBuckets: ${listed.status}`);
      if (listed.body.includes(theirs)) failures.push(`${subject.who} · ListBuckets shows another project's bucket`);
      const mayCreate = subject.projectRole !== 'reader';
      if (mayCreate ? created.status !== 201 : created.status !== 403) failures.push(`${subject.who} · CreateBucket: ${created.status}`);
    }
    assert.deepEqual(failures, [], `${failures.length} of ${checks} checks failed`);
    assert.ok(checks > 200, `${checks} checks`);
  });
});
