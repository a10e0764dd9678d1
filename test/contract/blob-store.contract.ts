/**
 * The BlobStore contract: every implementation runs these same tests.
 * `open` returns a fresh, empty store plus a way to look at what it holds (published blobs and temp leftovers).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Writable, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { BlobMissingError, type BlobStore } from '../../src/store/blob/index.ts';

export interface BlobStoreHarness {
  store: BlobStore;
  /** Ids of published blobs, in any order. */
  blobs: () => Promise<string[]>;
  /** Names of temp leftovers (writes in progress or interrupted), in any order. */
  temps: () => Promise<string[]>;
  /** Releases everything `open` created. */
  close: () => Promise<void>;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function* chunksOf(data: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < data.length; offset += size) {
    yield data.subarray(offset, offset + size);
    if (offset % (size * 8) === 0) await sleep(0);
  }
}

function md5(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

export function blobStoreContract(name: string, open: () => Promise<BlobStoreHarness>): void {
  async function withStore(body: (h: BlobStoreHarness) => Promise<void>): Promise<void> {
    const harness = await open();
    try {
      await body(harness);
    } finally {
      await harness.close();
    }
  }

  describe(`BlobStore contract: ${name}`, () => {
    test('writes an empty blob and reads it back', () =>
      withStore(async ({ store, blobs, temps }) => {
        const result = await store.write(chunksOf(Buffer.alloc(0), 1));
        assert.equal(result.size, 0);
        assert.equal((await readAll(await store.read(result.blobId))).length, 0);
        assert.deepEqual(await blobs(), [result.blobId]);
        assert.deepEqual(await temps(), []);
      }));

    test('writes small and multi-MB blobs from async iterables, byte-exact', () =>
      withStore(async ({ store, temps }) => {
        const small = Buffer.from('hello, 옹기 😀');
        const big = randomBytes(5 * 1024 * 1024 + 17);
        const [a, b] = await Promise.all([store.write(chunksOf(small, 3)), store.write(chunksOf(big, 64 * 1024 + 1))]);
        assert.notEqual(a.blobId, b.blobId);
        assert.equal(a.size, small.length);
        assert.equal(b.size, big.length);
        assert.deepEqual(await readAll(await store.read(a.blobId)), small);
        assert.equal(md5(await readAll(await store.read(b.blobId))), md5(big));
        assert.deepEqual(await temps(), []);
      }));

    test('concurrent writes get distinct ids and distinct content', () =>
      withStore(async ({ store, blobs }) => {
        const bodies = Array.from({ length: 20 }, (_, i) => randomBytes(i * 1000));
        const results = await Promise.all(bodies.map((body) => store.write(chunksOf(body, 777))));
        assert.equal(new Set(results.map((r) => r.blobId)).size, 20);
        assert.equal((await blobs()).length, 20);
        for (const [i, result] of results.entries()) {
          assert.deepEqual(await readAll(await store.read(result.blobId)), bodies[i]);
        }
      }));

    test('ranged reads are inclusive, and may end past the end', () =>
      withStore(async ({ store }) => {
        const data = randomBytes(300_000);
        const { blobId } = await store.write(chunksOf(data, 10_000));
        for (const [start, end] of [
          [0, 0],
          [0, 9],
          [1, 1],
          [65_535, 65_537],
          [100_000, 299_999],
          [299_999, 299_999],
          [0, 299_999],
          [250_000, 400_000],
        ] as const) {
          const got = await readAll(await store.read(blobId, { start, end }));
          assert.deepEqual(got, data.subarray(start, end + 1), `range ${start}-${end}`);
        }
      }));

    test('pumpTo writes a range into a slow sink byte-exact, waiting for each write before reusing its buffer', () =>
      withStore(async ({ store }) => {
        const data = randomBytes(2_500_000);
        const { blobId } = await store.write(chunksOf(data, 100_000));
        for (const [start, end] of [
          [0, 2_499_999],
          [7, 1_999_999],
          [2_499_000, 2_600_000],
        ] as const) {
          const seen: Buffer[] = [];
          const held: Buffer[] = [];
          const sink = new Writable({
            write(chunk: Buffer, _encoding, done) {
              held.push(chunk);
              // The copy is taken late, after the next read has had the chance to fill a reused buffer.
              setTimeout(() => {
                seen.push(Buffer.from(chunk));
                done();
              }, 2);
            },
          });
          await (await store.read(blobId, { start, end })).pumpTo(sink);
          assert.deepEqual(Buffer.concat(seen), data.subarray(start, end + 1), `range ${start}-${end}`);
          if (end - start > 1_000_000) assert.ok(held.length > 1, 'several chunks');
        }
      }));

    test('pumpTo into a sink that is destroyed midway rejects, and a later pump still works', () =>
      withStore(async ({ store }) => {
        const data = randomBytes(3_000_000);
        const { blobId } = await store.write(chunksOf(data, 100_000));
        let writes = 0;
        const broken = new Writable({
          write(_chunk, _encoding, done) {
            if (++writes === 2) broken.destroy(new Error('client went away'));
            else done();
          },
        });
        broken.on('error', () => undefined);
        await assert.rejects((await store.read(blobId)).pumpTo(broken));
        const parts: Buffer[] = [];
        const sink = new Writable({
          write(chunk: Buffer, _encoding, done) {
            parts.push(Buffer.from(chunk));
            done();
          },
        });
        await (await store.read(blobId)).pumpTo(sink);
        assert.equal(md5(Buffer.concat(parts)), md5(data));
      }));

    test('reading a missing blob throws BlobMissingError; delete is idempotent', () =>
      withStore(async ({ store, blobs }) => {
        const { blobId } = await store.write(chunksOf(Buffer.from('x'), 1));
        await store.delete(blobId);
        assert.deepEqual(await blobs(), []);
        await assert.rejects(store.read(blobId), BlobMissingError);
        await assert.rejects(store.read(blobId, { start: 0, end: 0 }), BlobMissingError);
        await store.delete(blobId);
      }));

    test('a stream opened before a delete still reads the whole blob', () =>
      withStore(async ({ store }) => {
        const data = randomBytes(1024 * 1024);
        const { blobId } = await store.write(chunksOf(data, 65_536));
        const stream = await store.read(blobId);
        await store.delete(blobId);
        assert.equal(md5(await readAll(stream)), md5(data));
      }));

    test('a source that fails midway rejects the write and leaves no temp and no blob', () =>
      withStore(async ({ store, blobs, temps }) => {
        const kept = await store.write(chunksOf(Buffer.from('keep'), 2));
        const boom = new Error('client went away');
        async function* failing(): AsyncGenerator<Uint8Array> {
          yield randomBytes(1024 * 1024);
          await sleep(5);
          yield randomBytes(1024 * 1024);
          throw boom;
        }
        await assert.rejects(store.write(failing()), (err) => err === boom);
        assert.deepEqual(await temps(), []);
        assert.deepEqual(await blobs(), [kept.blobId]);
      }));

    test('a write in progress is a temp, not a blob, until it completes', () =>
      withStore(async ({ store, blobs, temps }) => {
        let release: () => void = () => undefined;
        const gate = new Promise<void>((resolve) => (release = resolve));
        async function* slow(): AsyncGenerator<Uint8Array> {
          yield Buffer.from('first half|');
          await gate;
          yield Buffer.from('second half');
        }
        const writing = store.write(slow());
        for (let i = 0; i < 100 && (await temps()).length === 0; i++) await sleep(10);
        assert.equal((await temps()).length, 1);
        assert.deepEqual(await blobs(), []);
        release();
        const { blobId, size } = await writing;
        assert.equal(size, 22);
        assert.deepEqual(await temps(), []);
        assert.deepEqual(await blobs(), [blobId]);
        assert.equal((await readAll(await store.read(blobId))).toString(), 'first half|second half');
      }));

    test('sweep removes temps and unreferenced blobs older than the cutoff, keeps the rest', () =>
      withStore(async ({ store, blobs, temps }) => {
        const referenced = await store.write(chunksOf(Buffer.from('referenced'), 4));
        const orphan = await store.write(chunksOf(Buffer.from('orphan'), 4));
        // An interrupted write: its temp stays until swept (the source never finishes while we look).
        let abort: (err: Error) => void = () => undefined;
        const stalled = new Promise<never>((_, reject) => (abort = reject));
        async function* hanging(): AsyncGenerator<Uint8Array> {
          yield Buffer.from('partial');
          await stalled;
        }
        const interrupted = store.write(hanging());
        for (let i = 0; i < 100 && (await temps()).length === 0; i++) await sleep(10);
        assert.equal((await temps()).length, 1);

        await sleep(50);
        const cutoff = Date.now();
        await sleep(50);
        const newer = await store.write(chunksOf(Buffer.from('newer, unreferenced'), 4));

        const asked: string[] = [];
        const isReferenced = async (blobId: string): Promise<boolean> => {
          asked.push(blobId);
          return blobId === referenced.blobId;
        };
        const swept = await store.sweep(isReferenced, cutoff);
        assert.deepEqual(swept, { temps: 1, orphans: 1 });
        assert.ok(!asked.includes(newer.blobId), 'blobs newer than the cutoff are not even considered');
        assert.deepEqual(await temps(), []);
        assert.deepEqual((await blobs()).sort(), [referenced.blobId, newer.blobId].sort());
        await assert.rejects(store.read(orphan.blobId), BlobMissingError);
        assert.equal((await readAll(await store.read(referenced.blobId))).toString(), 'referenced');

        // The interrupted write, ending after its temp was swept, fails without publishing anything.
        abort(new Error('connection reset'));
        await assert.rejects(interrupted);
        assert.deepEqual(await temps(), []);
        assert.deepEqual((await blobs()).sort(), [referenced.blobId, newer.blobId].sort());

        assert.deepEqual(await store.sweep(isReferenced, cutoff), { temps: 0, orphans: 0 }, 'a second sweep finds nothing');
      }));

    test('list names every published blob with its size and time, never a write in progress', () =>
      withStore(async ({ store }) => {
        const before = Date.now() - 1000;
        const a = await store.write(chunksOf(Buffer.from('first blob'), 3));
        const b = await store.write(chunksOf(randomBytes(70_000), 10_000));
        let release: () => void = () => undefined;
        const held = new Promise<void>((resolve) => (release = resolve));
        const writing = store.write((async function* () {
          yield Buffer.from('in progress');
          await held;
        })());
        const listed = [];
        for await (const blob of store.list()) listed.push(blob);
        release();
        const written = await writing;
        assert.deepEqual(listed.map((blob) => blob.blobId).sort(), [a.blobId, b.blobId].sort());
        assert.equal(listed.find((blob) => blob.blobId === b.blobId)?.size, 70_000);
        for (const blob of listed) assert.ok(blob.modifiedAt >= before && blob.modifiedAt <= Date.now() + 1000);
        const after = [];
        for await (const blob of store.list()) after.push(blob.blobId);
        assert.ok(after.includes(written.blobId));
      }));

    test('pumpTo shows each chunk to its inspector before writing it, and stops with the inspector\'s error', () =>
      withStore(async ({ store }) => {
        const data = randomBytes(1_000_000);
        const { blobId } = await store.write(chunksOf(data, 100_000));
        const inspected: Buffer[] = [];
        const written: Buffer[] = [];
        const sink = new Writable({
          write(chunk: Buffer, _encoding, done) {
            written.push(Buffer.from(chunk));
            done();
          },
        });
        await (await store.read(blobId)).pumpTo(sink, (chunk) => {
          inspected.push(Buffer.from(chunk));
          return undefined;
        });
        assert.deepEqual(Buffer.concat(inspected), data);
        assert.deepEqual(Buffer.concat(written), data);
        written.length = 0;
        let seen = 0;
        await assert.rejects(
          (await store.read(blobId)).pumpTo(sink, async (chunk) => {
            seen += chunk.length;
            if (seen === data.length) throw new Error('the last chunk is refused');
          }),
          /the last chunk is refused/,
        );
        assert.ok(Buffer.concat(written).length < data.length, 'the refused chunk was not written');
      }));
  });
}
