/**
 * Large bodies sealed and opened on the worker thread (core/body-offload.ts, body-worker.ts): the same chunk
 * format as in line (each side opens what the other sealed), the MD5 of the plain bytes, any range read back,
 * straight to a sink (`pumpTo`, the worker's buffers reused) and as a stream, and tampering refused.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { BodyOffload } from '../../src/core/body-offload.ts';
import { Cipher } from '../../src/core/cipher.ts';
import { CHUNK, SealedChunkError, sealedSize } from '../../src/core/chunked-gcm.ts';
import type { ByteRange } from '../../src/core/conditions.ts';
import type { KeyWrapper } from '../../src/core/key-wrapping.ts';
import type { BlobEncryption } from '../../src/core/model.ts';
import { FsBlobStore } from '../../src/store/blob/fs/fs-blob-store.ts';
import { isBlobStream } from '../../src/store/blob/index.ts';

const clearWrapper: KeyWrapper = { wrapDataKey: (key) => key.toString('base64'), unwrapDataKey: (wrapped) => Buffer.from(wrapped, 'base64') };
/** Everything from 64 KiB up goes to the worker. */
const offload = new BodyOffload(CHUNK);
const offloaded = new Cipher(clearWrapper, 'gcm', offload);
const inLine = new Cipher(clearWrapper);
const SIZE = 3 * 1024 * 1024 + 54321;

let dir = '';
let blobs: FsBlobStore;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'onggi-gcm-offload-'));
  blobs = await FsBlobStore.open({ blobDir: join(dir, 'blobs'), tempDir: join(dir, 'tmp') });
});
after(async () => {
  await offload.close();
  await rm(dir, { recursive: true, force: true });
});

function piecesOf(data: Buffer, most = 300_000): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0; at < data.length; ) {
    const size = Math.min(data.length - at, randomInt(1, most));
    pieces.push(data.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

/** Seals `plain` on the worker as an upload does: its MD5 and its stored bytes. */
async function sealOnWorker(plain: Buffer): Promise<{ encryption: BlobEncryption; stored: Buffer; md5: string }> {
  const sealer = offloaded.seal();
  assert.ok(sealer.chunks, 'a GCM sealer says what seals its chunks');
  const sealing = offload.forSealedBody(plain.length, sealer.chunks);
  assert.ok(sealing, 'a body this large is sealed on the worker');
  const stored: Buffer[] = [];
  for (const piece of piecesOf(plain)) {
    const waiting = sealing.update(piece);
    if (waiting) await waiting;
    stored.push(...sealing.take().map((bytes) => Buffer.from(bytes)));
  }
  stored.push(...(await sealing.finish()));
  return { encryption: sealer.encryption, stored: Buffer.concat(stored), md5: await sealing.digest() };
}

async function readStream(cipher: Cipher, encryption: BlobEncryption, stored: Buffer, size: number, range: ByteRange): Promise<Buffer> {
  const stream = await cipher.openRange(encryption, size, range, async (want) => Readable.from(piecesOf(stored.subarray(want.start, want.end + 1), 100_000)));
  const out: Buffer[] = [];
  for await (const chunk of stream) out.push(chunk as Buffer);
  return Buffer.concat(out);
}

/** A range pumped from the blob store into a sink, as a response is written (the sink copies: buffers are reused after). */
async function readPumped(blobId: string, encryption: BlobEncryption, size: number, range: ByteRange): Promise<Buffer> {
  const stream = await offloaded.openRange(encryption, size, range, (want) => blobs.read(blobId, want));
  assert.ok(isBlobStream(stream));
  const out: Buffer[] = [];
  const sink = new Writable({
    // As a socket whose kernel buffer is full: the bytes are taken only when the write completes, a moment later
    // (the worker's buffers must not be handed back before that).
    write: (chunk: Buffer, _encoding, callback) => {
      setTimeout(() => {
        out.push(Buffer.from(chunk));
        callback();
      }, randomInt(0, 2));
    },
  });
  await stream.pumpTo(sink);
  return Buffer.concat(out);
}

function randomRange(size: number): ByteRange {
  const start = randomInt(0, size);
  return { start, end: randomInt(start, Math.min(size, start + randomInt(1, 3 * CHUNK))) };
}

test('sealed on the worker: the in-line format (opened in line), of the sealed size, with the MD5 of the plain bytes', async () => {
  const plain = randomBytes(SIZE);
  const { encryption, stored, md5 } = await sealOnWorker(plain);
  assert.equal(md5, createHash('md5').update(plain).digest('hex'));
  assert.equal(stored.length, sealedSize(plain.length));
  assert.ok(inLine.openBytes(encryption, stored).equals(plain));
});

test('opened on the worker: whole and at random ranges, as a stream and pumped to a sink, what in line opens', async () => {
  const plain = randomBytes(SIZE);
  const { encryption, stored } = await sealOnWorker(plain);
  const whole = { start: 0, end: plain.length - 1 };
  assert.ok((await readStream(offloaded, encryption, stored, plain.length, whole)).equals(plain));
  const { blobId } = await blobs.write(Readable.from([stored]));
  assert.ok((await readPumped(blobId, encryption, plain.length, whole)).equals(plain));
  const ranges = [{ start: CHUNK - 5, end: 3 * CHUNK + 5 }, { start: plain.length - CHUNK - 3, end: plain.length - 1 }, ...Array.from({ length: 12 }, () => randomRange(plain.length))];
  for (const range of ranges) {
    const expected = plain.subarray(range.start, range.end + 1);
    assert.ok((await readStream(offloaded, encryption, stored, plain.length, range)).equals(expected), `stream ${range.start}-${range.end}`);
    assert.ok((await readPumped(blobId, encryption, plain.length, range)).equals(expected), `pumped ${range.start}-${range.end}`);
  }
  // Sealed in line, opened on the worker.
  const sealer = inLine.seal();
  const inLineStored = Buffer.concat([...piecesOf(plain).map((piece) => sealer.update(piece)), sealer.final()]);
  assert.ok((await readStream(offloaded, sealer.encryption, inLineStored, plain.length, whole)).equals(plain));
});

test('a flipped byte or a blob cut short fails the read on the worker; the worker goes on serving', async () => {
  const plain = randomBytes(SIZE);
  const { encryption, stored } = await sealOnWorker(plain);
  const whole = { start: 0, end: plain.length - 1 };
  const flipped = Buffer.from(stored);
  const at = 20 * (CHUNK + 16) + 777;
  flipped[at] = (flipped[at] ?? 0) ^ 1;
  await assert.rejects(readStream(offloaded, encryption, flipped, plain.length, whole), SealedChunkError);
  const { blobId } = await blobs.write(Readable.from([flipped]));
  await assert.rejects(readPumped(blobId, encryption, plain.length, whole), SealedChunkError);
  await assert.rejects(readStream(offloaded, encryption, stored.subarray(0, stored.length - 1), plain.length, whole), SealedChunkError);
  const cut = await blobs.write(Readable.from([stored.subarray(0, stored.length - 17)]));
  await assert.rejects(readPumped(cut.blobId, encryption, plain.length, whole));
  // Another blob's key on these bytes (blobs swapped).
  const other = await sealOnWorker(randomBytes(SIZE));
  await assert.rejects(readStream(offloaded, other.encryption, stored, plain.length, whole), SealedChunkError);
  assert.ok((await readStream(offloaded, encryption, stored, plain.length, { start: 5, end: 2 * CHUNK })).equals(plain.subarray(5, 2 * CHUNK + 1)));
});
