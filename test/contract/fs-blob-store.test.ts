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
