/**
 * Browser POST uploads over real HTTP: forms made by AWS's own `createPresignedPost` (SigV4) and by hand (SigV2),
 * their policies' conditions, expiry and signatures enforced with nothing stored on refusal, and the answers
 * (`success_action_status`, `success_action_redirect`); an upload reads back through S3 and Swift.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutBucketAclCommand,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { printedS3Keys, s3Client, type S3KeyPair } from '../helpers/s3.ts';

const BUCKET = 'post-uploads';

let server: RunningServer;
let s3: S3Client;
let keys: S3KeyPair;
let session: Session;

before(async () => {
  server = await startServer();
  keys = printedS3Keys(server);
  s3 = s3Client(server, keys);
  session = await login(server.url);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
after(() => server.destroy());

/** POSTs a form: the fields in order, then the file. */
async function postForm(fields: Record<string, string>, file: string | Buffer, filename = 'upload.txt', bucket = BUCKET): Promise<Response> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob([file]), filename);
  return fetch(`${server.url}/${bucket}`, { method: 'POST', body: form, redirect: 'manual' });
}

async function errorCode(response: Response): Promise<string> {
  const text = await response.text();
  return /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? `(no code: ${text})`;
}

async function exists(key: string, bucket = BUCKET): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404) return false;
    throw err;
  }
}

/** A SigV2-signed form of a hand-written policy. */
function sigV2Form(policy: object, fields: Record<string, string>): Record<string, string> {
  const encoded = Buffer.from(JSON.stringify(policy)).toString('base64');
  const signature = createHmac('sha1', keys.secretAccessKey).update(encoded).digest('base64');
  return { ...fields, AWSAccessKeyId: keys.accessKeyId, policy: encoded, signature };
}

function inAnHour(): string {
  return new Date(Date.now() + 3600_000).toISOString();
}

