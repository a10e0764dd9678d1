/**
 * Encryption on request (issue 20): SSE-C with the newest AWS SDK (PutObject, HeadObject, GetObject whole and at
 * ranges across 64 KiB chunks, multipart, CopyObject and UploadPartCopy between keys, presigned GET), its errors
 * with nothing of the object revealed, the plain-HTTP rule and its allowances, `x-amz-server-side-encryption:
 * AES256` on writes into a bucket without default encryption; no file of the data directory holds plain bytes or a
 * customer key; Swift refuses SSE-C objects; fsck counts them unverifiable; a master key rotation leaves them readable.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CHUNK, filesUnder } from '../helpers/encryption.ts';
import { printedS3Keys, s3Client, s3Failure, signedFetch, type S3KeyPair } from '../helpers/s3.ts';
import { admin, login, makeTempDir, removeDir, startServer, type RunningServer, type Session } from '../helpers/server.ts';

const BUCKET = 'sse-c-plain';
const DEFAULT_BUCKET = 'sse-c-default';
const MIB = 1024 * 1024;

let server: RunningServer;
let keys: S3KeyPair;
let s3: S3Client;
let session: Session;
/** Every plain body written, for the check that no file holds any of it. */
const bodies: Buffer[] = [];

interface Key {
  raw: Buffer;
  sdk: { SSECustomerAlgorithm: string; SSECustomerKey: string };
  source: { CopySourceSSECustomerAlgorithm: string; CopySourceSSECustomerKey: string };
  headers: Record<string, string>;
  md5: string;
}

function newKey(): Key {
  const raw = randomBytes(32);
  const key = raw.toString('base64');
  const md5 = createHash('md5').update(raw).digest('base64');
  return {
    raw,
    sdk: { SSECustomerAlgorithm: 'AES256', SSECustomerKey: key },
    source: { CopySourceSSECustomerAlgorithm: 'AES256', CopySourceSSECustomerKey: key },
    headers: { 'x-amz-server-side-encryption-customer-algorithm': 'AES256', 'x-amz-server-side-encryption-customer-key': key, 'x-amz-server-side-encryption-customer-key-md5': md5 },
    md5,
  };
}

const keyA = newKey();
const keyB = newKey();

function body(size: number): Buffer {
  const bytes = randomBytes(size);
  bodies.push(bytes);
  return bytes;
}

async function bytesOf(result: { Body?: { transformToByteArray(): Promise<Uint8Array> } | undefined }): Promise<Buffer> {
  return Buffer.from((await result.Body?.transformToByteArray()) ?? []);
}

before(async () => {
  server = await startServer({ env: { ONGGI_TRUSTED_PROXIES: '127.0.0.1' } });
  keys = printedS3Keys(server);
  s3 = s3Client(server, keys);
  session = await login(server.url);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new CreateBucketCommand({ Bucket: DEFAULT_BUCKET }));
});
after(() => {
  s3.destroy();
  return server.destroy();
});

const SIZES = [0, 1000, CHUNK, 3 * CHUNK + 4321, 700_001];

