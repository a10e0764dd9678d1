/**
 * Object Lock where it meets the protocols there are today, over real HTTP. No front end sets a lock yet (S3's
 * PutObjectRetention comes with the S3 front end), so the test stops the server, sets the lock with core's own
 * calls on the same data directory (or database) — as that front end will — and starts the server again: the lock
 * survives the restart, and Swift and `/v1_ext` refuse what would remove or change a locked version.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import type { Caller } from '../../src/core/types.ts';
import { openCore } from '../../src/open-stores.ts';
import { asRecord, request, uniqueName, waitFor } from '../helpers/accounts.ts';
import { adminEnv, login, startServer, type RunningServer, type Session } from '../helpers/server.ts';

const DAY = 24 * 3600 * 1000;

let server: RunningServer;
let root: Session;

before(async () => {
  server = await startServer();
  root = await login(server.url);
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
