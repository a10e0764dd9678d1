/**
 * Bucket configuration through the newest AWS SDK, shared with the bucket API (`/v1_ext`): lifecycle rules, CORS
 * (and the CORS answers S3's own requests then get: preflights and actual requests), default encryption (the
 * bucket's use_encryption).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketCorsCommand,
  DeleteBucketEncryptionCommand,
  DeleteBucketLifecycleCommand,
  GetBucketCorsCommand,
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetObjectCommand,
  PutBucketCorsCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { printedS3Keys, s3Client, signedFetch, s3Outcome } from '../helpers/s3.ts';

let server: RunningServer;
let s3: S3Client;
let session: Session;
const Bucket = 'config-sdk';

before(async () => {
  server = await startServer();
  s3 = s3Client(server);
  session = await login(server.url);
  await s3.send(new CreateBucketCommand({ Bucket }));
});
after(() => server.destroy());

async function bucketApi(path: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${server.url}/v1_ext/bucket/${Bucket}${path}`, { headers: { 'X-Auth-Token': session.token } });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe('S3 bucket lifecycle, shared with /v1_ext', () => {
  test('Put/Get/Delete, the rules the bucket API shows, S3 error codes', async () => {
    assert.deepEqual(await s3Outcome(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))), { status: 404, code: 'NoSuchLifecycleConfiguration' });
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket,
        LifecycleConfiguration: {
          Rules: [
            { ID: 'tmp', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 7 } },
            { ID: 'tagged', Status: 'Disabled', Filter: { And: { Prefix: 'logs/', Tags: [{ Key: 'keep', Value: 'no' }] } }, NoncurrentVersionExpiration: { NoncurrentDays: 3, NewerNoncurrentVersions: 2 } },
            { ID: 'uploads', Status: 'Enabled', Filter: {}, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } },
            { ID: 'dated', Status: 'Enabled', Filter: { Tag: { Key: 'k', Value: 'v' } }, Expiration: { Date: new Date('2030-01-01T00:00:00Z') } },
          ],
        },
      }),
    );
    const { Rules } = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }));
    assert.deepEqual(Rules, [
      { ID: 'tmp', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 7 } },
      { ID: 'tagged', Status: 'Disabled', Filter: { And: { Prefix: 'logs/', Tags: [{ Key: 'keep', Value: 'no' }] } }, NoncurrentVersionExpiration: { NoncurrentDays: 3, NewerNoncurrentVersions: 2 } },
      { ID: 'uploads', Status: 'Enabled', Filter: { Prefix: '' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } },
      { ID: 'dated', Status: 'Enabled', Filter: { Tag: { Key: 'k', Value: 'v' } }, Expiration: { Date: new Date('2030-01-01T00:00:00Z') } },
    ]);
    const shared = await bucketApi('/lifecycle');
    assert.equal(shared.status, 200);
    assert.match(JSON.stringify(shared.json), /"tmp\/"/);

    const transition = { ID: 't', Status: 'Enabled' as const, Filter: { Prefix: '' }, Transitions: [{ Days: 30, StorageClass: 'GLACIER' as const }] };
    assert.deepEqual(await s3Outcome(s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules: [transition] } }))), { status: 501, code: 'NotImplemented' });
    const zeroDays = { ID: 'z', Status: 'Enabled' as const, Filter: { Prefix: '' }, Expiration: { Days: 0 } };
    assert.deepEqual(await s3Outcome(s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules: [zeroDays] } }))), { status: 400, code: 'InvalidArgument' });
    assert.equal((await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))).Rules?.length, 4, 'a refused configuration changes nothing');

    await s3.send(new DeleteBucketLifecycleCommand({ Bucket }));
    assert.deepEqual(await s3Outcome(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))), { status: 404, code: 'NoSuchLifecycleConfiguration' });
    assert.equal((await bucketApi('/lifecycle')).status, 404);
  });

  test('size filters and ExpiredObjectDeleteMarker round-trip and show in the bucket API; S3 refuses mixing the marker with Days', async () => {
    const Rules = [
      { ID: 'big', Status: 'Enabled' as const, Filter: { ObjectSizeGreaterThan: 1048576 }, Expiration: { Days: 30 } },
      { ID: 'mid', Status: 'Enabled' as const, Filter: { And: { Prefix: 'media/', ObjectSizeGreaterThan: 1024, ObjectSizeLessThan: 4096 } }, NoncurrentVersionExpiration: { NoncurrentDays: 5 } },
      { ID: 'markers', Status: 'Enabled' as const, Filter: { Prefix: 'logs/' }, Expiration: { ExpiredObjectDeleteMarker: true } },
    ];
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules } }));
    assert.deepEqual((await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))).Rules, Rules);
    const shared = await bucketApi('/lifecycle');
    assert.deepEqual((shared.json.rules as Record<string, unknown>[]).map((rule) => [rule.filter, rule.expiration]), [
      [{ prefix: '', object_size_greater_than: 1048576 }, { days: 30 }],
      [{ prefix: 'media/', object_size_greater_than: 1024, object_size_less_than: 4096 }, undefined],
      [{ prefix: 'logs/' }, { expired_object_delete_marker: true }],
    ]);
    const mixed = { ID: 'm', Status: 'Enabled' as const, Filter: { Prefix: '' }, Expiration: { Days: 1, ExpiredObjectDeleteMarker: true } };
    assert.deepEqual(await s3Outcome(s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules: [mixed] } }))), { status: 400, code: 'MalformedXML' });
    const empty = { ID: 'e', Status: 'Enabled' as const, Filter: { And: { ObjectSizeGreaterThan: 10, ObjectSizeLessThan: 5 } }, Expiration: { Days: 1 } };
    assert.deepEqual(await s3Outcome(s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules: [empty] } }))), { status: 400, code: 'InvalidArgument' });
    assert.equal((await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))).Rules?.length, 3, 'a refused configuration changes nothing');
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket }));
  });

  test('a lifecycle document needs Content-MD5 or a flexible checksum, and a right one', async () => {
    const keys = printedS3Keys(server);
    const body = '<LifecycleConfiguration><Rule><ID>a</ID><Filter><Prefix>x/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>';
    const bare = await signedFetch(server, keys, 'PUT', `/${Bucket}`, { query: { lifecycle: '' }, body });
    assert.equal(bare.status, 400);
    assert.match(await bare.text(), /<Code>InvalidRequest<\/Code>/);
    const wrong = await signedFetch(server, keys, 'PUT', `/${Bucket}`, { query: { lifecycle: '' }, body, headers: { 'x-amz-checksum-crc32': 'AAAAAA==' } });
    assert.equal(wrong.status, 400);
    assert.match(await wrong.text(), /<Code>BadDigest<\/Code>/);
    const md5 = (await import('node:crypto')).createHash('md5').update(body).digest('base64');
    const good = await signedFetch(server, keys, 'PUT', `/${Bucket}`, { query: { lifecycle: '' }, body, headers: { 'Content-MD5': md5 } });
    assert.equal(good.status, 200, await good.text());
    assert.deepEqual((await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))).Rules?.map((r) => r.ID), ['a']);
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket }));
  });
});

describe('S3 bucket CORS, shared with /v1_ext and applied to S3 requests', () => {
  test('Put/Get/Delete; preflights and actual requests answered by the rules', async () => {
    assert.deepEqual(await s3Outcome(s3.send(new GetBucketCorsCommand({ Bucket }))), { status: 404, code: 'NoSuchCORSConfiguration' });
    const rule = { AllowedOrigins: ['https://app.example'], AllowedMethods: ['GET', 'PUT'], AllowedHeaders: ['x-amz-*', 'content-type'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 600 };
    await s3.send(new PutBucketCorsCommand({ Bucket, CORSConfiguration: { CORSRules: [rule] } }));
    assert.deepEqual((await s3.send(new GetBucketCorsCommand({ Bucket }))).CORSRules, [rule]);
    assert.equal((await bucketApi('/cors')).status, 200);

    await s3.send(new PutObjectCommand({ Bucket, Key: 'page.txt', Body: 'hi' }));
    const preflight = await fetch(`${server.url}/${Bucket}/page.txt`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'x-amz-date, content-type' },
    });
    assert.equal(preflight.status, 200);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /PUT/);
    assert.equal(preflight.headers.get('access-control-max-age'), '600');
    const refused = await fetch(`${server.url}/${Bucket}/page.txt`, { method: 'OPTIONS', headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'GET' } });
    assert.equal(refused.status, 403);
    await refused.arrayBuffer();

    const raw = await signedFetch(server, printedS3Keys(server), 'GET', `/${Bucket}/page.txt`, { headers: { origin: 'https://app.example' } });
    assert.equal(raw.status, 200);
    assert.equal(raw.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.equal(raw.headers.get('access-control-expose-headers'), 'ETag');
    await raw.arrayBuffer();

    assert.deepEqual(
      await s3Outcome(s3.send(new PutBucketCorsCommand({ Bucket, CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['*'], AllowedMethods: ['PATCH'] }] } }))),
      { status: 400, code: 'InvalidArgument' },
    );
    await s3.send(new DeleteBucketCorsCommand({ Bucket }));
    assert.deepEqual(await s3Outcome(s3.send(new GetBucketCorsCommand({ Bucket }))), { status: 404, code: 'NoSuchCORSConfiguration' });
    const after = await fetch(`${server.url}/${Bucket}/page.txt`, { method: 'OPTIONS', headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET' } });
    assert.equal(after.status, 403);
    await after.arrayBuffer();
  });
});

describe('S3 default encryption: the bucket API\'s use_encryption', () => {
  test('SSE-S3 on and off, shown by both APIs; other kinds refused', async () => {
    assert.deepEqual(await s3Outcome(s3.send(new GetBucketEncryptionCommand({ Bucket }))), { status: 404, code: 'ServerSideEncryptionConfigurationNotFoundError' });
    assert.equal((await bucketApi('')).json.use_encryption, false);
    await s3.send(new PutBucketEncryptionCommand({ Bucket, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } }));
    const got = await s3.send(new GetBucketEncryptionCommand({ Bucket }));
    assert.equal(got.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, 'AES256');
    assert.equal((await bucketApi('')).json.use_encryption, true);

    await s3.send(new PutObjectCommand({ Bucket, Key: 'sealed', Body: 'sealed bytes' }));
    const kms = { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' as const, KMSMasterKeyID: 'k' } }] };
    assert.deepEqual(await s3Outcome(s3.send(new PutBucketEncryptionCommand({ Bucket, ServerSideEncryptionConfiguration: kms }))), { status: 400, code: 'InvalidArgument' });

    await s3.send(new DeleteBucketEncryptionCommand({ Bucket }));
    assert.deepEqual(await s3Outcome(s3.send(new GetBucketEncryptionCommand({ Bucket }))), { status: 404, code: 'ServerSideEncryptionConfigurationNotFoundError' });
    assert.equal((await bucketApi('')).json.use_encryption, false);
    // What was written encrypted reads back after the setting is off.
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket, Key: 'sealed' }))).Body?.transformToString(), 'sealed bytes');
  });
});
