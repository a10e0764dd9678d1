/**
 * The newest AWS SDK for JavaScript against a real server, its defaults untouched (checksums on: aws-chunked
 * bodies with trailing CRC32s): objects, DeleteObjects, listings, copies, a 64 MiB multipart upload through
 * lib-storage, presigned GET and PUT, conditional writes, versioning.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  ListPartsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { s3Client } from '../helpers/s3.ts';

let server: RunningServer;
let s3: S3Client;
const BUCKET = 'sdk-interop';

before(async () => {
  server = await startServer();
  s3 = s3Client(server);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
after(() => server.destroy());

async function text(bucket: string, key: string, extra: { VersionId?: string; Range?: string } = {}): Promise<string> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...extra }));
  return (await got.Body?.transformToString()) ?? '';
}

async function status(promise: Promise<unknown>): Promise<{ status: number | undefined; name: string }> {
  try {
    await promise;
    return { status: 200, name: 'ok' };
  } catch (err) {
    const e = err as { $metadata?: { httpStatusCode?: number }; name: string };
    return { status: e.$metadata?.httpStatusCode, name: e.name };
  }
}

describe('S3 with @aws-sdk/client-s3 (default checksums)', () => {
  test('buckets: list, head, location', async () => {
    const { Buckets } = await s3.send(new ListBucketsCommand({}));
    assert.ok(Buckets?.some((b) => b.Name === BUCKET));
    await s3.send(new HeadBucketCommand({ Bucket: BUCKET }));
    const location = await s3.send(new GetBucketLocationCommand({ Bucket: BUCKET }));
    assert.equal(location.LocationConstraint, 'kr-central-2');
    assert.equal((await status(s3.send(new HeadBucketCommand({ Bucket: 'no-such-bucket-here' })))).status, 404);
  });

  test('PUT and GET: bytes, ETag, metadata, content headers, checksum stored and returned', async () => {
    const body = 'hello, S3 world\n'.repeat(100);
    const put = await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'dir/hello.txt', Body: body, ContentType: 'text/plain', Metadata: { color: 'blue' }, CacheControl: 'max-age=60', ContentDisposition: 'inline' }),
    );
    assert.equal(put.ETag, `"${createHash('md5').update(body).digest('hex')}"`);
    assert.ok(put.ChecksumCRC32, 'the SDK sent a CRC32 and the server verified and stored it');
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dir/hello.txt', ChecksumMode: 'ENABLED' }));
    assert.equal(await got.Body?.transformToString(), body);
    assert.equal(got.ETag, put.ETag);
    assert.equal(got.ContentType, 'text/plain');
    assert.equal(got.CacheControl, 'max-age=60');
    assert.equal(got.ContentDisposition, 'inline');
    assert.deepEqual(got.Metadata, { color: 'blue' });
    assert.equal(got.ChecksumCRC32, put.ChecksumCRC32);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'dir/hello.txt' }));
    assert.equal(head.ContentLength, body.length);
    assert.equal(head.ChecksumCRC32, undefined, 'checksums only with x-amz-checksum-mode: ENABLED');
  });

  test('every flexible checksum algorithm is verified and returned', async () => {
    for (const algorithm of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const) {
      const key = `checksum-${algorithm}`;
      const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `bytes for ${algorithm}`, ChecksumAlgorithm: algorithm }));
      const field = `Checksum${algorithm}` as const;
      assert.ok(put[field], algorithm);
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
      assert.equal(head[field], put[field], algorithm);
    }
  });

  test('GET ranges, conditionals and response-* overrides', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'range.txt', Body: '0123456789' }));
    assert.equal(await text(BUCKET, 'range.txt', { Range: 'bytes=2-5' }), '2345');
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'range.txt' }));
    assert.equal((await status(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'range.txt', IfNoneMatch: head.ETag })))).status, 304);
    assert.equal((await status(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'range.txt', IfMatch: '"nope"' })))).status, 412);
    const overridden = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'range.txt', ResponseContentType: 'application/x-test', ResponseContentDisposition: 'attachment' }));
    assert.equal(overridden.ContentType, 'application/x-test');
    assert.equal(overridden.ContentDisposition, 'attachment');
    await overridden.Body?.transformToString();
  });

  test('DeleteObjects (with the SDK default flexible checksum instead of Content-MD5)', async () => {
    for (const key of ['del/a', 'del/b', 'del/c']) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
    const result = await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: 'del/a' }, { Key: 'del/b' }, { Key: 'del/missing' }] } }));
    assert.deepEqual(result.Deleted?.map((d) => d.Key).sort(), ['del/a', 'del/b', 'del/missing']);
    const left = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'del/' }));
    assert.deepEqual(left.Contents?.map((c) => c.Key), ['del/c']);
  });

  test('ListObjects v1 and v2: delimiter, pages, start-after, encoding-type=url, fetch-owner', async () => {
    const keys = ['list/a', 'list/b', 'list/c/1', 'list/c/2', 'list/d', 'list/e f+g'];
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' }));
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/', Delimiter: '/', MaxKeys: 2, ContinuationToken: token }));
      seen.push(...(page.Contents ?? []).map((c) => c.Key ?? ''), ...(page.CommonPrefixes ?? []).map((p) => p.Prefix ?? ''));
      assert.ok((page.KeyCount ?? 0) <= 2);
      token = page.NextContinuationToken;
    } while (token);
    assert.deepEqual(seen.sort(), ['list/a', 'list/b', 'list/c/', 'list/d', 'list/e f+g']);
    const after = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/', StartAfter: 'list/c/2', FetchOwner: true }));
    assert.deepEqual(after.Contents?.map((c) => c.Key), ['list/d', 'list/e f+g']);
    assert.ok(after.Contents?.[0]?.Owner?.ID);
    const encoded = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/e', EncodingType: 'url' }));
    assert.deepEqual(encoded.Contents?.map((c) => c.Key), ['list/e%20f%2Bg']);
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: BUCKET, Prefix: 'list/', Marker: 'list/b', Delimiter: '/' }));
    assert.deepEqual(v1.Contents?.map((c) => c.Key), ['list/d', 'list/e f+g']);
    assert.deepEqual(v1.CommonPrefixes?.map((p) => p.Prefix), ['list/c/']);
  });

  test('CopyObject keeps or replaces metadata', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'copy/src', Body: 'copied bytes', ContentType: 'text/x-src', Metadata: { a: '1' } }));
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy/kept', CopySource: `${BUCKET}/copy/src` }));
    const kept = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'copy/kept' }));
    assert.equal(kept.ContentType, 'text/x-src');
    assert.deepEqual(kept.Metadata, { a: '1' });
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy/replaced', CopySource: `${BUCKET}/copy/src`, MetadataDirective: 'REPLACE', ContentType: 'text/x-new', Metadata: { b: '2' } }));
    const replaced = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'copy/replaced' }));
    assert.equal(replaced.ContentType, 'text/x-new');
    assert.deepEqual(replaced.Metadata, { b: '2' });
    assert.equal(await text(BUCKET, 'copy/replaced'), 'copied bytes');
    const refused = await status(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy/x', CopySource: `${BUCKET}/copy/src`, CopySourceIfMatch: '"other"' })));
    assert.equal(refused.status, 412);
  });

  test('a 64 MiB multipart upload through lib-storage reads back whole, with S3 multipart ETag', async () => {
    const partSize = 8 * 1024 * 1024;
    const total = 64 * 1024 * 1024 + 12345;
    const block = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = (i * 31) % 251;
    const source = async function* (): AsyncGenerator<Buffer> {
      for (let sent = 0; sent < total; sent += block.length) yield block.subarray(0, Math.min(block.length, total - sent));
    };
    const expected = createHash('md5');
    for (let sent = 0; sent < total; sent += block.length) expected.update(block.subarray(0, Math.min(block.length, total - sent)));
    const upload = new Upload({ client: s3, params: { Bucket: BUCKET, Key: 'big/64mib', Body: Readable.from(source()) }, partSize, queueSize: 2 });
    const done = await upload.done();
    assert.match(done.ETag ?? '', /^"[0-9a-f]{32}-9"$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big/64mib' }));
    const hash = createHash('md5');
    let size = 0;
    for await (const chunk of got.Body as Readable) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    assert.equal(size, total);
    assert.equal(hash.digest('hex'), expected.digest('hex'));
  });

  test('multipart by hand: ListParts, ListMultipartUploads, UploadPartCopy with a range, Abort', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'mpu/source', Body: Buffer.alloc(6 * 1024 * 1024, 7) }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mpu/target', ContentType: 'application/x-parts' }));
    const one = await s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: 'mpu/target', UploadId, PartNumber: 1, CopySource: `${BUCKET}/mpu/source`, CopySourceRange: 'bytes=0-5242879' }));
    const two = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'mpu/target', UploadId, PartNumber: 2, Body: 'tail' }));
    const parts = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'mpu/target', UploadId }));
    assert.deepEqual(parts.Parts?.map((p) => [p.PartNumber, p.Size]), [[1, 5242880], [2, 4]]);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'mpu/' }));
    assert.deepEqual(uploads.Uploads?.map((u) => u.UploadId), [UploadId]);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'mpu/target',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: one.CopyPartResult?.ETag }, { PartNumber: 2, ETag: two.ETag }] },
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'mpu/target' }));
    assert.equal(head.ContentLength, 5242884);
    assert.equal(head.ContentType, 'application/x-parts');
    const aborted = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mpu/aborted' }));
    await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'mpu/aborted', UploadId: aborted.UploadId }));
    assert.equal((await status(s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'mpu/aborted', UploadId: aborted.UploadId })))).name, 'NoSuchUpload');
  });

  test('presigned GET and PUT', async () => {
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: 'presigned/obj' }), { expiresIn: 300 });
    const put = await fetch(putUrl, { method: 'PUT', body: 'sent with a presigned URL' });
    assert.equal(put.status, 200);
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: 'presigned/obj' }), { expiresIn: 300 });
    const got = await fetch(getUrl);
    assert.equal(got.status, 200);
    assert.equal(await got.text(), 'sent with a presigned URL');
    const unsigned = await fetch(`${server.url}/${BUCKET}/presigned/obj`);
    assert.equal(unsigned.status, 403);
    await unsigned.text();
  });

  test('conditional writes: If-None-Match: * and If-Match on PutObject and CompleteMultipartUpload', async () => {
    const first = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cond/obj', Body: 'one', IfNoneMatch: '*' }));
    assert.equal((await status(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cond/obj', Body: 'two', IfNoneMatch: '*' })))).status, 412);
    assert.equal((await status(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cond/obj', Body: 'two', IfMatch: '"0123"' })))).status, 412);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cond/obj', Body: 'three', IfMatch: first.ETag }));
    assert.equal(await text(BUCKET, 'cond/obj'), 'three');
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'cond/obj' }));
    const part = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'cond/obj', UploadId, PartNumber: 1, Body: 'mpu' }));
    const complete = (ifNoneMatch: boolean): Promise<unknown> =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'cond/obj', UploadId, ...(ifNoneMatch ? { IfNoneMatch: '*' } : {}), MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    assert.equal((await status(complete(true))).status, 412);
    await complete(false);
    assert.equal(await text(BUCKET, 'cond/obj'), 'mpu');
  });

  test('versioning: enable, versions listed, read and deleted by id, delete markers', async () => {
    const bucket = 'sdk-versioned';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, 'Enabled');
    const v1 = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'first' }));
    const v2 = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'second' }));
    assert.ok(v1.VersionId && v2.VersionId && v1.VersionId !== v2.VersionId);
    assert.equal(await text(bucket, 'k', { VersionId: v1.VersionId }), 'first');
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k' }));
    assert.equal(deleted.DeleteMarker, true);
    assert.equal((await status(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' })))).status, 404);
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    assert.deepEqual(listed.Versions?.map((v) => v.VersionId), [v2.VersionId, v1.VersionId]);
    assert.equal(listed.DeleteMarkers?.[0]?.VersionId, deleted.VersionId);
    assert.equal(listed.DeleteMarkers?.[0]?.IsLatest, true);
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: deleted.VersionId }));
    assert.equal(await text(bucket, 'k'), 'second');
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Suspended' } }));
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, 'Suspended');
    for (const v of [v1, v2]) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: v.VersionId }));
    const rest = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    for (const v of [...(rest.Versions ?? []), ...(rest.DeleteMarkers ?? [])]) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: v.Key, VersionId: v.VersionId }));
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  });
});
