/**
 * Object Lock where it meets the protocols, over real HTTP: a lock set with core's own calls while the server is
 * stopped, and one set through S3 (PutObjectRetention, PutObjectLegalHold, the x-amz-object-lock-* headers),
 * survives the restart, and S3, Swift and `/v1_ext` refuse what would remove or change a locked version; governance
 * retention yields only to S3's bypass.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import type { Caller } from '../../src/core/types.ts';
import { openCore } from '../../src/open-stores.ts';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { asRecord, request, uniqueName, waitFor } from '../helpers/accounts.ts';
import { printedS3Keys, s3Client, type S3KeyPair } from '../helpers/s3.ts';
import { adminEnv, login, startServer, type RunningServer, type Session } from '../helpers/server.ts';

const DAY = 24 * 3600 * 1000;

let server: RunningServer;
let root: Session;
/** Printed at the first start only: kept across the restarts. */
let s3Keys: S3KeyPair;

before(async () => {
  server = await startServer();
  root = await login(server.url);
  s3Keys = printedS3Keys(server);
});
after(async () => {
  await server.destroy();
});

/** Runs `work` on a core opened on the server's stores while the server is stopped, then starts it again. */
async function withServerStopped(work: (core: Awaited<ReturnType<typeof openCore>>, caller: Caller) => Promise<void>): Promise<void> {
  await server.stop();
  const core = await openCore(loadConfig({ dataDir: server.dataDir }, await adminEnv(server.dataDir)), (err) => {
    throw err;
  });
  const caller: Caller = { kind: 'user', userId: 'lock-setup', userName: 'lock-setup', projectId: root.projectId, role: 'admin', accessKeyId: 'lock-setup' };
  try {
    await work(core, caller);
  } finally {
    await core.store.close();
  }
  server = await startServer({ dataDir: server.dataDir });
  root = await login(server.url);
}