test('SSE-C round trip: PutObject, HeadObject, GetObject whole and at ranges across chunks; the key echoed; ETag not the MD5', async () => {
  for (const size of SIZES) {
    const plain = body(size);
    const key = `obj-${size}`;
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: plain, Metadata: { secret: 'meta-value' }, ...keyA.sdk }));
    assert.equal(put.SSECustomerAlgorithm, 'AES256');
    assert.equal(put.SSECustomerKeyMD5, keyA.md5);
    assert.equal(put.ServerSideEncryption, undefined);
    assert.notEqual(put.ETag, `"${createHash('md5').update(plain).digest('hex')}"`, 'the ETag is not the MD5 of the plain bytes');
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, ...keyA.sdk }));
    assert.equal(head.ContentLength, size);
    assert.equal(head.ETag, put.ETag);
    assert.equal(head.SSECustomerKeyMD5, keyA.md5);
    assert.equal(head.Metadata?.secret, 'meta-value');
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ...keyA.sdk }));
    assert.equal(got.SSECustomerAlgorithm, 'AES256');
    assert.equal(got.SSECustomerKeyMD5, keyA.md5);
    assert.ok((await bytesOf(got)).equals(plain), `${key} reads back`);
    if (size === 0) continue;
    const ranges = ([
      [0, 0],
      [Math.max(0, CHUNK - 10), Math.min(size - 1, CHUNK + 10)],
      [Math.max(0, 2 * CHUNK - 1), Math.min(size - 1, 3 * CHUNK)],
      [Math.max(0, size - 100), size - 1],
      [Math.floor(size / 3), Math.floor((2 * size) / 3)],
    ] as [number, number][]).filter(([start, end]) => start <= end);
    for (const [start, end] of ranges) {
      const part = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: `bytes=${start}-${end}`, ...keyA.sdk }));
      assert.equal(part.ContentRange, `bytes ${start}-${end}/${size}`);
      assert.ok((await bytesOf(part)).equals(plain.subarray(start, end + 1)), `${key} ${start}-${end}`);
    }
  }
  // The same bytes under the same key keep their ETag; under another key they get another.
  const again = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'again', Body: bodies[2], ...keyA.sdk }));
  const other = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'other', Body: bodies[2], ...keyB.sdk }));
  const first = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `obj-${CHUNK}`, ...keyA.sdk }));
  assert.equal(again.ETag, first.ETag);
  assert.notEqual(other.ETag, first.ETag);
  // Every whole read passed its check (an encrypted blob's whole read once failed it at the end, closing the connection).
  assert.match(await (await fetch(`${server.url}/metrics`)).text(), /^onggi_read_integrity_failures_total 0$/m);
});

/** A raw signed request's whole answer, for checks of what an error reveals. */
async function raw(method: string, key: string, headers: Record<string, string> = {}, bucket = BUCKET): Promise<{ status: number; code: string; headers: Headers; text: string }> {
  const response = await signedFetch(server, keys, method, `/${bucket}/${key}`, { headers });
  const text = await response.text();
  return { status: response.status, code: /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? '', headers: response.headers, text };
}

test('missing key 400, wrong key 403, bad MD5/key/algorithm 400, a key for a plain object 400: nothing of the object revealed', async () => {
  const plain = body(3 * CHUNK + 4321);
  const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'guarded', Body: plain, Metadata: { color: 'ultraviolet' }, ...keyA.sdk }));
  const etag = (put.ETag ?? '').replace(/"/g, '');
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'plain', Body: 'not under any key' }));

  assert.deepEqual(await s3Failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'guarded' }))), { status: 400, code: 'InvalidRequest' });
  assert.equal((await s3Failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'guarded' })))).status, 400);
  assert.deepEqual(await s3Failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'guarded', ...keyB.sdk }))), { status: 403, code: 'AccessDenied' });
  assert.equal((await s3Failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'guarded', ...keyB.sdk })))).status, 403);
  assert.deepEqual(await s3Failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'plain', ...keyA.sdk }))), { status: 400, code: 'InvalidRequest' });

  const wrongMd5 = { ...keyA.headers, 'x-amz-server-side-encryption-customer-key-md5': keyB.md5 };
  const shortKey = { ...keyA.headers, 'x-amz-server-side-encryption-customer-key': randomBytes(16).toString('base64') };
  const badAlgorithm = { ...keyA.headers, 'x-amz-server-side-encryption-customer-algorithm': 'AES128' };
  const noMd5: Record<string, string> = { ...keyA.headers };
  delete noMd5['x-amz-server-side-encryption-customer-key-md5'];
  for (const headers of [wrongMd5, shortKey, badAlgorithm, noMd5]) {
    assert.deepEqual({ status: (await raw('GET', 'guarded', headers)).status, code: (await raw('GET', 'guarded', headers)).code }, { status: 400, code: 'InvalidArgument' });
    assert.equal((await raw('PUT', 'never', headers)).status, 400);
  }
  // Conditions and ranges are not looked at before the key: no 304 with the ETag, no 416 with the size.
  const cases: Record<string, string>[] = [{}, keyB.headers, { 'if-none-match': `"${etag}"` }, { ...keyB.headers, 'if-none-match': `"${etag}"` }, { range: 'bytes=999999999-' }, { ...keyB.headers, range: 'bytes=999999999-' }];
  for (const headers of cases) {
    for (const method of ['GET', 'HEAD']) {
      const answer = await raw(method, 'guarded', headers);
      assert.ok(answer.status === 400 || answer.status === 403, `${method} ${JSON.stringify(Object.keys(headers))}: ${answer.status}`);
      for (const name of ['etag', 'last-modified', 'x-amz-meta-color', 'content-range', 'x-amz-server-side-encryption-customer-key-md5']) assert.equal(answer.headers.get(name), null, name);
      for (const secret of [etag, 'ultraviolet', String(plain.length)]) assert.ok(!answer.text.includes(secret), `the error body tells nothing of the object (${secret})`);
    }
  }
  // The listing shows it as any object; its ACL is not its bytes and needs no key (as on S3).
  const listed = await signedFetch(server, keys, 'GET', `/${BUCKET}`, { query: { 'list-type': '2', prefix: 'guarded' } });
  assert.match(await listed.text(), /<Key>guarded<\/Key>/);
  assert.ok((await s3.send(new GetObjectAclCommand({ Bucket: BUCKET, Key: 'guarded' }))).Owner?.ID);
  await s3.send(new PutObjectAclCommand({ Bucket: BUCKET, Key: 'guarded', ACL: 'private' }));
  assert.deepEqual(await s3Failure(s3.send(new GetObjectAclCommand({ Bucket: BUCKET, Key: 'no-such-object' }))), { status: 404, code: 'NoSuchKey' });
});

