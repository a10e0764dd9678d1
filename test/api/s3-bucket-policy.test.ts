/**
 * S3 bucket policies over real HTTP with the newest AWS SDK: Put/Get/DeleteBucketPolicy and GetBucketPolicyStatus,
 * and what a policy does to requests, of anonymous callers, other projects' users, the bucket's own members (and
 * through Swift's URLs too, since core's one authorize() evaluates it). The tests connect from 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { uniqueName } from '../helpers/accounts.ts';
import { admin, login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { printedS3Keys, s3Client, s3Failure, s3Outcome, signedFetch } from '../helpers/s3.ts';

interface S3User {
  s3: S3Client;
  projectId: string;
  userId: string;
}

let server: RunningServer;
let s3: S3Client;
let root: Session;
/** Two users of another project, and an editor (Storage Editor: no PutBucketPolicy) of root's. */
let alice: S3User;
let bob: S3User;
let editor: S3User;

async function s3User(project: string, role: string): Promise<S3User> {
  const user = (await admin(server.dataDir, 'user', 'create', uniqueName(`policy-${role}`))) as { id: string };
  await admin(server.dataDir, 'role', 'assign', project, user.id, role);
  const made = (await admin(server.dataDir, 's3-key', 'create', project, user.id)) as { access: string; secret: string };
  return { s3: s3Client(server, { accessKeyId: made.access, secretAccessKey: made.secret }), projectId: project, userId: user.id };
}

before(async () => {
  // Trusting the tests' own address as a proxy lets a request say it came over TLS (X-Forwarded-Proto).
  server = await startServer({ env: { ONGGI_TRUSTED_PROXIES: '127.0.0.1' } });
  s3 = s3Client(server);
  root = await login(server.url);
  const other = (await admin(server.dataDir, 'project', 'create', uniqueName('policy-other'))) as { id: string };
  alice = await s3User(other.id, 'member');
  bob = await s3User(other.id, 'member');
  editor = await s3User(root.projectId, 'member');
});
after(() => server.destroy());

let counter = 0;
/** A new bucket of root's project with `public/a.txt`, `private/b.txt` and `locked/c.txt` in it. */
async function newBucket(): Promise<string> {
  const name = `s3-policy-${++counter}-${Date.now() % 100000}`;
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  for (const key of ['public/a.txt', 'private/b.txt', 'locked/c.txt']) await s3.send(new PutObjectCommand({ Bucket: name, Key: key, Body: `bytes of ${key}` }));
  return name;
}

