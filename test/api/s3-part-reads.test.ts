/**
 * GetObject and HeadObject with `partNumber` (one part of a multipart object, `x-amz-mp-parts-count`, Content-Range;
 * part 1 of any other object is its whole), their errors, GetObjectAttributes, and a GET of several ranges (S3
 * answers the whole object).
 */
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
import { printedS3Keys, s3Client, signedFetch, type S3KeyPair } from '../helpers/s3.ts';
import { xmlTexts } from '../helpers/xml.ts';

let server: RunningServer;
let keys: S3KeyPair;
let s3: S3Client;
const BUCKET = 's3-part-reads';
/** More parts than one row of the part index holds (1,000), so reads cross its batches. */
const PART_COUNT = 1003;
const partBytes = (n: number): Buffer => Buffer.from(`part ${String(n)};`.repeat((n % 3) + 1));
const parts = Array.from({ length: PART_COUNT }, (_, i) => partBytes(i + 1));
const whole = Buffer.concat(parts);

before(async () => {
  server = await startServer({ env: { ONGGI_TEST_MIN_PART_SIZE: '1' } });
  keys = printedS3Keys(server);
  s3 = s3Client(server, keys);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'single', Body: 'one part only' }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'empty', Body: '' }));
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'multi' }));
  const etags: string[] = [];
  for (let first = 0; first < PART_COUNT; first += 50) {
    const numbers = Array.from({ length: Math.min(50, PART_COUNT - first) }, (_, i) => first + i + 1);
    const sent = await Promise.all(numbers.map((n) => s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'multi', UploadId, PartNumber: n, Body: parts[n - 1] }))));
    for (const [i, result] of sent.entries()) etags[first + i] = result.ETag ?? '';
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'multi', UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }));
});
after(() => server.destroy());

function get(key: string, query: Record<string, string>, headers: Record<string, string> = {}, method = 'GET'): Promise<Response> {
  return signedFetch(server, keys, method, `/${BUCKET}/${key}`, { query, headers });
}

function offsetOf(n: number): number {
  return parts.slice(0, n - 1).reduce((sum, part) => sum + part.length, 0);
}

describe('S3 part reads', () => {
  test('a part of a multipart object: its bytes, Content-Range, the part count, the whole ETag', async () => {
    const head = await get('multi', {}, {}, 'HEAD');
    for (const n of [1, 2, 1000, 1001, PART_COUNT]) {
      const res = await get('multi', { partNumber: String(n) });
      assert.equal(res.status, 206, `part ${String(n)}`);
      const body = Buffer.from(await res.arrayBuffer());
      assert.ok(body.equals(parts[n - 1] ?? Buffer.alloc(0)), `part ${String(n)}: ${body.toString()}`);
      const start = offsetOf(n);
      assert.equal(res.headers.get('content-range'), `bytes ${String(start)}-${String(start + body.length - 1)}/${String(whole.length)}`);
      assert.equal(res.headers.get('x-amz-mp-parts-count'), String(PART_COUNT));
      assert.equal(res.headers.get('etag'), head.headers.get('etag'));
    }
    const headPart = await get('multi', { partNumber: '1001' }, {}, 'HEAD');
    assert.equal(headPart.status, 206);
    assert.equal(headPart.headers.get('content-length'), String(parts[1000]?.length));
    assert.equal(headPart.headers.get('x-amz-mp-parts-count'), String(PART_COUNT));
  });

  test('part 1 of a single-part object is all of it; past the last part is InvalidPartNumber (416)', async () => {
    const one = await get('single', { partNumber: '1' });
    assert.equal(one.status, 206);
    assert.equal(await one.text(), 'one part only');
    assert.equal(one.headers.get('content-range'), 'bytes 0-12/13');
    assert.equal(one.headers.get('x-amz-mp-parts-count'), null);
    const empty = await get('empty', { partNumber: '1' });
    assert.equal(empty.status, 200);
    assert.equal(await empty.text(), '');
    for (const [key, n] of [['single', 2], ['multi', PART_COUNT + 1], ['empty', 2]] as const) {
      const res = await get(key, { partNumber: String(n) });
      assert.equal(res.status, 416, `${key} part ${String(n)}`);
      assert.deepEqual(xmlTexts(await res.text(), 'Code').Code, ['InvalidPartNumber']);
    }
    const headPast = await get('single', { partNumber: '2' }, {}, 'HEAD');
    assert.equal(headPast.status, 416);
  });

  test('a part number out of 1..10000 is InvalidArgument; with a Range header, InvalidRequest', async () => {
    for (const bad of ['0', '10001', 'x', '-1', '1.5', '']) {
      const res = await get('multi', { partNumber: bad });
      assert.equal(res.status, 400, `partNumber=${bad}`);
      assert.deepEqual(xmlTexts(await res.text(), 'Code').Code, ['InvalidArgument']);
    }
    const both = await get('multi', { partNumber: '1' }, { range: 'bytes=0-1' });
    assert.equal(both.status, 400);
    assert.deepEqual(xmlTexts(await both.text(), 'Code').Code, ['InvalidRequest']);
  });

  test('conditionals apply to a part read: If-None-Match of its ETag is 304, If-Match of another is 412', async () => {
    const etag = (await get('multi', {}, {}, 'HEAD')).headers.get('etag') ?? '';
    assert.equal((await get('multi', { partNumber: '2' }, { 'if-none-match': etag })).status, 304);
    const refused = await get('multi', { partNumber: '2' }, { 'if-match': '"0123"' });
    assert.equal(refused.status, 412);
    await refused.arrayBuffer();
  });

  test('GetObjectAttributes: ETag, size, storage class, a multipart object\'s part count; bad attribute names refused', async () => {
    const multi = await s3.send(new GetObjectAttributesCommand({ Bucket: BUCKET, Key: 'multi', ObjectAttributes: ['ETag', 'ObjectParts', 'ObjectSize', 'StorageClass'] }));
    const head = await get('multi', {}, {}, 'HEAD');
    assert.equal(`"${multi.ETag ?? ''}"`, head.headers.get('etag'));
    assert.equal(multi.ObjectParts?.TotalPartsCount, PART_COUNT);
    assert.equal(multi.ObjectSize, whole.length);
    assert.equal(multi.StorageClass, 'STANDARD');
    assert.ok(multi.LastModified);
    const single = await s3.send(new GetObjectAttributesCommand({ Bucket: BUCKET, Key: 'single', ObjectAttributes: ['ObjectParts', 'ObjectSize'] }));
    assert.equal(single.ObjectParts, undefined);
    assert.equal(single.ObjectSize, 13);
    for (const attributes of [undefined, '', 'ETag,Colour']) {
      const res = await get('single', { attributes: '' }, attributes === undefined ? {} : { 'x-amz-object-attributes': attributes });
      assert.equal(res.status, 400, String(attributes));
      assert.deepEqual(xmlTexts(await res.text(), 'Code').Code, ['InvalidArgument']);
    }
    const missing = await get('nothing-here', { attributes: '' }, { 'x-amz-object-attributes': 'ETag' });
    assert.equal(missing.status, 404);
    assert.deepEqual(xmlTexts(await missing.text(), 'Code').Code, ['NoSuchKey']);
  });

  test('several ranges in one GET: the whole object, 200, as S3 answers', async () => {
    const res = await get('multi', {}, { range: 'bytes=0-3,10-20' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-range'), null);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(whole));
    const one = await get('multi', {}, { range: 'bytes=0-3' });
    assert.equal(one.status, 206);
    assert.equal(await one.text(), 'part');
  });
});
