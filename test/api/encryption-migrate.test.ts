/**
 * Blobs sealed the way Onggi sealed them before authenticated chunks (AES-256-CTR: a server made to write them
 * with ONGGI_TEST_SEAL_SCHEME=ctr) still read, and `onggi admin encryption migrate` rewrites every one of them —
 * single objects, small ones in the metadata, copies sharing a blob, multipart parts, SLO segments — into
 * authenticated chunks, resumably: a second run finds nothing left; the old blobs go through the collector.
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkReads, CHUNK, createEncryptedBucket, filesUnder, writeSample, type Written } from '../helpers/encryption.ts';
import { admin, login, removeDir, startServer } from '../helpers/server.ts';

const BUCKET = 'legacy';
const sealedSize = (plain: number): number => plain + 16 * (Math.floor(plain / CHUNK) + 1);

async function blobSizes(dataDir: string): Promise<number[]> {
  const files = await filesUnder(join(dataDir, 'blobs'));
  return (await Promise.all(files.map(async (file) => (await stat(file)).size))).sort((a, b) => a - b);
}

test('CTR blobs read, then migrate into authenticated chunks and read the same', async () => {
  const legacy = await startServer({ env: { ONGGI_TEST_SEAL_SCHEME: 'ctr', ONGGI_TEST_MIN_PART_SIZE: '1' } });
  const { dataDir } = legacy;
  let written: Written[];
  try {
    const session = await login(legacy.url);
    await createEncryptedBucket(legacy.url, session, BUCKET);
    written = await writeSample(legacy, session, BUCKET);
    const copied = written.find((object) => object.body.length === 700_001);
    assert.ok(copied);
    const copy = await fetch(`${session.storageUrl}/${copied.path}`, { method: 'COPY', headers: { 'X-Auth-Token': session.token, Destination: `${BUCKET}/copy` } });
    assert.equal(copy.status, 201);
    written.push({ path: `${BUCKET}/copy`, body: copied.body });
  } finally {
    await legacy.stop();
  }
  // Blob-backed bodies (over 64 KiB; multipart parts; SLO segments), as CTR stores them: their plain size.
  const blobBacked = [...written.filter((o) => o.body.length > CHUNK && !/multipart|slo|copy/.test(o.path)).map((o) => o.body.length), 100_003, CHUNK, 70_000, 90_000, CHUNK + 3];
  assert.deepEqual(await blobSizes(dataDir), blobBacked.sort((a, b) => a - b));

  const server = await startServer({ dataDir });
  try {
    const session = await login(server.url);
    await checkReads(session, written);
    await server.stop();

    const report = (await admin(dataDir, 'encryption', 'migrate')) as { versions: number; parts: number; blobs: number; skipped: number; damaged: string[] };
    assert.deepEqual({ ...report }, { versions: 14, parts: 3, blobs: 10, skipped: 0, damaged: [] });
    assert.deepEqual(await admin(dataDir, 'encryption', 'migrate'), { versions: 0, parts: 0, blobs: 0, skipped: 0, damaged: [] });

    const after = await startServer({ dataDir });
    try {
      const again = await login(after.url);
      await checkReads(again, written);
      // The collector removes the CTR blobs; what is left is each body once, sealed in chunks (the copy shares).
      const expected = blobBacked.map(sealedSize).sort((a, b) => a - b);
      const deadline = Date.now() + 15_000;
      while (JSON.stringify(await blobSizes(dataDir)) !== JSON.stringify(expected) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
      assert.deepEqual(await blobSizes(dataDir), expected);
      await checkReads(again, written);
    } finally {
      await after.stop();
    }
  } finally {
    await server.stop();
    await removeDir(dataDir);
  }
});
