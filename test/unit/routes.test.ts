/** src/routes.ts: the one dispatch table, by Host and path; its names are refused as bucket names in every profile. */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { KAKAOCLOUD_NAMES, ROUTE_NAMES, SWIFT_NAMES } from '../../src/core/constraints.ts';
import type { FrontEnd } from '../../src/http/context.ts';
import { createRouter, virtualHostBucket } from '../../src/routes.ts';
import { codeOf } from '../helpers/errors.ts';

const s3: FrontEnd = async () => undefined;
const withS3 = createRouter({ s3, s3Domain: 's3.example.test' });
const withoutS3 = createRouter();

describe('the route table', () => {
  const table: [host: string | undefined, path: string, withS3: string | null, withoutS3: string | null][] = [
    ['localhost:8080', '/identity/v3/auth/tokens', 'identity', 'identity'],
    ['localhost:8080', '/identity', 'identity', 'identity'],
    ['localhost:8080', '/v1_ext/bucket', 'v1_ext', 'v1_ext'],
    ['localhost:8080', '/v1_ext', 'v1_ext', 'v1_ext'],
    ['localhost:8080', '/v1/acc/cont/obj', 'v1', 'v1'],
    ['localhost:8080', '/v1/', 'v1', 'v1'],
    // `/v1` alone is Swift's (its 412 Bad URL); a reserved segment never falls through to S3.
    ['localhost:8080', '/v1', 'v1', 'v1'],
    ['localhost:8080', '/info', 'info', 'info'],
    ['localhost:8080', '/info/x', null, null],
    ['localhost:8080', '/auth/v1.0', 'auth', 'auth'],
    ['localhost:8080', '/auth', 'auth', 'auth'],
    ['localhost:8080', '/console', 'console', 'console'],
    ['localhost:8080', '/console/assets/app.js', 'console', 'console'],
    ['localhost:8080', '/healthz', 'healthz', 'healthz'],
    ['localhost:8080', '/readyz', 'readyz', 'readyz'],
    ['localhost:8080', '/metrics', 'metrics', 'metrics'],
    ['localhost:8080', '/metrics/x', null, null],
    ['localhost:8080', '/', 'root', 'root'],
    // Everything else is S3's path-style addressing, when there is an S3 front end.
    ['localhost:8080', '/my-bucket', 's3-path', null],
    ['localhost:8080', '/my-bucket/key', 's3-path', null],
    ['localhost:8080', '/consoles/key', 's3-path', null],
    ['localhost:8080', '/v1x', 's3-path', null],
    [undefined, '/my-bucket', 's3-path', null],
    // Virtual-host-style: the Host names the bucket, whatever the path.
    ['my-bucket.s3.example.test', '/', 's3-virtual-host', 'root'],
    ['my-bucket.s3.example.test:8080', '/v1/acc', 's3-virtual-host', 'v1'],
    ['My-Bucket.S3.Example.Test', '/key', 's3-virtual-host', null],
    ['s3.example.test', '/my-bucket', 's3-path', null],
    ['evil-s3.example.test', '/my-bucket', 's3-path', null],
    ['[::1]:8080', '/v1/acc', 'v1', 'v1'],
  ];
  for (const [host, path, expected, expectedWithout] of table) {
    test(`${host ?? '(no host)'} ${path}`, () => {
      assert.equal(withS3(host, path)?.name ?? null, expected);
      assert.equal(withoutS3(host, path)?.name ?? null, expectedWithout);
    });
  }

  test('S3 routes name S3 request-id headers; the others OpenStack ones', () => {
    const s3Route = withS3('localhost', '/bucket');
    const swiftRoute = withS3('localhost', '/v1/acc');
    assert.ok(s3Route?.kind === 'frontEnd' && swiftRoute?.kind === 'frontEnd');
    assert.deepEqual(s3Route.requestIdHeaders, ['x-amz-request-id', 'x-amz-id-2']);
    assert.deepEqual(swiftRoute.requestIdHeaders, ['X-Trans-Id', 'X-Openstack-Request-Id']);
  });

  test("`/` is the root page, or S3's ListBuckets when the request is signed for S3", () => {
    const request = (headers: Record<string, string>, url = '/'): IncomingMessage => ({ headers, url }) as unknown as IncomingMessage;
    assert.equal(withS3('localhost', '/', request({}))?.name, 'root');
    assert.equal(withS3('localhost', '/', request({ authorization: 'AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00' }))?.name, 's3-path');
    assert.equal(withS3('localhost', '/', request({ authorization: 'AWS AK:signature' }))?.name, 's3-path');
    assert.equal(withS3('localhost', '/', request({}, '/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=x'))?.name, 's3-path');
    assert.equal(withS3('localhost', '/', request({ authorization: 'Bearer token' }))?.name, 'root');
    assert.equal(withoutS3('localhost', '/', request({ authorization: 'AWS4-HMAC-SHA256 Credential=x' }))?.name, 'root');
  });

  test('virtualHostBucket', () => {
    assert.equal(virtualHostBucket('photos.s3.example.test:9000', 's3.example.test'), 'photos');
    assert.equal(virtualHostBucket('a.b.s3.example.test', 's3.example.test'), 'a.b');
    assert.equal(virtualHostBucket('s3.example.test', 's3.example.test'), null);
    assert.equal(virtualHostBucket('photos.other.test', 's3.example.test'), null);
  });
});

describe('every route name is refused as a bucket name', () => {
  test('the table serves exactly the reserved route names', () => {
    for (const name of ROUTE_NAMES) {
      const routed = withS3('localhost', name === 'v1' ? '/v1/x' : `/${name}`);
      assert.ok(routed && !routed.name.startsWith('s3'), `/${name} is served by the table`);
    }
  });
  for (const profile of [KAKAOCLOUD_NAMES, SWIFT_NAMES]) {
    for (const name of ROUTE_NAMES) {
      test(`${profile.name}: ${name}`, () => {
        assert.equal(
          codeOf(() => {
            profile.checkBucketName(name);
          }),
          'InvalidBucketName',
        );
      });
    }
    test(`${profile.name}: the reserved names are published for clients (/info)`, () => {
      for (const name of ROUTE_NAMES) assert.ok(profile.bucketNameRules.reserved.includes(name), name);
    });
  }
});
