/** Virtual-host-style S3 (`<bucket>.<ONGGI_S3_DOMAIN>`) on the one listener, beside path-style and the other routes. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { printedS3Keys, s3Client } from '../helpers/s3.ts';

const DOMAIN = 's3.onggi.test';
let server: RunningServer;

before(async () => {
  server = await startServer({ env: { ONGGI_S3_DOMAIN: DOMAIN } });
  const s3 = s3Client(server);
  await s3.send(new CreateBucketCommand({ Bucket: 'vhost-bucket' }));
  await s3.send(new PutObjectCommand({ Bucket: 'vhost-bucket', Key: 'dir/key.txt', Body: 'by virtual host' }));
});
after(() => server.destroy());

/** A GET signed for `host`, sent to the server's own address with that Host header. */
async function signedGet(host: string, path: string, query: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const url = new URL(server.url);
  const signer = new SignatureV4({ service: 's3', region: 'kr-central-2', credentials: printedS3Keys(server), sha256: Sha256, uriEscapePath: false });
  const signed = await signer.sign({ method: 'GET', protocol: 'http:', hostname: host, path, query, headers: { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
  const search = new URLSearchParams(query).toString();
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method: 'GET', path: `${path}${search ? `?${search}` : ''}`, headers: signed.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('virtual-host-style addressing', () => {
  test('GET of an object and a listing by <bucket>.<domain>', async () => {
    const host = `vhost-bucket.${DOMAIN}:${new URL(server.url).port}`;
    const object = await signedGet(host, '/dir/key.txt');
    assert.deepEqual(object, { status: 200, body: 'by virtual host' });
    const listing = await signedGet(host, '/', { 'list-type': '2' });
    assert.equal(listing.status, 200);
    assert.match(listing.body, /<Key>dir\/key\.txt<\/Key>/);
  });

  test('a path that is a route elsewhere is a key under a virtual host', async () => {
    const host = `vhost-bucket.${DOMAIN}`;
    const missing = await signedGet(host, '/v1/whatever');
    assert.equal(missing.status, 404);
    assert.match(missing.body, /<Code>NoSuchKey<\/Code>/);
  });
});
