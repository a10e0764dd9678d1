/**
 * `/v1_ext/bucket/{name}/object_lock` (the console's Object Lock card): the bucket's lock and default retention in
 * JSON, round trips, the errors core's rules give (no versioning, bad periods, no turning it off, viewers), and the
 * same configuration as S3's GetObjectLockConfiguration / PutObjectLockConfiguration see it, both ways.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GetObjectLockConfigurationCommand, PutObjectLockConfigurationCommand, type S3Client } from '@aws-sdk/client-s3';
import { asRecord, createAccount, request, type JsonResponse } from '../helpers/accounts.ts';
import { s3Client } from '../helpers/s3.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { bucketName, createContainer } from '../helpers/swift.ts';

let server: RunningServer;
let root: Session;
let viewer: Session;
let s3: S3Client;

before(async () => {
  server = await startServer();
  root = await login(server.url);
  const reader = await createAccount(server.dataDir, 'reader', { project: root.projectId });
  viewer = await login(server.url, reader.keyId, reader.secret);
  s3 = s3Client(server);
});
after(async () => {
  s3.destroy();
  await server.destroy();
});

const lockUrl = (bucket: string): string => `${server.url}/v1_ext/bucket/${encodeURIComponent(bucket)}/object_lock`;

async function getLock(bucket: string, session: Session = root): Promise<JsonResponse> {
  return request(lockUrl(bucket), { token: session.token });
}

async function putLock(bucket: string, body: unknown, session: Session = root): Promise<JsonResponse> {
  return request(lockUrl(bucket), { method: 'PUT', token: session.token, body });
}

/** A new bucket, with versioning enabled unless `versioned` is false. */
async function newBucket(prefix: string, versioned = true): Promise<string> {
  const name = bucketName(prefix);
  await createContainer(root, name, versioned ? { 'X-Versions-Enabled': 'true' } : {});
  return name;
}

function codeOf(response: JsonResponse): string {
  return String(asRecord(response.json, response.text).code);
}

