/**
 * S3 ACLs over real HTTP with the AWS SDK: canned ACLs, `x-amz-grant-*` headers and AccessControlPolicy bodies
 * stored as the grants Swift's container ACLs set, so each protocol shows (and enforces) what the other set;
 * what the model cannot hold is an S3 error with nothing changed; object ACLs equal to their bucket's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  GetBucketAclCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketAclCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  type Grant,
  type S3Client,
} from '@aws-sdk/client-s3';
import { uniqueName } from '../helpers/accounts.ts';
import { admin, login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { s3Client, s3Failure } from '../helpers/s3.ts';

const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
const AUTHENTICATED_USERS = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';

let server: RunningServer;
let s3: S3Client;
let root: Session;
/** A user of another project, with its S3 client; and a reader of root's project. */
let other: { s3: S3Client; projectId: string; userId: string };
let reader: S3Client;

async function s3User(project: string, role: string): Promise<{ s3: S3Client; projectId: string; userId: string }> {
  const user = (await admin(server.dataDir, 'user', 'create', uniqueName(`acl-${role}`))) as { id: string };
  await admin(server.dataDir, 'role', 'assign', project, user.id, role);
  const made = (await admin(server.dataDir, 's3-key', 'create', project, user.id)) as { access: string; secret: string };
  return { s3: s3Client(server, { accessKeyId: made.access, secretAccessKey: made.secret }), projectId: project, userId: user.id };
}

before(async () => {
  server = await startServer();
  s3 = s3Client(server);
  root = await login(server.url);
  const project = (await admin(server.dataDir, 'project', 'create', 'acl-other')) as { id: string };
  other = await s3User(project.id, 'admin');
  reader = (await s3User(root.projectId, 'reader')).s3;
});
after(() => server.destroy());

let counter = 0;
async function newBucket(acl?: string): Promise<string> {
  const name = `s3-acl-${++counter}-${Date.now() % 100000}`;
  await s3.send(new CreateBucketCommand({ Bucket: name, ...(acl ? { ACL: acl as 'private' } : {}) }));
  await s3.send(new PutObjectCommand({ Bucket: name, Key: 'doc.txt', Body: 'shared bytes' }));
  return name;
}

async function swiftAcl(bucket: string): Promise<{ read: string | null; write: string | null }> {
  const response = await fetch(`${root.storageUrl}/${bucket}`, { method: 'HEAD', headers: { 'X-Auth-Token': root.token } });
  assert.equal(response.status, 204);
  return { read: response.headers.get('x-container-read'), write: response.headers.get('x-container-write') };
}

async function bucketApiPublic(bucket: string): Promise<string> {
  const response = await fetch(`${server.url}/v1_ext/bucket/${bucket}`, { headers: { 'X-Auth-Token': root.token } });
  return ((await response.json()) as { acl: { public: string } }).acl.public;
}

/** The grants of GetBucketAcl as `grantee permission` lines, the owner's own left out. */
async function grantLines(bucket: string, client: S3Client = s3): Promise<string[]> {
  const acl = await client.send(new GetBucketAclCommand({ Bucket: bucket }));
  assert.equal(acl.Owner?.ID, root.projectId);
  return linesOf(acl.Grants ?? []);
}

function linesOf(grants: Grant[]): string[] {
  return grants
    .filter((g) => g.Grantee?.ID !== root.projectId)
    .map((g) => `${g.Grantee?.URI ?? g.Grantee?.ID ?? '?'} ${g.Permission ?? '?'}`)
    .sort();
}

async function status(url: string, init: RequestInit = {}): Promise<number> {
  const response = await fetch(url, init);
  await response.arrayBuffer();
  return response.status;
}