function policy(...statements: Record<string, unknown>[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

const publicRead = (bucket: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  Sid: 'PublicRead',
  Effect: 'Allow',
  Principal: '*',
  Action: 's3:GetObject',
  Resource: `arn:aws:s3:::${bucket}/*`,
  ...extra,
});

async function status(url: string, init: RequestInit = {}): Promise<number> {
  const response = await fetch(url, init);
  await response.arrayBuffer();
  return response.status;
}

async function readWith(client: S3Client, bucket: string, key: string): Promise<string> {
  const { status: code, code: s3Code } = await s3Outcome(client.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
  return code === 200 ? 'ok' : `${String(code)} ${s3Code}`;
}

describe('PutBucketPolicy, GetBucketPolicy, DeleteBucketPolicy', () => {
  test('the document comes back exactly as written; deleted, it is NoSuchBucketPolicy', async () => {
    const bucket = await newBucket();
    assert.deepEqual(await s3Failure(s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))), { status: 404, code: 'NoSuchBucketPolicy' });
    // Its own spacing, key order and an Id: S3 answers the text, not a re-serialisation.
    const written = `{\n  "Id": "mine",\n  "Version": "2012-10-17",\n  "Statement": [ ${JSON.stringify(publicRead(bucket))} ]\n}`;
    const put = await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: written }));
    assert.equal(put.$metadata.httpStatusCode, 204);
    assert.equal((await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy, written);
    const deleted = await s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
    assert.equal(deleted.$metadata.httpStatusCode, 204);
    assert.deepEqual(await s3Failure(s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))), { status: 404, code: 'NoSuchBucketPolicy' });
    assert.equal((await s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }))).$metadata.httpStatusCode, 204, 'deleting none is 204 too');
    assert.equal(await status(`${server.url}/${bucket}/public/a.txt`), 403, 'the deleted policy lets nobody in');
  });

  test('Content-MD5 is checked when sent; a missing bucket is NoSuchBucket', async () => {
    const bucket = await newBucket();
    const keys = printedS3Keys(server);
    const body = policy(publicRead(bucket));
    const wrong = await signedFetch(server, keys, 'PUT', `/${bucket}`, { query: { policy: '' }, body, headers: { 'content-md5': createHash('md5').update('other').digest('base64') } });
    assert.equal(wrong.status, 400);
    assert.match(await wrong.text(), /<Code>BadDigest<\/Code>/);
    const right = await signedFetch(server, keys, 'PUT', `/${bucket}`, { query: { policy: '' }, body, headers: { 'content-md5': createHash('md5').update(body).digest('base64') } });
    assert.equal(right.status, 204);
    assert.deepEqual(await s3Failure(s3.send(new PutBucketPolicyCommand({ Bucket: `${bucket}-none`, Policy: body }))), { status: 404, code: 'NoSuchBucket' });
  });

  test('malformed policies are MalformedPolicy (400) and change nothing', async () => {
    const bucket = await newBucket();
    const kept = policy(publicRead(bucket));
    await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: kept }));
    const bad: [string, string][] = [
      ['not JSON', '{"Version": "2012-10-17", "Statement": ['],
      ['a bad Effect', policy(publicRead(bucket, { Effect: 'Permit' }))],
      ['an unknown action', policy(publicRead(bucket, { Action: 's3:GetObjekt' }))],
      ["another bucket's resource", policy(publicRead(bucket, { Resource: 'arn:aws:s3:::someone-else/*' }))],
      ['an unknown condition operator', policy(publicRead(bucket, { Condition: { DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } } }))],
      ['an unknown condition key', policy(publicRead(bucket, { Condition: { StringEquals: { 'aws:UserAgent': 'curl' } } }))],
      ['a principal that does not exist', policy(publicRead(bucket, { Principal: { AWS: 'arn:aws:iam::no-such-project:root' } }))],
    ];
    for (const [what, document] of bad) {
      const response = await signedFetch(server, printedS3Keys(server), 'PUT', `/${bucket}`, { query: { policy: '' }, body: document });
      const text = await response.text();
      assert.equal(response.status, 400, what);
      assert.match(text, /<Code>MalformedPolicy<\/Code>/, what);
      assert.doesNotMatch(text, /<Message><\/Message>/, `${what}: the message says why`);
    }
    assert.deepEqual(await s3Failure(s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy(publicRead(bucket, { Resource: 'arn:aws:s3:::other/*' })) }))), {
      status: 400,
      code: 'MalformedPolicy',
    });
    assert.equal((await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy, kept, 'the policy before is still the one');
  });

  test('only a Storage Admin sets, reads or deletes a policy; none locks them out of it', async () => {
    const bucket = await newBucket();
    assert.deepEqual(await s3Failure(editor.s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy(publicRead(bucket)) }))), { status: 403, code: 'AccessDenied' });
    assert.deepEqual(await s3Failure(editor.s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }))), { status: 403, code: 'AccessDenied' });
    assert.deepEqual(await s3Failure(alice.s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy(publicRead(bucket)) }))), { status: 404, code: 'NoSuchBucket' });
    const everything = `arn:aws:s3:::${bucket}`;
    await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy({ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [everything, `${everything}/*`] }) }));
    assert.equal(await readWith(s3, bucket, 'public/a.txt'), '403 AccessDenied', 'the Deny holds for the admin too');
    assert.match((await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy ?? '', /"Deny"/);
    await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy(publicRead(bucket)) }));
    assert.equal(await readWith(s3, bucket, 'public/a.txt'), 'ok');
  });
});

