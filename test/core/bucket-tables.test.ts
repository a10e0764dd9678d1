/**
 * The registry of a bucket's tables (model.ts BUCKET_TABLES): a bucket used every way there is — objects small and
 * large, versions and delete markers, uploads open and completed, manifests and links, lifecycle, CORS, logging —
 * tags, then emptied and deleted leaves no row of it in any table, on both metadata stores; so does a bucket with
 * Object Lock, emptied as far as its locks allow, then once they end. A table added for buckets and forgotten in
 * the registry fails here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ALL, ALL_TABLES, BUCKET_TABLES, TABLES } from '../../src/core/model.ts';
import type { PutObjectInput, WriteAttributes } from '../../src/core/objects.ts';
import type { ObjectRecord } from '../../src/core/types.ts';
import { openTestCore, STORE_KINDS, type TestCore } from '../helpers/core.ts';

const attributes: WriteAttributes = { meta: {}, headers: {}, deleteAt: null };

test('every table is in the registry at most once', () => {
  const listed = [...BUCKET_TABLES.content, ...BUCKET_TABLES.bookkeeping].map((table) => table.name);
  assert.equal(new Set(listed).size, listed.length);
});

for (const kind of STORE_KINDS) {
  describe(`a bucket's rows on ${kind}`, () => {
    let t: TestCore;
    before(async () => {
      t = await openTestCore(kind, { minPartSize: 1 });
    });
    after(async () => {
      await t.close();
    });

    test('a bucket used every way, emptied and deleted, leaves nothing behind', async () => {
      const { core, admin, account } = t;
      const name = `everything-${kind}`;
      const bucket = await core.buckets.create(admin, account, { name });
      const ref = (key: string): { account: string; bucket: string; key: string } => ({ account, bucket: name, key });
      const put = (key: string, bytes: Buffer): Promise<unknown> => core.objects.put(admin, { ...ref(key), ...attributes, body: [bytes], contentLength: bytes.length });
      await core.buckets.setVersioning(admin, account, name, 'enabled');
      await put('small', Buffer.from('small'));
      await put('small', Buffer.from('small, again'));
      await put('large', Buffer.alloc(200_000, 1));
      await core.objects.delete(admin, ref('large'));
      await core.objects.put(admin, { ...ref('expiring'), meta: {}, headers: {}, deleteAt: Date.now() + 3_600_000, body: [Buffer.from('x')], contentLength: 1 });
      const done = await core.uploads.create(admin, ref('multipart'), attributes);
      const part = await core.uploads.uploadPart(admin, { ...ref('multipart'), uploadId: done.id }, 1, { body: [Buffer.from('part')], contentLength: 4 });
      await core.uploads.complete(admin, { ...ref('multipart'), uploadId: done.id }, [{ partNumber: 1, etag: part.etag }]);
      const open = await core.uploads.create(admin, ref('open-upload'), attributes);
      await core.uploads.uploadPart(admin, { ...ref('open-upload'), uploadId: open.id }, 1, { body: [Buffer.from('p')], contentLength: 1 });
      await core.objects.large.putStatic(admin, ref('slo'), [{ bucket: name, key: 'small' }], attributes);
      await core.objects.large.putDynamic(admin, ref('dlo'), { bucket: name, prefix: 's' }, attributes);
      await core.objects.large.putSymlink(admin, ref('link'), ref('small'), null, attributes);
      await core.buckets.setVersioning(admin, account, name, 'suspended');
      await put('small', Buffer.from('null version'));
      await core.lifecycle.put(admin, account, name, [{ id: 'r', enabled: true, prefix: 'tmp/', expiration: { days: 30 } }]);
      await core.buckets.setCors(admin, account, name, [{ allowedOrigins: ['https://a.example'], allowedMethods: ['GET'], allowedHeaders: [], exposeHeaders: [], maxAgeSeconds: null }]);
      await core.buckets.setPolicy(admin, account, name, [{ effect: 'Allow', principal: '*', actions: ['s3:GetObject'] }]);
      await core.tagging.putBucketTags(admin, account, name, [{ key: 'team', value: 'storage' }]);
      await core.tagging.putObjectTags(admin, ref('small'), [{ key: 'a', value: '1' }]);
      await core.objects.put(admin, { ...ref('tagged'), ...attributes, tags: [{ key: 'b', value: '2' }], body: [Buffer.from('t')], contentLength: 1 });

      await core.emptying.start(admin, account, name, true);
      for (let round = 0; round < 50 && (await core.emptying.work()) > 0; round++);
      await core.emptying.work();
      for (let round = 0; round < 50; round++) {
        if ((await core.objects.collectBlobs(1000)) + (await core.uploads.collect(1000)) + (await core.objects.large.collect()) === 0) break;
      }
      await assert.rejects(core.buckets.get(admin, account, name), (err: { code?: string }) => err.code === 'NoSuchBucket');

      await assertNoRowsOf(bucket.id);
    });

    test('a bucket with Object Lock and tags, emptied as far as the lock allows, then again once it ends, leaves nothing behind', async () => {
      const { core, admin, account } = t;
      const name = `locked-${kind}`;
      const bucket = await core.buckets.create(admin, account, { name, objectLock: true });
      const ref = (key: string, versionId?: string): { account: string; bucket: string; key: string; versionId?: string } => ({ account, bucket: name, key, ...(versionId ? { versionId } : {}) });
      const retainUntil = Date.now() + 24 * 3600 * 1000;
      await core.objectLock.putConfiguration(admin, account, name, { mode: 'GOVERNANCE', days: 1 });
      const put = (key: string, bytes: Buffer, settings: Partial<PutObjectInput> = {}): Promise<ObjectRecord> =>
        core.objects.put(admin, { ...ref(key), ...attributes, body: [bytes], contentLength: bytes.length, ...settings });
      await put('small', Buffer.from('small'), { tags: [{ key: 'a', value: '1' }] });
      await put('small', Buffer.from('small, again'), { lock: { retention: { mode: 'COMPLIANCE', retainUntil } } });
      const held = await put('large', Buffer.alloc(200_000, 1), { lock: { legalHold: true } });
      await core.objects.delete(admin, ref('large'));
      const upload = await core.uploads.create(admin, ref('multipart'), { ...attributes, tags: [{ key: 'c', value: '3' }], lock: { legalHold: false } });
      const part = await core.uploads.uploadPart(admin, { ...ref('multipart'), uploadId: upload.id }, 1, { body: [Buffer.from('part')], contentLength: 4 });
      await core.uploads.complete(admin, { ...ref('multipart'), uploadId: upload.id }, [{ partNumber: 1, etag: part.etag }]);
      await core.tagging.putBucketTags(admin, account, name, [{ key: 'team', value: 'storage' }]);

      const emptyAll = async (): Promise<void> => {
        await core.emptying.start(admin, account, name, true);
        for (let round = 0; round < 50 && (await core.emptying.work()) > 0; round++);
      };
      await emptyAll();
      const kept = await core.emptying.progress(admin, account, name);
      assert.equal(kept.state, 'done');
      assert.ok((kept.locked ?? 0) >= 3, `the lock kept ${String(kept.locked)} versions`);
      await core.objectLock.putLegalHold(admin, ref('large', held.versionId), false);
      await t.advanceClock(2 * 24 * 3600 * 1000);
      try {
        await emptyAll();
      } finally {
        await t.advanceClock(0);
      }
      for (let round = 0; round < 50; round++) {
        if ((await core.objects.collectBlobs(1000)) + (await core.uploads.collect(1000)) + (await core.objects.large.collect()) === 0) break;
      }
      await assert.rejects(core.buckets.get(admin, account, name), (err: { code?: string }) => err.code === 'NoSuchBucket');
      await assertNoRowsOf(bucket.id);
    });

    async function assertNoRowsOf(bucketId: string): Promise<void> {
      const { core } = t;
      for (const table of ALL_TABLES) {
        const rows = await core.store.scan(table, bucketId, { prefix: '', limit: 1, reverse: false });
        assert.deepEqual(rows.map((row) => row.sk), [], `${table.name} keeps rows of the deleted bucket`);
        const keyed = await core.store.scan(table, ALL, { prefix: bucketId, limit: 1, reverse: false });
        assert.deepEqual(keyed.map((row) => row.sk), [], `${table.name} keeps a row named by the deleted bucket's id`);
      }
      assert.deepEqual(await core.store.scan(TABLES.blobGc, ALL, { prefix: '', limit: 5, reverse: false }), [], 'the collector finished');
    }
  });
}
