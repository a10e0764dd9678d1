/**
 * One object model under every protocol: an object written through S3 reads the same through Swift and the other
 * way round (bytes, single-part ETag, user metadata, content type), and S3's `public-read` is the public flag of
 * the bucket API (`/v1_ext`), both ways.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, GetBucketAclCommand, GetObjectCommand, PutBucketAclCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { s3Client } from '../helpers/s3.ts';

let server: RunningServer;
let s3: S3Client;
let session: Session;
const BUCKET = 'cross-protocol';
const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';

before(async () => {
  server = await startServer();
  s3 = s3Client(server);
  session = await login(server.url);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
after(() => server.destroy());

describe('S3 and Swift on the same objects', () => {
  test('written through S3, read through Swift', async () => {
    const body = 'written by S3 — 한글 bytes';
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'from-s3/obj.txt', Body: body, ContentType: 'text/x-s3', Metadata: { origin: 's3' } }));
    const swift = await fetch(`${session.storageUrl}/${BUCKET}/from-s3/obj.txt`, { headers: { 'X-Auth-Token': session.token } });
    assert.equal(swift.status, 200);
    assert.equal(await swift.text(), body);
    assert.equal(`"${swift.headers.get('etag') ?? ''}"`, put.ETag);
    assert.equal(swift.headers.get('content-type'), 'text/x-s3');
    assert.equal(swift.headers.get('x-object-meta-origin'), 's3');
  });

  test('written through Swift, read through S3', async () => {
    const body = Buffer.from('written by Swift\n'.repeat(1000));
    const put = await fetch(`${session.storageUrl}/${BUCKET}/from-swift/obj.bin`, {
      method: 'PUT',
      headers: { 'X-Auth-Token': session.token, 'Content-Type': 'application/x-swift', 'X-Object-Meta-Origin': 'swift' },
      body,
    });
    assert.equal(put.status, 201);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'from-swift/obj.bin' }));
    assert.deepEqual(Buffer.from((await got.Body?.transformToByteArray()) ?? []), body);
    assert.equal(got.ETag, `"${put.headers.get('etag') ?? ''}"`);
    assert.equal(got.ContentType, 'application/x-swift');
    assert.deepEqual(got.Metadata, { origin: 'swift' });
  });

  test("S3's public-read is the bucket API's public flag, both ways", async () => {
    const bucketApi = async (): Promise<string> => {
      const response = await fetch(`${server.url}/v1_ext/bucket/${BUCKET}`, { headers: { 'X-Auth-Token': session.token } });
      return ((await response.json()) as { acl: { public: string } }).acl.public;
    };
    await s3.send(new PutBucketAclCommand({ Bucket: BUCKET, ACL: 'public-read' }));
    assert.equal(await bucketApi(), 'read-only');
    const anonymous = await fetch(`${server.url}/${BUCKET}/from-s3/obj.txt`);
    assert.equal(anonymous.status, 200);
    await anonymous.text();

    const set = await fetch(`${server.url}/v1_ext/bucket/${BUCKET}`, {
      method: 'POST',
      headers: { 'X-Auth-Token': session.token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ acl: { public: 'none' } }),
    });
    assert.equal(set.status, 200);
    await set.text();
    const acl = await s3.send(new GetBucketAclCommand({ Bucket: BUCKET }));
    assert.ok(!acl.Grants?.some((g) => g.Grantee?.URI === ALL_USERS));
    const refused = await fetch(`${server.url}/${BUCKET}/from-s3/obj.txt`);
    assert.equal(refused.status, 403);
    await refused.text();

    await fetch(`${server.url}/v1_ext/bucket/${BUCKET}`, {
      method: 'POST',
      headers: { 'X-Auth-Token': session.token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ acl: { public: 'read-only' } }),
    }).then((r) => r.text());
    const publicAcl = await s3.send(new GetBucketAclCommand({ Bucket: BUCKET }));
    assert.ok(publicAcl.Grants?.some((g) => g.Grantee?.URI === ALL_USERS && g.Permission === 'READ'));

    // An AccessControlPolicy body: the owner's grant alone makes the bucket private again.
    await s3.send(new PutBucketAclCommand({ Bucket: BUCKET, AccessControlPolicy: { Owner: publicAcl.Owner, Grants: publicAcl.Grants?.filter((g) => g.Grantee?.URI !== ALL_USERS) } }));
    assert.equal(await bucketApi(), 'none');
    await s3.send(new PutBucketAclCommand({ Bucket: BUCKET, AccessControlPolicy: { Owner: publicAcl.Owner, Grants: publicAcl.Grants } }));
    assert.equal(await bucketApi(), 'read-only');
  });
});
