/**
 * The MetadataStore contract: every implementation (SQLite, PostgreSQL, …) runs these same tests.
 * `open` must return a fresh, empty store; `close` closes it and removes whatever `open` created.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AccessKey, Bucket, ObjectRecord, Project, User } from '../../src/core/types.ts';
import type { MetadataStore, ScanRange } from '../../src/store/meta/index.ts';

export type OpenMetaStore = () => Promise<MetadataStore>;
export type CloseMetaStore = (store: MetadataStore) => Promise<void>;

/** Names compare as UTF-8 bytes (= code points), not as JavaScript's UTF-16 code units. */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const T0 = 1_700_000_000_000;

export function project(id: string, name = `name-${id}`): Project {
  return { id, name, createdAt: T0, meta: {} };
}

export function user(id: string, name = `user-${id}`): User {
  return { id, name, createdAt: T0 };
}

export function bucket(name: string, projectId: string, extra: Partial<Bucket> = {}): Bucket {
  return {
    name,
    projectId,
    type: 'STANDARD',
    createdAt: T0,
    updatedAt: T0,
    objectCount: 0,
    bytes: 0,
    publicRead: false,
    publicReadAllowIps: [],
    encryption: null,
    meta: {},
    ...extra,
  };
}

let blobCounter = 0;
export function object(bucketName: string, key: string, extra: Partial<ObjectRecord> = {}): ObjectRecord {
  blobCounter++;
  return {
    bucket: bucketName,
    key,
    blobId: blobCounter.toString(16).padStart(32, '0'),
    size: 10,
    etag: 'd41d8cd98f00b204e9800998ecf8427e',
    contentType: 'application/octet-stream',
    lastModified: T0,
    meta: {},
    headers: {},
    deleteAt: null,
    encryption: null,
    inline: null,
    ...extra,
  };
}

function range(extra: Partial<ScanRange> = {}): ScanRange {
  return { prefix: '', limit: 10_000, reverse: false, ...extra };
}

/** Keys that trip up stores comparing as UTF-16, as locale text, or mishandling prefixes. */
export const TRICKY_KEYS: readonly string[] = [
  'a',
  'a/',
  'a/b',
  'a/b/c',
  'a0',
  'ab',
  'A',
  'Z',
  '_',
  '~',
  ' space',
  'é',
  'e\u0301',
  '\u00ff',
  '\u0100',
  '\u07ff',
  '\u0800',
  '\ud7ff',
  '\ue000',
  '\ufffd',
  '\uffff',
  '😀',
  '😀/x',
  '\u{10000}',
  '\u{10ffff}',
  '한국어/키',
  'a%2Fb',
  'a\tb',
  'a b',
];