describe('canned ACLs are the grants Swift and /v1_ext show', () => {
  test('public-read: the public flag with listings, for anonymous S3 readers too', async () => {
    const bucket = await newBucket('public-read');
    assert.deepEqual(await grantLines(bucket), [`${ALL_USERS} READ`]);
    assert.deepEqual(await swiftAcl(bucket), { read: '.r:*,.rlistings', write: null });
    assert.equal(await bucketApiPublic(bucket), 'read-only');
    assert.equal(await status(`${server.url}/${bucket}/doc.txt`), 200);
    assert.equal(await status(`${server.url}/${bucket}?list-type=2`), 200);
    await s3.send(new PutBucketAclCommand({ Bucket: bucket, ACL: 'private' }));
    assert.deepEqual(await grantLines(bucket), []);
    assert.deepEqual(await swiftAcl(bucket), { read: null, write: null });
    assert.equal(await bucketApiPublic(bucket), 'none');
    assert.equal(await status(`${server.url}/${bucket}/doc.txt`), 403);
  });

  test('public-read-write: anyone may write objects', async () => {
    const bucket = await newBucket();
    assert.equal(await status(`${server.url}/${bucket}/anon.txt`, { method: 'PUT', body: 'x' }), 403);
    await s3.send(new PutBucketAclCommand({ Bucket: bucket, ACL: 'public-read-write' }));
    assert.deepEqual(await grantLines(bucket), [`${ALL_USERS} READ`, `${ALL_USERS} WRITE`]);
    assert.equal((await swiftAcl(bucket)).read, '.r:*,.rlistings');
    assert.equal(await status(`${server.url}/${bucket}/anon.txt`, { method: 'PUT', body: 'anonymous bytes' }), 200);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'anon.txt' }));
    assert.equal(await got.Body?.transformToString(), 'anonymous bytes');
  });

  test('authenticated-read: any signed-in caller (Swift *:*), not anonymous ones', async () => {
    const bucket = await newBucket('authenticated-read');
    assert.deepEqual(await grantLines(bucket), [`${AUTHENTICATED_USERS} READ`]);
    assert.deepEqual(await swiftAcl(bucket), { read: '*:*', write: null });
    assert.equal(await bucketApiPublic(bucket), 'none');
    const got = await other.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'doc.txt' }));
    assert.equal(await got.Body?.transformToString(), 'shared bytes');
    assert.equal((await other.s3.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount, 1);
    assert.equal(await status(`${server.url}/${bucket}/doc.txt`), 403);
    assert.deepEqual(await s3Failure(other.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'x', Body: 'x' }))), { status: 403, code: 'AccessDenied' });
  });

  test('bucket-owner-full-control and bucket-owner-read are private here; log-delivery-write is refused, nothing changed', async () => {
    const bucket = await newBucket('public-read');
    await s3.send(new PutBucketAclCommand({ Bucket: bucket, ACL: 'bucket-owner-full-control' as 'private' }));
    assert.deepEqual(await grantLines(bucket), []);
    await s3.send(new PutBucketAclCommand({ Bucket: bucket, ACL: 'public-read' }));
    assert.deepEqual(await s3Failure(s3.send(new PutBucketAclCommand({ Bucket: bucket, ACL: 'log-delivery-write' as 'private' }))), { status: 400, code: 'InvalidArgument' });
    assert.deepEqual(await grantLines(bucket), [`${ALL_USERS} READ`]);
    assert.deepEqual(await s3Failure(s3.send(new PutBucketAclCommand({ Bucket: bucket, ACL: 'no-such-canned' as 'private' }))), { status: 400, code: 'InvalidArgument' });
  });
});

