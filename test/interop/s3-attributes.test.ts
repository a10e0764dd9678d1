/** GetObjectAttributes through the newest AWS SDK: ETag, checksum, parts of a multipart object, storage class, size. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectAttributesCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { printedS3Keys, s3Client, signedFetch } from '../helpers/s3.ts';

let server: RunningServer;
let s3: S3Client;
const Bucket = 'attributes-sdk';

before(async () => {
  server = await startServer();
  s3 = s3Client(server);
  await s3.send(new CreateBucketCommand({ Bucket }));
});
after(() => server.destroy());

describe('S3 GetObjectAttributes with @aws-sdk/client-s3', () => {
  test('a single-part object: ETag, its stored checksum, class and size', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'one', Body: 'attribute bytes', ChecksumAlgorithm: 'SHA256' }));
    const got = await s3.send(new GetObjectAttributesCommand({ Bucket, Key: 'one', ObjectAttributes: ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] }));
    assert.equal(`"${got.ETag ?? ''}"`, put.ETag);
    assert.equal(got.Checksum?.ChecksumSHA256, put.ChecksumSHA256);
    assert.equal(got.ObjectParts, undefined);
    assert.equal(got.StorageClass, 'STANDARD');
    assert.equal(got.ObjectSize, 'attribute bytes'.length);
    assert.ok(got.LastModified instanceof Date);
    const sizeOnly = await s3.send(new GetObjectAttributesCommand({ Bucket, Key: 'one', ObjectAttributes: ['ObjectSize'] }));
    assert.equal(sizeOnly.ETag, undefined);
    assert.equal(sizeOnly.ObjectSize, 15);
  });

  test('a multipart object: its part count', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'parts' }));
    const first = await s3.send(new UploadPartCommand({ Bucket, Key: 'parts', UploadId, PartNumber: 1, Body: Buffer.alloc(5 * 1024 * 1024, 1) }));
    const second = await s3.send(new UploadPartCommand({ Bucket, Key: 'parts', UploadId, PartNumber: 2, Body: 'tail' }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'parts', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: first.ETag }, { PartNumber: 2, ETag: second.ETag }] } }));
    const got = await s3.send(new GetObjectAttributesCommand({ Bucket, Key: 'parts', ObjectAttributes: ['ObjectParts', 'ObjectSize', 'ETag'] }));
    assert.equal(got.ObjectParts?.TotalPartsCount, 2);
    assert.equal(got.ObjectSize, 5 * 1024 * 1024 + 4);
    assert.match(got.ETag ?? '', /^[0-9a-f]{32}-2$/);
  });

  test('errors: no attributes asked, an unknown one, a missing key', async () => {
    const keys = printedS3Keys(server);
    const none = await signedFetch(server, keys, 'GET', `/${Bucket}/one`, { query: { attributes: '' } });
    assert.equal(none.status, 400);
    assert.match(await none.text(), /<Code>InvalidArgument<\/Code>/);
    const unknown = await signedFetch(server, keys, 'GET', `/${Bucket}/one`, { query: { attributes: '' }, headers: { 'x-amz-object-attributes': 'ETag,Color' } });
    assert.equal(unknown.status, 400);
    assert.match(await unknown.text(), /<Code>InvalidArgument<\/Code>/);
    const missing = await signedFetch(server, keys, 'GET', `/${Bucket}/nope`, { query: { attributes: '' }, headers: { 'x-amz-object-attributes': 'ETag' } });
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /<Code>NoSuchKey<\/Code>/);
  });
});
