/**
 * Multipart uploads, protocol-free, on both metadata stores: create, upload (a part number again replaces the
 * part), list parts and uploads, abort, complete with every error case, S3's ETag, reads across parts, copies,
 * versions, lifecycle's abort of old uploads, the collector; and a 10,000-part upload completed, read whole and
 * by 100 random ranges, and deleted, with its time and statement count.
 */
import assert from 'node:assert/strict';
import { createHash, randomInt } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { Core } from '../../src/core/index.ts';
import type { ObjectRef } from '../../src/core/objects.ts';
import { TABLES } from '../../src/core/model.ts';
import type { Caller } from '../../src/core/types.ts';
import { multipartEtag, type UploadRef } from '../../src/core/uploads.ts';
import { openDatabase } from '../../src/store/meta/sqlite/open-database.ts';
import { rejectsWith } from '../helpers/errors.ts';
import { openTestCore, STORE_KINDS, type TestCore } from '../helpers/core.ts';

const MIN_PART = 1024;
const DAY = 24 * 3600 * 1000;

/** The byte at `offset` of a test object: a pattern that does not line up with part sizes. */
function patterned(start: number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (start + i) % 251;
  return bytes;
}

const md5 = (bytes: Buffer): string => createHash('md5').update(bytes).digest('hex');