describe('grants to canonical ids and groups', () => {
  test('x-amz-grant-* headers: a project, a user of it, READ_ACP; Swift shows them; they let the grantee in', async () => {
    const bucket = await newBucket();
    await s3.send(
      new PutBucketAclCommand({
        Bucket: bucket,
        GrantRead: `id="${other.projectId}"`,
        GrantWrite: `id="${other.projectId}:${other.userId}"`,
        GrantReadACP: `uri="${AUTHENTICATED_USERS}"`,
      }),
    );
    assert.deepEqual(await grantLines(bucket), [`${other.projectId} READ`, `${other.projectId}:${other.userId} WRITE`, `${AUTHENTICATED_USERS} READ_ACP`].sort());
    assert.deepEqual(await swiftAcl(bucket), { read: `${other.projectId}:*`, write: `${other.projectId}:${other.userId}` });
    await other.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'from-other', Body: 'theirs' }));
    const got = await other.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'from-other' }));
    assert.equal(await got.Body?.transformToString(), 'theirs');
    // READ_ACP lets them read the ACL, not change it.
    assert.equal((await grantLines(bucket, other.s3)).length, 3);
    assert.deepEqual(await s3Failure(other.s3.send(new PutBucketAclCommand({ Bucket: bucket, ACL: 'public-read' }))), { status: 403, code: 'AccessDenied' });
  });

  test('an AccessControlPolicy body with WRITE_ACP and FULL_CONTROL; the grantee then changes the ACL', async () => {
    const bucket = await newBucket();
    const current = await s3.send(new GetBucketAclCommand({ Bucket: bucket }));
    const grants: Grant[] = [
      ...(current.Grants ?? []),
      { Grantee: { Type: 'CanonicalUser', ID: other.projectId }, Permission: 'WRITE_ACP' },
      { Grantee: { Type: 'Group', URI: ALL_USERS }, Permission: 'READ' },
    ];
    await s3.send(new PutBucketAclCommand({ Bucket: bucket, AccessControlPolicy: { Owner: current.Owner, Grants: grants } }));
    assert.deepEqual(await grantLines(bucket), [`${ALL_USERS} READ`, `${other.projectId} WRITE_ACP`].sort());
    assert.equal(await bucketApiPublic(bucket), 'read-only');
    await other.s3.send(new PutBucketAclCommand({ Bucket: bucket, GrantFullControl: `id="${other.projectId}:${other.userId}"` }));
    assert.deepEqual(await grantLines(bucket), [`${other.projectId}:${other.userId} FULL_CONTROL`]);
    assert.equal(await bucketApiPublic(bucket), 'none');
    await other.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'full', Body: 'f' }));
  });

  test("grants to the bucket's own project are its owner's: a reader is not lifted by them", async () => {
    const bucket = await newBucket();
    await s3.send(new PutBucketAclCommand({ Bucket: bucket, GrantFullControl: `id="${root.projectId}"` }));
    assert.deepEqual(await grantLines(bucket), []);
    assert.deepEqual(await s3Failure(reader.send(new PutObjectCommand({ Bucket: bucket, Key: 'r', Body: 'r' }))), { status: 403, code: 'AccessDenied' });
  });

  test('unrepresentable grants are errors and change nothing', async () => {
    const bucket = await newBucket('public-read');
    const unchanged = async (): Promise<void> => { assert.deepEqual(await grantLines(bucket), [`${ALL_USERS} READ`]); };
    assert.deepEqual(await s3Failure(s3.send(new PutBucketAclCommand({ Bucket: bucket, GrantRead: 'emailAddress="someone@example.com"' }))), { status: 400, code: 'UnresolvableGrantByEmailAddress' });
    await unchanged();
    assert.deepEqual(await s3Failure(s3.send(new PutBucketAclCommand({ Bucket: bucket, GrantRead: 'id="no-such-project-id"' }))), { status: 400, code: 'InvalidArgument' });
    assert.deepEqual(await s3Failure(s3.send(new PutBucketAclCommand({ Bucket: bucket, GrantWrite: 'uri="http://acs.amazonaws.com/groups/s3/LogDelivery"' }))), { status: 400, code: 'InvalidArgument' });
    assert.deepEqual(await s3Failure(s3.send(new PutBucketAclCommand({ Bucket: bucket, ACL: 'private', GrantRead: `id="${other.projectId}"` }))), { status: 400, code: 'InvalidRequest' });
    await unchanged();
    assert.deepEqual(await s3Failure(other.s3.send(new PutBucketAclCommand({ Bucket: bucket, ACL: 'private' }))), { status: 403, code: 'AccessDenied' });
    await unchanged();
  });
});

