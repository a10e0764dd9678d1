/**
 * Checksums of multipart uploads over real HTTP with the AWS SDK: COMPOSITE and FULL_OBJECT types, part checksums
 * verified, kept and listed, CompleteMultipartUpload checking the listed ones, the object's checksum returned with
 * checksum mode (the SDK then validates a FULL_OBJECT CRC over the whole body); wrong ones refused, nothing stored.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  type ChecksumAlgorithm,
  type ChecksumType,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { checksummer, type ChecksumAlgorithm as Algorithm } from '../../src/frontends/s3/checksums.ts';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { s3Client, s3Failure } from '../helpers/s3.ts';

const BUCKET = 'mpu-checksums';
const PART_SIZES = [70_000, 70_000, 12_345];

let server: RunningServer;
let s3: S3Client;

before(async () => {
  server = await startServer({ env: { ONGGI_TEST_MIN_PART_SIZE: '65536' } });
  s3 = s3Client(server);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
after(() => server.destroy());

async function digest(algorithm: Algorithm, bytes: Buffer): Promise<string> {
  const summer = checksummer(algorithm);
  summer.update(bytes);
  return summer.digest();
}

function checksumField(algorithm: ChecksumAlgorithm): 'ChecksumCRC32' | 'ChecksumCRC32C' | 'ChecksumCRC64NVME' | 'ChecksumSHA1' | 'ChecksumSHA256' {
  return `Checksum${algorithm}` as 'ChecksumCRC32';
}

/** Begins an upload and sends its parts (the SDK computes each part's checksum); returns what Complete lists. */
async function uploadParts(key: string, algorithm: ChecksumAlgorithm, type: ChecksumType | undefined, bodies: Buffer[]): Promise<{ uploadId: string; parts: CompletedPart[] }> {
  const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ChecksumAlgorithm: algorithm, ...(type ? { ChecksumType: type } : {}) }));
  assert.equal(created.ChecksumAlgorithm, algorithm);
  const uploadId = created.UploadId ?? '';
  const parts: CompletedPart[] = [];
  for (const [i, body] of bodies.entries()) {
    const sent = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: i + 1, Body: body, ChecksumAlgorithm: algorithm }));
    const field = checksumField(algorithm);
    assert.equal(sent[field], await digest(algorithm.toLowerCase() as Algorithm, body));
    parts.push({ PartNumber: i + 1, ETag: sent.ETag, [field]: sent[field] });
  }
  return { uploadId, parts };
}

const CASES: ReadonlyArray<readonly [ChecksumAlgorithm, ChecksumType]> = [
  ['CRC32', 'COMPOSITE'],
  ['CRC32', 'FULL_OBJECT'],
  ['CRC32C', 'COMPOSITE'],
  ['CRC32C', 'FULL_OBJECT'],
  ['CRC64NVME', 'FULL_OBJECT'],
  ['SHA1', 'COMPOSITE'],
  ['SHA256', 'COMPOSITE'],
];