/** Counts the statements both stores run while `during` runs: PostgreSQL round trips, SQLite statement steps. */
async function countStatements<T>(during: () => Promise<T>): Promise<{ result: T; statements: number }> {
  let statements = 0;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- put back as it was, on the prototype
  const pgQuery = pg.Client.prototype.query;
  const probe = openDatabase(':memory:');
  const statementProto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<'run' | 'get' | 'all' | 'iterate', (...args: unknown[]) => unknown>;
  const originals = { run: statementProto.run, get: statementProto.get, all: statementProto.all, iterate: statementProto.iterate };
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    statements++;
    return (pgQuery as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof pgQuery;
  for (const name of ['run', 'get', 'all', 'iterate'] as const) {
    const original = originals[name];
    statementProto[name] = function (this: unknown, ...args: unknown[]) {
      statements++;
      return original.apply(this, args);
    };
  }
  try {
    return { result: await during(), statements };
  } finally {
    pg.Client.prototype.query = pgQuery;
    Object.assign(statementProto, originals);
    probe.close();
  }
}

for (const kind of STORE_KINDS) {
  describe(`multipart uploads on ${kind}`, () => {
    let t: TestCore;
    let core: Core;
    let admin: Caller;
    let account: string;
    let bucketCount = 0;

    before(async () => {
      t = await openTestCore(kind, { minPartSize: MIN_PART });
      ({ core, admin, account } = t);
    });
    after(async () => {
      await t.close();
    });

    async function newBucket(versioning?: 'enabled'): Promise<string> {
      const name = `uploads-${kind}-${++bucketCount}`;
      await core.buckets.create(admin, account, { name });
      if (versioning) await core.buckets.setVersioning(admin, account, name, versioning);
      return name;
    }
    const ref = (bucket: string, key: string, versionId?: string): ObjectRef => ({ account, bucket, key, versionId });
    const begin = async (bucket: string, key: string): Promise<UploadRef> => {
      const upload = await core.uploads.create(admin, ref(bucket, key), { meta: { color: 'blue' }, headers: {}, deleteAt: null, contentType: 'application/x-test' });
      return { ...ref(bucket, key), uploadId: upload.id };
    };
    const part = (upload: UploadRef, number: number, bytes: Buffer): Promise<{ etag: string; size: number }> =>
      core.uploads.uploadPart(admin, upload, number, { body: [bytes], contentLength: bytes.length });
    async function read(bucket: string, key: string, range?: string): Promise<Buffer> {
      const { bodies } = await core.objects.get(admin, ref(bucket, key), {}, range);
      const chunks: Buffer[] = [];
      for (const body of bodies) {
        if (Buffer.isBuffer(body)) chunks.push(body);
        else for await (const chunk of body) chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks);
    }
    async function collectAll(): Promise<void> {
      for (let round = 0; round < 1000; round++) {
        const done = (await core.objects.collectBlobs(1000)) + (await core.uploads.collect(1000));
        if (done === 0 && (await core.store.scan(TABLES.blobGc, '', { prefix: '', limit: 1, reverse: false })).length === 0) return;
      }
      assert.fail('the collector did not finish');
    }
    async function blobExists(blobId: string): Promise<boolean> {
      try {
        (await core.blobs.read(blobId)).destroy();
        return true;
      } catch {
        return false;
      }
    }

    test('complete: parts in order with gaps, S3 ETag, metadata from the create, reads across part boundaries', async () => {
      const b = await newBucket();
      const upload = await begin(b, 'big');
      const sizes = [MIN_PART + 10, MIN_PART, MIN_PART * 2 + 3, 17];
      const numbers = [1, 3, 7, 9];
      const bodies = sizes.map((size, i) => patterned(sizes.slice(0, i).reduce((a, c) => a + c, 0), size));
      const etags: string[] = [];
      for (const [i, number] of numbers.entries()) etags.push((await part(upload, number, bodies[i] ?? Buffer.alloc(0))).etag);
      await part(upload, 2, patterned(0, 2000));
      const listed = await core.uploads.listParts(admin, upload, { partNumberMarker: 0, limit: 1000 });
      assert.deepEqual(
        listed.parts.map((p) => p.partNumber),
        [1, 2, 3, 7, 9],
      );
      const record = await core.uploads.complete(
        admin,
        upload,
        numbers.map((partNumber, i) => ({ partNumber, etag: `"${etags[i] ?? ''}"` })),
      );
      assert.equal(record.etag, multipartEtag(etags));
      assert.match(record.etag, /^[0-9a-f]{32}-4$/);
      const whole = Buffer.concat(bodies);
      assert.equal(record.size, whole.length);
      const head = await core.objects.head(admin, ref(b, 'big'), {});
      assert.equal(head.contentType, 'application/x-test');
      assert.deepEqual(head.meta, { color: 'blue' });
      assert.equal(md5(await read(b, 'big')), md5(whole));
      for (const [start, end] of [
        [0, 0],
        [MIN_PART + 5, MIN_PART + 15],
        [MIN_PART + 9, whole.length - 1],
        [whole.length - 20, whole.length - 1],
        [100, 3 * MIN_PART],
      ] as const) {
        assert.deepEqual(await read(b, 'big', `bytes=${start}-${end}`), whole.subarray(start, end + 1), `${start}-${end}`);
      }
      await rejectsWith(core.uploads.uploadPart(admin, upload, 5, { body: [Buffer.from('x')], contentLength: 1 }), 'NoSuchUpload');
      await rejectsWith(core.uploads.complete(admin, upload, [{ partNumber: 1, etag: etags[0] ?? '' }]), 'NoSuchUpload');
    });

    test('complete refuses: no parts, parts out of order or twice, a part not uploaded or with another ETag, a small part not last', async () => {
      const b = await newBucket();
      const upload = await begin(b, 'k');
      const one = await part(upload, 1, patterned(0, MIN_PART));
      const two = await part(upload, 2, patterned(0, 10));
      const three = await part(upload, 3, patterned(0, 10));
      await rejectsWith(core.uploads.complete(admin, upload, []), 'InvalidArgument');
      await rejectsWith(core.uploads.complete(admin, upload, [{ partNumber: 2, etag: two.etag }, { partNumber: 1, etag: one.etag }]), 'InvalidPartOrder');
      await rejectsWith(core.uploads.complete(admin, upload, [{ partNumber: 1, etag: one.etag }, { partNumber: 1, etag: one.etag }]), 'InvalidPartOrder');
      await rejectsWith(core.uploads.complete(admin, upload, [{ partNumber: 1, etag: one.etag }, { partNumber: 4, etag: one.etag }]), 'InvalidPart');
      await rejectsWith(core.uploads.complete(admin, upload, [{ partNumber: 1, etag: two.etag }]), 'InvalidPart');
      await rejectsWith(core.uploads.complete(admin, upload, [{ partNumber: 2, etag: two.etag }, { partNumber: 3, etag: three.etag }]), 'EntityTooSmall');
      await rejectsWith(core.uploads.uploadPart(admin, upload, 0, { body: [Buffer.from('x')], contentLength: 1 }), 'InvalidArgument');
      await rejectsWith(core.uploads.uploadPart(admin, upload, 10_001, { body: [Buffer.from('x')], contentLength: 1 }), 'InvalidArgument');
      await rejectsWith(core.uploads.uploadPart(admin, upload, 4, { body: [Buffer.from('xy')], contentLength: 3 }), 'IncompleteBody');
      await rejectsWith(core.uploads.uploadPart(admin, { ...upload, uploadId: 'f'.repeat(32) }, 1, { body: [Buffer.from('x')], contentLength: 1 }), 'NoSuchUpload');
      // Still open after every refusal: the last part may be small.
      const record = await core.uploads.complete(admin, upload, [{ partNumber: 1, etag: one.etag }, { partNumber: 3, etag: three.etag }]);
      assert.equal(record.size, MIN_PART + 10);
    });

    test('a part uploaded again replaces the part; its old blob and the unused parts are collected', async () => {
      const b = await newBucket();
      const upload = await begin(b, 'k');
      await part(upload, 1, patterned(0, MIN_PART));
      const firstBlob = (await core.store.get(TABLES.parts, upload.uploadId, '00001'))?.value.blobId ?? '';
      const again = await part(upload, 1, patterned(5, MIN_PART));
      await part(upload, 2, patterned(0, 5));
      const unusedBlob = (await core.store.get(TABLES.parts, upload.uploadId, '00002'))?.value.blobId ?? '';
      const listed = await core.uploads.listParts(admin, upload, { partNumberMarker: 0, limit: 10 });
      assert.deepEqual(listed.parts.map((p) => [p.partNumber, p.etag]), [[1, again.etag], [2, md5(patterned(0, 5))]]);
      await core.uploads.complete(admin, upload, [{ partNumber: 1, etag: again.etag }]);
      await collectAll();
      assert.equal(await blobExists(firstBlob), false, 'the replaced part');
      assert.equal(await blobExists(unusedBlob), false, 'the part left out');
      assert.deepEqual(await read(b, 'k'), patterned(5, MIN_PART));
    });

    test('abort: the upload is gone and its parts are collected', async () => {
      const b = await newBucket();
      const upload = await begin(b, 'k');
      await part(upload, 1, patterned(0, 100));
      const blobId = (await core.store.get(TABLES.parts, upload.uploadId, '00001'))?.value.blobId ?? '';
      await core.uploads.abort(admin, upload);
      await rejectsWith(core.uploads.abort(admin, upload), 'NoSuchUpload');
      await rejectsWith(core.uploads.listParts(admin, upload, { partNumberMarker: 0, limit: 10 }), 'NoSuchUpload');
      await collectAll();
      assert.equal(await blobExists(blobId), false);
      assert.equal((await core.store.scan(TABLES.parts, upload.uploadId, { prefix: '', limit: 1, reverse: false })).length, 0);
      await core.buckets.delete(admin, account, b);
    });

    test('listing uploads: by key then by start, prefix, delimiter, key and upload id markers', async () => {
      const b = await newBucket();
      const started: UploadRef[] = [];
      for (const key of ['a', 'a', 'dir/x', 'dir/y', 'z']) started.push(await begin(b, key));
      const list = async (options: Partial<Parameters<Core['uploads']['listUploads']>[3]> = {}) => {
        const { entries, truncated } = await core.uploads.listUploads(admin, account, b, { prefix: '', delimiter: '', keyMarker: '', uploadIdMarker: '', limit: 1000, ...options });
        return { lines: entries.map((e) => (e.kind === 'prefix' ? `prefix ${e.prefix}` : `${e.item.key} ${e.item.id}`)), truncated };
      };
      const ids = started.map((u) => `${u.key} ${u.uploadId}`);
      assert.deepEqual((await list()).lines, ids);
      assert.deepEqual((await list({ delimiter: '/' })).lines, [ids[0], ids[1], 'prefix dir/', ids[4]]);
      assert.deepEqual((await list({ prefix: 'dir/' })).lines, [ids[2], ids[3]]);
      assert.deepEqual((await list({ keyMarker: 'a' })).lines, ids.slice(2));
      assert.deepEqual((await list({ keyMarker: 'a', uploadIdMarker: started[0]?.uploadId ?? '' })).lines, ids.slice(1));
      const firstPage = await list({ limit: 2 });
      assert.deepEqual(firstPage, { lines: ids.slice(0, 2), truncated: true });
      await rejectsWith(core.buckets.delete(admin, account, b), 'BucketNotEmpty');
    });

    test('copies share a completed upload; it is collected when the last version holding it goes', async () => {
      const b = await newBucket('enabled');
      const upload = await begin(b, 'src');
      const p1 = await part(upload, 1, patterned(0, MIN_PART));
      const p2 = await part(upload, 2, patterned(MIN_PART, 300));
      const blobs = (await core.store.scan(TABLES.parts, upload.uploadId, { prefix: '', limit: 10, reverse: false })).map((row) => row.value.blobId);
      const record = await core.uploads.complete(admin, upload, [{ partNumber: 1, etag: p1.etag }, { partNumber: 2, etag: p2.etag }]);
      await core.objects.copy(admin, ref(b, 'src'), ref(b, 'copy'), { freshMetadata: false, meta: {}, headers: {}, deleteAt: null });
      const marker = await core.objects.delete(admin, ref(b, 'src'));
      await core.objects.delete(admin, ref(b, 'src', record.versionId));
      await core.objects.delete(admin, ref(b, 'src', marker.versionId ?? ''));
      await collectAll();
      assert.equal(md5(await read(b, 'copy')), md5(patterned(0, MIN_PART + 300)), 'the copy still reads');
      const copyVersion = (await core.objects.head(admin, ref(b, 'copy'), {})).versionId;
      await core.objects.delete(admin, ref(b, 'copy', copyVersion));
      await collectAll();
      for (const blobId of blobs) assert.equal(await blobExists(blobId), false);
      assert.equal((await core.store.scan(TABLES.partIndex, upload.uploadId, { prefix: '', limit: 1, reverse: false })).length, 0);
      await core.buckets.delete(admin, account, b);
    });

    test("lifecycle aborts uploads older than the rule's days; emptying aborts the rest", async () => {
      const b = await newBucket();
      const old = await begin(b, 'tmp/old');
      const kept = await begin(b, 'keep/other');
      await core.lifecycle.put(admin, account, b, [{ id: 'abort', enabled: true, prefix: 'tmp/', abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } }]);
      assert.equal(await core.lifecycle.applyRules(), 0);
      await t.advanceClock(2 * DAY);
      try {
        assert.equal(await core.lifecycle.applyRules(), 1);
      } finally {
        await t.advanceClock(0);
      }
      await rejectsWith(core.uploads.listParts(admin, old, { partNumberMarker: 0, limit: 1 }), 'NoSuchUpload');
      await core.uploads.listParts(admin, kept, { partNumberMarker: 0, limit: 1 });
      await core.emptying.start(admin, account, b, true);
      for (let i = 0; i < 10 && (await core.emptying.work()) > 0; i++);
      await core.emptying.work();
      await rejectsWith(core.buckets.get(admin, account, b), 'NoSuchBucket');
    });

    test('10,000 parts: completed, read whole and by 100 random ranges, deleted', { timeout: 900_000 }, async () => {
      const b = await newBucket();
      const upload = await begin(b, 'ten-thousand');
      const partSize = MIN_PART;
      const count = 10_000;
      const uploadStarted = Date.now();
      const etags: string[] = new Array<string>(count);
      let next = 1;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next <= count) {
            const number = next++;
            etags[number - 1] = (await part(upload, number, patterned((number - 1) * partSize, partSize))).etag;
          }
        }),
      );
      const uploaded = Date.now() - uploadStarted;
      const listedParts = etags.map((etag, i) => ({ partNumber: i + 1, etag }));
      const completeStarted = Date.now();
      const { result: record, statements: completeStatements } = await countStatements(() => core.uploads.complete(admin, upload, listedParts));
      const completed = Date.now() - completeStarted;
      const size = count * partSize;
      assert.equal(record.size, size);
      assert.equal(record.etag, multipartEtag(etags));

      const readStarted = Date.now();
      const { result: whole, statements: headStatements } = await countStatements(() => read(b, 'ten-thousand', 'bytes=0-0'));
      assert.deepEqual(whole, patterned(0, 1));
      assert.equal(md5(await read(b, 'ten-thousand')), md5(patterned(0, size)));
      const readWhole = Date.now() - readStarted;
      const rangesStarted = Date.now();
      for (let i = 0; i < 100; i++) {
        const start = randomInt(0, size);
        const end = Math.min(size - 1, start + randomInt(0, 3 * partSize));
        assert.deepEqual(await read(b, 'ten-thousand', `bytes=${start}-${end}`), patterned(start, end - start + 1), `bytes=${start}-${end}`);
      }
      const ranges = Date.now() - rangesStarted;

      const deleteStarted = Date.now();
      const { statements: deleteStatements } = await countStatements(() => core.objects.delete(admin, ref(b, 'ten-thousand')));
      const { statements: collectStatements } = await countStatements(() => collectAll());
      const deleted = Date.now() - deleteStarted;
      assert.equal((await core.store.scan(TABLES.parts, upload.uploadId, { prefix: '', limit: 1, reverse: false })).length, 0);
      assert.equal((await core.store.scan(TABLES.partIndex, upload.uploadId, { prefix: '', limit: 1, reverse: false })).length, 0);
      console.log(
        `# ${kind}: 10,000 parts of 1 KiB uploaded in ${uploaded} ms; complete ${completed} ms, ${completeStatements} statements; ` +
          `first byte ${headStatements} statements; read whole in ${readWhole} ms; 100 ranges in ${ranges} ms; ` +
          `delete ${deleteStatements} statements; collecting the parts ${collectStatements} statements; delete and collect ${deleted} ms`,
      );
      // Bounded by batches of parts, not by parts: 10 part-index rows and 10 scans of 1,000 part rows.
      assert.ok(completeStatements < 200, `complete: ${completeStatements} statements`);
      assert.ok(headStatements < 20, `first byte: ${headStatements} statements`);
      assert.ok(deleteStatements < 50, `delete: ${deleteStatements} statements`);
      // PostgreSQL's statements are round trips: the collector's cost a batch, not a part. (SQLite's are calls
      // into the library in this process, one per row.)
      if (kind === 'postgres') assert.ok(collectStatements < 500, `collecting: ${collectStatements} statements`);
    });
  });
}