describe('Swift sets, S3 shows; S3 sets, Swift shows', () => {
  test('X-Container-Read / X-Container-Write show as READ / WRITE grants and back', async () => {
    const bucket = await newBucket();
    const set = await fetch(`${root.storageUrl}/${bucket}`, {
      method: 'POST',
      headers: { 'X-Auth-Token': root.token, 'X-Container-Read': `.r:*,${other.projectId}:*`, 'X-Container-Write': `*:${other.userId}` },
    });
    assert.equal(set.status, 204);
    assert.deepEqual(await grantLines(bucket), [`${ALL_USERS} READ`, `${other.projectId} READ`, `*:${other.userId} WRITE`].sort());
    const acl = await s3.send(new GetBucketAclCommand({ Bucket: bucket }));
    await s3.send(new PutBucketAclCommand({ Bucket: bucket, AccessControlPolicy: { Owner: acl.Owner, Grants: acl.Grants?.filter((g) => g.Grantee?.URI !== ALL_USERS) } }));
    assert.deepEqual(await swiftAcl(bucket), { read: `${other.projectId}:*`, write: `*:${other.userId}` });
    assert.equal(await bucketApiPublic(bucket), 'none');
  });

  test('CreateBucket with an ACL header sets it in the same write', async () => {
    const bucket = await newBucket('public-read');
    assert.equal(await bucketApiPublic(bucket), 'read-only');
    const granted = `s3-acl-granted-${Date.now() % 100000}`;
    await s3.send(new CreateBucketCommand({ Bucket: granted, GrantRead: `id="${other.projectId}"` }));
    assert.deepEqual(await swiftAcl(granted), { read: `${other.projectId}:*`, write: null });
  });
});

describe('object ACLs are their bucket’s', () => {
  test("GetObjectAcl shows the bucket's; PutObjectAcl equal to it is accepted, another refused", async () => {
    const bucket = await newBucket('public-read');
    const acl = await s3.send(new GetObjectAclCommand({ Bucket: bucket, Key: 'doc.txt' }));
    assert.deepEqual(linesOf(acl.Grants ?? []), [`${ALL_USERS} READ`]);
    await s3.send(new PutObjectAclCommand({ Bucket: bucket, Key: 'doc.txt', ACL: 'public-read' }));
    await s3.send(new PutObjectAclCommand({ Bucket: bucket, Key: 'doc.txt', AccessControlPolicy: { Owner: acl.Owner, Grants: acl.Grants } }));
    assert.deepEqual(await s3Failure(s3.send(new PutObjectAclCommand({ Bucket: bucket, Key: 'doc.txt', ACL: 'private' }))), { status: 501, code: 'NotImplemented' });
    assert.deepEqual(await s3Failure(s3.send(new PutObjectAclCommand({ Bucket: bucket, Key: 'missing', ACL: 'public-read' }))), { status: 404, code: 'NoSuchKey' });
    assert.equal(await bucketApiPublic(bucket), 'read-only');
  });

  test('PutObject with an ACL other than the bucket’s is refused and stores nothing', async () => {
    const bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'private-ok', Body: 'p', ACL: 'bucket-owner-full-control' }));
    assert.deepEqual(await s3Failure(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'public', Body: 'p', ACL: 'public-read' }))), { status: 501, code: 'NotImplemented' });
    assert.deepEqual(await s3Failure(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'granted', Body: 'p', GrantRead: `id="${other.projectId}"` }))), { status: 501, code: 'NotImplemented' });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    assert.deepEqual((listed.Contents ?? []).map((o) => o.Key).sort(), ['doc.txt', 'private-ok']);
  });
});
