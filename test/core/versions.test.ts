/**
 * Versions, protocol-free, on both metadata stores: versioning never enabled / enabled / suspended, null
 * versions, delete markers and what deleting them restores, reads and copies by version id, version listings in
 * S3's order with paging, lifecycle's noncurrent expiration, and a bucket's versions emptied and refused on delete.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Core } from '../../src/core/index.ts';
import type { ObjectRef } from '../../src/core/objects.ts';
import type { Caller, ObjectRecord } from '../../src/core/types.ts';
import type { VersionEntry, VersionListOptions } from '../../src/core/version-listing.ts';
import { install, deleteMarker } from '../../src/core/versions.ts';
import { TABLES, type BucketRow, type VersionRow } from '../../src/core/model.ts';
import { rejectsWith } from '../helpers/errors.ts';
import { openTestCore, STORE_KINDS, type TestCore } from '../helpers/core.ts';

const DAY = 24 * 3600 * 1000;

/** The first characters of a text's MD5: an object's ETag, short enough to read in a listing's summary. */
function md5(text: string): string {
  return createHash('md5').update(text).digest('hex').slice(0, 6);
}


for (const kind of STORE_KINDS) {
  describe(`versions on ${kind}`, () => {
    let t: TestCore;
    let core: Core;
    let admin: Caller;
    let account: string;
    let bucketCount = 0;

    before(async () => {
      t = await openTestCore(kind);
      ({ core, admin, account } = t);
    });
    after(async () => {
      await t.close();
    });

    async function newBucket(versioning?: 'enabled' | 'suspended'): Promise<string> {
      const name = `versions-${kind}-${++bucketCount}`;
      await core.buckets.create(admin, account, { name });
      if (versioning) await core.buckets.setVersioning(admin, account, name, versioning);
      return name;
    }
    const ref = (bucket: string, key: string, versionId?: string): ObjectRef => ({ account, bucket, key, versionId });
    const put = (bucket: string, key: string, text: string): Promise<ObjectRecord> =>
      core.objects.put(admin, { ...ref(bucket, key), body: [Buffer.from(text)], contentLength: Buffer.byteLength(text), meta: {}, headers: {}, deleteAt: null });
    async function read(bucket: string, key: string, versionId?: string): Promise<string> {
      const { bodies } = await core.objects.get(admin, ref(bucket, key, versionId), {}, undefined);
      const parts: Buffer[] = [];
      for (const body of bodies) {
        if (Buffer.isBuffer(body)) parts.push(body);
        else for await (const chunk of body) parts.push(chunk as Buffer);
      }
      return Buffer.concat(parts).toString();
    }
    async function versions(bucket: string, options: Partial<VersionListOptions> = {}): Promise<VersionEntry<ObjectRecord>[]> {
      const { listing } = await core.objects.listVersions(admin, account, bucket, { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', limit: 1000, ...options });
      return listing.entries;
    }
    const summary = (entries: VersionEntry<ObjectRecord>[]): string[] =>
      entries.map((e) => (e.kind === 'prefix' ? `prefix ${e.prefix}` : `${e.key} ${e.item.deleteMarker ? 'marker' : e.item.etag.slice(0, 6)}${e.isLatest ? ' latest' : ''}`));

    test('never enabled: one null version per key, overwritten; a delete leaves nothing', async () => {
      const b = await newBucket();
      const first = await put(b, 'k', 'one');
      const second = await put(b, 'k', 'two');
      assert.equal(first.versionId, 'null');
      assert.equal(second.versionId, 'null');
      const listed = await versions(b);
      assert.deepEqual(summary(listed), [`k ${md5('two')} latest`]);
      assert.equal(await read(b, 'k', 'null'), 'two');
      const deleted = await core.objects.delete(admin, ref(b, 'k'));
      assert.equal(deleted.deleteMarker, false);
      assert.equal(deleted.removed?.etag, second.etag);
      assert.deepEqual(await versions(b), []);
      await core.buckets.delete(admin, account, b);
    });

    test('enabled: every write keeps the one before; reads by id; the newest is current', async () => {
      const b = await newBucket('enabled');
      const v1 = await put(b, 'k', 'one');
      const v2 = await put(b, 'k', 'two');
      const v3 = await put(b, 'k', 'three');
      assert.match(v1.versionId, /^[0-9a-f]{32}$/);
      assert.ok(v1.versionId < v2.versionId && v2.versionId < v3.versionId, 'ids grow');
      assert.equal(await read(b, 'k'), 'three');
      assert.equal(await read(b, 'k', v1.versionId), 'one');
      assert.equal(await read(b, 'k', v2.versionId), 'two');
      const head = await core.objects.head(admin, ref(b, 'k', v1.versionId), {});
      assert.equal(head.etag, v1.etag);
      assert.deepEqual(summary(await versions(b)), [`k ${md5('three')} latest`, `k ${md5('two')}`, `k ${md5('one')}`]);
      const bucket = await core.buckets.get(admin, account, b);
      assert.equal(bucket.objectCount, 1, 'totals count current objects');
      assert.equal(bucket.bytes, 5);
      await rejectsWith(core.objects.get(admin, ref(b, 'k', 'f'.repeat(32)), {}, undefined), 'NoSuchVersion');
      await rejectsWith(core.objects.get(admin, ref(b, 'k', 'not-an-id'), {}, undefined), 'InvalidArgument');
      await rejectsWith(core.objects.get(admin, ref(b, 'k', 'null'), {}, undefined), 'NoSuchVersion');
    });

    test('a delete marker hides the key; removing the marker brings the version back', async () => {
      const b = await newBucket('enabled');
      const v1 = await put(b, 'k', 'one');
      const deleted = await core.objects.delete(admin, ref(b, 'k'));
      assert.equal(deleted.deleteMarker, true);
      assert.match(deleted.versionId ?? '', /^[0-9a-f]{32}$/);
      assert.equal(deleted.removed?.etag, v1.etag);
      await rejectsWith(core.objects.get(admin, ref(b, 'k'), {}, undefined), 'NoSuchKey', { deleteMarker: true, versionId: deleted.versionId });
      await rejectsWith(core.objects.get(admin, ref(b, 'k', deleted.versionId ?? ''), {}, undefined), 'MethodNotAllowed', { deleteMarker: true });
      const { entries } = await core.objects.list(admin, account, b, { prefix: '', delimiter: '', marker: '', endMarker: '', limit: 100, reverse: false });
      assert.equal(entries.length, 0, 'a listing of objects leaves the key out');
      assert.deepEqual(summary(await versions(b)), ['k marker latest', `k ${md5('one')}`]);
      assert.equal((await core.buckets.get(admin, account, b)).objectCount, 0);
      // Swift's rule: a delete of a key with no live object is a 404 and writes nothing.
      await rejectsWith(core.objects.delete(admin, ref(b, 'k')), 'NoSuchKey');
      // S3's: a marker on top of the marker.
      const again = await core.objects.delete(admin, ref(b, 'k'), {});
      assert.equal(again.deleteMarker, true);
      assert.equal(again.removed, null);
      assert.deepEqual(summary(await versions(b)), ['k marker latest', 'k marker', `k ${md5('one')}`]);
      for (const marker of [again.versionId, deleted.versionId]) {
        const removed = await core.objects.delete(admin, ref(b, 'k', marker ?? ''));
        assert.equal(removed.deleteMarker, true);
        assert.equal(removed.versionId, marker);
      }
      assert.equal(await read(b, 'k'), 'one');
      assert.equal((await core.buckets.get(admin, account, b)).objectCount, 1);
      assert.deepEqual(summary(await versions(b)), [`k ${md5('one')} latest`]);
    });

    test('deleting versions by id: the current one (the next becomes current), one under it, one that is not there', async () => {
      const b = await newBucket('enabled');
      const v1 = await put(b, 'k', 'one');
      const v2 = await put(b, 'k', 'two');
      const v3 = await put(b, 'k', 'three');
      const removedCurrent = await core.objects.delete(admin, ref(b, 'k', v3.versionId));
      assert.equal(removedCurrent.removed?.etag, v3.etag);
      assert.equal(await read(b, 'k'), 'two');
      await core.objects.delete(admin, ref(b, 'k', v1.versionId));
      assert.deepEqual(summary(await versions(b)), [`k ${md5('two')} latest`]);
      const none = await core.objects.delete(admin, ref(b, 'k', v1.versionId));
      assert.equal(none.removed, null);
      await core.objects.delete(admin, ref(b, 'k', v2.versionId));
      assert.deepEqual(await versions(b), []);
      await rejectsWith(core.objects.get(admin, ref(b, 'k'), {}, undefined), 'NoSuchKey');
      await core.buckets.delete(admin, account, b);
    });

    test('suspended: writes and deletes replace the null version wherever it is; versions with ids stay', async () => {
      const b = await newBucket('enabled');
      const a = await put(b, 'k', 'A');
      await core.buckets.setVersioning(admin, account, b, 'suspended');
      const bNull = await put(b, 'k', 'B');
      assert.equal(bNull.versionId, 'null');
      assert.deepEqual(summary(await versions(b)), [`k ${md5('B')} latest`, `k ${md5('A')}`]);
      await core.buckets.setVersioning(admin, account, b, 'enabled');
      const c = await put(b, 'k', 'C');
      assert.equal(await read(b, 'k', 'null'), 'B', 'the null version, under the current one');
      await core.buckets.setVersioning(admin, account, b, 'suspended');
      const d = await put(b, 'k', 'D');
      assert.equal(d.versionId, 'null');
      assert.deepEqual(summary(await versions(b)), [`k ${md5('D')} latest`, `k ${md5('C')}`, `k ${md5('A')}`], 'B was replaced by D');
      assert.equal(await read(b, 'k', 'null'), 'D');
      assert.equal(await read(b, 'k', c.versionId), 'C');
      assert.equal(await read(b, 'k', a.versionId), 'A');
      // A delete while suspended: a null delete marker, replacing the null version D.
      const deleted = await core.objects.delete(admin, ref(b, 'k'));
      assert.equal(deleted.deleteMarker, true);
      assert.equal(deleted.versionId, 'null');
      assert.deepEqual(summary(await versions(b)), ['k marker latest', `k ${md5('C')}`, `k ${md5('A')}`]);
      await core.objects.delete(admin, ref(b, 'k', 'null'));
      assert.equal(await read(b, 'k'), 'C');
      // Suspending a bucket never versioned leaves it unversioned.
      const plain = await newBucket();
      await core.buckets.setVersioning(admin, account, plain, 'suspended');
      assert.equal((await core.buckets.get(admin, account, plain)).versioning, undefined);
    });

    test('the version listing: S3 order, prefix, delimiter, and pages by key and version id markers', async () => {
      const b = await newBucket('enabled');
      for (const key of ['a', 'b/1', 'b/2', 'c']) for (const n of [1, 2, 3]) await put(b, key, `${key}-${n}`);
      await core.objects.delete(admin, ref(b, 'c'));
      const all = await versions(b);
      assert.deepEqual(
        summary(all).map((line) => line.split(' ')[0]),
        ['a', 'a', 'a', 'b/1', 'b/1', 'b/1', 'b/2', 'b/2', 'b/2', 'c', 'c', 'c', 'c'],
      );
      assert.deepEqual(all.filter((e) => e.kind === 'item' && e.isLatest).length, 4);
      assert.deepEqual(summary(await versions(b, { delimiter: '/' })).filter((line) => line.startsWith('prefix')), ['prefix b/']);
      assert.equal((await versions(b, { prefix: 'b/' })).length, 6);
      for (const limit of [1, 2, 3, 5, 13]) {
        const pages: VersionEntry<ObjectRecord>[] = [];
        let keyMarker = '';
        let versionIdMarker = '';
        for (;;) {
          const { listing } = await core.objects.listVersions(admin, account, b, { prefix: '', delimiter: '', keyMarker, versionIdMarker, limit });
          pages.push(...listing.entries);
          assert.ok(listing.entries.length <= limit);
          if (!listing.truncated) break;
          keyMarker = listing.nextKeyMarker ?? '';
          versionIdMarker = listing.nextVersionIdMarker ?? '';
        }
        assert.deepEqual(summary(pages), summary(all), `pages of ${limit}`);
      }
      // Delimited pages: the common prefix counts once, across pages.
      const delimited: string[] = [];
      let keyMarker = '';
      let versionIdMarker = '';
      for (;;) {
        const { listing } = await core.objects.listVersions(admin, account, b, { prefix: '', delimiter: '/', keyMarker, versionIdMarker, limit: 2 });
        delimited.push(...summary(listing.entries));
        if (!listing.truncated) break;
        keyMarker = listing.nextKeyMarker ?? '';
        versionIdMarker = listing.nextVersionIdMarker ?? '';
      }
      assert.deepEqual(delimited.map((line) => line.split(' ')[0]), ['a', 'a', 'a', 'prefix', 'c', 'c', 'c', 'c']);
    });

    test('a null version as the version id marker', async () => {
      const b = await newBucket();
      await put(b, 'k', 'null one');
      await core.buckets.setVersioning(admin, account, b, 'enabled');
      await put(b, 'k', 'named');
      await put(b, 'l', 'other');
      const { listing } = await core.objects.listVersions(admin, account, b, { prefix: '', delimiter: '', keyMarker: 'k', versionIdMarker: 'null', limit: 10 });
      assert.deepEqual(summary(listing.entries), [`l ${md5('other')} latest`]);
    });

    test('copying a version by its id', async () => {
      const b = await newBucket('enabled');
      const v1 = await put(b, 'src', 'first');
      await put(b, 'src', 'second');
      const { record } = await core.objects.copy(admin, ref(b, 'src', v1.versionId), ref(b, 'dst'), { freshMetadata: false, meta: {}, headers: {}, deleteAt: null });
      assert.equal(record.etag, v1.etag);
      assert.equal(await read(b, 'dst'), 'first');
    });

    test('lifecycle: non-current versions expire after their days, the newest ones kept; current ones hidden under markers', async () => {
      const b = await newBucket('enabled');
      for (const n of [1, 2, 3, 4]) await put(b, 'logs/x', `x${n}`);
      await put(b, 'data/y', 'y1');
      await put(b, 'data/y', 'y2');
      await core.lifecycle.put(admin, account, b, [
        { id: 'old-logs', enabled: true, prefix: 'logs/', noncurrentVersionExpiration: { noncurrentDays: 1, newerNoncurrentVersions: 1 } },
      ]);
      assert.equal(await core.lifecycle.applyRules(), 0, 'not due yet');
      await t.advanceClock(2 * DAY);
      try {
        assert.equal(await core.lifecycle.applyRules(), 2);
        assert.deepEqual(summary(await versions(b, { prefix: 'logs/' })), [`logs/x ${md5('x4')} latest`, `logs/x ${md5('x3')}`]);
        assert.equal((await versions(b, { prefix: 'data/' })).length, 2, 'outside the prefix nothing changes');
        await core.lifecycle.put(admin, account, b, [{ id: 'expire-data', enabled: true, prefix: 'data/', expiration: { days: 1 } }]);
        assert.equal(await core.lifecycle.applyRules(), 1);
        assert.deepEqual(summary(await versions(b, { prefix: 'data/' })), ['data/y marker latest', `data/y ${md5('y2')}`, `data/y ${md5('y1')}`]);
      } finally {
        await t.advanceClock(0);
      }
    });

    test('X-Delete-At: an expired version goes for good; with older versions under it a marker takes its place', async () => {
      const expiring = (bucket: string, key: string, text: string): Promise<ObjectRecord> =>
        core.objects.put(admin, { ...ref(bucket, key), body: [Buffer.from(text)], contentLength: Buffer.byteLength(text), meta: {}, headers: {}, deleteAt: Date.now() + 1000 });
      const enabled = await newBucket('enabled');
      const older = await put(enabled, 'k', 'older');
      const expired = await expiring(enabled, 'k', 'expires');
      await expiring(enabled, 'alone', 'expires too');
      const suspended = await newBucket('enabled');
      const kept = await put(suspended, 'k', 'kept');
      await core.buckets.setVersioning(admin, account, suspended, 'suspended');
      await expiring(suspended, 'k', 'null, expires');
      const plain = await newBucket();
      await expiring(plain, 'k', 'expires');
      await t.advanceClock(DAY);
      try {
        assert.equal(await core.objects.reapExpired(), 4);
      } finally {
        await t.advanceClock(0);
      }
      await rejectsWith(core.objects.head(admin, ref(enabled, 'k'), {}), 'NoSuchKey', { deleteMarker: true });
      assert.deepEqual(summary(await versions(enabled)), ['k marker latest', `k ${md5('older')}`], 'the expired version went, the older one stays under a marker');
      await rejectsWith(core.objects.head(admin, ref(enabled, 'k', expired.versionId), {}), 'NoSuchVersion');
      assert.equal(await read(enabled, 'k', older.versionId), 'older');
      const [marker] = await versions(enabled, { prefix: 'k' });
      assert.ok(marker?.kind === 'item' && marker.item.versionId !== 'null', 'a named marker in a bucket that names versions');
      await core.objects.delete(admin, ref(enabled, 'k', marker.item.versionId));
      assert.equal(await read(enabled, 'k'), 'older', 'deleting the marker brings the older version back');
      await rejectsWith(core.objects.head(admin, ref(enabled, 'alone'), {}), 'NoSuchKey');
      assert.deepEqual(summary(await versions(enabled, { prefix: 'alone' })), [], 'nothing under it: no marker');

      const suspendedVersions = await versions(suspended);
      assert.deepEqual(summary(suspendedVersions), ['k marker latest', `k ${md5('kept')}`]);
      assert.equal(suspendedVersions[0]?.kind === 'item' && suspendedVersions[0].item.versionId, 'null', 'the null version expired: a null marker');
      assert.equal(await read(suspended, 'k', kept.versionId), 'kept');
      assert.deepEqual(await versions(plain), []);
    });

    test('a bucket with versions is not empty; emptying removes every version', async () => {
      const b = await newBucket('enabled');
      await put(b, 'k', 'one');
      await put(b, 'k', 'two');
      await core.objects.delete(admin, ref(b, 'k'));
      await rejectsWith(core.buckets.delete(admin, account, b), 'BucketNotEmpty');
      await core.emptying.start(admin, account, b, true);
      for (let i = 0; i < 10 && (await core.emptying.work()) > 0; i++);
      await core.emptying.work();
      await rejectsWith(core.buckets.get(admin, account, b), 'NoSuchBucket');
      assert.equal((await core.store.scan(TABLES.versions, 'x', { prefix: '', limit: 1, reverse: false })).length, 0);
    });

    test('100,000 versions of 1,000 keys, paged to the end', { timeout: 600_000 }, async () => {
      const b = await newBucket('enabled');
      const bucket = (await core.store.get(TABLES.buckets, account, b))?.value as BucketRow;
      const keys = Array.from({ length: 1000 }, (_, i) => `key-${String(i).padStart(4, '0')}`);
      const started = Date.now();
      for (let batch = 0; batch < keys.length; batch += 10) {
        await core.store.transact(async (tx) => {
          for (const key of keys.slice(batch, batch + 10)) {
            for (let n = 0; n < 100; n++) {
              const version: VersionRow = n === 99 ? deleteMarker(Date.now()) : { ...deleteMarker(Date.now()), state: 'complete', size: 0, etag: 'd41d8cd98f00b204e9800998ecf8427e', contentType: 'text/plain' };
              await install(tx, bucket, key, version, Buffer.alloc(0), Date.now());
            }
          }
        });
      }
      const written = Date.now() - started;
      const listStarted = Date.now();
      let count = 0;
      let latest = 0;
      let markers = 0;
      let pages = 0;
      let keyMarker = '';
      let versionIdMarker = '';
      let previous = '';
      for (;;) {
        const { listing } = await core.objects.listVersions(admin, account, b, { prefix: '', delimiter: '', keyMarker, versionIdMarker, limit: 1000 });
        pages++;
        for (const entry of listing.entries) {
          assert.equal(entry.kind, 'item');
          if (entry.kind !== 'item') continue;
          const position = `${entry.key}/${entry.isLatest ? '' : 'x'}`;
          assert.ok(position >= previous, 'in order');
          previous = position;
          count++;
          if (entry.isLatest) latest++;
          if (entry.item.deleteMarker) markers++;
        }
        if (!listing.truncated) break;
        keyMarker = listing.nextKeyMarker ?? '';
        versionIdMarker = listing.nextVersionIdMarker ?? '';
      }
      const listed = Date.now() - listStarted;
      console.log(`# ${kind}: 100,000 versions of 1,000 keys written in ${written} ms, listed in ${pages} pages in ${listed} ms`);
      assert.equal(count, 100_000);
      assert.equal(latest, 1000);
      assert.equal(markers, 1000);
      assert.equal(pages, 100);
    });
  });
}