test('SSE-C multipart upload: every part with the upload key (none: 400, another: 403), read whole, at ranges, by part', async () => {
  const parts = [body(5 * MIB), body(5 * MIB), body(5 * MIB), body(CHUNK + 17)];
  const whole = Buffer.concat(parts);
  const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mpu', ...keyA.sdk }));
  assert.equal(created.SSECustomerKeyMD5, keyA.md5);
  const UploadId = created.UploadId ?? '';
  // (Small bodies: a refused request is answered before its body is read, and the SDK does not wait for 100-continue.)
  assert.deepEqual(await s3Failure(s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'mpu', UploadId, PartNumber: 1, Body: 'refused' }))), { status: 400, code: 'InvalidRequest' });
  assert.deepEqual(await s3Failure(s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'mpu', UploadId, PartNumber: 1, Body: 'refused', ...keyB.sdk }))), { status: 403, code: 'AccessDenied' });
  const listed: { ETag: string; PartNumber: number }[] = [];
  for (const [index, part] of parts.entries()) {
    const uploaded = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'mpu', UploadId, PartNumber: index + 1, Body: part, ...keyA.sdk }));
    assert.equal(uploaded.SSECustomerKeyMD5, keyA.md5);
    listed.push({ ETag: uploaded.ETag ?? '', PartNumber: index + 1 });
  }
  const completed = await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'mpu', UploadId, MultipartUpload: { Parts: listed }, ...keyA.sdk }));
  assert.match(completed.ETag ?? '', /-4"$/);
  assert.equal((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'mpu', ...keyA.sdk }))).SSECustomerAlgorithm, 'AES256');
  assert.deepEqual(await s3Failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'mpu' }))), { status: 400, code: 'InvalidRequest' });
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'mpu', ...keyA.sdk }));
  assert.ok((await bytesOf(got)).equals(whole));
  for (const [start, end] of [
    [5 * MIB - 100, 5 * MIB + 100],
    [15 * MIB - 1, whole.length - 1],
    [3 * CHUNK - 5, 3 * CHUNK + 5],
  ] as const) {
    const part = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'mpu', Range: `bytes=${start}-${end}`, ...keyA.sdk }));
    assert.ok((await bytesOf(part)).equals(whole.subarray(start, end + 1)), `mpu ${start}-${end}`);
  }
  const second = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'mpu', PartNumber: 2, ...keyA.sdk }));
  assert.ok((await bytesOf(second)).equals(parts[1] ?? Buffer.alloc(0)));
  assert.equal((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'mpu', ...keyA.sdk }))).ContentLength, whole.length);
});