describe('the bucket API’s Object Lock', () => {
  test('a bucket without a lock reads as off; enabling it, then setting, changing and clearing the default retention round-trip', async () => {
    const name = await newBucket('lock-trip');
    const off = await getLock(name);
    assert.equal(off.status, 200, off.text);
    assert.deepEqual(off.json, { enabled: false, default_retention: null });

    const enabled = await putLock(name, { enabled: true });
    assert.equal(enabled.status, 200, enabled.text);
    assert.deepEqual(enabled.json, { enabled: true, default_retention: null });
    assert.deepEqual((await getLock(name)).json, { enabled: true, default_retention: null });

    for (const rule of [{ mode: 'COMPLIANCE', days: 30 }, { mode: 'GOVERNANCE', years: 2 }, { mode: 'GOVERNANCE', days: 36_500 }, { mode: 'COMPLIANCE', years: 100 }]) {
      const put = await putLock(name, { enabled: true, default_retention: rule });
      assert.equal(put.status, 200, put.text);
      assert.deepEqual(put.json, { enabled: true, default_retention: rule });
      assert.deepEqual((await getLock(name)).json, { enabled: true, default_retention: rule });
    }

    const cleared = await putLock(name, { enabled: true, default_retention: null });
    assert.equal(cleared.status, 200, cleared.text);
    assert.deepEqual((await getLock(name)).json, { enabled: true, default_retention: null });
    // HEAD answers as GET does, without a body.
    const head = await fetch(lockUrl(name), { method: 'HEAD', headers: { 'X-Auth-Token': root.token } });
    assert.equal(head.status, 200);
  });

  test('enabling needs versioning enabled (suspended is not enough): 409 InvalidBucketState, and nothing changes', async () => {
    const never = await newBucket('lock-nover', false);
    const refused = await putLock(never, { enabled: true, default_retention: { mode: 'GOVERNANCE', days: 1 } });
    assert.equal(refused.status, 409, refused.text);
    assert.equal(codeOf(refused), 'InvalidBucketState');
    assert.match(String(asRecord(refused.json).message), /Versioning must be Enabled/);
    assert.deepEqual((await getLock(never)).json, { enabled: false, default_retention: null });

    const suspended = await newBucket('lock-susp');
    const post = await fetch(`${root.storageUrl}/${suspended}`, { method: 'POST', headers: { 'X-Auth-Token': root.token, 'X-Versions-Enabled': 'false' } });
    assert.equal(post.status, 204);
    assert.equal(codeOf(await putLock(suspended, { enabled: true })), 'InvalidBucketState');

    // Once enabled, versioning stays: Swift's attempt to suspend it is refused.
    const locked = await newBucket('lock-stays');
    assert.equal((await putLock(locked, { enabled: true })).status, 200);
    const suspend = await fetch(`${root.storageUrl}/${locked}`, { method: 'POST', headers: { 'X-Auth-Token': root.token, 'X-Versions-Enabled': 'false' } });
    assert.equal(suspend.status, 409);
    await suspend.body?.cancel();
  });

  test('bad periods and bodies are refused with the bucket API’s JSON errors, and the configuration stays as it was', async () => {
    const name = await newBucket('lock-bad');
    const kept = { mode: 'GOVERNANCE', days: 7 };
    assert.equal((await putLock(name, { enabled: true, default_retention: kept })).status, 200);
    const cases: [unknown, number, string][] = [
      [{ enabled: true, default_retention: { mode: 'COMPLIANCE', days: 0 } }, 400, 'InvalidRetentionPeriod'],
      [{ enabled: true, default_retention: { mode: 'COMPLIANCE', days: 36_501 } }, 400, 'InvalidRetentionPeriod'],
      [{ enabled: true, default_retention: { mode: 'COMPLIANCE', years: 101 } }, 400, 'InvalidRetentionPeriod'],
      [{ enabled: true, default_retention: { mode: 'COMPLIANCE', days: 1.5 } }, 400, 'InvalidRetentionPeriod'],
      [{ enabled: true, default_retention: { mode: 'COMPLIANCE', days: -3 } }, 400, 'InvalidRetentionPeriod'],
      [{ enabled: true, default_retention: { mode: 'COMPLIANCE', days: 1, years: 1 } }, 400, 'InvalidArgument'],
      [{ enabled: true, default_retention: { mode: 'COMPLIANCE' } }, 400, 'InvalidArgument'],
      [{ enabled: true, default_retention: { mode: 'LEGAL', days: 1 } }, 400, 'InvalidArgument'],
      [{ enabled: true, default_retention: { mode: 'GOVERNANCE', days: '5' } }, 400, 'InvalidArgument'],
      [{ enabled: false }, 400, 'InvalidArgument'],
      [{}, 400, 'InvalidArgument'],
      ['not json', 400, 'InvalidArgument'],
    ];
    for (const [body, status, code] of cases) {
      const refused = await putLock(name, body);
      assert.equal(refused.status, status, `${JSON.stringify(body)}: ${refused.text}`);
      assert.equal(codeOf(refused), code, JSON.stringify(body));
    }
    assert.deepEqual((await getLock(name)).json, { enabled: true, default_retention: kept });
    const wrongType = await request(lockUrl(name), { method: 'PUT', token: root.token, body: '{"enabled":true}', headers: { 'Content-Type': 'text/plain' } });
    assert.equal(wrongType.status, 400);
    const del = await request(lockUrl(name), { method: 'DELETE', token: root.token });
    assert.equal(del.status, 405, del.text);
    assert.equal(codeOf(del), 'MethodNotAllowed');
  });

  test('a Storage Viewer reads the lock but may not change it; without a token, or in another project, nothing is told', async () => {
    const name = await newBucket('lock-viewer');
    assert.equal((await putLock(name, { enabled: true, default_retention: { mode: 'COMPLIANCE', days: 1 } })).status, 200);
    const read = await getLock(name, viewer);
    assert.equal(read.status, 200, read.text);
    assert.deepEqual(read.json, { enabled: true, default_retention: { mode: 'COMPLIANCE', days: 1 } });
    const refused = await putLock(name, { enabled: true, default_retention: null }, viewer);
    assert.equal(refused.status, 403, refused.text);
    assert.equal(codeOf(refused), 'AccessDenied');
    const unversioned = await newBucket('lock-viewer-off');
    assert.equal((await putLock(unversioned, { enabled: true }, viewer)).status, 403);
    assert.deepEqual((await getLock(name)).json, { enabled: true, default_retention: { mode: 'COMPLIANCE', days: 1 } });

    assert.equal((await request(lockUrl(name))).status, 401);
    const stranger = await createAccount(server.dataDir, 'admin');
    const other = await login(server.url, stranger.keyId, stranger.secret);
    const hidden = await getLock(name, other);
    assert.equal(hidden.status, 404, hidden.text);
    assert.equal(codeOf(hidden), 'NoSuchBucket');
    assert.equal((await putLock(name, { enabled: true }, other)).status, 404);
    assert.equal(codeOf(await getLock(bucketName('lock-missing'))), 'NoSuchBucket');
  });

  test('a lock set through /v1_ext is what S3’s GetObjectLockConfiguration answers, and the reverse', async () => {
    const viaExt = await newBucket('lock-ext-s3');
    assert.equal((await putLock(viaExt, { enabled: true, default_retention: { mode: 'COMPLIANCE', days: 45 } })).status, 200);
    const seen = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: viaExt }));
    assert.deepEqual(seen.ObjectLockConfiguration, { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 45 } } });

    const viaS3 = await newBucket('lock-s3-ext');
    await s3.send(new PutObjectLockConfigurationCommand({ Bucket: viaS3, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Years: 3 } } } }));
    assert.deepEqual((await getLock(viaS3)).json, { enabled: true, default_retention: { mode: 'GOVERNANCE', years: 3 } });
    await s3.send(new PutObjectLockConfigurationCommand({ Bucket: viaS3, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } }));
    assert.deepEqual((await getLock(viaS3)).json, { enabled: true, default_retention: null });

    // Cleared through /v1_ext: S3 sees no rule.
    assert.equal((await putLock(viaExt, { enabled: true, default_retention: null })).status, 200);
    const cleared = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: viaExt }));
    assert.deepEqual(cleared.ObjectLockConfiguration, { ObjectLockEnabled: 'Enabled' });
  });

  test('the default retention set through /v1_ext locks new writes: Swift cannot delete the version', async () => {
    const name = await newBucket('lock-writes');
    assert.equal((await putLock(name, { enabled: true, default_retention: { mode: 'COMPLIANCE', days: 1 } })).status, 200);
    const put = await fetch(`${root.storageUrl}/${name}/kept.txt`, { method: 'PUT', headers: { 'X-Auth-Token': root.token }, body: 'kept' });
    assert.equal(put.status, 201);
    const versionId = put.headers.get('x-object-version-id') ?? '';
    assert.notEqual(versionId, '');
    const refused = await fetch(`${root.storageUrl}/${name}/kept.txt?version-id=${versionId}`, { method: 'DELETE', headers: { 'X-Auth-Token': root.token } });
    assert.equal(refused.status, 409);
    assert.match(await refused.text(), /object lock \(COMPLIANCE retention until/);
    const still = await fetch(`${root.storageUrl}/${name}/kept.txt?version-id=${versionId}`, { headers: { 'X-Auth-Token': root.token } });
    assert.equal(await still.text(), 'kept');
  });
});
