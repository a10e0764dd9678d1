/**
 * S3's error paths over real HTTP: bad signatures and unknown keys, expired presigned URLs, skewed clocks, a body
 * that does not match its checksum or signed hash (nothing stored), too-small parts, wrong part ETags, XML with a
 * DOCTYPE, another project's bucket (answered as a missing one), and no Authorization header in the logs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { admin, startServer, type RunningServer } from '../helpers/server.ts';
import { printedS3Keys, s3Client, signedFetch, type S3KeyPair, s3Failure } from '../helpers/s3.ts';
import { xmlTexts } from '../helpers/xml.ts';

let server: RunningServer;
let keys: S3KeyPair;
let s3: S3Client;
const BUCKET = 's3-errors';

before(async () => {
  server = await startServer();
  keys = printedS3Keys(server);
  s3 = s3Client(server, keys);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
after(() => server.destroy());

async function errorOf(response: Response): Promise<{ status: number; code: string; requestId: string }> {
  const body = await response.text();
  const texts = xmlTexts(body, 'Code', 'RequestId');
  return { status: response.status, code: texts.Code?.[0] ?? '', requestId: texts.RequestId?.[0] ?? response.headers.get('x-amz-request-id') ?? '' };
}

async function absent(key: string): Promise<void> {
  assert.equal((await s3Failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })))).status, 404, `${key} must not be stored`);
}

describe('S3 error paths', () => {
  test('a wrong secret is SignatureDoesNotMatch; an unknown key InvalidAccessKeyId; both 403 with an XML body and request id', async () => {
    const wrong = s3Client(server, { accessKeyId: keys.accessKeyId, secretAccessKey: 'not-the-secret-not-the-secret-not-the-se' });
    assert.deepEqual(await s3Failure(wrong.send(new ListObjectsV2Command({ Bucket: BUCKET }))), { status: 403, code: 'SignatureDoesNotMatch' });
    const unknown = s3Client(server, { accessKeyId: 'AKIANOSUCHKEYEXISTSX', secretAccessKey: keys.secretAccessKey });
    assert.deepEqual(await s3Failure(unknown.send(new ListObjectsV2Command({ Bucket: BUCKET }))), { status: 403, code: 'InvalidAccessKeyId' });
    const raw = await signedFetch(server, { ...keys, secretAccessKey: 'wrong' }, 'GET', `/${BUCKET}`);
    const error = await errorOf(raw);
    assert.equal(error.code, 'SignatureDoesNotMatch');
    assert.ok(error.requestId.length > 0);
    assert.equal(raw.headers.get('x-amz-request-id'), error.requestId);
  });

  test('the Authorization fields in any order check the same; another signature on the same text is refused; none is malformed', async () => {
    const { SignatureV4 } = await import('@smithy/signature-v4');
    const { Sha256 } = await import('@aws-crypto/sha256-js');
    const url = new URL(server.url);
    const signer = new SignatureV4({ service: 's3', region: 'kr-central-2', credentials: keys, sha256: Sha256 });
    const signed = await signer.sign({ method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: `/${BUCKET}`, headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    const authorization = signed.headers.authorization ?? '';
    const fields = /^AWS4-HMAC-SHA256 (Credential=[^,]+), (SignedHeaders=[^,]+), Signature=([0-9a-f]{64})$/.exec(authorization);
    assert.ok(fields, authorization);
    const [, credential, signedHeaders, signature = ''] = fields;
    const send = (value: string): Promise<Response> => fetch(`${server.url}/${BUCKET}`, { headers: { ...signed.headers, authorization: value } });
    assert.equal((await send(authorization)).status, 200);
    assert.equal((await send(`AWS4-HMAC-SHA256 Signature=${signature}, ${signedHeaders}, ${credential}`)).status, 200);
    const other = `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`;
    assert.deepEqual((await errorOf(await send(authorization.replace(signature, other)))).code, 'SignatureDoesNotMatch');
    const unsigned = await errorOf(await send(`AWS4-HMAC-SHA256 ${credential}, ${signedHeaders}`));
    assert.deepEqual([unsigned.status, unsigned.code], [400, 'AuthorizationHeaderMalformed']);
  });

  test('an expired presigned URL is refused; so is one signed in the future beyond the skew', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'presigned', Body: 'x' }));
    const expired = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: 'presigned' }), { expiresIn: 60, signingDate: new Date(Date.now() - 120_000) });
    const error = await errorOf(await fetch(expired));
    assert.deepEqual([error.status, error.code], [403, 'AccessDenied']);
    const tampered = (await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: 'presigned' }), { expiresIn: 60 })).replace('presigned?', 'presigned-other?');
    assert.equal((await errorOf(await fetch(tampered))).code, 'SignatureDoesNotMatch');
  });

  test('a skewed clock is RequestTimeTooSkewed', async () => {
    const skewed = s3Client(server, keys, { systemClockOffset: -60 * 60 * 1000 });
    assert.deepEqual(await s3Failure(skewed.send(new ListObjectsV2Command({ Bucket: BUCKET }))), { status: 403, code: 'RequestTimeTooSkewed' });
  });

  test('a wrong flexible checksum is BadDigest, a wrong Content-MD5 too, and nothing is stored', async () => {
    assert.deepEqual(await s3Failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'bad-crc', Body: 'payload', ChecksumCRC32: 'AAAAAA==' }))), { status: 400, code: 'BadDigest' });
    await absent('bad-crc');
    const big = Buffer.alloc(3 * 1024 * 1024, 1);
    assert.deepEqual(await s3Failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'bad-sha', Body: big, ChecksumSHA256: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' }))), { status: 400, code: 'BadDigest' });
    await absent('bad-sha');
    const md5 = await signedFetch(server, keys, 'PUT', `/${BUCKET}/bad-md5`, { body: 'payload', headers: { 'content-md5': 'AAAAAAAAAAAAAAAAAAAAAA==' } });
    assert.equal((await errorOf(md5)).code, 'BadDigest');
    await absent('bad-md5');
  });

  test('a body that does not match its signed x-amz-content-sha256 is XAmzContentSHA256Mismatch, nothing stored', async () => {
    const response = await signedFetch(server, keys, 'PUT', `/${BUCKET}/bad-hash`, { body: 'the body sent', payloadHash: 'a'.repeat(64) });
    assert.deepEqual(Object.values(await errorOf(response)).slice(0, 2), [400, 'XAmzContentSHA256Mismatch']);
    await absent('bad-hash');
  });

  test('a part below the minimum size is EntityTooSmall; a wrong part ETag is InvalidPart', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'small-parts' }));
    const one = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'small-parts', UploadId, PartNumber: 1, Body: 'tiny' }));
    const two = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'small-parts', UploadId, PartNumber: 2, Body: 'tiny' }));
    const complete = (parts: Array<{ PartNumber: number; ETag: string | undefined }>): Promise<unknown> =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'small-parts', UploadId, MultipartUpload: { Parts: parts } }));
    assert.deepEqual(await s3Failure(complete([{ PartNumber: 1, ETag: one.ETag }, { PartNumber: 2, ETag: two.ETag }])), { status: 400, code: 'EntityTooSmall' });
    assert.deepEqual(await s3Failure(complete([{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }])), { status: 400, code: 'InvalidPart' });
    assert.deepEqual(await s3Failure(complete([{ PartNumber: 2, ETag: two.ETag }, { PartNumber: 1, ETag: one.ETag }])), { status: 400, code: 'InvalidPartOrder' });
    await absent('small-parts');
  });

  test('XML with a DOCTYPE is MalformedXML', async () => {
    const body = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><Delete><Object><Key>&x;</Key></Object></Delete>';
    const response = await signedFetch(server, keys, 'POST', `/${BUCKET}`, { body, query: { delete: '' }, headers: { 'content-md5': (await import('node:crypto')).createHash('md5').update(body).digest('base64') } });
    assert.equal((await errorOf(response)).code, 'MalformedXML');
  });

  test("another project's bucket answers as a missing one: no existence leak", async () => {
    await admin(server.dataDir, 'project', 'create', 'other-project');
    await admin(server.dataDir, 'user', 'create', 'other-user');
    await admin(server.dataDir, 'role', 'assign', 'other-project', 'other-user', 'admin');
    const made = (await admin(server.dataDir, 's3-key', 'create', 'other-project', 'other-user')) as { access: string; secret: string };
    const other = s3Client(server, { accessKeyId: made.access, secretAccessKey: made.secret });
    const existing = await s3Failure(other.send(new ListObjectsV2Command({ Bucket: BUCKET })));
    const missing = await s3Failure(other.send(new ListObjectsV2Command({ Bucket: 'no-such-bucket-anywhere' })));
    assert.deepEqual(existing, { status: 404, code: 'NoSuchBucket' });
    assert.deepEqual(existing, missing);
    assert.deepEqual(await s3Failure(other.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'presigned' }))), { status: 404, code: 'NoSuchBucket' });
    const anonymous = await fetch(`${server.url}/${BUCKET}/presigned`);
    const anonymousMissing = await fetch(`${server.url}/no-such-bucket-anywhere/presigned`);
    assert.deepEqual((await errorOf(anonymous)).code, (await errorOf(anonymousMissing)).code);
  });

  test('the Authorization header and signatures never reach the logs', async () => {
    await s3Failure(s3Client(server, { ...keys, secretAccessKey: 'wrong-wrong-wrong' }).send(new ListObjectsV2Command({ Bucket: BUCKET })));
    assert.ok(!server.logs().includes('AWS4-HMAC-SHA256'));
    assert.ok(!server.logs().includes(keys.secretAccessKey));
  });
});