test('CopyObject SSE-C → SSE-C (another key), SSE-C → plain, plain → SSE-C; UploadPartCopy from an SSE-C source', async () => {
  // Not among `bodies`: this test stores them in the clear too, on purpose.
  const plain = randomBytes(2 * CHUNK + 99);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'copy-src', Body: plain, ...keyA.sdk }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'copy-plain-src', Body: plain }));
  const src = `${BUCKET}/copy-src`;
  assert.deepEqual(await s3Failure(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy-x', CopySource: src }))), { status: 400, code: 'InvalidRequest' });
  assert.deepEqual(await s3Failure(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy-x', CopySource: src, ...keyB.source }))), { status: 403, code: 'AccessDenied' });

  const toB = await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy-b', CopySource: src, ...keyA.source, ...keyB.sdk }));
  assert.equal(toB.SSECustomerKeyMD5, keyB.md5);
  assert.ok((await bytesOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'copy-b', ...keyB.sdk })))).equals(plain));
  assert.equal((await s3Failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'copy-b', ...keyA.sdk })))).status, 403);

  await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy-plain', CopySource: src, ...keyA.source }));
  const plainCopy = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'copy-plain' }));
  assert.equal(plainCopy.ETag, `"${createHash('md5').update(plain).digest('hex')}"`, 'a plain copy has the MD5 ETag again');
  assert.ok((await bytesOf(plainCopy)).equals(plain));

  await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy-into-c', CopySource: `${BUCKET}/copy-plain-src`, ...keyB.sdk }));
  assert.equal((await s3Failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'copy-into-c' })))).status, 400);
  assert.ok((await bytesOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'copy-into-c', ...keyB.sdk })))).equals(plain));

  // A copy onto itself with a new key re-keys it.
  await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy-b', CopySource: `${BUCKET}/copy-b`, ...keyB.source, ...keyA.sdk }));
  assert.ok((await bytesOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'copy-b', ...keyA.sdk })))).equals(plain));

  for (const target of [undefined, keyB]) {
    const name = target ? 'upc-c' : 'upc-plain';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: name, ...(target?.sdk ?? {}) }));
    const one = await s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: name, UploadId, PartNumber: 1, CopySource: src, CopySourceRange: `bytes=10-${CHUNK + 10}`, ...keyA.source, ...(target?.sdk ?? {}) }));
    await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: name, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: one.CopyPartResult?.ETag ?? '' }] }, ...(target?.sdk ?? {}) }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: name, ...(target?.sdk ?? {}) }));
    assert.ok((await bytesOf(got)).equals(plain.subarray(10, CHUNK + 11)), name);
  }
  const refused = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'upc-refused' }));
  assert.equal((await s3Failure(s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: 'upc-refused', UploadId: refused.UploadId, PartNumber: 1, CopySource: src })))).status, 400);
});

test('presigned GET of an SSE-C object, the key sent as headers', async () => {
  const plain = body(CHUNK + 5);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'presigned', Body: plain, ...keyA.sdk }));
  const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: 'presigned', ...keyA.sdk }), { expiresIn: 300 });
  const got = await fetch(url, { headers: keyA.headers });
  assert.equal(got.status, 200);
  assert.equal(got.headers.get('x-amz-server-side-encryption-customer-key-md5'), keyA.md5);
  assert.ok(Buffer.from(await got.arrayBuffer()).equals(plain));
  const without = await fetch(url);
  assert.ok(without.status === 400 || without.status === 403, `without the key headers: ${without.status}`);
  await without.arrayBuffer();
});

test('plain HTTP: refused from elsewhere than loopback, unless a trusted proxy says https (or ONGGI_SSE_C_OVER_HTTP=on)', async () => {
  const remote = { 'x-forwarded-for': '203.0.113.7' };
  const refused = await raw('PUT', 'over-http', { ...remote, ...keyA.headers });
  assert.equal(refused.status, 400);
  assert.equal(refused.code, 'InvalidRequest');
  assert.match(refused.text, /secure connection/);
  assert.equal((await raw('GET', 'guarded', { ...remote, ...keyA.headers })).status, 400);
  const copy = await raw('PUT', 'over-http-copy', { ...remote, 'x-amz-copy-source': `/${BUCKET}/guarded`, 'x-amz-copy-source-server-side-encryption-customer-algorithm': 'AES256', 'x-amz-copy-source-server-side-encryption-customer-key': keyA.headers['x-amz-server-side-encryption-customer-key'] ?? '', 'x-amz-copy-source-server-side-encryption-customer-key-md5': keyA.md5 });
  assert.equal(copy.status, 400);
  assert.match(copy.text, /secure connection/);
  // Plain objects from there are not affected.
  assert.equal((await raw('GET', 'plain', remote)).status, 200);
  const overTls = await raw('GET', 'guarded', { ...remote, 'x-forwarded-proto': 'https', ...keyA.headers });
  assert.equal(overTls.status, 200);

  const open = await startServer({ env: { ONGGI_TRUSTED_PROXIES: '127.0.0.1', ONGGI_SSE_C_OVER_HTTP: 'on' } });
  try {
    const put = await signedFetch(open, printedS3Keys(open), 'PUT', `/${BUCKET}-open`, {});
    assert.equal(put.status, 200);
    const stored = await signedFetch(open, printedS3Keys(open), 'PUT', `/${BUCKET}-open/k`, { headers: { ...remote, ...keyA.headers }, body: 'allowed' });
    assert.equal(stored.status, 200, await stored.text());
  } finally {
    await open.destroy();
  }
});

