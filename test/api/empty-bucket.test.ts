/**
 * "Empty bucket" over real HTTP: POST /v1_ext/bucket/{name}/empty removes every object in the background,
 * reporting progress at GET …/empty, then deletes the bucket if asked; a restart resumes it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asRecord, createAccount, request, str, uniqueName, waitFor, type JsonResponse } from '../helpers/accounts.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';

let server: RunningServer;
let root: Session;
let member: Session;

before(async () => {
  server = await startServer();
  const account = await createAccount(server.dataDir, 'member', { project: 'default' });
  [root, member] = await Promise.all([login(server.url), login(server.url, account.keyId, account.secret)]);
});
after(async () => {
  await server.destroy();
});

const bucketUrl = (name: string, rest = ''): string => `${server.url}/v1_ext/bucket/${name}${rest}`;

async function bucketWith(count: number): Promise<string> {
  const name = uniqueName('empty');
  assert.equal((await request(`${server.url}/v1_ext/bucket`, { method: 'PUT', token: root.token, body: { name, type: 'STANDARD' } })).status, 201);
  for (let start = 0; start < count; start += 25) {
    const puts = Array.from({ length: Math.min(25, count - start) }, async (_, i) => {
      const key = `dir-${(start + i) % 7}/object-${start + i}`;
      const response = await fetch(`${root.storageUrl}/${name}/${key}`, { method: 'PUT', headers: { 'X-Auth-Token': root.token }, body: `object ${start + i}` });
      assert.equal(response.status, 201);
    });
    await Promise.all(puts);
  }
  return name;
}

async function startEmptying(session: Session, name: string, body?: unknown): Promise<JsonResponse> {
  return request(bucketUrl(name, '/empty'), { method: 'POST', token: session.token, ...(body === undefined ? {} : { body }) });
}

async function progress(name: string): Promise<Record<string, unknown>> {
  const response = await request(bucketUrl(name, '/empty'), { token: root.token });
  assert.equal(response.status, 200, response.text);
  return asRecord(response.json);
}

void describe('empty bucket', () => {
  void test('removes every object, reporting progress; the bucket stays when not asked to go', async () => {
    const name = await bucketWith(250);
    const started = await startEmptying(root, name);
    assert.equal(started.status, 202, started.text);
    const first = asRecord(started.json);
    assert.equal(first.status, 'running');
    assert.equal(first.delete_bucket, false);
    assert.ok(typeof first.remaining === 'number' && first.remaining <= 250);

    let last: Record<string, unknown> = first;
    const done = await waitFor(async () => {
      last = await progress(name);
      assert.ok(typeof last.removed === 'number' && last.removed <= 250);
      return last.status === 'done';
    }, 60_000);
    assert.notEqual(done, null, `still ${JSON.stringify(last)}`);
    assert.equal(last.removed, 250);
    assert.equal(last.remaining, 0);
    assert.match(str(last, 'finished_at'), /Z$/);
    const bucket = asRecord((await request(bucketUrl(name), { token: root.token })).json);
    assert.equal(bucket.objectCount, 0);
    const listing = await fetch(`${root.storageUrl}/${name}`, { headers: { 'X-Auth-Token': root.token } });
    assert.equal(listing.status, 204);
    // Emptied, it deletes as any empty bucket does.
    assert.equal((await request(bucketUrl(name), { method: 'DELETE', token: root.token })).status, 204);
  });

  void test('with delete_bucket, the bucket goes once empty', async () => {
    const name = await bucketWith(120);
    const started = await startEmptying(root, name, { delete_bucket: true });
    assert.equal(started.status, 202, started.text);
    assert.equal(asRecord(started.json).delete_bucket, true);
    const gone = await waitFor(async () => (await request(bucketUrl(name), { token: root.token })).status === 404, 60_000);
    assert.notEqual(gone, null, 'the bucket was not deleted');
    // The name is free again.
    assert.equal((await request(`${server.url}/v1_ext/bucket`, { method: 'PUT', token: root.token, body: { name, type: 'STANDARD' } })).status, 201);
    const fresh = await request(bucketUrl(name, '/empty'), { token: root.token });
    assert.equal(fresh.status, 404, 'a new bucket of the name has no emptying of the old one');
  });

  void test('errors: 403 below Storage Admin, 404 for no bucket or no emptying, 400 for a bad body, 401 without a token', async () => {
    const name = await bucketWith(3);
    assert.equal((await startEmptying(member, name)).status, 403);
    assert.equal((await request(bucketUrl(name, '/empty'), { token: member.token })).status, 404, 'a viewer asks; nothing is under way');
    assert.equal((await startEmptying(root, 'no-such-empty-bucket')).status, 404);
    assert.equal((await startEmptying(root, name, { delete_bucket: 'yes' })).status, 400);
    assert.equal((await request(bucketUrl(name, '/empty'), { method: 'POST' })).status, 401);
    assert.equal((await request(bucketUrl(name, '/empty'), { method: 'DELETE', token: root.token })).status, 405);
    const objects = await fetch(`${root.storageUrl}/${name}?format=json`, { headers: { 'X-Auth-Token': root.token } });
    assert.equal(((await objects.json()) as unknown[]).length, 3, 'nothing was removed');
  });

  void test('a restart resumes an emptying under way', async () => {
    const name = await bucketWith(300);
    assert.equal((await startEmptying(root, name, { delete_bucket: true })).status, 202);
    await server.kill9();
    server = await startServer({ dataDir: server.dataDir });
    root = await login(server.url);
    const gone = await waitFor(async () => (await request(bucketUrl(name), { token: root.token })).status === 404, 60_000);
    assert.notEqual(gone, null, 'the emptying did not resume after the restart');
  });
});
