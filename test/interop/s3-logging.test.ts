/** S3's bucket logging (`?logging`) on core's access log, shared with `/v1_ext`: configuration both ways, S3 requests delivered as log lines. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, GetBucketLoggingCommand, GetObjectCommand, ListObjectsV2Command, PutBucketLoggingCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { waitFor } from '../helpers/accounts.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { s3Client } from '../helpers/s3.ts';

let server: RunningServer;
let s3: S3Client;
let session: Session;

before(async () => {
  server = await startServer({ env: { ONGGI_ACCESS_LOG_DELIVERY_MS: '300' } });
  s3 = s3Client(server);
  session = await login(server.url);
  await s3.send(new CreateBucketCommand({ Bucket: 'logged' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'logs' }));
});
after(() => server.destroy());

describe('S3 bucket logging with @aws-sdk/client-s3', () => {
  test('off, on (seen by /v1_ext), S3 requests delivered as lines, off again', async () => {
    assert.equal((await s3.send(new GetBucketLoggingCommand({ Bucket: 'logged' }))).LoggingEnabled, undefined);
    await s3.send(new PutBucketLoggingCommand({ Bucket: 'logged', BucketLoggingStatus: { LoggingEnabled: { TargetBucket: 'logs', TargetPrefix: 'access/' } } }));
    assert.deepEqual((await s3.send(new GetBucketLoggingCommand({ Bucket: 'logged' }))).LoggingEnabled, { TargetBucket: 'logs', TargetPrefix: 'access/' });
    const shared = await fetch(`${server.url}/v1_ext/bucket/logged/logging`, { headers: { 'X-Auth-Token': session.token } });
    assert.equal(shared.status, 200);
    assert.match(await shared.text(), /"logs"/);

    await s3.send(new PutObjectCommand({ Bucket: 'logged', Key: 'seen.txt', Body: 'seen' }));
    await (await s3.send(new GetObjectCommand({ Bucket: 'logged', Key: 'seen.txt' }))).Body?.transformToString();
    let lines = '';
    const delivered = await waitFor(async () => {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'logs', Prefix: 'access/' }));
      lines = '';
      for (const item of listed.Contents ?? []) lines += (await (await s3.send(new GetObjectCommand({ Bucket: 'logs', Key: item.Key }))).Body?.transformToString()) ?? '';
      return lines.includes('REST.GET.OBJECT') && lines.includes('REST.PUT.OBJECT');
    }, 20_000);
    assert.notEqual(delivered, null, `no S3 lines delivered: ${lines}`);
    assert.match(lines, / logged /);
    assert.match(lines, /seen\.txt/);

    await s3.send(new PutBucketLoggingCommand({ Bucket: 'logged', BucketLoggingStatus: {} }));
    assert.equal((await s3.send(new GetBucketLoggingCommand({ Bucket: 'logged' }))).LoggingEnabled, undefined);
    assert.equal((await fetch(`${server.url}/v1_ext/bucket/logged/logging`, { headers: { 'X-Auth-Token': session.token } })).status, 404);
  });
});
