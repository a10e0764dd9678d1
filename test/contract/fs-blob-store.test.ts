import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FsBlobStore } from '../../src/store/blob/fs/fs-blob-store.ts';
import { blobStoreContract } from './blob-store.contract.ts';

async function blobsUnder(root: string): Promise<string[]> {
  const shards = await readdir(join(root, 'blobs'));
  return (await Promise.all(shards.map((shard) => readdir(join(root, 'blobs', shard))))).flat();
}

function dirsUnder(root: string): { blobDir: string; tempDir: string } {
  return { blobDir: join(root, 'blobs'), tempDir: join(root, 'tmp') };
}

blobStoreContract('fs', async () => {
  const root = await mkdtemp(join(tmpdir(), 'onggi-blobs-'));
  const store = await FsBlobStore.open(dirsUnder(root));
  return {
    store,
    blobs: () => blobsUnder(root),
    temps: () => readdir(join(root, 'tmp')),
    close: () => rm(root, { recursive: true, force: true }),
  };
});

test('fs: reopening keeps blobs; sweep ignores stray files it did not write', async () => {
  const root = await mkdtemp(join(tmpdir(), 'onggi-blobs-'));
  try {
    const store = await FsBlobStore.open(dirsUnder(root));
    const { blobId } = await store.write((async function* () {
      yield Buffer.from('survives');
    })());
    const again = await FsBlobStore.open(dirsUnder(root));
    const stray = join(root, 'blobs', '00', 'not-a-blob-id');
    await writeFile(stray, 'x');
    const swept = await again.sweep(async (id) => id === blobId, Date.now() + 1000);
    assert.deepEqual(swept, { temps: 0, orphans: 0 });
    assert.ok((await blobsUnder(root)).includes(blobId));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('fs: chunks of every size across the 512 KiB write batches come back byte for byte; the chunks may be reused once yielded', async () => {
  const root = await mkdtemp(join(tmpdir(), 'onggi-blobs-'));
  try {
    const store = await FsBlobStore.open(dirsUnder(root));
    const sizes = [1, 65_536, 524_287, 2, 700_000, 524_288, 3, 1_500_000, 65_535, 0, 17];
    const expected = Buffer.concat(sizes.map((size, i) => Buffer.alloc(size, i + 1)));
    // One buffer refilled for every chunk, as a reader that reuses its buffer does: the store must copy.
    const shared = Buffer.alloc(Math.max(...sizes));
    const { blobId, size } = await store.write((async function* () {
      for (const [i, length] of sizes.entries()) {
        shared.fill(i + 1, 0, length);
        yield shared.subarray(0, length);
      }
    })());
    assert.equal(size, expected.length);
    const read: Buffer[] = [];
    for await (const chunk of await store.read(blobId)) read.push(Buffer.from(chunk as Uint8Array));
    assert.ok(Buffer.concat(read).equals(expected), 'the blob holds the bytes as written');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
