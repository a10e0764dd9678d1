/**
 * Manifests and symbolic links, protocol-free, on both metadata stores: static manifests (segments checked when
 * written, ranges of segments, nesting, reads and ranges across segments, a segment missing or changed fails the
 * read and never gives other bytes), dynamic manifests (a prefix read at GET time), symbolic links (targets,
 * pinned ETags, loops), every segment and target authorized for the caller.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Core } from '../../src/core/index.ts';
import { staticManifestEtag } from '../../src/core/large-objects.ts';
import { TABLES } from '../../src/core/model.ts';
import type { ObjectRef, WriteAttributes } from '../../src/core/objects.ts';
import type { Caller } from '../../src/core/types.ts';
import { rejectsWith } from '../helpers/errors.ts';
import { openTestCore, STORE_KINDS, type TestCore } from '../helpers/core.ts';

const attributes: WriteAttributes = { meta: {}, headers: {}, deleteAt: null };
const md5 = (text: string): string => createHash('md5').update(text).digest('hex');


for (const kind of STORE_KINDS) {
  describe(`large objects and links on ${kind}`, () => {
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

    async function newBucket(): Promise<string> {
      const name = `large-${kind}-${++bucketCount}`;
      await core.buckets.create(admin, account, { name });
      return name;
    }
    const ref = (bucket: string, key: string): ObjectRef => ({ account, bucket, key });
    const put = (bucket: string, key: string, text: string): Promise<unknown> =>
      core.objects.put(admin, { ...ref(bucket, key), ...attributes, body: [Buffer.from(text)], contentLength: Buffer.byteLength(text) });
    async function read(bucket: string, key: string, range?: string, caller: Caller = admin): Promise<string> {
      const { bodies } = await core.objects.get(caller, ref(bucket, key), {}, range);
      const chunks: Buffer[] = [];
      for (const body of bodies) {
        if (Buffer.isBuffer(body)) chunks.push(body);
        else for await (const chunk of body) chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks).toString();
    }

    test('a static manifest: segments in order, a range of one, reads and ranges across them, its ETag and size', async () => {
      const b = await newBucket();
      await put(b, 'seg/1', 'Hello, ');
      await put(b, 'seg/2', '---big world---');
      await put(b, 'seg/3', '!');
      const record = await core.objects.large.putStatic(admin, ref(b, 'manifest'), [
        { bucket: b, key: 'seg/1', etag: md5('Hello, '), size: 7 },
        { bucket: b, key: 'seg/2', range: '3-11' },
        { bucket: b, key: 'seg/3' },
      ], attributes);
      const whole = 'Hello, big world!';
      assert.equal(record.size, whole.length);
      assert.equal(
        record.etag,
        staticManifestEtag([
          { bucket: b, key: 'seg/1', etag: md5('Hello, '), objectSize: 7, range: null },
          { bucket: b, key: 'seg/2', etag: md5('---big world---'), objectSize: 15, range: [3, 11] },
          { bucket: b, key: 'seg/3', etag: md5('!'), objectSize: 1, range: null },
        ]),
      );
      assert.equal(await read(b, 'manifest'), whole);
      for (const [start, end] of [[0, 6], [5, 9], [6, 16], [16, 16], [0, 16], [7, 15]] as const) {
        assert.equal(await read(b, 'manifest', `bytes=${start}-${end}`), whole.slice(start, end + 1), `${start}-${end}`);
      }
      const head = await core.objects.head(admin, ref(b, 'manifest'), {});
      assert.equal(head.size, whole.length);
      const raw = await core.objects.head(admin, ref(b, 'manifest'), {}, undefined, true);
      assert.equal(raw.etag, record.etag);
      // A manifest of manifests.
      await core.objects.large.putStatic(admin, ref(b, 'nested'), [{ bucket: b, key: 'manifest' }, { bucket: b, key: 'seg/3' }], attributes);
      assert.equal(await read(b, 'nested'), `${whole}!`);
      assert.equal(await read(b, 'nested', 'bytes=15-17'), 'd!!');
    });

    test('a static manifest is refused unless every segment is there as given', async () => {
      const b = await newBucket();
      await put(b, 'seg', 'abc');
      await rejectsWith(core.objects.large.putStatic(admin, ref(b, 'm'), [], attributes), 'InvalidManifest');
      await rejectsWith(core.objects.large.putStatic(admin, ref(b, 'm'), [{ bucket: b, key: 'missing' }], attributes), 'InvalidManifest');
      await rejectsWith(core.objects.large.putStatic(admin, ref(b, 'm'), [{ bucket: b, key: 'seg', etag: md5('abd') }], attributes), 'InvalidManifest');
      await rejectsWith(core.objects.large.putStatic(admin, ref(b, 'm'), [{ bucket: b, key: 'seg', size: 4 }], attributes), 'InvalidManifest');
      await rejectsWith(core.objects.large.putStatic(admin, ref(b, 'm'), [{ bucket: b, key: 'seg', range: '5-9' }], attributes), 'InvalidManifest');
      await rejectsWith(core.objects.large.putStatic(admin, ref(b, 'm'), [{ bucket: 'no-such-bucket-here', key: 'seg' }], attributes), 'InvalidManifest');
      await rejectsWith(core.objects.get(admin, ref(b, 'm'), {}, undefined), 'NoSuchKey');
    });

    test('a segment changed or gone: the read fails, at its start or mid-way, and never gives other bytes', async () => {
      const b = await newBucket();
      for (const n of [1, 2, 3]) await put(b, `s${n}`, `segment-${n};`);
      await core.objects.large.putStatic(admin, ref(b, 'm'), [1, 2, 3].map((n) => ({ bucket: b, key: `s${n}` })), attributes);
      await put(b, 's1', 'segment-X;');
      await rejectsWith(read(b, 'm'), 'BrokenManifest');
      await put(b, 's1', 'segment-1;');
      assert.equal(await read(b, 'm'), 'segment-1;segment-2;segment-3;');
      await core.objects.delete(admin, ref(b, 's3'));
      await assert.rejects(read(b, 'm'), (err: { code?: string }) => err.code === 'BrokenManifest');
      assert.equal(await read(b, 'm', 'bytes=0-19'), 'segment-1;segment-2;', 'the bytes before the gap still read');
    });

    test('deleting a manifest lets its segment list go; the segments stay', async () => {
      const b = await newBucket();
      await put(b, 's', 'xyz');
      await core.objects.large.putStatic(admin, ref(b, 'm'), [{ bucket: b, key: 's' }], attributes);
      const row = (await core.store.get(TABLES.objects, (await core.store.get(TABLES.buckets, account, b))?.value.id ?? '', 'm'))?.value;
      assert.equal(row?.data.kind, 'static-manifest');
      const manifestId = row?.data.kind === 'static-manifest' ? row.data.manifestId : '';
      await core.objects.delete(admin, ref(b, 'm'));
      while ((await core.objects.large.collect()) > 0);
      assert.equal((await core.store.scan(TABLES.manifestSegments, manifestId, { prefix: '', limit: 1, reverse: false })).length, 0);
      assert.equal(await read(b, 's'), 'xyz');
      // A copy of a large object is a plain object of its bytes.
      await core.objects.large.putStatic(admin, ref(b, 'm2'), [{ bucket: b, key: 's' }, { bucket: b, key: 's' }], attributes);
      const { record } = await core.objects.copy(admin, ref(b, 'm2'), ref(b, 'copy'), { freshMetadata: false, meta: {}, headers: {}, deleteAt: null });
      assert.equal(record.etag, md5('xyzxyz'));
      await core.objects.delete(admin, ref(b, 's'));
      assert.equal(await read(b, 'copy'), 'xyzxyz');
    });

    test('a dynamic manifest reads the objects under its prefix as they are when it is read', async () => {
      const b = await newBucket();
      const segments = await newBucket();
      await put(segments, 'video/001', 'aaa');
      await put(segments, 'video/002', 'bb');
      await put(segments, 'other', 'zz');
      await core.objects.large.putDynamic(admin, ref(b, 'video'), { bucket: segments, prefix: 'video/' }, attributes);
      assert.equal(await read(b, 'video'), 'aaabb');
      await put(segments, 'video/003', 'c');
      assert.equal(await read(b, 'video'), 'aaabbc');
      assert.equal(await read(b, 'video', 'bytes=2-4'), 'abb');
      const head = await core.objects.head(admin, ref(b, 'video'), {});
      assert.equal(head.size, 6);
      assert.equal(head.etag, createHash('md5').update([md5('aaa'), md5('bb'), md5('c')].join('')).digest('hex'));
      await core.objects.large.putDynamic(admin, ref(b, 'empty'), { bucket: segments, prefix: 'nothing/' }, attributes);
      assert.equal(await read(b, 'empty'), '');
    });

    test('symbolic links: read their targets, pinned ETags hold, loops end, a missing target is not found', async () => {
      const b = await newBucket();
      await put(b, 'target', 'the target');
      await core.objects.large.putSymlink(admin, ref(b, 'link'), ref(b, 'target'), null, attributes);
      assert.equal(await read(b, 'link'), 'the target');
      assert.equal(await read(b, 'link', 'bytes=4-9'), 'target');
      assert.equal((await core.objects.head(admin, ref(b, 'link'), {})).etag, md5('the target'));
      assert.equal((await core.objects.head(admin, ref(b, 'link'), {}, undefined, true)).contentType, 'application/symlink');
      await core.objects.large.putSymlink(admin, ref(b, 'link2'), ref(b, 'link'), null, attributes);
      assert.equal(await read(b, 'link2'), 'the target', 'two hops');
      await core.objects.large.putSymlink(admin, ref(b, 'link3'), ref(b, 'link2'), null, attributes);
      await rejectsWith(read(b, 'link3'), 'BrokenSymlink');
      await core.objects.large.putSymlink(admin, ref(b, 'self'), ref(b, 'self'), null, attributes);
      await rejectsWith(read(b, 'self'), 'BrokenSymlink');
      await rejectsWith(core.objects.large.putSymlink(admin, ref(b, 'pinned'), ref(b, 'target'), md5('other'), attributes), 'BrokenSymlink');
      await core.objects.large.putSymlink(admin, ref(b, 'pinned'), ref(b, 'target'), md5('the target'), attributes);
      assert.equal(await read(b, 'pinned'), 'the target');
      await put(b, 'target', 'changed');
      await rejectsWith(read(b, 'pinned'), 'BrokenSymlink');
      assert.equal(await read(b, 'link'), 'changed', 'an unpinned link follows');
      await core.objects.delete(admin, ref(b, 'target'));
      await rejectsWith(read(b, 'link'), 'NoSuchKey');
    });

    test('segments and targets are read as the caller: no access to them, no bytes', async () => {
      const open = await newBucket();
      const closed = await newBucket();
      await put(closed, 'secret', 'secret bytes');
      await core.objects.large.putSymlink(admin, ref(open, 'link'), ref(closed, 'secret'), null, attributes);
      await core.objects.large.putStatic(admin, ref(open, 'slo'), [{ bucket: closed, key: 'secret' }], attributes);
      await core.objects.large.putDynamic(admin, ref(open, 'dlo'), { bucket: closed, prefix: '' }, attributes);
      await core.buckets.setAccessControl(admin, account, open, { publicRead: true });
      const anonymous: Caller = { kind: 'anonymous', ip: '198.51.100.1' };
      for (const key of ['link', 'slo', 'dlo']) await rejectsWith(read(open, key, undefined, anonymous), 'Unauthenticated');
      // Once the closed bucket is public too, the link and the static manifest read (a dynamic one needs a listing).
      await core.buckets.setAccessControl(admin, account, closed, { publicRead: true });
      assert.equal(await read(open, 'link', undefined, anonymous), 'secret bytes');
      assert.equal(await read(open, 'slo', undefined, anonymous), 'secret bytes');
      await rejectsWith(read(open, 'dlo', undefined, anonymous), 'Unauthenticated');
    });
  });
}
