/**
 * Object Lock, protocol-free, on both metadata stores: a bucket's lock (at creation or on a versioned bucket,
 * never on an unversioned one, versioning then kept enabled), default retention (days, years, S3's bounds) on every
 * kind of new version, per-version retention (compliance only lengthened, governance shortened or removed only
 * with the bypass and its permission), legal holds, S3's errors for each edge case, and the refusal on every path
 * that removes or overwrites a version: a delete by version id, Swift's DELETE and POST, `/v1_ext` emptying and
 * bucket delete, lifecycle expiration (current and non-current), the X-Delete-At reaper — each calling exactly the
 * core operation its front end or job calls. The lock survives a restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Core } from '../../src/core/index.ts';
import type { LockSettings, Retention } from '../../src/core/object-lock.ts';
import type { ObjectRef } from '../../src/core/objects.ts';
import type { Caller, ObjectRecord } from '../../src/core/types.ts';
import { rejectsWith } from '../helpers/errors.ts';
import { openTestCore, STORE_KINDS, type TestCore } from '../helpers/core.ts';

const DAY = 24 * 3600 * 1000;

for (const kind of STORE_KINDS) {
  describe(`Object Lock on ${kind}`, () => {
    let t: TestCore;
    let core: Core;
    let admin: Extract<Caller, { kind: 'user' }>;
    let editor: Caller;
    let viewer: Caller;
    let account: string;
    let bucketCount = 0;

    before(async () => {
      t = await openTestCore(kind, { minPartSize: 1 });
      ({ core, admin, account } = t);
      editor = { ...admin, userId: 'u-editor', userName: 'editor', role: 'member' };
      viewer = { ...admin, userId: 'u-viewer', userName: 'viewer', role: 'reader' };
    });
    after(async () => {
      await t.close();
      await t.advanceClock(0).catch(() => undefined);
    });

    /** A bucket with Object Lock from its creation (or, with `lock: false`, an unversioned one). */
    async function newBucket(lock = true): Promise<string> {
      const name = `lock-${kind}-${++bucketCount}`;
      await core.buckets.create(admin, account, { name, objectLock: lock });
      return name;
    }
    const ref = (bucket: string, key: string, versionId?: string): ObjectRef => ({ account, bucket, key, versionId });
    const put = (bucket: string, key: string, text: string, lock?: LockSettings, caller: Caller = admin): Promise<ObjectRecord> =>
      core.objects.put(caller, { ...ref(bucket, key), body: [Buffer.from(text)], contentLength: Buffer.byteLength(text), meta: {}, headers: {}, deleteAt: null, lock });
    const inDays = (days: number, mode: Retention['mode'] = 'COMPLIANCE'): Retention => ({ mode, retainUntil: Date.now() + days * DAY });
    async function read(bucket: string, key: string, versionId?: string): Promise<string> {
      const { bodies } = await core.objects.get(admin, ref(bucket, key, versionId), {}, undefined);
      const parts: Buffer[] = [];
      for (const body of bodies) {
        if (Buffer.isBuffer(body)) parts.push(body);
        else for await (const chunk of body) parts.push(chunk as Buffer);
      }
      return Buffer.concat(parts).toString();
    }
    async function versionIds(bucket: string): Promise<string[]> {
      const { listing } = await core.objects.listVersions(admin, account, bucket, { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', limit: 1000 });
      return listing.entries.flatMap((entry) => (entry.kind === 'item' ? [entry.item.versionId] : []));
    }

    describe('the bucket', () => {
      test('a bucket made with Object Lock is versioned, and stays so', async () => {
        const name = await newBucket();
        const bucket = await core.buckets.get(admin, account, name);
        assert.equal(bucket.versioning, 'enabled');
        assert.deepEqual(await core.objectLock.getConfiguration(admin, account, name), { enabled: true });
        await rejectsWith(core.buckets.setVersioning(admin, account, name, 'suspended'), 'InvalidBucketState');
        await core.buckets.setVersioning(admin, account, name, 'enabled');
      });

      test('enabling it later needs versioning enabled (S3: 409 InvalidBucketState)', async () => {
        const name = await newBucket(false);
        await rejectsWith(core.objectLock.getConfiguration(admin, account, name), 'NoSuchConfiguration', { kind: 'object-lock' });
        await rejectsWith(core.objectLock.putConfiguration(admin, account, name, null), 'InvalidBucketState');
        await core.buckets.setVersioning(admin, account, name, 'suspended');
        await rejectsWith(core.objectLock.putConfiguration(admin, account, name, null), 'InvalidBucketState');
        await core.buckets.setVersioning(admin, account, name, 'enabled');
        await core.objectLock.putConfiguration(admin, account, name, { mode: 'GOVERNANCE', days: 2 });
        assert.deepEqual(await core.objectLock.getConfiguration(admin, account, name), { enabled: true, defaultRetention: { mode: 'GOVERNANCE', days: 2 } });
        await rejectsWith(core.buckets.setVersioning(admin, account, name, 'suspended'), 'InvalidBucketState');
        await core.objectLock.putConfiguration(admin, account, name, null);
        assert.deepEqual(await core.objectLock.getConfiguration(admin, account, name), { enabled: true }, 'the default retention went, the lock stays');
      });

      test('a default retention is a positive whole number of days or years, at most 100 years (InvalidRetentionPeriod)', async () => {
        const name = await newBucket();
        for (const bad of [{ days: 0 }, { days: -1 }, { days: 1.5 }, { years: -1 }, { years: 0 }, { years: 101 }, { days: 36_501 }]) {
          await rejectsWith(core.objectLock.putConfiguration(admin, account, name, { mode: 'COMPLIANCE', ...bad }), 'InvalidRetentionPeriod');
        }
        await core.objectLock.putConfiguration(admin, account, name, { mode: 'COMPLIANCE', years: 100 });
      });

      test('only a Storage Admin configures it; a viewer reads it', async () => {
        const name = await newBucket();
        await rejectsWith(core.objectLock.putConfiguration(editor, account, name, null), 'AccessDenied');
        assert.deepEqual(await core.objectLock.getConfiguration(viewer, account, name), { enabled: true });
      });
    });

    describe('new versions', () => {
      test('each new version gets the default retention: PUT, copy, multipart, symlink; never the source’s lock', async () => {
        const name = await newBucket();
        await core.objectLock.putConfiguration(admin, account, name, { mode: 'GOVERNANCE', days: 3 });
        const before = Date.now();
        const written = await put(name, 'a', 'one');
        assert.equal(written.retention?.mode, 'GOVERNANCE');
        assert.ok(Math.abs((written.retention?.retainUntil ?? 0) - (written.lastModified + 3 * DAY)) < 1000);
        assert.ok((written.retention?.retainUntil ?? 0) >= before + 3 * DAY);

        await core.objectLock.putConfiguration(admin, account, name, { mode: 'COMPLIANCE', years: 1 });
        const copied = await core.objects.copy(admin, ref(name, 'a'), ref(name, 'b'), { freshMetadata: false, meta: {}, headers: {}, deleteAt: null });
        assert.equal(copied.record.retention?.mode, 'COMPLIANCE', "the bucket's default, not the source's governance");
        const year = new Date(copied.record.lastModified);
        year.setUTCFullYear(year.getUTCFullYear() + 1);
        assert.equal(copied.record.retention?.retainUntil, year.getTime(), 'a year by the calendar');

        const upload = await core.uploads.create(admin, ref(name, 'mpu'), { meta: {}, headers: {}, deleteAt: null });
        const part = await core.uploads.uploadPart(admin, { ...ref(name, 'mpu'), uploadId: upload.id }, 1, { body: [Buffer.from('part')], contentLength: 4 });
        const completed = await core.uploads.complete(admin, { ...ref(name, 'mpu'), uploadId: upload.id }, [{ partNumber: 1, etag: part.etag }]);
        assert.equal(completed.retention?.mode, 'COMPLIANCE');

        const link = await core.objects.large.putSymlink(admin, ref(name, 'link'), ref(name, 'a'), null, { meta: {}, headers: {}, deleteAt: null });
        assert.equal(link.retention?.mode, 'COMPLIANCE');
      });

      test('retention and legal hold given with a write override the default; in the past they are refused', async () => {
        const name = await newBucket();
        await core.objectLock.putConfiguration(admin, account, name, { mode: 'GOVERNANCE', days: 1 });
        const given = inDays(10);
        const written = await put(name, 'k', 'x', { retention: given, legalHold: true });
        assert.deepEqual(written.retention, given);
        assert.equal(written.legalHold, true);
        await rejectsWith(put(name, 'k', 'x', { retention: { mode: 'GOVERNANCE', retainUntil: Date.now() - 1000 } }), 'InvalidArgument');
        const upload = await core.uploads.create(admin, ref(name, 'mpu'), { meta: {}, headers: {}, deleteAt: null, lock: { legalHold: true } });
        const part = await core.uploads.uploadPart(admin, { ...ref(name, 'mpu'), uploadId: upload.id }, 1, { body: [Buffer.from('p')], contentLength: 1 });
        const completed = await core.uploads.complete(admin, { ...ref(name, 'mpu'), uploadId: upload.id }, [{ partNumber: 1, etag: part.etag }]);
        assert.equal(completed.legalHold, true);
        assert.equal(completed.retention?.mode, 'GOVERNANCE', 'the default still applies beside a hold');
      });

      test('a lock given in a bucket without Object Lock: InvalidRequest, nothing written', async () => {
        const name = await newBucket(false);
        await rejectsWith(put(name, 'k', 'x', { retention: inDays(1) }), 'InvalidRequest');
        await rejectsWith(put(name, 'k', 'x', { legalHold: false }), 'InvalidRequest');
        await rejectsWith(core.uploads.create(admin, ref(name, 'k'), { meta: {}, headers: {}, deleteAt: null, lock: { legalHold: true } }), 'InvalidRequest');
        await rejectsWith(core.objects.head(admin, ref(name, 'k'), {}), 'NoSuchKey');
        await put(name, 'k', 'plain');
        await rejectsWith(core.objectLock.putRetention(admin, ref(name, 'k'), inDays(1)), 'InvalidRequest');
        await rejectsWith(core.objectLock.getRetention(admin, ref(name, 'k')), 'InvalidRequest');
        await rejectsWith(core.objectLock.putLegalHold(admin, ref(name, 'k'), true), 'InvalidRequest');
        await rejectsWith(core.objectLock.getLegalHold(admin, ref(name, 'k')), 'InvalidRequest');
      });

      test('a write with a lock needs the permissions S3 asks for: an editor retains, only an admin holds', async () => {
        const name = await newBucket();
        await put(name, 'k', 'x', { retention: inDays(1, 'GOVERNANCE') }, editor);
        await rejectsWith(put(name, 'k', 'x', { legalHold: true }, editor), 'AccessDenied');
        await rejectsWith(put(name, 'k', 'x', { retention: inDays(1) }, viewer), 'AccessDenied');
      });
    });

    describe('retention and legal hold of a version', () => {
      test('none set: NoSuchConfiguration (S3: NoSuchObjectLockConfiguration); a hold turned off reads as off', async () => {
        const name = await newBucket();
        await put(name, 'k', 'x');
        await rejectsWith(core.objectLock.getRetention(admin, ref(name, 'k')), 'NoSuchConfiguration', { kind: 'object-retention' });
        await rejectsWith(core.objectLock.getLegalHold(admin, ref(name, 'k')), 'NoSuchConfiguration', { kind: 'object-legal-hold' });
        await core.objectLock.putLegalHold(admin, ref(name, 'k'), true);
        assert.equal(await core.objectLock.getLegalHold(viewer, ref(name, 'k')), true);
        await core.objectLock.putLegalHold(admin, ref(name, 'k'), false);
        assert.equal(await core.objectLock.getLegalHold(admin, ref(name, 'k')), false);
        await rejectsWith(core.objectLock.putRetention(admin, ref(name, 'k'), { mode: 'GOVERNANCE', retainUntil: Date.now() - 1 }), 'InvalidArgument');
        await rejectsWith(core.objectLock.getRetention(admin, ref(name, 'k', '0'.repeat(32))), 'NoSuchVersion');
        await rejectsWith(core.objectLock.getRetention(admin, ref(name, 'missing')), 'NoSuchKey');
      });

      test('compliance: lengthened by anyone who may retain, never shortened, removed or made governance — not even with the bypass', async () => {
        const name = await newBucket();
        const { versionId } = await put(name, 'k', 'x');
        const first = inDays(5);
        await core.objectLock.putRetention(editor, ref(name, 'k', versionId), first);
        const longer = { mode: 'COMPLIANCE' as const, retainUntil: first.retainUntil + DAY };
        await core.objectLock.putRetention(editor, ref(name, 'k'), longer);
        assert.deepEqual(await core.objectLock.getRetention(viewer, ref(name, 'k', versionId)), longer);
        await rejectsWith(core.objectLock.putRetention(admin, ref(name, 'k'), first, { bypassGovernance: true }), 'ObjectLocked', { versionId, mode: 'COMPLIANCE' });
        await rejectsWith(core.objectLock.putRetention(admin, ref(name, 'k'), null, { bypassGovernance: true }), 'ObjectLocked');
        await rejectsWith(core.objectLock.putRetention(admin, ref(name, 'k'), { ...longer, mode: 'GOVERNANCE' }, { bypassGovernance: true }), 'ObjectLocked');
        await rejectsWith(core.objectLock.putRetention(viewer, ref(name, 'k'), longer), 'AccessDenied');
        assert.deepEqual(await core.objectLock.getRetention(admin, ref(name, 'k')), longer);
      });

      test('governance: shortened or removed only with the bypass, asked for, by a caller who holds it (a Storage Admin)', async () => {
        const name = await newBucket();
        const { versionId } = await put(name, 'k', 'x');
        const long = inDays(5, 'GOVERNANCE');
        await core.objectLock.putRetention(admin, ref(name, 'k'), long);
        const shorter = { mode: 'GOVERNANCE' as const, retainUntil: long.retainUntil - DAY };
        await rejectsWith(core.objectLock.putRetention(admin, ref(name, 'k'), shorter), 'ObjectLocked', { versionId, mode: 'GOVERNANCE' });
        await rejectsWith(core.objectLock.putRetention(editor, ref(name, 'k'), shorter, { bypassGovernance: true }), 'AccessDenied');
        await core.objectLock.putRetention(admin, ref(name, 'k'), shorter, { bypassGovernance: true });
        assert.deepEqual(await core.objectLock.getRetention(admin, ref(name, 'k')), shorter);
        await core.objectLock.putRetention(editor, ref(name, 'k'), { mode: 'COMPLIANCE', retainUntil: shorter.retainUntil }, {});
        assert.equal((await core.objectLock.getRetention(admin, ref(name, 'k'))).mode, 'COMPLIANCE', 'governance made compliance: stricter, so allowed');
      });

      test('a policy Allow can give the bypass to a user whose role lacks it; no ACL grant can', async () => {
        const name = await newBucket();
        await put(name, 'k', 'x', { retention: inDays(2, 'GOVERNANCE') });
        const { versionId } = await core.objects.head(admin, ref(name, 'k'), {});
        await core.buckets.setPolicy(admin, account, name, [{ effect: 'Allow', principal: { users: ['u-editor'] }, actions: ['s3:BypassGovernanceRetention'] }]);
        await core.objects.delete(editor, ref(name, 'k', versionId), { bypassGovernance: true });
        assert.deepEqual(await versionIds(name), []);
      });
    });

    describe('what a locked version survives', () => {
      test('S3 DELETE: the key gets a delete marker; the version by id is refused until its date, then goes', async () => {
        const name = await newBucket();
        const { versionId } = await put(name, 'k', 'kept', { retention: inDays(1) });
        const marker = await core.objects.delete(admin, ref(name, 'k'), { requireLive: false });
        assert.equal(marker.deleteMarker, true);
        await rejectsWith(core.objects.delete(admin, ref(name, 'k', versionId), { bypassGovernance: true }), 'ObjectLocked', { versionId, mode: 'COMPLIANCE' });
        assert.equal(await read(name, 'k', versionId), 'kept');
        await t.advanceClock(2 * DAY);
        try {
          await core.objects.delete(admin, ref(name, 'k', versionId));
        } finally {
          await t.advanceClock(0);
        }
        assert.deepEqual(await versionIds(name), [marker.versionId]);
      });

      test('governance yields to the bypass only; a legal hold to nothing, until it is off', async () => {
        const name = await newBucket();
        const governed = await put(name, 'g', 'x', { retention: inDays(1, 'GOVERNANCE') });
        await rejectsWith(core.objects.delete(admin, ref(name, 'g', governed.versionId)), 'ObjectLocked');
        await rejectsWith(core.objects.delete(editor, ref(name, 'g', governed.versionId), { bypassGovernance: true }), 'AccessDenied');
        await core.objects.delete(admin, ref(name, 'g', governed.versionId), { bypassGovernance: true });

        const held = await put(name, 'h', 'x', { legalHold: true, retention: inDays(1, 'GOVERNANCE') });
        await rejectsWith(core.objects.delete(admin, ref(name, 'h', held.versionId), { bypassGovernance: true }), 'ObjectLocked', { legalHold: true });
        await rejectsWith(core.objectLock.putLegalHold(editor, ref(name, 'h'), false), 'AccessDenied');
        await core.objectLock.putLegalHold(admin, ref(name, 'h'), false);
        await core.objects.delete(admin, ref(name, 'h', held.versionId), { bypassGovernance: true });
        assert.deepEqual(await versionIds(name), []);
      });

      test('an overwrite (PUT, multipart completion, copy) is a new version; the locked one stays under it', async () => {
        const name = await newBucket();
        const locked = await put(name, 'k', 'first', { retention: inDays(1) });
        await put(name, 'k', 'second');
        assert.equal(await read(name, 'k'), 'second');
        const upload = await core.uploads.create(admin, ref(name, 'k'), { meta: {}, headers: {}, deleteAt: null });
        const part = await core.uploads.uploadPart(admin, { ...ref(name, 'k'), uploadId: upload.id }, 1, { body: [Buffer.from('third')], contentLength: 5 });
        await core.uploads.complete(admin, { ...ref(name, 'k'), uploadId: upload.id }, [{ partNumber: 1, etag: part.etag }]);
        assert.equal(await read(name, 'k'), 'third');
        await core.objects.copy(admin, ref(name, 'k', locked.versionId), ref(name, 'k'), { freshMetadata: false, meta: {}, headers: {}, deleteAt: null });
        assert.equal(await read(name, 'k'), 'first');
        assert.equal(await read(name, 'k', locked.versionId), 'first');
        assert.equal((await versionIds(name)).length, 4);
      });

      test("Swift's DELETE (core.objects.delete, requireLive) adds a marker; Swift's POST cannot change a locked version in place", async () => {
        const name = await newBucket();
        const locked = await put(name, 'k', 'kept', { retention: inDays(1) });
        await rejectsWith(core.objects.update(admin, ref(name, 'k'), { meta: { a: 'b' } }), 'ObjectLocked');
        await core.objects.delete(admin, ref(name, 'k'));
        await rejectsWith(core.objects.head(admin, ref(name, 'k'), {}), 'NoSuchKey');
        assert.equal(await read(name, 'k', locked.versionId), 'kept');
        const free = await put(name, 'free', 'x');
        assert.equal(free.retention, undefined);
        await core.objects.update(admin, ref(name, 'free'), { meta: { a: 'b' } });
      });

      test('/v1_ext emptying removes what it may, keeps the locked versions and the bucket, and says how many; bucket delete is refused', async () => {
        const name = await newBucket();
        const keptVersion = await put(name, 'kept', 'kept', { retention: inDays(1) });
        const held = await put(name, 'held', 'held', { legalHold: true });
        for (let i = 0; i < 150; i++) await put(name, `free-${String(i).padStart(3, '0')}`, 'x');
        await put(name, 'kept', 'newer, free');
        await core.objects.delete(admin, ref(name, 'held'));
        const open = await core.uploads.create(admin, ref(name, 'upload'), { meta: {}, headers: {}, deleteAt: null });
        await core.emptying.start(admin, account, name, true);
        for (let round = 0; round < 20 && (await core.emptying.work()) > 0; round++);
        const progress = await core.emptying.progress(admin, account, name);
        assert.equal(progress.state, 'done');
        assert.equal(progress.locked, 2);
        assert.deepEqual((await versionIds(name)).sort(), [held.versionId, keptVersion.versionId].sort());
        assert.equal(await read(name, 'kept'), 'kept', 'the locked version became current again');
        await rejectsWith(core.uploads.listParts(admin, { ...ref(name, 'upload'), uploadId: open.id }, { partNumberMarker: 0, limit: 10 }), 'NoSuchUpload');
        await rejectsWith(core.buckets.delete(admin, account, name), 'BucketNotEmpty');

        await core.objectLock.putLegalHold(admin, ref(name, 'held', held.versionId), false);
        await t.advanceClock(2 * DAY);
        try {
          await core.emptying.start(admin, account, name, true);
          for (let round = 0; round < 20 && (await core.emptying.work()) > 0; round++);
        } finally {
          await t.advanceClock(0);
        }
        await rejectsWith(core.buckets.get(admin, account, name), 'NoSuchBucket');
      });

      test('lifecycle: a current locked version is hidden under a marker; a non-current one is not expired', async () => {
        const name = await newBucket();
        const locked = await put(name, 'k', 'locked', { retention: inDays(30) });
        const free = await put(name, 'other', 'free');
        await put(name, 'other', 'newer');
        await core.lifecycle.put(admin, account, name, [{ id: 'r', enabled: true, prefix: '', expiration: { days: 1 }, noncurrentVersionExpiration: { noncurrentDays: 1 } }]);
        await t.advanceClock(3 * DAY);
        try {
          await core.lifecycle.applyRules();
          await t.advanceClock(6 * DAY);
          await core.lifecycle.applyRules();
        } finally {
          await t.advanceClock(0);
        }
        const left = await versionIds(name);
        assert.ok(left.includes(locked.versionId), 'the locked version stays');
        assert.ok(!left.includes(free.versionId), 'an unlocked non-current version expired');
        assert.equal(await read(name, 'k', locked.versionId), 'locked');
        await rejectsWith(core.objects.head(admin, ref(name, 'k'), {}), 'NoSuchKey', { deleteMarker: true });
      });

      test('X-Delete-At: a locked version past it is hidden but kept until its lock ends, then reaped', async () => {
        const name = await newBucket();
        const now = Date.now();
        const written = await core.objects.put(admin, { ...ref(name, 'k'), body: [Buffer.from('x')], contentLength: 1, meta: {}, headers: {}, deleteAt: now + 1000, lock: { retention: inDays(2) } });
        await t.advanceClock(DAY);
        try {
          assert.equal(await core.objects.reapExpired(), 0);
          await rejectsWith(core.objects.head(admin, ref(name, 'k'), {}), 'NoSuchKey');
          assert.deepEqual(await core.objectLock.getRetention(admin, ref(name, 'k', written.versionId)), written.retention, 'kept, with its lock');
          await t.advanceClock(3 * DAY);
          assert.equal(await core.objects.reapExpired(), 1);
        } finally {
          await t.advanceClock(0);
        }
        await rejectsWith(core.objectLock.getRetention(admin, ref(name, 'k', written.versionId)), 'NoSuchVersion');
      });
    });

    test('the lock, its default and a version’s retention and hold survive a restart', async () => {
      const name = await newBucket();
      await core.objectLock.putConfiguration(admin, account, name, { mode: 'COMPLIANCE', days: 1 });
      const written = await put(name, 'k', 'x', { legalHold: true });
      await t.reopen();
      core = t.core;
      assert.deepEqual(await core.objectLock.getConfiguration(admin, account, name), { enabled: true, defaultRetention: { mode: 'COMPLIANCE', days: 1 } });
      assert.deepEqual(await core.objectLock.getRetention(admin, ref(name, 'k')), written.retention);
      assert.equal(await core.objectLock.getLegalHold(admin, ref(name, 'k')), true);
      await rejectsWith(core.objects.delete(admin, ref(name, 'k', written.versionId), { bypassGovernance: true }), 'ObjectLocked');
      const head = await core.objects.head(admin, ref(name, 'k'), {});
      assert.equal(head.legalHold, true);
      assert.equal(head.retention?.mode, 'COMPLIANCE');
    });
  });
}