test('x-amz-server-side-encryption: AES256 encrypts into a bucket without default encryption, and every answer says so', async () => {
  const plain = body(2 * CHUNK + 3);
  const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'managed', Body: plain, ServerSideEncryption: 'AES256' }));
  assert.equal(put.ServerSideEncryption, 'AES256');
  assert.equal(put.ETag, `"${createHash('md5').update(plain).digest('hex')}"`);
  assert.equal((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'managed' }))).ServerSideEncryption, 'AES256');
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'managed' }));
  assert.equal(got.ServerSideEncryption, 'AES256');
  assert.ok((await bytesOf(got)).equals(plain));
  const small = body(500);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'managed-small', Body: small, ServerSideEncryption: 'AES256' }));
  assert.equal((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'managed-small' }))).ServerSideEncryption, 'AES256');
  assert.equal((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'plain' }))).ServerSideEncryption, undefined);

  const copied = await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'managed-copy', CopySource: `${BUCKET}/plain`, ServerSideEncryption: 'AES256' }));
  assert.equal(copied.ServerSideEncryption, 'AES256');
  assert.equal((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'managed-copy' }))).ServerSideEncryption, 'AES256');

  const { UploadId, ServerSideEncryption } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'managed-mpu', ServerSideEncryption: 'AES256' }));
  assert.equal(ServerSideEncryption, 'AES256');
  const part = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'managed-mpu', UploadId, PartNumber: 1, Body: body(CHUNK) }));
  assert.equal(part.ServerSideEncryption, 'AES256');
  const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'managed-mpu', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag ?? '' }] } }));
  assert.equal(done.ServerSideEncryption, 'AES256');

  assert.deepEqual(await s3Failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'kms', Body: 'x', ServerSideEncryption: 'aws:kms' }))), { status: 501, code: 'NotImplemented' });
  assert.equal((await raw('PUT', 'bogus', { 'x-amz-server-side-encryption': 'ROT13' })).code, 'InvalidArgument');
  assert.equal((await raw('PUT', 'both', { 'x-amz-server-side-encryption': 'AES256', ...keyA.headers })).code, 'InvalidArgument');

  // A bucket's default encryption shows on its objects too.
  await s3.send(new PutBucketEncryptionCommand({ Bucket: DEFAULT_BUCKET, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } }));
  const byDefault = await s3.send(new PutObjectCommand({ Bucket: DEFAULT_BUCKET, Key: 'default', Body: body(CHUNK + 1) }));
  assert.equal(byDefault.ServerSideEncryption, 'AES256');
  const defaulted = await s3.send(new GetObjectCommand({ Bucket: DEFAULT_BUCKET, Key: 'default' }));
  assert.equal(defaulted.ServerSideEncryption, 'AES256');
  await bytesOf(defaulted);
  // SSE-C in a bucket with default encryption: the customer's key, not the managed one.
  const both = await s3.send(new PutObjectCommand({ Bucket: DEFAULT_BUCKET, Key: 'c-in-default', Body: body(100), ...keyA.sdk }));
  assert.equal(both.ServerSideEncryption, undefined);
  assert.equal(both.SSECustomerKeyMD5, keyA.md5);
});