describe('what a policy does', () => {
  test('public read: anyone reads objects (S3 and Swift URLs alike), nobody lists or writes', async () => {
    const bucket = await newBucket();
    assert.equal(await status(`${server.url}/${bucket}/public/a.txt`), 403);
    await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy(publicRead(bucket)) }));
    const got = await fetch(`${server.url}/${bucket}/public/a.txt`);
    assert.equal(got.status, 200);
    assert.equal(await got.text(), 'bytes of public/a.txt');
    assert.equal(await status(`${server.url}/${bucket}/private/b.txt`, { method: 'HEAD' }), 200);
    assert.equal(await status(`${server.url}/${bucket}?list-type=2`), 403, 'listing needs s3:ListBucket');
    assert.equal(await status(`${server.url}/${bucket}/new.txt`, { method: 'PUT', body: 'x' }), 403);
    assert.equal(await status(`${root.storageUrl}/${bucket}/public/a.txt`), 200, "Swift's anonymous URL reads it too");
    assert.equal(await status(`${root.storageUrl}/${bucket}`), 401, "but Swift's listing needs more");
    assert.equal(await readWith(alice.s3, bucket, 'public/a.txt'), 'ok', 'another project is part of everyone');
    const listing = { Sid: 'List', Effect: 'Allow', Principal: { AWS: '*' }, Action: 's3:ListBucket', Resource: `arn:aws:s3:::${bucket}` };
    await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy(publicRead(bucket), listing) }));
    const listed = await fetch(`${server.url}/${bucket}?list-type=2`);
    assert.equal(listed.status, 200, 's3:ListBucket lets anyone list');
    assert.match(await listed.text(), /<Key>private\/b.txt<\/Key>/);
    assert.equal(await status(`${server.url}/${bucket}`, { method: 'HEAD' }), 200, 'and HEAD the bucket');
  });

  test("another project: an Allow for the project, a Deny for one of its users", async () => {
    const bucket = await newBucket();
    const resources = [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`];
    assert.equal(await readWith(alice.s3, bucket, 'public/a.txt'), '404 NoSuchBucket', 'another project does not see the bucket');
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: bucket,
        Policy: policy(
          { Sid: 'Project', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${alice.projectId}:root` }, Action: ['s3:GetObject', 's3:ListBucket'], Resource: resources },
          { Sid: 'NotBob', Effect: 'Deny', Principal: { AWS: [`arn:aws:iam::${bob.projectId}:user/${bob.userId}`] }, Action: 's3:*', Resource: resources },
        ),
      }),
    );
    assert.equal(await readWith(alice.s3, bucket, 'private/b.txt'), 'ok');
    const listed = await alice.s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    assert.equal(listed.KeyCount, 3);
    assert.equal((await s3Outcome(alice.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'x', Body: 'x' })))).status, 403, 'only what the Allow names');
    assert.equal((await readWith(bob.s3, bucket, 'private/b.txt')).split(' ')[0], '403');
    assert.equal((await s3Outcome(bob.s3.send(new ListObjectsV2Command({ Bucket: bucket })))).status, 403);
  });

  test('a Deny on a prefix stops the bucket\'s own editor there only', async () => {
    const bucket = await newBucket();
    await s3.send(
      new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy({ Effect: 'Deny', Principal: '*', Action: ['s3:PutObject', 's3:DeleteObject'], Resource: `arn:aws:s3:::${bucket}/locked/*` }) }),
    );
    assert.equal((await s3Outcome(editor.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'locked/new.txt', Body: 'x' })))).status, 403);
    assert.equal((await s3Outcome(editor.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'open/new.txt', Body: 'x' })))).status, 200);
    assert.equal(await readWith(editor.s3, bucket, 'locked/c.txt'), 'ok', 'reads are not denied');
    assert.equal(await status(`${root.storageUrl}/${bucket}/locked/c.txt`, { method: 'DELETE', headers: { 'X-Auth-Token': root.token } }), 403, 'through Swift too');
  });

  test('IpAddress and NotIpAddress on aws:SourceIp (the tests connect from 127.0.0.1)', async () => {
    const bucket = await newBucket();
    const put = (condition: Record<string, unknown>): Promise<unknown> => s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy(publicRead(bucket, { Condition: condition })) }));
    await put({ IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } });
    assert.equal(await status(`${server.url}/${bucket}/public/a.txt`), 200);
    await put({ IpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '2001:db8::/32'] } });
    assert.equal(await status(`${server.url}/${bucket}/public/a.txt`), 403);
    await put({ NotIpAddress: { 'aws:SourceIp': '127.0.0.1/32' } });
    assert.equal(await status(`${server.url}/${bucket}/public/a.txt`), 403);
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: bucket,
        Policy: policy({ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*`, Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.1' } } }),
      }),
    );
    assert.equal(await readWith(s3, bucket, 'public/a.txt'), '403 AccessDenied', 'a Deny from this address stops the owner too');
  });

  test('a Referer condition (StringLike)', async () => {
    const bucket = await newBucket();
    await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy(publicRead(bucket, { Condition: { StringLike: { 'aws:Referer': ['https://site.example/*'] } } })) }));
    assert.equal(await status(`${server.url}/${bucket}/public/a.txt`, { headers: { Referer: 'https://site.example/page' } }), 200);
    assert.equal(await status(`${server.url}/${bucket}/public/a.txt`, { headers: { Referer: 'https://elsewhere.example/' } }), 403);
    assert.equal(await status(`${server.url}/${bucket}/public/a.txt`), 403);
  });

  test('aws:SecureTransport: plain HTTP is not secure transport; TLS at a trusted proxy is', async () => {
    const bucket = await newBucket();
    const resources = [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`];
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: bucket,
        Policy: policy(publicRead(bucket), { Sid: 'TlsOnly', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: resources, Condition: { Bool: { 'aws:SecureTransport': false } } }),
      }),
    );
    assert.equal(await readWith(s3, bucket, 'public/a.txt'), '403 AccessDenied');
    assert.equal(await status(`${server.url}/${bucket}/public/a.txt`), 403);
    assert.equal(await status(`${server.url}/${bucket}/public/a.txt`, { headers: { 'X-Forwarded-Proto': 'https' } }), 200);
  });
});

describe('GetBucketPolicyStatus', () => {
  test('IsPublic: everyone allowed without a limit to addresses', async () => {
    const bucket = await newBucket();
    assert.deepEqual(await s3Failure(s3.send(new GetBucketPolicyStatusCommand({ Bucket: bucket }))), { status: 404, code: 'NoSuchBucketPolicy' });
    const isPublic = async (document: string): Promise<boolean | undefined> => {
      await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: document }));
      return (await s3.send(new GetBucketPolicyStatusCommand({ Bucket: bucket }))).PolicyStatus?.IsPublic;
    };
    assert.equal(await isPublic(policy(publicRead(bucket))), true);
    assert.equal(await isPublic(policy(publicRead(bucket, { Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } }))), false);
    assert.equal(await isPublic(policy(publicRead(bucket, { Principal: { AWS: alice.projectId } }))), false);
    assert.equal(await isPublic(policy(publicRead(bucket, { Effect: 'Deny' }))), false);
    assert.equal(await isPublic(policy(publicRead(bucket, { Condition: { StringLike: { 'aws:Referer': 'https://site.example/*' } } }))), true);
  });
});