export function metaStoreContract(name: string, open: OpenMetaStore, close: CloseMetaStore): void {
  async function withStore(body: (store: MetadataStore) => Promise<void>): Promise<void> {
    const store = await open();
    try {
      await body(store);
    } finally {
      await close(store);
    }
  }

  /** A store holding project `p1` and bucket `b1`. */
  async function withBucket(body: (store: MetadataStore) => Promise<void>): Promise<void> {
    await withStore(async (store) => {
      await store.createProject(project('p1'));
      assert.equal(await store.createBucket(bucket('b1', 'p1')), true);
      await body(store);
    });
  }

  async function keysOf(store: MetadataStore, bucketName: string, scan: Partial<ScanRange>): Promise<string[]> {
    return (await store.scanObjects(bucketName, range(scan))).map((o) => o.key);
  }

  describe(`MetadataStore contract: ${name}`, () => {
    describe('projects', () => {
      test('create, get by id and name, list in name order, update meta, delete', () =>
        withStore(async (store) => {
          await store.createProject(project('id-b', 'beta'));
          await store.createProject({ ...project('id-a', 'alpha'), meta: { k: 'v' } });
          assert.deepEqual(await store.getProject('id-a'), { id: 'id-a', name: 'alpha', createdAt: T0, meta: { k: 'v' } });
          assert.deepEqual(await store.getProjectByName('beta'), project('id-b', 'beta'));
          assert.equal(await store.getProject('nope'), null);
          assert.equal(await store.getProjectByName('nope'), null);
          assert.deepEqual(
            (await store.listProjects()).map((p) => p.name),
            ['alpha', 'beta'],
          );
          await store.updateProjectMeta('id-b', { color: 'blue', '한': '글' });
          assert.deepEqual((await store.getProject('id-b'))?.meta, { color: 'blue', '한': '글' });
          assert.equal(await store.deleteProject('id-a'), true);
          assert.equal(await store.deleteProject('id-a'), false);
          assert.equal(await store.getProject('id-a'), null);
        }));

      test('ids and names are unique', () =>
        withStore(async (store) => {
          await store.createProject(project('id-1', 'one'));
          await assert.rejects(store.createProject(project('id-1', 'other')));
          await assert.rejects(store.createProject(project('id-2', 'one')));
          assert.equal((await store.listProjects()).length, 1);
        }));
    });

    describe('users, roles and access keys', () => {
      test('users: create, get, list, unique names, delete', () =>
        withStore(async (store) => {
          await store.createUser(user('u2', 'zed'));
          await store.createUser(user('u1', 'amy'));
          assert.deepEqual(await store.getUser('u1'), user('u1', 'amy'));
          assert.deepEqual(await store.getUserByName('zed'), user('u2', 'zed'));
          assert.equal(await store.getUser('u3'), null);
          assert.deepEqual(
            (await store.listUsers()).map((u) => u.name),
            ['amy', 'zed'],
          );
          await assert.rejects(store.createUser(user('u3', 'amy')));
          assert.equal(await store.deleteUser('u2'), true);
          assert.equal(await store.deleteUser('u2'), false);
          assert.equal(await store.getUserByName('zed'), null);
        }));

      test('roles: set is an upsert, list filters, remove', () =>
        withStore(async (store) => {
          await store.createProject(project('p1'));
          await store.createProject(project('p2'));
          await store.createUser(user('u1'));
          await store.createUser(user('u2'));
          await store.setRole({ projectId: 'p1', userId: 'u1', role: 'reader' });
          await store.setRole({ projectId: 'p1', userId: 'u1', role: 'admin' });
          await store.setRole({ projectId: 'p1', userId: 'u2', role: 'member' });
          await store.setRole({ projectId: 'p2', userId: 'u1', role: 'member' });
          assert.equal(await store.getRole('p1', 'u1'), 'admin');
          assert.equal(await store.getRole('p2', 'u2'), null);
          assert.equal((await store.listRoles({})).length, 3);
          assert.deepEqual(
            (await store.listRoles({ projectId: 'p1' })).map((r) => [r.userId, r.role]),
            [
              ['u1', 'admin'],
              ['u2', 'member'],
            ],
          );
          assert.deepEqual(await store.listRoles({ userId: 'u1', projectId: 'p2' }), [{ projectId: 'p2', userId: 'u1', role: 'member' }]);
          assert.equal(await store.removeRole('p1', 'u1'), true);
          assert.equal(await store.removeRole('p1', 'u1'), false);
          assert.equal(await store.getRole('p1', 'u1'), null);
        }));

      test('access keys: create, get by id and by (user, name), list filters in creation order, delete', () =>
        withStore(async (store) => {
          await store.createProject(project('p1'));
          await store.createProject(project('p2'));
          await store.createUser(user('u1'));
          await store.createUser(user('u2'));
          const key = (id: string, userId: string, projectId: string, createdAt: number, expiresAt: number | null = null): AccessKey => ({
            id,
            name: `name-${id}`,
            userId,
            projectId,
            secretHash: `hash-${id}`,
            createdAt,
            expiresAt,
          });
          await store.createAccessKey(key('k2', 'u1', 'p1', T0 + 2));
          await store.createAccessKey(key('k1', 'u1', 'p2', T0 + 1, T0 + 99));
          await store.createAccessKey(key('k3', 'u2', 'p1', T0 + 3));
          assert.deepEqual(await store.getAccessKey('k1'), key('k1', 'u1', 'p2', T0 + 1, T0 + 99));
          assert.deepEqual(await store.getAccessKeyByName('u1', 'name-k2'), key('k2', 'u1', 'p1', T0 + 2));
          assert.equal(await store.getAccessKeyByName('u2', 'name-k2'), null);
          assert.equal(await store.getAccessKey('k9'), null);
          assert.deepEqual(
            (await store.listAccessKeys({ userId: 'u1' })).map((k) => k.id),
            ['k1', 'k2'],
          );
          assert.deepEqual(
            (await store.listAccessKeys({ projectId: 'p1' })).map((k) => k.id),
            ['k2', 'k3'],
          );
          assert.deepEqual(
            (await store.listAccessKeys({ projectId: 'p1', userId: 'u2' })).map((k) => k.id),
            ['k3'],
          );
          assert.equal((await store.listAccessKeys({})).length, 3);
          await assert.rejects(store.createAccessKey({ ...key('k4', 'u1', 'p1', T0), name: 'name-k2' }), 'key names are unique per user');
          assert.equal(await store.deleteAccessKey('k2'), true);
          assert.equal(await store.deleteAccessKey('k2'), false);
          assert.equal(await store.getAccessKey('k2'), null);
        }));

      test('deleting a user or a project removes its roles and keys', () =>
        withStore(async (store) => {
          await store.createProject(project('p1'));
          await store.createProject(project('p2'));
          await store.createUser(user('u1'));
          await store.setRole({ projectId: 'p1', userId: 'u1', role: 'admin' });
          await store.setRole({ projectId: 'p2', userId: 'u1', role: 'admin' });
          const base = { userId: 'u1', secretHash: 'h', createdAt: T0, expiresAt: null };
          await store.createAccessKey({ ...base, id: 'k1', name: 'a', projectId: 'p1' });
          await store.createAccessKey({ ...base, id: 'k2', name: 'b', projectId: 'p2' });
          assert.equal(await store.deleteProject('p2'), true);
          assert.deepEqual(
            (await store.listRoles({ userId: 'u1' })).map((r) => r.projectId),
            ['p1'],
          );
          assert.deepEqual(
            (await store.listAccessKeys({ userId: 'u1' })).map((k) => k.id),
            ['k1'],
          );
          assert.equal(await store.deleteUser('u1'), true);
          assert.deepEqual(await store.listRoles({}), []);
          assert.deepEqual(await store.listAccessKeys({}), []);
        }));
    });

    describe('buckets', () => {
      test('names are unique across projects; fields round-trip', () =>
        withStore(async (store) => {
          await store.createProject(project('p1'));
          await store.createProject(project('p2'));
          const full = bucket('b1', 'p1', {
            publicRead: true,
            publicReadAllowIps: ['10.0.0.0/8', '::1'],
            encryption: 'managed',
            meta: { 'x-color': 'red' },
          });
          assert.equal(await store.createBucket(full), true);
          assert.equal(await store.createBucket(bucket('b1', 'p1')), false);
          assert.equal(await store.createBucket(bucket('b1', 'p2')), false);
          assert.deepEqual(await store.getBucket('b1'), full);
          assert.equal(await store.getBucket('b2'), null);
        }));

      test('listBuckets: only the project, name order, prefix, bounds, reverse, limit', () =>
        withStore(async (store) => {
          await store.createProject(project('p1'));
          await store.createProject(project('p2'));
          for (const name of ['b-3', 'a-1', 'b-1', 'c-1', 'b-2']) await store.createBucket(bucket(name, 'p1'));
          await store.createBucket(bucket('b-0', 'p2'));
          const names = async (scan: Partial<ScanRange>): Promise<string[]> => (await store.listBuckets('p1', range(scan))).map((b) => b.name);
          assert.deepEqual(await names({}), ['a-1', 'b-1', 'b-2', 'b-3', 'c-1']);
          assert.deepEqual(await names({ prefix: 'b-' }), ['b-1', 'b-2', 'b-3']);
          assert.deepEqual(await names({ lower: { key: 'b-1', inclusive: false }, upper: { key: 'c-1', inclusive: false } }), ['b-2', 'b-3']);
          assert.deepEqual(await names({ reverse: true, limit: 2 }), ['c-1', 'b-3']);
          assert.deepEqual(await store.listBuckets('p3', range()), []);
        }));

      test('updateBucket patches only the given fields and bumps updatedAt; missing → null', () =>
        withStore(async (store) => {
          await store.createProject(project('p1'));
          await store.createBucket(bucket('b1', 'p1', { meta: { a: '1' }, publicReadAllowIps: ['1.2.3.4'] }));
          const updated = await store.updateBucket('b1', { publicRead: true });
          assert.ok(updated);
          assert.equal(updated.publicRead, true);
          assert.deepEqual(updated.meta, { a: '1' });
          assert.deepEqual(updated.publicReadAllowIps, ['1.2.3.4']);
          assert.ok(updated.updatedAt > T0);
          assert.deepEqual(await store.getBucket('b1'), updated);
          await store.updateBucket('b1', { meta: { b: '2' }, publicReadAllowIps: [] });
          const again = await store.getBucket('b1');
          assert.deepEqual(again?.meta, { b: '2' });
          assert.deepEqual(again?.publicReadAllowIps, []);
          assert.equal(again?.publicRead, true);
          assert.equal(await store.updateBucket('nope', { publicRead: true }), null);
        }));

      test('deleteBucket: missing, not-empty, deleted', () =>
        withBucket(async (store) => {
          assert.equal(await store.deleteBucket('nope'), 'missing');
          await store.putObject(object('b1', 'k'));
          assert.equal(await store.deleteBucket('b1'), 'not-empty');
          await store.deleteObject('b1', 'k');
          assert.equal(await store.deleteBucket('b1'), 'deleted');
          assert.equal(await store.getBucket('b1'), null);
          assert.equal(await store.deleteBucket('b1'), 'missing');
          assert.equal(await store.createBucket(bucket('b1', 'p1')), true, 'a deleted name can be reused');
        }));

      test('accountTotals sums the project’s buckets only', () =>
        withStore(async (store) => {
          await store.createProject(project('p1'));
          await store.createProject(project('p2'));
          assert.deepEqual(await store.accountTotals('p1'), { buckets: 0, objects: 0, bytes: 0 });
          await store.createBucket(bucket('b1', 'p1'));
          await store.createBucket(bucket('b2', 'p1'));
          await store.createBucket(bucket('b3', 'p2'));
          await store.putObject(object('b1', 'x', { size: 5 }));
          await store.putObject(object('b2', 'y', { size: 7 }));
          await store.putObject(object('b2', 'z', { size: 0 }));
          await store.putObject(object('b3', 'w', { size: 100 }));
          assert.deepEqual(await store.accountTotals('p1'), { buckets: 2, objects: 3, bytes: 12 });
          assert.deepEqual(await store.accountTotals('p2'), { buckets: 1, objects: 1, bytes: 100 });
          assert.deepEqual(await store.accountTotals('p9'), { buckets: 0, objects: 0, bytes: 0 });
        }));
    });

    describe('objects', () => {
      test('putObject into a missing bucket fails with no-bucket', () =>
        withBucket(async (store) => {
          assert.deepEqual(await store.putObject(object('nope', 'k')), { ok: false, reason: 'no-bucket' });
          assert.equal(await store.getObject('nope', 'k'), null);
        }));

      test('putObject round-trips every field and keeps bucket totals', () =>
        withBucket(async (store) => {
          const record = object('b1', 'dir/ké😀', {
            size: 12345,
            contentType: 'text/plain; charset=utf-8',
            meta: { color: 'red', '한': '글' },
            headers: { 'content-disposition': 'attachment; filename="x"' },
            deleteAt: T0 + 10_000_000_000,
            encryption: { wrappedKey: 'd3JhcHBlZA==', iv: 'aXY=' },
          });
          assert.deepEqual(await store.putObject(record), { ok: true, replaced: null });
          assert.deepEqual(await store.getObject('b1', 'dir/ké😀'), record);
          assert.equal(await store.getObject('b1', 'dir/ke😀'), null);
          const b = await store.getBucket('b1');
          assert.equal(b?.objectCount, 1);
          assert.equal(b?.bytes, 12345);
        }));

      test('an overwrite returns the replaced record and adjusts totals by the difference', () =>
        withBucket(async (store) => {
          const first = object('b1', 'k', { size: 100 });
          const second = object('b1', 'k', { size: 30, lastModified: T0 + 1 });
          await store.putObject(first);
          await store.putObject(object('b1', 'other', { size: 1 }));
          const result = await store.putObject(second);
          assert.deepEqual(result, { ok: true, replaced: first });
          assert.deepEqual(await store.getObject('b1', 'k'), second);
          const b = await store.getBucket('b1');
          assert.equal(b?.objectCount, 2);
          assert.equal(b?.bytes, 31);
        }));

      test('mustNotExist refuses a live object but not an expired one', () =>
        withBucket(async (store) => {
          const now = Date.now();
          const live = object('b1', 'live', { size: 4, lastModified: now });
          await store.putObject(live);
          assert.deepEqual(await store.putObject(object('b1', 'live', { lastModified: now }), { mustNotExist: true }), {
            ok: false,
            reason: 'exists',
          });
          assert.deepEqual(await store.getObject('b1', 'live'), live);

          const expired = object('b1', 'gone', { size: 6, deleteAt: now - 1000, lastModified: now - 2000 });
          await store.putObject(expired);
          const fresh = object('b1', 'gone', { size: 8, lastModified: now });
          assert.deepEqual(await store.putObject(fresh, { mustNotExist: true }), { ok: true, replaced: expired });
          assert.deepEqual(await store.getObject('b1', 'gone'), fresh);
          assert.deepEqual(await store.putObject(object('b1', 'new', { size: 1 }), { mustNotExist: true }), { ok: true, replaced: null });
          const b = await store.getBucket('b1');
          assert.equal(b?.objectCount, 3);
          assert.equal(b?.bytes, 4 + 8 + 1);
        }));

      test('updateObject patches attributes only; missing → null', () =>
        withBucket(async (store) => {
          const record = object('b1', 'k', { meta: { a: '1' }, headers: { 'content-encoding': 'gzip' } });
          await store.putObject(record);
          const updated = await store.updateObject('b1', 'k', { meta: { b: '2' }, deleteAt: T0 + 5 });
          assert.deepEqual(updated, { ...record, meta: { b: '2' }, deleteAt: T0 + 5 });
          assert.deepEqual(await store.getObject('b1', 'k'), updated);
          const cleared = await store.updateObject('b1', 'k', { deleteAt: null, contentType: 'image/png' });
          assert.equal(cleared?.deleteAt, null);
          assert.equal(cleared?.contentType, 'image/png');
          assert.deepEqual(cleared?.headers, { 'content-encoding': 'gzip' });
          assert.equal(cleared?.blobId, record.blobId);
          assert.equal(await store.updateObject('b1', 'missing', { meta: {} }), null);
        }));

      test('deleteObject returns the record, adjusts totals, and honours onlyIfExpiredBy', () =>
        withBucket(async (store) => {
          const record = object('b1', 'k', { size: 40, deleteAt: T0 + 1000 });
          await store.putObject(record);
          await store.putObject(object('b1', 'j', { size: 2 }));
          assert.equal(await store.deleteObject('b1', 'k', T0 + 999), null, 'not expired yet: left alone');
          assert.equal(await store.deleteObject('b1', 'j', T0 + 5000), null, 'never expires: left alone');
          assert.deepEqual(await store.getObject('b1', 'k'), record);
          assert.deepEqual(await store.deleteObject('b1', 'k', T0 + 1000), record);
          assert.equal(await store.getObject('b1', 'k'), null);
          assert.equal(await store.deleteObject('b1', 'k'), null);
          assert.equal(await store.deleteObject('nope', 'k'), null);
          const deleted = await store.deleteObject('b1', 'j');
          assert.equal(deleted?.key, 'j');
          const b = await store.getBucket('b1');
          assert.equal(b?.objectCount, 0);
          assert.equal(b?.bytes, 0);
        }));

      test('inline bytes come back with the object but not in scans', () =>
        withBucket(async (store) => {
          const inline = Buffer.from('small object bytes');
          await store.putObject({ ...object('b1', 'small', { size: inline.length }), blobId: '', inline });
          assert.deepEqual((await store.getObject('b1', 'small'))?.inline, inline);
          const [listed] = await store.scanObjects('b1', { prefix: '', limit: 10, reverse: false });
          assert.equal(listed?.key, 'small');
          assert.equal(listed?.inline, null);
          await store.putObject(object('b1', 'small', { size: 3 }));
          assert.equal((await store.getObject('b1', 'small'))?.inline, null, 'an overwrite by a blob drops the inline bytes');
        }));

      test('every read after a write sees that write (no stale read of a recently read object)', () =>
        withBucket(async (store) => {
          await store.putObject({ ...object('b1', 'hot', { size: 3 }), blobId: '', inline: Buffer.from('one') });
          assert.deepEqual((await store.getObject('b1', 'hot'))?.inline, Buffer.from('one'));
          await store.putObject({ ...object('b1', 'hot', { size: 3 }), blobId: '', inline: Buffer.from('two') });
          assert.deepEqual((await store.getObject('b1', 'hot'))?.inline, Buffer.from('two'));
          await store.updateObject('b1', 'hot', { contentType: 'text/x-changed' });
          assert.equal((await store.getObject('b1', 'hot'))?.contentType, 'text/x-changed');
          await store.deleteObject('b1', 'hot');
          assert.equal(await store.getObject('b1', 'hot'), null);
          const reads = await Promise.all([store.getObject('b1', 'hot'), store.putObject(object('b1', 'hot', { size: 9 })), store.getObject('b1', 'hot')]);
          assert.equal(reads[0], null);
          assert.equal((await store.getObject('b1', 'hot'))?.size, 9);
        }));

      test('isBlobReferenced follows puts, overwrites and deletes', () =>
        withBucket(async (store) => {
          const first = object('b1', 'k');
          assert.equal(await store.isBlobReferenced(first.blobId), false);
          await store.putObject(first);
          assert.equal(await store.isBlobReferenced(first.blobId), true);
          const second = object('b1', 'k');
          await store.putObject(second);
          assert.equal(await store.isBlobReferenced(first.blobId), false);
          assert.equal(await store.isBlobReferenced(second.blobId), true);
          await store.deleteObject('b1', 'k');
          assert.equal(await store.isBlobReferenced(second.blobId), false);
        }));

      test('listExpired: passed X-Delete-At only, oldest first, limited', () =>
        withBucket(async (store) => {
          await store.createBucket(bucket('b2', 'p1'));
          await store.putObject(object('b1', 'late', { deleteAt: T0 + 300 }));
          await store.putObject(object('b2', 'early', { deleteAt: T0 + 100 }));
          await store.putObject(object('b1', 'middle', { deleteAt: T0 + 200 }));
          await store.putObject(object('b1', 'future', { deleteAt: T0 + 10_000 }));
          await store.putObject(object('b1', 'forever'));
          assert.deepEqual(
            (await store.listExpired(T0 + 300, 10)).map((o) => o.key),
            ['early', 'middle', 'late'],
          );
          assert.deepEqual(
            (await store.listExpired(T0 + 250, 1)).map((o) => o.key),
            ['early'],
          );
          assert.deepEqual(await store.listExpired(T0, 10), []);
        }));
    });

    describe('scanObjects', () => {
      const sorted = [...TRICKY_KEYS].sort(byteOrder);

      async function withTricky(body: (store: MetadataStore) => Promise<void>): Promise<void> {
        await withBucket(async (store) => {
          await store.createBucket(bucket('b2', 'p1'));
          for (const key of TRICKY_KEYS) await store.putObject(object('b1', key));
          await store.putObject(object('b2', 'a/b'));
          await body(store);
        });
      }

      test('scans in UTF-8 byte order, one bucket only', () =>
        withTricky(async (store) => {
          assert.deepEqual(await keysOf(store, 'b1', {}), sorted);
          assert.deepEqual(await keysOf(store, 'b1', { reverse: true }), [...sorted].reverse());
          assert.deepEqual(await keysOf(store, 'b2', {}), ['a/b']);
          assert.deepEqual(await keysOf(store, 'nope', {}), []);
        }));

      test('prefix', () =>
        withTricky(async (store) => {
          assert.deepEqual(await keysOf(store, 'b1', { prefix: 'a/' }), ['a/', 'a/b', 'a/b/c']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: 'a' }), ['a', 'a b', 'a\tb', 'a%2Fb', 'a/', 'a/b', 'a/b/c', 'a0', 'ab'].sort(byteOrder));
          assert.deepEqual(await keysOf(store, 'b1', { prefix: '😀' }), ['😀', '😀/x']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: 'e' }), ['e\u0301']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: '\ud7ff' }), ['\ud7ff']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: '\uffff' }), ['\uffff']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: '\u{10ffff}' }), ['\u{10ffff}']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: '한국어/' }), ['한국어/키']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: 'zz' }), []);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: 'a/', reverse: true }), ['a/b/c', 'a/b', 'a/']);
          // LIKE-style wildcards in a prefix are plain characters.
          assert.deepEqual(await keysOf(store, 'b1', { prefix: '_' }), ['_']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: 'a%' }), ['a%2Fb']);
        }));

      test('lower and upper bounds, inclusive and exclusive, with prefix and reverse', () =>
        withTricky(async (store) => {
          const between = (lo: string, hi: string, loIn: boolean, hiIn: boolean): string[] =>
            sorted.filter((k) => {
              const a = byteOrder(k, lo);
              const b = byteOrder(k, hi);
              return (loIn ? a >= 0 : a > 0) && (hiIn ? b <= 0 : b < 0);
            });
          for (const [lo, hi] of [
            ['a/', 'ab'],
            ['a', '\ufffd'],
            ['é', '😀'],
            ['\uffff', '\u{10ffff}'],
          ] as const) {
            for (const loIn of [true, false]) {
              for (const hiIn of [true, false]) {
                const expected = between(lo, hi, loIn, hiIn);
                const scan = { lower: { key: lo, inclusive: loIn }, upper: { key: hi, inclusive: hiIn } };
                assert.deepEqual(await keysOf(store, 'b1', scan), expected, `${lo}..${hi} ${loIn} ${hiIn}`);
                assert.deepEqual(await keysOf(store, 'b1', { ...scan, reverse: true }), [...expected].reverse(), `reverse ${lo}..${hi}`);
              }
            }
          }
          assert.deepEqual(await keysOf(store, 'b1', { prefix: 'a/', lower: { key: 'a/', inclusive: false } }), ['a/b', 'a/b/c']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: 'a', upper: { key: 'a/b', inclusive: false }, reverse: true, limit: 2 }), ['a/', 'a%2Fb']);
          assert.deepEqual(await keysOf(store, 'b1', { lower: { key: 'zz', inclusive: true } }), sorted.filter((k) => byteOrder(k, 'zz') >= 0));
          assert.deepEqual(await keysOf(store, 'b1', { lower: { key: 'b', inclusive: true }, upper: { key: 'a', inclusive: true } }), []);
        }));

      test('limit is exact, in either direction', () =>
        withTricky(async (store) => {
          assert.deepEqual(await keysOf(store, 'b1', { limit: 3 }), sorted.slice(0, 3));
          assert.deepEqual(await keysOf(store, 'b1', { limit: 3, reverse: true }), [...sorted].reverse().slice(0, 3));
          assert.deepEqual(await keysOf(store, 'b1', { limit: 1, prefix: 'a/' }), ['a/']);
        }));

      test('paging through 2,000 keys with exclusive bounds, forward and reverse', { timeout: 120_000 }, () =>
        withBucket(async (store) => {
          const keys = Array.from({ length: 2000 }, (_, i) => {
            const n = String(i).padStart(4, '0');
            return i % 3 === 0 ? `dir/${n}` : i % 3 === 1 ? `dir/${n}/é` : `${n}😀`;
          });
          for (const key of keys) await store.putObject(object('b1', key, { size: 1 }));
          const expected = [...keys].sort(byteOrder);
          const forward: string[] = [];
          let lower: ScanRange['lower'];
          for (;;) {
            const page = await keysOf(store, 'b1', { lower, limit: 333 });
            forward.push(...page);
            const last = page[page.length - 1];
            if (page.length < 333 || last === undefined) break;
            lower = { key: last, inclusive: false };
          }
          assert.deepEqual(forward, expected);
          const backward: string[] = [];
          let upper: ScanRange['upper'];
          for (;;) {
            const page = await keysOf(store, 'b1', { prefix: 'dir/', upper, limit: 250, reverse: true });
            backward.push(...page);
            const last = page[page.length - 1];
            if (page.length < 250 || last === undefined) break;
            upper = { key: last, inclusive: false };
          }
          assert.deepEqual(backward, expected.filter((k) => k.startsWith('dir/')).reverse());
          const b = await store.getBucket('b1');
          assert.equal(b?.objectCount, 2000);
          assert.equal(b?.bytes, 2000);
        }),
      );
    });
  });
}