describe('multipart checksums', () => {
  for (const [algorithm, type] of CASES) {
    test(`${algorithm} ${type}: parts listed with their checksums; the object's checksum on Complete, HEAD and GET`, async () => {
      const key = `obj-${algorithm}-${type}`;
      const lower = algorithm.toLowerCase() as Algorithm;
      const field = checksumField(algorithm);
      const bodies = PART_SIZES.map((size) => randomBytes(size));
      const { uploadId, parts } = await uploadParts(key, algorithm, type, bodies);

      const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
      assert.equal(listed.ChecksumAlgorithm, algorithm);
      assert.equal(listed.ChecksumType, type);
      assert.deepEqual(listed.Parts?.map((p) => p[field]), parts.map((p) => p[field]));

      const expected =
        type === 'FULL_OBJECT'
          ? await digest(lower, Buffer.concat(bodies))
          : `${await digest(lower, Buffer.concat(parts.map((p) => Buffer.from(p[field] ?? '', 'base64'))))}-${String(parts.length)}`;
      const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
      assert.equal(done[field], expected);
      assert.equal(done.ChecksumType, type);

      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
      assert.equal(head[field], expected);
      assert.equal(head.ChecksumType, type);
      // The SDK checks a FULL_OBJECT checksum against the bytes it reads (and skips a composite one).
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
      assert.equal(got[field], expected);
      const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? []);
      assert.equal(createHash('md5').update(bytes).digest('hex'), createHash('md5').update(Buffer.concat(bodies)).digest('hex'));
    });
  }

  test('CRC64NVME defaults to FULL_OBJECT and the others to COMPOSITE; bad combinations are InvalidRequest', async () => {
    const nvme = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'defaults', ChecksumAlgorithm: 'CRC64NVME' }));
    assert.equal(nvme.ChecksumType, 'FULL_OBJECT');
    const crc = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'defaults', ChecksumAlgorithm: 'CRC32' }));
    assert.equal(crc.ChecksumType, 'COMPOSITE');
    assert.deepEqual(await s3Failure(s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'bad', ChecksumAlgorithm: 'SHA256', ChecksumType: 'FULL_OBJECT' }))), { status: 400, code: 'InvalidRequest' });
    assert.deepEqual(await s3Failure(s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'bad', ChecksumAlgorithm: 'CRC64NVME', ChecksumType: 'COMPOSITE' }))), { status: 400, code: 'InvalidRequest' });
  });

  test('a listed part checksum that differs is InvalidPart; a COMPOSITE completion without one is InvalidRequest; nothing is stored', async () => {
    const key = 'wrong-part-checksum';
    const bodies = PART_SIZES.map((size) => randomBytes(size));
    const { uploadId, parts } = await uploadParts(key, 'CRC32', 'COMPOSITE', bodies);
    const wrong = parts.map((p, i) => (i === 1 ? { ...p, ChecksumCRC32: 'AAAAAA==' } : p));
    assert.deepEqual(await s3Failure(s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, MultipartUpload: { Parts: wrong } }))), { status: 400, code: 'InvalidPart' });
    const missing = parts.map((p, i) => (i === 0 ? { PartNumber: p.PartNumber, ETag: p.ETag } : p));
    assert.deepEqual(await s3Failure(s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, MultipartUpload: { Parts: missing } }))), { status: 400, code: 'InvalidRequest' });
    assert.deepEqual(await s3Failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))), { status: 404, code: 'NotFound' });
    // The upload is still there and completes with the right list.
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
  });

  test('UploadPartCopy into an upload with a checksum: the copied part gets its checksum; the object completes', async () => {
    const source = randomBytes(80_000);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'copy-source', Body: source }));
    const key = 'with-copied-part';
    const tail = randomBytes(1000);
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ChecksumAlgorithm: 'CRC32', ChecksumType: 'FULL_OBJECT' }));
    const uploadId = created.UploadId ?? '';
    const copied = await s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: 1, CopySource: `${BUCKET}/copy-source` }));
    assert.equal(copied.CopyPartResult?.ChecksumCRC32, await digest('crc32', source));
    const sent = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: 2, Body: tail, ChecksumAlgorithm: 'CRC32' }));
    const parts: CompletedPart[] = [
      { PartNumber: 1, ETag: copied.CopyPartResult?.ETag, ChecksumCRC32: copied.CopyPartResult?.ChecksumCRC32 },
      { PartNumber: 2, ETag: sent.ETag, ChecksumCRC32: sent.ChecksumCRC32 },
    ];
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    assert.equal(done.ChecksumCRC32, await digest('crc32', Buffer.concat([source, tail])));
  });

  test('a FULL_OBJECT checksum given on Complete must be the object’s (BadDigest otherwise)', async () => {
    const key = 'full-object-given';
    const bodies = PART_SIZES.map((size) => randomBytes(size));
    const { uploadId, parts } = await uploadParts(key, 'CRC32C', 'FULL_OBJECT', bodies);
    const complete = (value: string): CompleteMultipartUploadCommand =>
      new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts }, ChecksumCRC32C: value, ChecksumType: 'FULL_OBJECT' });
    assert.deepEqual(await s3Failure(s3.send(complete('AAAAAA=='))), { status: 400, code: 'BadDigest' });
    const done = await s3.send(complete(await digest('crc32c', Buffer.concat(bodies))));
    assert.equal(done.ChecksumCRC32C, await digest('crc32c', Buffer.concat(bodies)));
  });
});