const swift = (path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Response> =>
  fetch(`${root.storageUrl}${path}`, { method: init.method ?? 'GET', headers: { 'X-Auth-Token': root.token, ...init.headers }, body: init.body });

void describe('Object Lock across Swift and /v1_ext', () => {
  void test('a locked version survives a restart, Swift DELETE and POST, /v1_ext emptying and bucket delete', async () => {
    const name = uniqueName('locked');
    assert.equal((await swift(`/${name}`, { method: 'PUT' })).status, 201);
    for (const key of ['kept', 'held', 'free']) assert.equal((await swift(`/${name}/${key}`, { method: 'PUT', body: `${key} bytes` })).status, 201);

    let keptVersion = '';
    await withServerStopped(async (core, caller) => {
      const ref = (key: string): { account: string; bucket: string; key: string } => ({ account: root.projectId, bucket: name, key });
      await core.buckets.setVersioning(caller, root.projectId, name, 'enabled');
      await core.objectLock.putConfiguration(caller, root.projectId, name, null);
      keptVersion = await core.objectLock.putRetention(caller, ref('kept'), { mode: 'COMPLIANCE', retainUntil: Date.now() + DAY });
      await core.objectLock.putLegalHold(caller, ref('held'), true);
    });

    const post = await swift(`/${name}/kept`, { method: 'POST', headers: { 'X-Object-Meta-Color': 'blue' } });
    assert.equal(post.status, 409, 'Swift POST would change the locked version in place');
    assert.match(await post.text(), /object lock/i);

    // Deleting the key of a locked version adds a delete marker (as S3 does); the version stays.
    assert.equal((await swift(`/${name}/kept`, { method: 'DELETE' })).status, 204);
    assert.equal((await swift(`/${name}/kept`)).status, 404);
    // An overwrite is a new version over the locked one.
    assert.equal((await swift(`/${name}/held`, { method: 'PUT', body: 'newer' })).status, 201);

    const emptyUrl = `${server.url}/v1_ext/bucket/${name}/empty`;
    assert.equal((await request(emptyUrl, { method: 'POST', token: root.token, body: { delete_bucket: true } })).status, 202);
    let last: Record<string, unknown> = {};
    const done = await waitFor(async () => {
      const progress = await request(emptyUrl, { token: root.token });
      last = asRecord(progress.json);
      return last.status === 'done';
    }, 30_000);
    assert.notEqual(done, null, `emptying did not finish: ${JSON.stringify(last)}`);
    assert.equal(last.locked_versions, 2, JSON.stringify(last));
    assert.equal((await request(`${server.url}/v1_ext/bucket/${name}`, { token: root.token })).status, 200, 'the bucket stays');
    const deleted = await request(`${server.url}/v1_ext/bucket/${name}`, { method: 'DELETE', token: root.token });
    assert.equal(deleted.status, 409, deleted.text);
    assert.equal((await swift(`/${name}`, { method: 'DELETE' })).status, 409);

    // Both versions are still there, and the locked ones read back as current once what hid them went.
    await withServerStopped(async (core, caller) => {
      const { listing } = await core.objects.listVersions(caller, root.projectId, name, { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', limit: 10 });
      const left = listing.entries.flatMap((entry) => (entry.kind === 'item' ? [`${entry.item.key}@${entry.item.versionId}`] : []));
      assert.deepEqual(left.sort(), [`held@null`, `kept@${keptVersion}`]);
    });
    assert.equal(await (await swift(`/${name}/kept`)).text(), 'kept bytes');
    assert.equal(await (await swift(`/${name}/held`)).text(), 'held bytes');
  });
});

/** The status and S3 code a call answered (200 and 'ok' when it succeeded). */
async function s3Outcome(promise: Promise<unknown>): Promise<[number | undefined, string]> {
  try {
    await promise;
    return [200, 'ok'];
  } catch (err) {
    const e = err as { $metadata?: { httpStatusCode?: number }; Code?: string; name: string };
    return [e.$metadata?.httpStatusCode, e.Code ?? e.name];
  }
}

async function emptyBucket(name: string): Promise<Record<string, unknown>> {
  const emptyUrl = `${server.url}/v1_ext/bucket/${name}/empty`;
  assert.equal((await request(emptyUrl, { method: 'POST', token: root.token, body: { delete_bucket: true } })).status, 202);
  let last: Record<string, unknown> = {};
  const done = await waitFor(async () => {
    last = asRecord((await request(emptyUrl, { token: root.token })).json);
    return last.status === 'done';
  }, 30_000);
  assert.notEqual(done, null, `emptying did not finish: ${JSON.stringify(last)}`);
  return last;
}

void describe('Object Lock set through S3, across S3, Swift and /v1_ext', () => {
  void test('retention and legal hold set by S3 hold against S3, Swift and /v1_ext, and across a restart', async () => {
    let s3: S3Client = s3Client(server, s3Keys);
    const Bucket = uniqueName('s3locked');
    await s3.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true }));
    const kept = (await s3.send(new PutObjectCommand({ Bucket, Key: 'kept', Body: 'kept bytes' }))).VersionId ?? '';
    const held = (await s3.send(new PutObjectCommand({ Bucket, Key: 'held', Body: 'held bytes' }))).VersionId ?? '';
    const governed = (await s3.send(new PutObjectCommand({ Bucket, Key: 'governed', Body: 'g', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: new Date(Date.now() + DAY) }))).VersionId ?? '';
    await s3.send(new PutObjectRetentionCommand({ Bucket, Key: 'kept', VersionId: kept, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: new Date(Date.now() + DAY) } }));
    await s3.send(new PutObjectLegalHoldCommand({ Bucket, Key: 'held', VersionId: held, LegalHold: { Status: 'ON' } }));

    await server.stop();
    server = await startServer({ dataDir: server.dataDir });
    root = await login(server.url);
    s3 = s3Client(server, s3Keys);
    assert.equal((await s3.send(new GetObjectRetentionCommand({ Bucket, Key: 'kept', VersionId: kept }))).Retention?.Mode, 'COMPLIANCE');
    assert.equal((await s3.send(new GetObjectLegalHoldCommand({ Bucket, Key: 'held', VersionId: held }))).LegalHold?.Status, 'ON');

    for (const [key, versionId] of [['kept', kept], ['held', held], ['governed', governed]] as const) {
      assert.deepEqual(await s3Outcome(s3.send(new DeleteObjectCommand({ Bucket, Key: key, VersionId: versionId }))), [403, 'AccessDenied'], `S3 DELETE of ${key}`);
      const swiftDelete = await swift(`/${Bucket}/${key}?version-id=${versionId}`, { method: 'DELETE' });
      assert.equal(swiftDelete.status, 409, `Swift DELETE of ${key}'s version`);
      assert.equal((await swift(`/${Bucket}/${key}`, { method: 'POST', headers: { 'X-Object-Meta-A': 'b' } })).status, 409, `Swift POST of ${key}`);
    }
    // The bypass moves governance, never compliance nor a legal hold.
    assert.deepEqual(await s3Outcome(s3.send(new DeleteObjectCommand({ Bucket, Key: 'kept', VersionId: kept, BypassGovernanceRetention: true }))), [403, 'AccessDenied']);
    assert.deepEqual(await s3Outcome(s3.send(new DeleteObjectCommand({ Bucket, Key: 'held', VersionId: held, BypassGovernanceRetention: true }))), [403, 'AccessDenied']);
    assert.deepEqual(await s3Outcome(s3.send(new DeleteObjectCommand({ Bucket, Key: 'governed', VersionId: governed, BypassGovernanceRetention: true }))), [200, 'ok']);

    const progress = await emptyBucket(Bucket);
    assert.equal(progress.locked_versions, 2, JSON.stringify(progress));
    assert.equal((await request(`${server.url}/v1_ext/bucket/${Bucket}`, { token: root.token })).status, 200, 'the bucket stays');
    assert.equal(await (await swift(`/${Bucket}/kept?version-id=${kept}`)).text(), 'kept bytes');
    assert.equal(await (await swift(`/${Bucket}/held?version-id=${held}`)).text(), 'held bytes');

    // Once the legal hold is off, the version goes like any other.
    await s3.send(new PutObjectLegalHoldCommand({ Bucket, Key: 'held', VersionId: held, LegalHold: { Status: 'OFF' } }));
    assert.equal((await swift(`/${Bucket}/held?version-id=${held}`, { method: 'DELETE' })).status, 204);
  });
});