test('Swift refuses SSE-C objects (no bytes), lists them as any object, copies them as they are', async () => {
  const headers = { 'X-Auth-Token': session.token };
  for (const method of ['GET', 'HEAD']) {
    const answer = await fetch(`${session.storageUrl}/${BUCKET}/guarded`, { method, headers });
    const text = await answer.text();
    assert.equal(answer.status, 400, method);
    assert.equal(answer.headers.get('etag'), null);
    assert.ok(!text.includes('ultraviolet'));
    if (method === 'GET') assert.match(text, /customer-provided key/);
  }
  // A copy as it is stored (the console's copy and move) shares the bytes and stays under the customer's key.
  const copy = await fetch(`${session.storageUrl}/${BUCKET}/swift-copy`, { method: 'PUT', headers: { ...headers, 'X-Copy-From': `${BUCKET}/guarded` } });
  assert.equal(copy.status, 201);
  await copy.text();
  assert.equal((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'swift-copy', ...keyA.sdk }))).ContentLength, 3 * CHUNK + 4321);
  assert.equal((await s3Failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'swift-copy' })))).status, 400);
  assert.equal((await fetch(`${session.storageUrl}/${BUCKET}/swift-copy`, { headers })).status, 400);
  // Part of it would have to be opened: refused.
  const ranged = await fetch(`${session.storageUrl}/${BUCKET}/swift-ranged`, { method: 'PUT', headers: { ...headers, 'X-Copy-From': `${BUCKET}/guarded`, Range: 'bytes=0-9' } });
  assert.equal(ranged.status, 400);
  await ranged.text();
  const listing = (await (await fetch(`${session.storageUrl}/${BUCKET}?format=json&prefix=guarded`, { headers })).json()) as { name: string; bytes: number }[];
  assert.deepEqual(listing.map((entry) => [entry.name, entry.bytes]), [['guarded', 3 * CHUNK + 4321]]);
});

test('no file of the data directory holds a 32-byte run of a plain body, nor a customer key', async () => {
  const runs = new Set<string>();
  for (const plain of bodies) for (let at = 0; at + 32 <= plain.length; at += 16) runs.add(plain.toString('latin1', at, at + 32));
  const secrets = [keyA, keyB].flatMap((key) => [key.raw, Buffer.from(key.raw.toString('base64'))]);
  for (const file of await filesUnder(server.dataDir)) {
    const bytes = await readFile(file);
    for (const secret of secrets) assert.equal(bytes.indexOf(secret), -1, `${file} holds a customer key`);
    for (let at = 0; at + 32 <= bytes.length; at++) {
      if (runs.has(bytes.toString('latin1', at, at + 32))) assert.fail(`${file} holds plain bytes at ${at}`);
    }
  }
});

test('fsck counts SSE-C blobs as unverifiable, finds nothing wrong; after a master key rotation they read with their key', async () => {
  const report = (await admin(server.dataDir, 'fsck')) as { findings: unknown[]; blobsBy: { customer: number } };
  assert.deepEqual(report.findings, []);
  assert.ok(report.blobsBy.customer >= 10, `SSE-C blobs counted apart: ${JSON.stringify(report.blobsBy)}`);
  // The client's keep-alive connections go first, so that the server's stop aborts none of them.
  s3.destroy();
  await server.stop();
  const keyDir = await makeTempDir('onggi-keys-');
  try {
    const newKeyFile = join(keyDir, 'new.key');
    await writeFile(newKeyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    await admin(server.dataDir, 'encryption', 'rotate', '--new-key-file', newKeyFile);
  } finally {
    await removeDir(keyDir);
  }
  server = await startServer({ dataDir: server.dataDir, env: { ONGGI_TRUSTED_PROXIES: '127.0.0.1' } });
  s3 = s3Client(server, keys);
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'mpu', Range: 'bytes=0-99', ...keyA.sdk }));
  assert.equal((await bytesOf(got)).length, 100);
  assert.ok((await bytesOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `obj-${3 * CHUNK + 4321}`, ...keyA.sdk })))).equals(bodies[3] ?? Buffer.alloc(0)));
  assert.ok((await bytesOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'obj-1000', ...keyA.sdk })))).equals(bodies[1] ?? Buffer.alloc(0)));
  assert.equal((await s3Failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'obj-1000', ...keyB.sdk })))).status, 403);
  const managed = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'managed' }));
  assert.equal(managed.ServerSideEncryption, 'AES256');
  assert.equal((await bytesOf(managed)).length, 2 * CHUNK + 3);
  const after = (await admin(server.dataDir, 'fsck')) as { findings: unknown[] };
  assert.deepEqual(after.findings, []);
});
