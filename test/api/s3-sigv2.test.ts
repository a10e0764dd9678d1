/**
 * Signature Version 2 (older clients): the Authorization header and the query form, each signed here as AWS's
 * documentation spells the string to sign (HMAC-SHA1 of method, Content-MD5, Content-Type, date, x-amz-* headers,
 * resource and subresources).
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { printedS3Keys, s3Client, type S3KeyPair } from '../helpers/s3.ts';

let server: RunningServer;
let keys: S3KeyPair;

before(async () => {
  server = await startServer();
  keys = printedS3Keys(server);
  const s3 = s3Client(server, keys);
  await s3.send(new CreateBucketCommand({ Bucket: 'sigv2-bucket' }));
  await s3.send(new PutObjectCommand({ Bucket: 'sigv2-bucket', Key: 'obj.txt', Body: 'signed the old way' }));
});
after(() => server.destroy());

function sign(secret: string, text: string): string {
  return createHmac('sha1', secret).update(text).digest('base64');
}

describe('SigV2', () => {
  test('header: GET and PUT; a wrong secret is SignatureDoesNotMatch', async () => {
    const date = new Date().toUTCString();
    const get = await fetch(`${server.url}/sigv2-bucket/obj.txt`, { headers: { Date: date, Authorization: `AWS ${keys.accessKeyId}:${sign(keys.secretAccessKey, `GET\n\n\n${date}\n/sigv2-bucket/obj.txt`)}` } });
    assert.equal(get.status, 200);
    assert.equal(await get.text(), 'signed the old way');

    const amzDate = new Date().toUTCString();
    const toSign = `PUT\n\ntext/plain\n\nx-amz-date:${amzDate}\nx-amz-meta-via:v2\n/sigv2-bucket/put.txt`;
    const put = await fetch(`${server.url}/sigv2-bucket/put.txt`, {
      method: 'PUT',
      headers: { 'Content-Type': 'text/plain', 'x-amz-date': amzDate, 'x-amz-meta-via': 'v2', Authorization: `AWS ${keys.accessKeyId}:${sign(keys.secretAccessKey, toSign)}` },
      body: 'put with v2',
    });
    assert.equal(put.status, 200);
    await put.text();

    const listing = await fetch(`${server.url}/sigv2-bucket?versioning`, { headers: { Date: date, Authorization: `AWS ${keys.accessKeyId}:${sign(keys.secretAccessKey, `GET\n\n\n${date}\n/sigv2-bucket?versioning`)}` } });
    assert.equal(listing.status, 200);
    await listing.text();

    const wrong = await fetch(`${server.url}/sigv2-bucket/obj.txt`, { headers: { Date: date, Authorization: `AWS ${keys.accessKeyId}:${sign('wrong', `GET\n\n\n${date}\n/sigv2-bucket/obj.txt`)}` } });
    assert.equal(wrong.status, 403);
    assert.match(await wrong.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
  });

  test('query: a presigned GET works until it expires', async () => {
    const url = (expires: number): string => {
      const signature = sign(keys.secretAccessKey, `GET\n\n\n${expires}\n/sigv2-bucket/obj.txt`);
      return `${server.url}/sigv2-bucket/obj.txt?AWSAccessKeyId=${keys.accessKeyId}&Expires=${expires}&Signature=${encodeURIComponent(signature)}`;
    };
    const fresh = await fetch(url(Math.floor(Date.now() / 1000) + 300));
    assert.equal(fresh.status, 200);
    assert.equal(await fresh.text(), 'signed the old way');
    const expired = await fetch(url(Math.floor(Date.now() / 1000) - 10));
    assert.equal(expired.status, 403);
    assert.match(await expired.text(), /<Code>AccessDenied<\/Code>/);
  });
});