describe('browser POST uploads', () => {
  test('a SigV4 form by createPresignedPost: ${filename}, conditions, 201 with the XML answer; readable through S3 and Swift', async () => {
    const { fields } = await createPresignedPost(s3, {
      Bucket: BUCKET,
      Key: 'user/${filename}',
      Conditions: [['starts-with', '$key', 'user/'], ['content-length-range', 1, 1024], ['eq', '$success_action_status', '201'], ['starts-with', '$Content-Type', 'text/']],
      Fields: { success_action_status: '201', 'Content-Type': 'text/plain' },
      Expires: 600,
    });
    const response = await postForm(fields, 'posted bytes', 'hello.txt');
    assert.equal(response.status, 201, await response.clone().text());
    const body = await response.text();
    assert.match(body, /<Key>user\/hello\.txt<\/Key>/);
    assert.match(body, new RegExp(`<Bucket>${BUCKET}</Bucket>`));
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'user/hello.txt' }));
    assert.equal(await got.Body?.transformToString(), 'posted bytes');
    assert.equal(got.ContentType, 'text/plain');
    assert.equal(got.ETag, response.headers.get('etag'));
    const swift = await fetch(`${session.storageUrl}/${BUCKET}/user/hello.txt`, { headers: { 'X-Auth-Token': session.token } });
    assert.equal(await swift.text(), 'posted bytes');
  });

  test('conditions that fail, fields the policy does not name, a file over the range: refused, nothing stored', async () => {
    const { fields } = await createPresignedPost(s3, { Bucket: BUCKET, Key: 'fixed-key', Conditions: [['content-length-range', 1, 10]], Expires: 600 });
    const wrongKey = await postForm({ ...fields, key: 'other-key' }, 'x');
    assert.equal(wrongKey.status, 403);
    assert.equal(await errorCode(wrongKey), 'AccessDenied');
    const extra = await postForm({ ...fields, 'x-amz-meta-sneaky': 'yes' }, 'x');
    assert.equal(extra.status, 403);
    assert.equal(await errorCode(extra), 'AccessDenied');
    const large = await postForm(fields, 'more than ten bytes');
    assert.equal(large.status, 400);
    assert.equal(await errorCode(large), 'EntityTooLarge');
    const empty = await postForm(fields, '');
    assert.equal(empty.status, 400);
    assert.equal(await errorCode(empty), 'EntityTooSmall');
    assert.equal(await exists('fixed-key'), false);
    assert.equal(await exists('other-key'), false);
    const fine = await postForm(fields, 'ten bytes!');
    assert.equal(fine.status, 204);
    assert.equal(await exists('fixed-key'), true);
  });

  test('a bad signature, an unknown key and an expired policy are refused', async () => {
    const { fields } = await createPresignedPost(s3, { Bucket: BUCKET, Key: 'signed', Expires: 600 });
    const forged = await postForm({ ...fields, 'X-Amz-Signature': '0'.repeat(64) }, 'x');
    assert.equal(forged.status, 403);
    assert.equal(await errorCode(forged), 'SignatureDoesNotMatch');
    const expired = await postForm(sigV2Form({ expiration: new Date(Date.now() - 60_000).toISOString(), conditions: [{ bucket: BUCKET }, { key: 'late' }] }, { key: 'late' }), 'x');
    assert.equal(expired.status, 403);
    assert.equal(await errorCode(expired), 'AccessDenied');
    const unknown = await postForm({ ...sigV2Form({ expiration: inAnHour(), conditions: [{ key: 'k' }] }, { key: 'k' }), AWSAccessKeyId: 'NOSUCHKEY' }, 'x');
    assert.equal(unknown.status, 403);
    assert.equal(await errorCode(unknown), 'InvalidAccessKeyId');
    assert.equal(await exists('signed'), false);
    assert.equal(await exists('late'), false);
    // A setting this server has nowhere to keep (no website endpoints) is refused, not dropped.
    const redirected = await postForm(sigV2Form({ expiration: inAnHour(), conditions: [{ key: 'redirected' }, ['starts-with', '$x-amz-website-redirect-location', '']] }, { key: 'redirected', 'x-amz-website-redirect-location': '/elsewhere' }), 'x');
    assert.equal(redirected.status, 501);
    assert.equal(await errorCode(redirected), 'NotImplemented');
    assert.equal(await exists('redirected'), false);
  });

  test('a form carries tags, a flexible checksum (a wrong one stores nothing), an SSE-C key and Object Lock settings', async () => {
    const body = 'form fields become settings';
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    const customer = randomBytes(32);
    const sseC = {
      'x-amz-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key': customer.toString('base64'),
      'x-amz-server-side-encryption-customer-key-MD5': createHash('md5').update(customer).digest('base64'),
    };
    const tagging = '<Tagging><TagSet><Tag><Key>team</Key><Value>forms</Value></Tag></TagSet></Tagging>';
    const { fields } = await createPresignedPost(s3, { Bucket: BUCKET, Key: 'settings', Fields: { tagging, 'x-amz-checksum-crc32': crc.toString('base64'), ...sseC }, Expires: 600 });
    const posted = await postForm(fields, body);
    assert.equal(posted.status, 204, await posted.clone().text());
    assert.equal(posted.headers.get('x-amz-server-side-encryption-customer-algorithm'), 'AES256');
    assert.equal(posted.headers.get('x-amz-checksum-crc32'), crc.toString('base64'));
    const key = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: customer.toString('base64'), SSECustomerKeyMD5: sseC['x-amz-server-side-encryption-customer-key-MD5'] };
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'settings', ChecksumMode: 'ENABLED', ...key }));
    assert.equal(await got.Body?.transformToString(), body);
    assert.equal(got.ChecksumCRC32, crc.toString('base64'));
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 'settings' }))).TagSet, [{ Key: 'team', Value: 'forms' }]);
    const withoutKey = await fetch(`${session.storageUrl}/${BUCKET}/settings`, { headers: { 'X-Auth-Token': session.token } });
    assert.equal(withoutKey.status, 400, 'an SSE-C object needs its key');

    const wrong = await createPresignedPost(s3, { Bucket: BUCKET, Key: 'bad-checksum', Fields: { 'x-amz-checksum-crc32': 'AAAAAA==' }, Expires: 600 });
    const refused = await postForm(wrong.fields, body);
    assert.equal(refused.status, 400);
    assert.equal(await errorCode(refused), 'BadDigest');
    assert.equal(await exists('bad-checksum'), false);

    const locked = 'post-uploads-locked';
    await s3.send(new CreateBucketCommand({ Bucket: locked, ObjectLockEnabledForBucket: true }));
    const until = new Date(Date.now() + 3600_000).toISOString();
    const lockForm = await createPresignedPost(s3, { Bucket: locked, Key: 'kept', Fields: { 'x-amz-object-lock-mode': 'GOVERNANCE', 'x-amz-object-lock-retain-until-date': until, 'x-amz-object-lock-legal-hold': 'ON' }, Expires: 600 });
    assert.equal((await postForm(lockForm.fields, body, 'kept.txt', locked)).status, 204);
    const retention = await s3.send(new GetObjectRetentionCommand({ Bucket: locked, Key: 'kept' }));
    assert.equal(retention.Retention?.Mode, 'GOVERNANCE');
    assert.equal(retention.Retention?.RetainUntilDate?.getTime(), Date.parse(until));
    assert.equal((await s3.send(new GetObjectLegalHoldCommand({ Bucket: locked, Key: 'kept' }))).LegalHold?.Status, 'ON');
  });

  test('a SigV2 form with success_action_redirect answers 303 with bucket, key and ETag', async () => {
    const redirect = 'https://app.example.com/done?from=form';
    const form = sigV2Form(
      { expiration: inAnHour(), conditions: [{ bucket: BUCKET }, ['starts-with', '$key', 'v2/'], { success_action_redirect: redirect }, ['starts-with', '$x-amz-meta-origin', '']] },
      { key: 'v2/${filename}', success_action_redirect: redirect, 'x-amz-meta-origin': 'browser' },
    );
    const response = await postForm(form, 'sigv2 bytes', 'a b.txt');
    assert.equal(response.status, 303);
    const location = new URL(response.headers.get('location') ?? '');
    assert.equal(location.origin + location.pathname, 'https://app.example.com/done');
    assert.equal(location.searchParams.get('from'), 'form');
    assert.equal(location.searchParams.get('bucket'), BUCKET);
    assert.equal(location.searchParams.get('key'), 'v2/a b.txt');
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'v2/a b.txt' }));
    assert.equal(location.searchParams.get('etag'), head.ETag);
    assert.deepEqual(head.Metadata, { origin: 'browser' });
  });

  test('a form without a policy writes as anonymous: only where anyone may write', async () => {
    const refused = await postForm({ key: 'anonymous' }, 'x');
    assert.equal(refused.status, 403);
    assert.equal(await errorCode(refused), 'AccessDenied');
    const open = 'post-uploads-open';
    await s3.send(new CreateBucketCommand({ Bucket: open }));
    await s3.send(new PutBucketAclCommand({ Bucket: open, ACL: 'public-read-write' }));
    const stored = await postForm({ key: 'anonymous', success_action_status: '200' }, 'anyone', 'f', open);
    assert.equal(stored.status, 200);
    assert.equal(await exists('anonymous', open), true);
  });

  test('a POST that is not a form, and a form without key or file, are refused', async () => {
    const plain = await fetch(`${server.url}/${BUCKET}`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' });
    assert.equal(plain.status, 412);
    assert.equal(await errorCode(plain), 'PreconditionFailed');
    const noKey = await postForm({}, 'x');
    assert.equal(noKey.status, 400);
    assert.equal(await errorCode(noKey), 'InvalidArgument');
    const form = new FormData();
    form.append('key', 'no-file');
    const noFile = await fetch(`${server.url}/${BUCKET}`, { method: 'POST', body: form });
    assert.equal(noFile.status, 400);
    assert.equal(await errorCode(noFile), 'InvalidArgument');
  });
});
