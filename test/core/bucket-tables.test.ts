/**
 * The registry of a bucket's tables (model.ts BUCKET_TABLES): a bucket used every way there is — objects small and
 * large, versions and delete markers, uploads open and completed, manifests and links, lifecycle, CORS, logging —
 * then emptied and deleted leaves no row of it in any table, on both metadata stores. A table added for buckets
 * and forgotten in the registry fails here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ALL, ALL_TABLES, BUCKET_TABLES, TABLES } from '../../src/core/model.ts';
import type { WriteAttributes } from '../../src/core/objects.ts';
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

      await core.emptying.start(admin, account, name, true);
      for (let round = 0; round < 50 && (await core.emptying.work()) > 0; round++);
      await core.emptying.work();
      for (let round = 0; round < 50; round++) {
        if ((await core.objects.collectBlobs(1000)) + (await core.uploads.collect(1000)) + (await core.objects.large.collect()) === 0) break;
      }
      await assert.rejects(core.buckets.get(admin, account, name), (err: { code?: string }) => err.code === 'NoSuchBucket');

      for (const table of ALL_TABLES) {
        const rows = await core.store.scan(table, bucket.id, { prefix: '', limit: 1, reverse: false });
        assert.deepEqual(rows.map((row) => row.sk), [], `${table.name} keeps rows of the deleted bucket`);
        const keyed = await core.store.scan(table, ALL, { prefix: bucket.id, limit: 1, reverse: false });
        assert.deepEqual(keyed.map((row) => row.sk), [], `${table.name} keeps a row named by the deleted bucket's id`);
      }
      assert.deepEqual(await core.store.scan(TABLES.blobGc, ALL, { prefix: '', limit: 5, reverse: false }), [], 'the collector finished');
    });
  });
}
