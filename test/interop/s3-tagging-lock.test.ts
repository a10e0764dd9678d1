/**
 * Object and bucket tagging and Object Lock through the newest AWS SDK (its defaults: checksums on) against a real
 * server: the `?tagging`, `?object-lock`, `?retention`, `?legal-hold` subresources, the `x-amz-tagging` and
 * `x-amz-object-lock-*` headers of PUT, copy and multipart, and what a lock refuses.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketTaggingCommand,
  DeleteObjectCommand,
  DeleteObjectTaggingCommand,
  GetBucketTaggingCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { printedS3Keys, s3Client, signedFetch, s3Outcome } from '../helpers/s3.ts';

const DAY = 24 * 3600 * 1000;
let server: RunningServer;
let s3: S3Client;

before(async () => {
  server = await startServer();
  s3 = s3Client(server);
});
after(() => server.destroy());

describe('S3 tagging with @aws-sdk/client-s3', () => {
  const Bucket = 'tagging-sdk';
  before(async () => {
    await s3.send(new CreateBucketCommand({ Bucket }));
  });

  test('object tags: x-amz-tagging on PUT, the count on GET, Get/Put/DeleteObjectTagging', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'a', Body: 'a', Tagging: 'color=blue&team=storage%20ops' }));
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'a' }));
    await got.Body?.transformToString();
    assert.equal(got.TagCount, 2);
    const { TagSet } = await s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'a' }));
    assert.deepEqual(TagSet, [{ Key: 'color', Value: 'blue' }, { Key: 'team', Value: 'storage ops' }]);

    await s3.send(new PutObjectTaggingCommand({ Bucket, Key: 'a', Tagging: { TagSet: [{ Key: 'only', Value: '' }] } }));
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'a' }))).TagSet, [{ Key: 'only', Value: '' }]);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'a' }))).$metadata.httpStatusCode, 200);

    await s3.send(new DeleteObjectTaggingCommand({ Bucket, Key: 'a' }));
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'a' }))).TagSet ?? [], []);
    const untagged = await s3.send(new GetObjectCommand({ Bucket, Key: 'a' }));
    await untagged.Body?.transformToString();
    assert.equal(untagged.TagCount, undefined);
  });

  test('bad tags are refused with S3 codes, and change nothing', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'b', Body: 'b', Tagging: 'k=v' }));
    const eleven = Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    assert.deepEqual(await s3Outcome(s3.send(new PutObjectTaggingCommand({ Bucket, Key: 'b', Tagging: { TagSet: eleven } }))), { status: 400, code: 'BadRequest' });
    assert.deepEqual(await s3Outcome(s3.send(new PutObjectTaggingCommand({ Bucket, Key: 'b', Tagging: { TagSet: [{ Key: 'aws:x', Value: 'v' }] } }))), { status: 400, code: 'InvalidTag' });
    assert.deepEqual(await s3Outcome(s3.send(new PutObjectCommand({ Bucket, Key: 'c', Body: 'c', Tagging: 'a=1&a=2' }))), { status: 400, code: 'InvalidTag' });
    assert.deepEqual(await s3Outcome(s3.send(new GetObjectCommand({ Bucket, Key: 'c' }))), { status: 404, code: 'NoSuchKey' });
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'b' }))).TagSet, [{ Key: 'k', Value: 'v' }]);
    assert.deepEqual(await s3Outcome(s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'none' }))), { status: 404, code: 'NoSuchKey' });

    const malformed = await signedFetch(server, printedS3Keys(server), 'PUT', `/${Bucket}/b`, { query: { tagging: '' }, body: '<Tagging><Nope/></Tagging>' });
    assert.equal(malformed.status, 400);
    assert.match(await malformed.text(), /<Code>MalformedXML<\/Code>/);
  });

  test('copies keep the source tags (COPY) or take new ones (REPLACE); multipart uploads take x-amz-tagging', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'src', Body: 'src', Tagging: 'from=source' }));
    await s3.send(new CopyObjectCommand({ Bucket, Key: 'kept', CopySource: `${Bucket}/src` }));
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'kept' }))).TagSet, [{ Key: 'from', Value: 'source' }]);
    await s3.send(new CopyObjectCommand({ Bucket, Key: 'replaced', CopySource: `${Bucket}/src`, TaggingDirective: 'REPLACE', Tagging: 'new=one' }));
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'replaced' }))).TagSet, [{ Key: 'new', Value: 'one' }]);

    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mpu', Tagging: 'kind=multipart' }));
    const part = await s3.send(new UploadPartCommand({ Bucket, Key: 'mpu', UploadId, PartNumber: 1, Body: 'only part' }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'mpu', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'mpu' }))).TagSet, [{ Key: 'kind', Value: 'multipart' }]);
  });

  test('tags of one version of a versioned object', async () => {
    const Key = 'versioned';
    await s3.send(new CreateBucketCommand({ Bucket: 'tagging-versions' }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'tagging-versions', VersioningConfiguration: { Status: 'Enabled' } }));
    const first = await s3.send(new PutObjectCommand({ Bucket: 'tagging-versions', Key, Body: '1', Tagging: 'v=1' }));
    await s3.send(new PutObjectCommand({ Bucket: 'tagging-versions', Key, Body: '2', Tagging: 'v=2' }));
    const put = await s3.send(new PutObjectTaggingCommand({ Bucket: 'tagging-versions', Key, VersionId: first.VersionId, Tagging: { TagSet: [{ Key: 'v', Value: 'one' }] } }));
    assert.equal(put.VersionId, first.VersionId);
    const old = await s3.send(new GetObjectTaggingCommand({ Bucket: 'tagging-versions', Key, VersionId: first.VersionId }));
    assert.equal(old.VersionId, first.VersionId);
    assert.deepEqual(old.TagSet, [{ Key: 'v', Value: 'one' }]);
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket: 'tagging-versions', Key }))).TagSet, [{ Key: 'v', Value: '2' }]);
  });

  test('bucket tags: NoSuchTagSet, then Put/Get/Delete', async () => {
    assert.deepEqual(await s3Outcome(s3.send(new GetBucketTaggingCommand({ Bucket }))), { status: 404, code: 'NoSuchTagSet' });
    await s3.send(new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet: [{ Key: 'cost-center', Value: '42' }, { Key: 'env', Value: 'test' }] } }));
    assert.deepEqual((await s3.send(new GetBucketTaggingCommand({ Bucket }))).TagSet, [{ Key: 'cost-center', Value: '42' }, { Key: 'env', Value: 'test' }]);
    await s3.send(new DeleteBucketTaggingCommand({ Bucket }));
    assert.deepEqual(await s3Outcome(s3.send(new GetBucketTaggingCommand({ Bucket }))), { status: 404, code: 'NoSuchTagSet' });
    assert.deepEqual(await s3Outcome(s3.send(new GetBucketTaggingCommand({ Bucket: 'no-such-tag-bucket' }))), { status: 404, code: 'NoSuchBucket' });
  });
});

describe('S3 Object Lock with @aws-sdk/client-s3', () => {
  const Bucket = 'lock-sdk';
  before(async () => {
    await s3.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true }));
  });

  test('a bucket made with Object Lock; its default retention goes on new versions', async () => {
    const initial = await s3.send(new GetObjectLockConfigurationCommand({ Bucket }));
    assert.deepEqual(initial.ObjectLockConfiguration, { ObjectLockEnabled: 'Enabled' });
    await s3.send(new PutObjectLockConfigurationCommand({ Bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } } }));
    const config = await s3.send(new GetObjectLockConfigurationCommand({ Bucket }));
    assert.deepEqual(config.ObjectLockConfiguration, { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } });

    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'defaulted', Body: 'x' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'defaulted' }));
    assert.equal(head.ObjectLockMode, 'GOVERNANCE');
    assert.ok(head.ObjectLockRetainUntilDate && Math.abs(head.ObjectLockRetainUntilDate.getTime() - (Date.now() + DAY)) < 60_000);
    // Governance yields only to the bypass.
    assert.deepEqual(await s3Outcome(s3.send(new DeleteObjectCommand({ Bucket, Key: 'defaulted', VersionId: put.VersionId }))), { status: 403, code: 'AccessDenied' });
    assert.deepEqual(await s3Outcome(s3.send(new DeleteObjectCommand({ Bucket, Key: 'defaulted', VersionId: put.VersionId, BypassGovernanceRetention: true }))), { status: 200, code: 'ok' });

    await s3.send(new PutObjectLockConfigurationCommand({ Bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } }));
    assert.deepEqual((await s3.send(new GetObjectLockConfigurationCommand({ Bucket }))).ObjectLockConfiguration, { ObjectLockEnabled: 'Enabled' });
    assert.deepEqual(
      await s3Outcome(s3.send(new PutObjectLockConfigurationCommand({ Bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 0 } } } }))),
      { status: 400, code: 'InvalidRetentionPeriod' },
    );
    // Versioning cannot be suspended under Object Lock.
    assert.deepEqual(await s3Outcome(s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Suspended' } }))), { status: 409, code: 'InvalidBucketState' });
  });

  test('compliance retention from PUT headers: no delete, no shortening, even with the bypass', async () => {
    const until = new Date(Date.now() + DAY);
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'compliant', Body: 'kept', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until }));
    const got = await s3.send(new GetObjectRetentionCommand({ Bucket, Key: 'compliant' }));
    assert.equal(got.Retention?.Mode, 'COMPLIANCE');
    assert.ok(Math.abs((got.Retention?.RetainUntilDate?.getTime() ?? 0) - until.getTime()) < 1000);
    const VersionId = put.VersionId;
    assert.deepEqual(await s3Outcome(s3.send(new DeleteObjectCommand({ Bucket, Key: 'compliant', VersionId, BypassGovernanceRetention: true }))), { status: 403, code: 'AccessDenied' });
    const shorter = new Date(Date.now() + DAY / 2);
    assert.deepEqual(
      await s3Outcome(s3.send(new PutObjectRetentionCommand({ Bucket, Key: 'compliant', VersionId, BypassGovernanceRetention: true, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: shorter } }))),
      { status: 403, code: 'AccessDenied' },
    );
    const longer = new Date(Date.now() + 2 * DAY);
    await s3.send(new PutObjectRetentionCommand({ Bucket, Key: 'compliant', VersionId, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: longer } }));
    assert.ok(Math.abs(((await s3.send(new HeadObjectCommand({ Bucket, Key: 'compliant', VersionId }))).ObjectLockRetainUntilDate?.getTime() ?? 0) - longer.getTime()) < 1000);
    // Deleting the key only hides it behind a delete marker; the version stays readable by its id.
    const marker = await s3.send(new DeleteObjectCommand({ Bucket, Key: 'compliant' }));
    assert.equal(marker.DeleteMarker, true);
    const old = await s3.send(new GetObjectCommand({ Bucket, Key: 'compliant', VersionId }));
    assert.equal(await old.Body?.transformToString(), 'kept');
    assert.equal(old.ObjectLockMode, 'COMPLIANCE');
  });

  test('governance retention set by PutObjectRetention; shortened or removed only with the bypass', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'governed', Body: 'g' }));
    const VersionId = put.VersionId;
    assert.deepEqual(await s3Outcome(s3.send(new GetObjectRetentionCommand({ Bucket, Key: 'governed', VersionId }))), { status: 404, code: 'NoSuchObjectLockConfiguration' });
    await s3.send(new PutObjectRetentionCommand({ Bucket, Key: 'governed', VersionId, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.now() + DAY) } }));
    const shorter = { Mode: 'GOVERNANCE' as const, RetainUntilDate: new Date(Date.now() + 3600_000) };
    assert.deepEqual(await s3Outcome(s3.send(new PutObjectRetentionCommand({ Bucket, Key: 'governed', VersionId, Retention: shorter }))), { status: 403, code: 'AccessDenied' });
    await s3.send(new PutObjectRetentionCommand({ Bucket, Key: 'governed', VersionId, Retention: shorter, BypassGovernanceRetention: true }));
    assert.deepEqual(
      await s3Outcome(s3.send(new PutObjectRetentionCommand({ Bucket, Key: 'governed', VersionId, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.now() - DAY) } }))),
      { status: 400, code: 'InvalidArgument' },
    );
    assert.deepEqual(await s3Outcome(s3.send(new DeleteObjectCommand({ Bucket, Key: 'governed', VersionId }))), { status: 403, code: 'AccessDenied' });
    assert.deepEqual(await s3Outcome(s3.send(new DeleteObjectCommand({ Bucket, Key: 'governed', VersionId, BypassGovernanceRetention: true }))), { status: 200, code: 'ok' });
  });

  test('legal hold: on blocks the delete, off lets it through; multipart uploads take the lock headers', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'held', Body: 'h', ObjectLockLegalHoldStatus: 'ON' }));
    const VersionId = put.VersionId;
    assert.equal((await s3.send(new GetObjectLegalHoldCommand({ Bucket, Key: 'held', VersionId }))).LegalHold?.Status, 'ON');
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'held', VersionId }))).ObjectLockLegalHoldStatus, 'ON');
    assert.deepEqual(await s3Outcome(s3.send(new DeleteObjectCommand({ Bucket, Key: 'held', VersionId, BypassGovernanceRetention: true }))), { status: 403, code: 'AccessDenied' });
    await s3.send(new PutObjectLegalHoldCommand({ Bucket, Key: 'held', VersionId, LegalHold: { Status: 'OFF' } }));
    assert.equal((await s3.send(new GetObjectLegalHoldCommand({ Bucket, Key: 'held', VersionId }))).LegalHold?.Status, 'OFF');
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'held', VersionId }));

    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mpu-held', ObjectLockLegalHoldStatus: 'ON', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: new Date(Date.now() + DAY) }));
    const part = await s3.send(new UploadPartCommand({ Bucket, Key: 'mpu-held', UploadId, PartNumber: 1, Body: 'part' }));
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'mpu-held', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'mpu-held', VersionId: done.VersionId }));
    assert.equal(head.ObjectLockLegalHoldStatus, 'ON');
    assert.equal(head.ObjectLockMode, 'GOVERNANCE');
  });

  test('a copy gets its own lock, never its source\'s', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'locked-src', Body: 's', ObjectLockLegalHoldStatus: 'ON' }));
    const copy = await s3.send(new CopyObjectCommand({ Bucket, Key: 'copy', CopySource: `${Bucket}/locked-src` }));
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'copy', VersionId: copy.VersionId }));
    assert.equal(head.ObjectLockLegalHoldStatus, undefined);
    const locked = await s3.send(new CopyObjectCommand({ Bucket, Key: 'copy', CopySource: `${Bucket}/locked-src`, ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: new Date(Date.now() + DAY) }));
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'copy', VersionId: locked.VersionId }))).ObjectLockMode, 'GOVERNANCE');
  });

  test('without Object Lock on the bucket: the S3 errors', async () => {
    const plain = 'lock-sdk-plain';
    await s3.send(new CreateBucketCommand({ Bucket: plain }));
    await s3.send(new PutObjectCommand({ Bucket: plain, Key: 'k', Body: 'k' }));
    assert.deepEqual(await s3Outcome(s3.send(new GetObjectLockConfigurationCommand({ Bucket: plain }))), { status: 404, code: 'ObjectLockConfigurationNotFoundError' });
    const retention = { Mode: 'GOVERNANCE' as const, RetainUntilDate: new Date(Date.now() + DAY) };
    assert.deepEqual(await s3Outcome(s3.send(new PutObjectRetentionCommand({ Bucket: plain, Key: 'k', Retention: retention }))), { status: 400, code: 'InvalidRequest' });
    assert.deepEqual(await s3Outcome(s3.send(new PutObjectCommand({ Bucket: plain, Key: 'k2', Body: 'k', ObjectLockLegalHoldStatus: 'ON' }))), { status: 400, code: 'InvalidRequest' });
    // Object Lock needs versioning first; then it may be turned on.
    const config = { ObjectLockEnabled: 'Enabled' as const };
    assert.deepEqual(await s3Outcome(s3.send(new PutObjectLockConfigurationCommand({ Bucket: plain, ObjectLockConfiguration: config }))), { status: 409, code: 'InvalidBucketState' });
    await s3.send(new PutBucketVersioningCommand({ Bucket: plain, VersioningConfiguration: { Status: 'Enabled' } }));
    await s3.send(new PutObjectLockConfigurationCommand({ Bucket: plain, ObjectLockConfiguration: config }));
    assert.deepEqual((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: plain }))).ObjectLockConfiguration, config);
  });

  test('a mode without a date, and bad documents, are refused', async () => {
    const keys = printedS3Keys(server);
    const half = await signedFetch(server, keys, 'PUT', `/${Bucket}/half`, { body: 'x', headers: { 'x-amz-object-lock-mode': 'GOVERNANCE' } });
    assert.equal(half.status, 400);
    assert.match(await half.text(), /<Code>InvalidArgument<\/Code>/);
    const badMode = await signedFetch(server, keys, 'PUT', `/${Bucket}`, { query: { 'object-lock': '' }, body: '<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>governance</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>' });
    assert.equal(badMode.status, 400);
    assert.match(await badMode.text(), /<Code>MalformedXML<\/Code>/);
    const both = await signedFetch(server, keys, 'PUT', `/${Bucket}`, { query: { 'object-lock': '' }, body: '<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years></DefaultRetention></Rule></ObjectLockConfiguration>' });
    assert.equal(both.status, 400);
    assert.match(await both.text(), /<Code>MalformedXML<\/Code>/);
    const post = await signedFetch(server, keys, 'POST', `/${Bucket}/k`, { query: { retention: '' } });
    assert.equal(post.status, 405);
    const website = await signedFetch(server, keys, 'GET', `/${Bucket}`, { query: { website: '' } });
    assert.equal(website.status, 501, 'what is not built stays NotImplemented');
  });
});
