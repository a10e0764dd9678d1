/**
 * Small objects written before attachments existed keep their bytes in the `inline_data` table (a version of kind
 * `inline`). A data directory or database holding such objects must go on serving them: read whole and by range,
 * copied (the copy gets its bytes attached), updated, overwritten and deleted (which removes their row there).
 * The old rows are loaded straight into the stopped server's store, as that build wrote them.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ALL, TABLES, type VersionRow } from '../../src/core/model.ts';
import { newTimeOrderedId } from '../../src/lib/ids.ts';
import { auth, createContainer, putObject } from '../helpers/swift.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { openStoreOf } from '../helpers/store.ts';

const KEYS = ['old-a', 'old-b', 'old-c', 'old-d'];

function md5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}

void describe('small objects stored the way of earlier builds (inline_data rows)', () => {
  let server: RunningServer;
  let session: Session;
  let bucketId = '';
  const contents = new Map(KEYS.map((key) => [key, randomBytes(3000)]));

  before(async () => {
    const first = await startServer();
    session = await login(first.url);
    await createContainer(session, 'legacy');
    await first.stop();
    const store = await openStoreOf(first.dataDir);
    try {
      const bucket = await store.get(TABLES.buckets, session.projectId, 'legacy');
      assert.ok(bucket);
      bucketId = bucket.value.id;
      await store.transact(async (tx) => {
        for (const [key, bytes] of contents) {
          const now = Date.now();
          const version: VersionRow = {
            id: newTimeOrderedId(),
            state: 'complete',
            createdAt: now,
            lastModified: now,
            size: bytes.length,
            etag: md5(bytes),
            contentType: 'application/octet-stream',
            meta: { origin: 'before' },
            headers: {},
            deleteAt: null,
            data: { kind: 'inline', encryption: null },
          };
          tx.put(TABLES.objects, bucketId, key, version);
          tx.put(TABLES.inlineData, bucketId, version.id, bytes);
        }
        tx.put(TABLES.totalDeltas, ALL, `${bucketId}/legacy-seed`, { objects: contents.size, bytes: 3000 * contents.size, at: Date.now() });
      });
    } finally {
      await store.close();
    }
    server = await startServer({ dataDir: first.dataDir });
    session = await login(server.url);
  });
  after(async () => {
    await server.destroy();
  });

  const url = (key: string): string => `${session.storageUrl}/legacy/${key}`;

  void test('they read whole, by range, and by HEAD', async () => {
    for (const [key, bytes] of contents) {
      const res = await fetch(url(key), { headers: auth(session) });
      assert.equal(res.status, 200, key);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes), key);
      assert.equal(res.headers.get('etag'), md5(bytes));
    }
    const bytes = contents.get('old-a') ?? Buffer.alloc(0);
    const ranged = await fetch(url('old-a'), { headers: auth(session, { Range: 'bytes=100-199' }) });
    assert.equal(ranged.status, 206);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(100, 200)));
    const head = await fetch(url('old-a'), { method: 'HEAD', headers: auth(session) });
    assert.equal(head.headers.get('x-object-meta-origin'), 'before');
  });

  void test('a copy gets the bytes, and keeps them after the source is deleted', async () => {
    const copied = await fetch(url('copy-of-b'), { method: 'PUT', headers: auth(session, { 'X-Copy-From': '/legacy/old-b', 'Content-Length': '0' }) });
    assert.equal(copied.status, 201);
    const deleted = await fetch(url('old-b'), { method: 'DELETE', headers: auth(session) });
    assert.equal(deleted.status, 204);
    const res = await fetch(url('copy-of-b'), { headers: auth(session) });
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(contents.get('old-b') ?? Buffer.alloc(0)));
    assert.equal((await fetch(url('old-b'), { headers: auth(session) })).status, 404);
  });

  void test('a metadata update keeps the bytes; an overwrite replaces them', async () => {
    const posted = await fetch(url('old-c'), { method: 'POST', headers: auth(session, { 'X-Object-Meta-Origin': 'updated' }) });
    assert.equal(posted.status, 202);
    const res = await fetch(url('old-c'), { headers: auth(session) });
    assert.equal(res.headers.get('x-object-meta-origin'), 'updated');
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(contents.get('old-c') ?? Buffer.alloc(0)));
    assert.equal((await putObject(session, 'legacy', 'old-d', 'new bytes')).status, 201);
    assert.equal(await (await fetch(url('old-d'), { headers: auth(session) })).text(), 'new bytes');
  });

  void test('the old rows of what was deleted or overwritten are gone from inline_data; the rest stay', async () => {
    await server.stop();
    const store = await openStoreOf(server.dataDir);
    try {
      const left = await store.scan(TABLES.inlineData, bucketId, { prefix: '', limit: 100, reverse: false });
      assert.equal(left.length, 2, 'old-a and old-c keep theirs; old-b (deleted) and old-d (overwritten) do not');
    } finally {
      await store.close();
    }
    server = await startServer({ dataDir: server.dataDir });
    session = await login(server.url);
    const res = await fetch(url('old-a'), { headers: auth(session) });
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(contents.get('old-a') ?? Buffer.alloc(0)));
  });
});
