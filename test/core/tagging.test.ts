/**
 * Tagging, protocol-free, on both metadata stores: a version's tags (given with a write or a multipart upload,
 * read, replaced, deleted, per version; counted for x-amz-tagging-count; copied unless replaced, whichever way the
 * copy goes), a bucket's tags, S3's limits and character rules, permissions, lifecycle's tag filters, and tags
 * across a restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Tag } from '../../src/core/constraints.ts';
import type { Core } from '../../src/core/index.ts';
import type { ObjectRef } from '../../src/core/objects.ts';
import type { Caller, ObjectRecord } from '../../src/core/types.ts';
import { rejectsWith } from '../helpers/errors.ts';
import { openTestCore, STORE_KINDS, type TestCore } from '../helpers/core.ts';

const DAY = 24 * 3600 * 1000;
const tagsOf = (count: number, prefix = 'k'): Tag[] => Array.from({ length: count }, (_, i) => ({ key: `${prefix}${i}`, value: `v${i}` }));

for (const kind of STORE_KINDS) {
  describe(`tagging on ${kind}`, () => {
    let t: TestCore;
    let core: Core;
    let admin: Extract<Caller, { kind: 'user' }>;
    let viewer: Caller;
    let account: string;
    let bucketCount = 0;

    before(async () => {
      t = await openTestCore(kind, { minPartSize: 1 });
      ({ core, admin, account } = t);
      viewer = { ...admin, userId: 'u-viewer', userName: 'viewer', role: 'reader' };
    });
    after(async () => {
      await t.close();
    });

    async function newBucket(options: { versioned?: boolean; encrypted?: boolean } = {}): Promise<string> {
      const name = `tags-${kind}-${++bucketCount}`;
      await core.buckets.create(admin, account, { name, encryption: options.encrypted ? 'managed' : null });
      if (options.versioned) await core.buckets.setVersioning(admin, account, name, 'enabled');
      return name;
    }
    const ref = (bucket: string, key: string, versionId?: string): ObjectRef => ({ account, bucket, key, versionId });
    const put = (bucket: string, key: string, text: string, tags?: Tag[], caller: Caller = admin): Promise<ObjectRecord> =>
      core.objects.put(caller, { ...ref(bucket, key), body: [Buffer.from(text)], contentLength: Buffer.byteLength(text), meta: {}, headers: {}, deleteAt: null, tags });
    const tagsAt = async (bucket: string, key: string, versionId?: string): Promise<Tag[]> => (await core.tagging.getObjectTags(admin, ref(bucket, key, versionId))).tags;

    describe("a version's tags", () => {
      test('given with a PUT: stored in order, counted, listed with the version', async () => {
        const name = await newBucket();
        const tags = [{ key: 'project', value: 'onggi' }, { key: 'empty', value: '' }];
        const written = await put(name, 'k', 'x', tags);
        assert.equal(written.tagCount, 2);
        assert.equal((await core.objects.head(admin, ref(name, 'k'), {})).tagCount, 2);
        assert.deepEqual(await core.tagging.getObjectTags(viewer, ref(name, 'k')), { versionId: 'null', tags });
        const { listing } = await core.objects.listVersions(admin, account, name, { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', limit: 10 });
        assert.deepEqual(listing.entries.map((entry) => (entry.kind === 'item' ? entry.item.tagCount : null)), [2]);
        const untagged = await put(name, 'plain', 'x');
        assert.equal(untagged.tagCount, undefined);
        assert.deepEqual(await tagsAt(name, 'plain'), [], 'no tags: an empty set, not an error');
      });

      test('replaced and deleted per version, in place (no new version); the current one by default', async () => {
        const name = await newBucket({ versioned: true });
        const first = await put(name, 'k', 'one', [{ key: 'a', value: '1' }]);
        const second = await put(name, 'k', 'two');
        const replaced = await core.tagging.putObjectTags(admin, ref(name, 'k', first.versionId), [{ key: 'b', value: '2' }]);
        assert.equal(replaced.versionId, first.versionId);
        assert.deepEqual(await tagsAt(name, 'k', first.versionId), [{ key: 'b', value: '2' }]);
        assert.deepEqual(await tagsAt(name, 'k'), []);
        const onCurrent = await core.tagging.putObjectTags(admin, ref(name, 'k'), [{ key: 'c', value: '3' }]);
        assert.equal(onCurrent.versionId, second.versionId);
        assert.equal((await core.objects.head(admin, ref(name, 'k'), {})).tagCount, 1);
        await core.tagging.deleteObjectTags(admin, ref(name, 'k', first.versionId));
        assert.deepEqual(await tagsAt(name, 'k', first.versionId), []);
        await core.tagging.putObjectTags(admin, ref(name, 'k'), []);
        assert.equal((await core.objects.head(admin, ref(name, 'k'), {})).tagCount, undefined, 'an empty set removes them');
        const { listing } = await core.objects.listVersions(admin, account, name, { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', limit: 10 });
        assert.equal(listing.entries.length, 2, 'tagging made no version');
        assert.equal(await readText(name, 'k', first.versionId), 'one', 'the bytes stayed');
      });

      test('a missing key, a missing version, a delete marker: NoSuchKey, NoSuchVersion, MethodNotAllowed', async () => {
        const name = await newBucket({ versioned: true });
        await rejectsWith(core.tagging.getObjectTags(admin, ref(name, 'missing')), 'NoSuchKey');
        await put(name, 'k', 'x');
        await rejectsWith(core.tagging.putObjectTags(admin, ref(name, 'k', '0'.repeat(32)), []), 'NoSuchVersion');
        const marker = await core.objects.delete(admin, ref(name, 'k'), { requireLive: false });
        await rejectsWith(core.tagging.getObjectTags(admin, ref(name, 'k')), 'NoSuchKey', { deleteMarker: true });
        await rejectsWith(core.tagging.putObjectTags(admin, ref(name, 'k', marker.versionId ?? ''), []), 'MethodNotAllowed');
        await rejectsWith(core.tagging.getObjectTags(admin, ref(name, 'k', 'not-an-id')), 'InvalidArgument');
      });

      test("S3's rules: 10 tags, keys of 1-128 and values of 0-256 characters, letters digits spaces and + - = . _ : / @, no key twice, no aws:", async () => {
        const name = await newBucket();
        await put(name, 'k', 'x');
        await core.tagging.putObjectTags(admin, ref(name, 'k'), tagsOf(10));
        await rejectsWith(core.tagging.putObjectTags(admin, ref(name, 'k'), tagsOf(11)), 'InvalidTag', { tooMany: true });
        await core.tagging.putObjectTags(admin, ref(name, 'k'), [{ key: '한'.repeat(128), value: 'ü'.repeat(256) }]);
        await core.tagging.putObjectTags(admin, ref(name, 'k'), [{ key: 'a b+c-d=e.f_g:h/i@j', value: '1 2 3' }]);
        const bad: Tag[][] = [
          [{ key: 'k'.repeat(129), value: '' }],
          [{ key: '', value: 'v' }],
          [{ key: 'k', value: 'v'.repeat(257) }],
          [{ key: 'star*', value: 'v' }],
          [{ key: 'k', value: 'semi;colon' }],
          [{ key: 'k', value: 'line\nbreak' }],
          [{ key: 'aws:created', value: 'v' }],
          [{ key: 'same', value: '1' }, { key: 'same', value: '2' }],
        ];
        for (const tags of bad) await rejectsWith(core.tagging.putObjectTags(admin, ref(name, 'k'), tags), 'InvalidTag');
        await rejectsWith(put(name, 'k2', 'x', tagsOf(11)), 'InvalidTag');
        await rejectsWith(core.objects.head(admin, ref(name, 'k2'), {}), 'NoSuchKey');
        assert.deepEqual(await tagsAt(name, 'k'), [{ key: 'a b+c-d=e.f_g:h/i@j', value: '1 2 3' }], 'a refused set changed nothing');
      });

      test('a viewer reads tags and may not change them; writing tags with a PUT needs PutObjectTagging too', async () => {
        const name = await newBucket();
        await put(name, 'k', 'x', [{ key: 'a', value: '1' }]);
        assert.deepEqual((await core.tagging.getObjectTags(viewer, ref(name, 'k'))).tags, [{ key: 'a', value: '1' }]);
        await rejectsWith(core.tagging.putObjectTags(viewer, ref(name, 'k'), []), 'AccessDenied');
        await rejectsWith(core.tagging.deleteObjectTags(viewer, ref(name, 'k')), 'AccessDenied');
        await core.buckets.setPolicy(admin, account, name, [{ effect: 'Deny', principal: '*', actions: ['s3:PutObjectTagging'] }]);
        await rejectsWith(put(name, 'k', 'x', [{ key: 'a', value: '1' }]), 'AccessDenied');
        await put(name, 'k', 'untagged write still allowed');
      });

      test('a multipart upload carries its tags to the version', async () => {
        const name = await newBucket();
        const upload = await core.uploads.create(admin, ref(name, 'mpu'), { meta: {}, headers: {}, deleteAt: null, tags: [{ key: 'a', value: '1' }] });
        await rejectsWith(core.uploads.create(admin, ref(name, 'mpu'), { meta: {}, headers: {}, deleteAt: null, tags: tagsOf(11) }), 'InvalidTag');
        const part = await core.uploads.uploadPart(admin, { ...ref(name, 'mpu'), uploadId: upload.id }, 1, { body: [Buffer.from('p')], contentLength: 1 });
        const done = await core.uploads.complete(admin, { ...ref(name, 'mpu'), uploadId: upload.id }, [{ partNumber: 1, etag: part.etag }]);
        assert.equal(done.tagCount, 1);
        assert.deepEqual(await tagsAt(name, 'mpu'), [{ key: 'a', value: '1' }]);
      });

      test('a copy keeps the source’s tags unless given new ones, sharing bytes or streaming them', async () => {
        const source = await newBucket();
        const encrypted = await newBucket({ encrypted: true });
        const tags = [{ key: 'a', value: '1' }];
        await put(source, 'k', 'bytes', tags);
        const options = { freshMetadata: false, meta: {}, headers: {}, deleteAt: null };
        const shared = await core.objects.copy(admin, ref(source, 'k'), ref(source, 'shared'), options);
        assert.equal(shared.record.tagCount, 1);
        assert.deepEqual(await tagsAt(source, 'shared'), tags);
        const streamed = await core.objects.copy(admin, ref(source, 'k'), ref(encrypted, 'streamed'), options);
        assert.equal(streamed.record.tagCount, 1, 'into an encrypted bucket the bytes are streamed over, tags with them');
        assert.deepEqual(await tagsAt(encrypted, 'streamed'), tags);
        const replaced = [{ key: 'b', value: '2' }];
        await core.objects.copy(admin, ref(source, 'k'), ref(source, 'replaced'), { ...options, tags: replaced });
        assert.deepEqual(await tagsAt(source, 'replaced'), replaced);
        await core.objects.copy(admin, ref(source, 'k'), ref(encrypted, 'cleared'), { ...options, tags: [] });
        assert.deepEqual(await tagsAt(encrypted, 'cleared'), []);
        await rejectsWith(core.objects.copy(admin, ref(source, 'k'), ref(source, 'bad'), { ...options, tags: tagsOf(11) }), 'InvalidTag');
      });

      test('tags change on a version Object Lock keeps (as on S3)', async () => {
        const name = `tags-${kind}-locked`;
        await core.buckets.create(admin, account, { name, objectLock: true });
        const written = await core.objects.put(admin, {
          ...ref(name, 'k'),
          body: [Buffer.from('x')],
          contentLength: 1,
          meta: {},
          headers: {},
          deleteAt: null,
          lock: { retention: { mode: 'COMPLIANCE', retainUntil: Date.now() + DAY } },
        });
        await core.tagging.putObjectTags(admin, ref(name, 'k', written.versionId), [{ key: 'a', value: '1' }]);
        assert.deepEqual(await tagsAt(name, 'k', written.versionId), [{ key: 'a', value: '1' }]);
        assert.deepEqual((await core.objectLock.getRetention(admin, ref(name, 'k'))).mode, 'COMPLIANCE', 'the lock stayed');
      });
    });

    describe("a bucket's tags", () => {
      test('none: NoSuchConfiguration (S3: NoSuchTagSet); put, replaced, read by a viewer, deleted', async () => {
        const name = await newBucket();
        await rejectsWith(core.tagging.getBucketTags(admin, account, name), 'NoSuchConfiguration', { kind: 'bucket-tagging' });
        await core.tagging.putBucketTags(admin, account, name, tagsOf(50));
        assert.deepEqual(await core.tagging.getBucketTags(viewer, account, name), tagsOf(50));
        await core.tagging.putBucketTags(admin, account, name, [{ key: 'team', value: 'storage' }]);
        assert.deepEqual(await core.tagging.getBucketTags(admin, account, name), [{ key: 'team', value: 'storage' }]);
        await rejectsWith(core.tagging.putBucketTags(admin, account, name, tagsOf(51)), 'InvalidTag', { tooMany: true });
        await rejectsWith(core.tagging.putBucketTags(admin, account, name, [{ key: 'aws:x', value: '' }]), 'InvalidTag');
        await rejectsWith(core.tagging.putBucketTags(viewer, account, name, []), 'AccessDenied');
        await rejectsWith(core.tagging.deleteBucketTags({ ...admin, userId: 'u-editor', role: 'member' }, account, name), 'AccessDenied');
        await core.tagging.deleteBucketTags(admin, account, name);
        await rejectsWith(core.tagging.getBucketTags(admin, account, name), 'NoSuchConfiguration');
      });

      test('a missing bucket: NoSuchBucket', async () => {
        await rejectsWith(core.tagging.getBucketTags(admin, account, 'no-such-bucket-here'), 'NoSuchBucket');
        await rejectsWith(core.tagging.putBucketTags(admin, account, 'no-such-bucket-here', []), 'NoSuchBucket');
      });
    });

    test("lifecycle's tag filters expire only the versions that carry every tag of the rule", async () => {
      const name = await newBucket();
      await put(name, 'both', 'x', [{ key: 'tmp', value: 'yes' }, { key: 'team', value: 'a' }]);
      await put(name, 'one', 'x', [{ key: 'tmp', value: 'yes' }]);
      await put(name, 'other-value', 'x', [{ key: 'tmp', value: 'no' }, { key: 'team', value: 'a' }]);
      await put(name, 'none', 'x');
      await core.lifecycle.put(admin, account, name, [{ id: 'r', enabled: true, prefix: '', tags: [{ key: 'tmp', value: 'yes' }, { key: 'team', value: 'a' }], expiration: { days: 1 } }]);
      await t.advanceClock(3 * DAY);
      try {
        assert.equal(await core.lifecycle.applyRules(), 1);
      } finally {
        await t.advanceClock(0);
      }
      const { entries } = await core.objects.list(admin, account, name, { prefix: '', delimiter: '', marker: '', endMarker: '', limit: 10, reverse: false });
      assert.deepEqual(entries.map((entry) => (entry.kind === 'item' ? entry.item.key : entry.prefix)), ['none', 'one', 'other-value']);
    });

    test('tags survive a restart', async () => {
      const name = await newBucket();
      await put(name, 'k', 'x', [{ key: 'a', value: '1' }]);
      await core.tagging.putBucketTags(admin, account, name, [{ key: 'b', value: '2' }]);
      await t.reopen();
      core = t.core;
      assert.deepEqual(await tagsAt(name, 'k'), [{ key: 'a', value: '1' }]);
      assert.deepEqual(await core.tagging.getBucketTags(admin, account, name), [{ key: 'b', value: '2' }]);
    });

    async function readText(bucket: string, key: string, versionId?: string): Promise<string> {
      const { bodies } = await core.objects.get(admin, ref(bucket, key, versionId), {}, undefined);
      const parts: Buffer[] = [];
      for (const body of bodies) {
        if (Buffer.isBuffer(body)) parts.push(body);
        else for await (const chunk of body) parts.push(chunk as Buffer);
      }
      return Buffer.concat(parts).toString();
    }
  });
}
