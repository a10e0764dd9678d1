/**
 * S3 reads on the console's origin (path-style shares its listener): objects sandboxed and not sniffed, an active
 * type read anonymously from a public bucket served as a download, and `response-*` overrides refused to anonymous
 * callers, as S3 does (nobody may choose how another's object is served).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutBucketAclCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { printedS3Keys, s3Client, signedFetch, type S3KeyPair } from '../helpers/s3.ts';
import { xmlTexts } from '../helpers/xml.ts';

let server: RunningServer;
let keys: S3KeyPair;
let s3: S3Client;
const BUCKET = 's3-served';

before(async () => {
  server = await startServer();
  keys = printedS3Keys(server);
  s3 = s3Client(server, keys);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new PutBucketAclCommand({ Bucket: BUCKET, ACL: 'public-read' }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'page.html', Body: '<script>alert(1)</script>', ContentType: 'text/html' }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'named.html', Body: '<p>hi</p>', ContentType: 'text/html', ContentDisposition: 'inline; filename="named.html"' }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'note.txt', Body: 'plain', ContentType: 'text/plain' }));
});
after(() => server.destroy());

describe('S3 object response headers', () => {
  test('every read is sandboxed and not sniffed; an anonymous read of HTML is a download', async () => {
    for (const method of ['GET', 'HEAD']) {
      const anonymous = await fetch(`${server.url}/${BUCKET}/page.html`, { method });
      assert.equal(anonymous.status, 200);
      assert.equal(anonymous.headers.get('content-security-policy'), 'sandbox');
      assert.equal(anonymous.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(anonymous.headers.get('content-disposition'), 'attachment', method);
      await anonymous.arrayBuffer();
    }
    const part = await fetch(`${server.url}/${BUCKET}/page.html?partNumber=1`);
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-disposition'), 'attachment');
    await part.arrayBuffer();

    const signed = await signedFetch(server, keys, 'GET', `/${BUCKET}/page.html`);
    assert.equal(signed.headers.get('content-security-policy'), 'sandbox');
    assert.equal(signed.headers.get('content-disposition'), null);
    await signed.arrayBuffer();
    const named = await fetch(`${server.url}/${BUCKET}/named.html`);
    assert.equal(named.headers.get('content-disposition'), 'inline; filename="named.html"');
    await named.arrayBuffer();
    const text = await fetch(`${server.url}/${BUCKET}/note.txt`);
    assert.equal(text.headers.get('content-disposition'), null);
    assert.equal(await text.text(), 'plain');
  });

  test('response-* overrides: InvalidRequest to an anonymous caller, honoured for a signed one', async () => {
    for (const query of ['response-content-type=text%2Fhtml', 'response-content-disposition=inline', 'partNumber=1&response-content-type=text%2Fhtml']) {
      const res = await fetch(`${server.url}/${BUCKET}/note.txt?${query}`);
      assert.equal(res.status, 400, query);
      assert.deepEqual(xmlTexts(await res.text(), 'Code').Code, ['InvalidRequest']);
    }
    const signed = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'note.txt', ResponseContentType: 'text/x-chosen', ResponseContentDisposition: 'attachment; filename="n.txt"' }));
    assert.equal(signed.ContentType, 'text/x-chosen');
    assert.equal(signed.ContentDisposition, 'attachment; filename="n.txt"');
    assert.equal(await signed.Body?.transformToString(), 'plain');
  });
});
