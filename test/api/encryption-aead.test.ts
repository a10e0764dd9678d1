/**
 * Encrypted buckets keep bodies in authenticated 64 KiB chunks (issue 20): objects of every shape written through
 * Swift and S3 read back whole and at many ranges; no file of the data directory holds their plain bytes; a blob
 * damaged, cut, reordered or swapped on disk fails the read (error status or broken transfer), never other bytes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { assertNoPlaintext, assertReadFails, checkReads, CHUNK, createEncryptedBucket, get, newBlobFiles, writeSample, type Written } from '../helpers/encryption.ts';
import { uploadInParts } from '../helpers/s3.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';

const BUCKET = 'sealed';
let server: RunningServer;
let session: Session;
let written: Written[];

before(async () => {
  server = await startServer({ env: { ONGGI_TEST_MIN_PART_SIZE: '1' } });
  session = await login(server.url);
  await createEncryptedBucket(server.url, session, BUCKET);
  written = await writeSample(server, session, BUCKET);
});
after(() => server.destroy());

test('every shape and size reads back whole and at ranges across chunk boundaries, ETag of the plain bytes', async () => {
  await checkReads(session, written);
  const listing = (await (await fetch(`${session.storageUrl}/${BUCKET}?format=json`, { headers: { 'X-Auth-Token': session.token } })).json()) as { name: string; bytes: number }[];
  for (const { path, body } of written) {
    const name = path.slice(BUCKET.length + 1);
    if (name.startsWith('slo')) continue;
    assert.equal(listing.find((entry) => entry.name === name)?.bytes, body.length, `${name}: listed size is the plain size`);
  }
});

test('no file under the data directory holds any 32-byte run of a plain body', async () => {
  // The metadata too, where small bodies live (on the SQLite pass its database is in the data directory).
  await assertNoPlaintext(server.dataDir, written);
});

const blobDir = (): string => join(server.dataDir, 'blobs');

async function putFresh(name: string, body: Buffer): Promise<string> {
  const [file, ...more] = await newBlobFiles(blobDir(), async () => {
    const response = await fetch(`${session.storageUrl}/${BUCKET}/${name}`, { method: 'PUT', headers: { 'X-Auth-Token': session.token }, body });
    assert.equal(response.status, 201);
  });
  assert.ok(file !== undefined && more.length === 0, `one blob file for ${name}`);
  return file;
}

const RECORD = CHUNK + 16;

test('a flipped byte fails every read that touches its chunk; the chunks before it still read', async () => {
  const body = randomBytes(3 * CHUNK + 500);
  const file = await putFresh('flip', body);
  const stored = await readFile(file);
  stored[RECORD + 100] = (stored[RECORD + 100] ?? 0) ^ 0x01;
  await writeFile(file, stored);
  await assertReadFails(session, `${BUCKET}/flip`);
  await assertReadFails(session, `${BUCKET}/flip`, `bytes=${CHUNK + 10}-${CHUNK + 20}`);
  await assertReadFails(session, `${BUCKET}/flip`, `bytes=${CHUNK - 10}-${CHUNK + 10}`);
  const first = await get(session, `${BUCKET}/flip`, 'bytes=0-999');
  assert.equal(first.status, 206);
  assert.ok(first.body.equals(body.subarray(0, 1000)));
});

test('a blob cut short (by a byte, or by its last chunk) fails reads of its end', async () => {
  const body = randomBytes(2 * CHUNK + 77);
  const file = await putFresh('cut', body);
  await truncate(file, (await readFile(file)).length - 1);
  await assertReadFails(session, `${BUCKET}/cut`);
  await assertReadFails(session, `${BUCKET}/cut`, 'bytes=-10');
  const exact = randomBytes(2 * CHUNK);
  const exactFile = await putFresh('cut-exact', exact);
  await truncate(exactFile, 2 * RECORD);
  await assertReadFails(session, `${BUCKET}/cut-exact`);
});

test('two chunks swapped fail the read', async () => {
  const body = randomBytes(3 * CHUNK + 1);
  const file = await putFresh('swap-chunks', body);
  const stored = await readFile(file);
  await writeFile(file, Buffer.concat([stored.subarray(RECORD, 2 * RECORD), stored.subarray(0, RECORD), stored.subarray(2 * RECORD)]));
  await assertReadFails(session, `${BUCKET}/swap-chunks`);
  await assertReadFails(session, `${BUCKET}/swap-chunks`, 'bytes=0-10');
});

test("two objects' blobs swapped fail both reads", async () => {
  const a = await putFresh('swap-a', randomBytes(CHUNK + 300));
  const b = await putFresh('swap-b', randomBytes(CHUNK + 300));
  const [bytesA, bytesB] = [await readFile(a), await readFile(b)];
  await writeFile(a, bytesB);
  await writeFile(b, bytesA);
  await assertReadFails(session, `${BUCKET}/swap-a`);
  await assertReadFails(session, `${BUCKET}/swap-b`);
  await assertReadFails(session, `${BUCKET}/swap-b`, 'bytes=5-6');
});

test("a damaged part of a multipart object fails the reads that reach it, after the parts before it", async () => {
  const parts = [randomBytes(CHUNK + 10), randomBytes(CHUNK + 20), randomBytes(CHUNK + 30)];
  const files = await newBlobFiles(blobDir(), () => uploadInParts(server, BUCKET, 'parts-damaged', parts));
  assert.equal(files.length, 3);
  // The parts differ in size: the largest blob is the last part's.
  const sizes = await Promise.all(files.map(async (file) => (await readFile(file)).length));
  const last = files[sizes.indexOf(Math.max(...sizes))] ?? '';
  const stored = await readFile(last);
  stored[10] = (stored[10] ?? 0) ^ 0x80;
  await writeFile(last, stored);
  await assertReadFails(session, `${BUCKET}/parts-damaged`);
  await assertReadFails(session, `${BUCKET}/parts-damaged`, `bytes=${2 * CHUNK + 25}-${2 * CHUNK + 40}`);
  const first = await get(session, `${BUCKET}/parts-damaged`, `bytes=0-${CHUNK + 15}`);
  assert.equal(first.status, 206);
  assert.ok(first.body.equals(Buffer.concat(parts).subarray(0, CHUNK + 16)));
});

test('the server goes on serving after failed reads', async () => {
  await checkReads(session, written.slice(0, 3));
});
