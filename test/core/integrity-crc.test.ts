/**
 * The CRC-32 kept with each blob, protocol-free, on both metadata stores: a PUT records the CRC-32 of the bytes it
 * stored; a whole read of an object whose blob holds other bytes (its row pointed at them) fails against that CRC,
 * and for a version whose row has no CRC (written before they were kept) against its MD5, which reads as before;
 * fsck says which digest it checked each blob against. Blobs sealed in GCM chunks keep no CRC-32: their tags check
 * whole reads and fsck.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { sealedSize } from '../../src/core/chunked-gcm.ts';
import type { ReadFinding } from '../../src/core/integrity.ts';
import { TABLES, type BlobRef, type BucketRow, type VersionRow } from '../../src/core/model.ts';
import { openTestCore, STORE_KINDS, type TestCore } from '../helpers/core.ts';

const SIZE = 200_000;
const BUCKET = 'crc-core';

for (const kind of STORE_KINDS) {
  void describe(`CRC-32 of blobs (${kind})`, () => {
    let t: TestCore;
    let bucket: BucketRow;
    const bodies = new Map(['new-sound', 'new-damaged', 'old-sound', 'old-damaged'].map((key) => [key, randomBytes(SIZE)]));
    const findings: ReadFinding[] = [];

    const row = async (key: string): Promise<VersionRow> => {
      const stored = await t.core.store.get(TABLES.objects, bucket.id, key);
      assert.ok(stored, key);
      return stored.value;
    };
    const blobOf = ({ data }: VersionRow): BlobRef & { kind: 'blob' } => {
      if (data.kind !== 'blob') throw new Error(`a ${data.kind}, not a blob`);
      return data;
    };
    /** Rewrites a version's row (a row of an earlier build, or one whose blob now holds other bytes). */
    const rewrite = async (key: string, change: (data: BlobRef & { kind: 'blob' }) => BlobRef & { kind: 'blob' }): Promise<void> => {
      const version = await row(key);
      await t.core.store.transact(async (tx) => {
        tx.put(TABLES.objects, bucket.id, key, { ...version, data: change(blobOf(version)) });
        await Promise.resolve();
      });
    };
    const readWhole = async (key: string): Promise<Buffer> => {
      const { bodies: [body] } = await t.core.objects.get(t.admin, { account: t.account, bucket: BUCKET, key }, {}, undefined);
      assert.ok(body);
      if (Buffer.isBuffer(body)) return body;
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    };

    before(async () => {
      t = await openTestCore(kind);
      await t.core.buckets.create(t.admin, t.account, { name: BUCKET });
      for (const [key, body] of bodies) {
        await t.core.objects.put(t.admin, { account: t.account, bucket: BUCKET, key, body: [body.subarray(0, 70_000), body.subarray(70_000)], contentLength: SIZE, meta: {}, headers: {}, deleteAt: null });
      }
      const [bucketRow] = await t.core.store.scan(TABLES.buckets, t.account, { prefix: BUCKET, limit: 1, reverse: false });
      assert.ok(bucketRow);
      bucket = bucketRow.value;
      t.core.objects.verifier.onFinding((finding) => findings.push(finding));
    });
    after(async () => {
      await t.close();
    });

    void test('a PUT records the CRC-32 of the bytes it stored', async () => {
      for (const [key, body] of bodies) assert.equal(blobOf(await row(key)).crc32, crc32(body), key);
    });

    void test('whole reads check the CRC-32 when the row has one, the MD5 when not', async () => {
      for (const key of ['old-sound', 'old-damaged']) {
        await rewrite(key, (data) => {
          const old = { ...data };
          delete old.crc32;
          return old;
        });
      }
      // Damage: the rows of these two point at a blob of as many other bytes (their CRC and MD5 kept as recorded).
      for (const key of ['new-damaged', 'old-damaged']) {
        const other = await t.core.blobs.write((async function* () {
          yield randomBytes(SIZE);
        })());
        await rewrite(key, (data) => ({ ...data, blobId: other.blobId }));
      }
      for (const key of ['new-sound', 'old-sound']) assert.ok((await readWhole(key)).equals(bodies.get(key) ?? Buffer.alloc(0)), key);
      for (const key of ['new-damaged', 'old-damaged']) {
        await assert.rejects(readWhole(key), (err: Error & { code?: string }) => err.code === 'ObjectDamaged' || /damaged/.test(err.message), key);
      }
      const detail = (key: string): string[] => findings.filter((finding) => finding.subject.key === key).map((finding) => finding.detail);
      assert.deepEqual(detail('new-damaged'), ['the stored bytes do not match the recorded CRC-32']);
      assert.deepEqual(detail('old-damaged'), ['the stored bytes do not hash to the recorded MD5']);
      assert.deepEqual(detail('new-sound'), []);
      assert.deepEqual(detail('old-sound'), []);
    });

    void test('fsck checks by the CRC-32 where kept, by the MD5 where not, and says which', async () => {
      const report = await t.core.fsck({ repair: false, graceMs: 3_600_000 });
      assert.deepEqual(report.blobsBy, { crc32: 2, md5: 2, gcm: 0, none: 0, customer: 0 });
      const detail = (key: string): string | undefined => report.findings.find((finding) => finding.key === key)?.detail;
      assert.match(detail('new-damaged') ?? '', /^CRC-32 [0-9a-f]{8}, [0-9a-f]{8} recorded$/);
      assert.match(detail('old-damaged') ?? '', /^MD5 [0-9a-f]{32}, [0-9a-f]{32} recorded$/);
      assert.equal(detail('new-sound'), undefined);
      assert.equal(detail('old-sound'), undefined);
    });
  });

  void describe(`blobs sealed in GCM chunks (${kind})`, () => {
    const ENCRYPTED = 'crc-core-sealed';
    let t: TestCore;
    const body = randomBytes(SIZE);

    before(async () => {
      t = await openTestCore(kind);
      await t.core.buckets.create(t.admin, t.account, { name: ENCRYPTED, encryption: 'managed' });
      for (const key of ['sound', 'damaged']) {
        await t.core.objects.put(t.admin, { account: t.account, bucket: ENCRYPTED, key, body: [body], contentLength: SIZE, meta: {}, headers: {}, deleteAt: null });
      }
    });
    after(async () => {
      await t.close();
    });

    const rowOf = async (key: string): Promise<{ bucketId: string; version: VersionRow; data: BlobRef & { kind: 'blob' } }> => {
      const [bucketRow] = await t.core.store.scan(TABLES.buckets, t.account, { prefix: ENCRYPTED, limit: 1, reverse: false });
      assert.ok(bucketRow);
      const stored = await t.core.store.get(TABLES.objects, bucketRow.value.id, key);
      assert.ok(stored);
      const { data } = stored.value;
      if (data.kind !== 'blob') throw new Error(`${key}: not a blob`);
      return { bucketId: bucketRow.value.id, version: stored.value, data };
    };

    void test('no CRC-32 is kept (the GCM tags check reads); a blob of other bytes fails the whole read and fsck names it, checked by its tags', async () => {
      for (const key of ['sound', 'damaged']) assert.equal((await rowOf(key)).data.crc32, undefined, key);
      // Damage: the row points at a blob of as many other bytes (a flip anywhere is the same to the tags).
      const { bucketId, version, data } = await rowOf('damaged');
      const other = await t.core.blobs.write((async function* () {
        yield randomBytes(sealedSize(SIZE));
      })());
      await t.core.store.transact(async (tx) => {
        tx.put(TABLES.objects, bucketId, 'damaged', { ...version, data: { ...data, blobId: other.blobId } });
        await Promise.resolve();
      });
      const read = async (key: string): Promise<Buffer> => {
        const { bodies: [opened] } = await t.core.objects.get(t.admin, { account: t.account, bucket: ENCRYPTED, key }, {}, undefined);
        assert.ok(opened && !Buffer.isBuffer(opened));
        const chunks: Buffer[] = [];
        for await (const chunk of opened) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks);
      };
      assert.ok((await read('sound')).equals(body));
      await assert.rejects(read('damaged'));
      const report = await t.core.fsck({ repair: false, graceMs: 3_600_000 });
      assert.deepEqual(report.blobsBy, { crc32: 0, md5: 0, gcm: 2, none: 0, customer: 0 });
      assert.deepEqual(
        report.findings.map((finding) => [finding.key, finding.kind]),
        [['damaged', 'hash']],
      );
    });
  });
}
