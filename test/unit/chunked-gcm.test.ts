/** core/chunked-gcm.ts and the cipher seam: authenticated 64 KiB chunks, opened by range, tampering refused. */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { Cipher, CtrCipher } from '../../src/core/cipher.ts';
import { CHUNK, sealedSize } from '../../src/core/chunked-gcm.ts';
import type { ByteRange } from '../../src/core/conditions.ts';
import type { KeyWrapper } from '../../src/core/key-wrapping.ts';
import type { BlobEncryption } from '../../src/core/model.ts';
import { ServerKeys } from '../../src/core/server-keys.ts';

/** A wrapper that keeps data keys as they are: what the seam does is not under test here. */
const clearWrapper: KeyWrapper = { wrapDataKey: (key) => key.toString('base64'), unwrapDataKey: (wrapped) => Buffer.from(wrapped, 'base64') };
const cipher = new Cipher(clearWrapper);

function seal(plain: Buffer, piece = 4097, using: { seal: Cipher['seal'] } = cipher): { encryption: BlobEncryption; stored: Buffer } {
  const sealer = using.seal();
  const out: Buffer[] = [];
  for (let at = 0; at < plain.length; at += piece) out.push(sealer.update(plain.subarray(at, at + piece)));
  out.push(sealer.final());
  return { encryption: sealer.encryption, stored: Buffer.concat(out) };
}

async function readRange(encryption: BlobEncryption, stored: Buffer, size: number, range: ByteRange, feed = 7000): Promise<Buffer> {
  const stream = await cipher.openRange(encryption, size, range, async (want) => {
    const bytes = stored.subarray(want.start, want.end + 1);
    const pieces: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += feed) pieces.push(bytes.subarray(at, at + feed));
    return Readable.from(pieces);
  });
  const out: Buffer[] = [];
  for await (const chunk of stream) out.push(chunk as Buffer);
  return Buffer.concat(out);
}

const SIZES = [0, 1, 100, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 12345];

test('sealed size: every chunk carries a tag, the last chunk is short (empty at a multiple of 64 KiB)', () => {
  for (const size of SIZES) {
    const { stored } = seal(randomBytes(size));
    assert.equal(stored.length, sealedSize(size), `size ${size}`);
  }
  assert.equal(sealedSize(0), 16);
  assert.equal(sealedSize(CHUNK), CHUNK + 32);
});

test('round trip whole and at random ranges, fed in any piece size', async () => {
  for (const size of SIZES) {
    const plain = randomBytes(size);
    for (const piece of [1000, CHUNK, CHUNK + 5, 300_000]) {
      const { encryption, stored } = seal(plain, piece);
      assert.deepEqual(cipher.openBytes(encryption, stored), plain, `size ${size} piece ${piece}`);
      if (size === 0) continue;
      const ranges: ByteRange[] = [{ start: 0, end: size - 1 }, { start: size - 1, end: size - 1 }];
      for (let i = 0; i < 10; i++) {
        const start = randomInt(size);
        ranges.push({ start, end: start + randomInt(size - start) });
      }
      for (const range of ranges) {
        for (const feed of [7000, CHUNK + 16, 1 << 20]) {
          assert.deepEqual(await readRange(encryption, stored, size, range, feed), plain.subarray(range.start, range.end + 1), `size ${size} ${range.start}-${range.end} feed ${feed}`);
        }
      }
    }
  }
});

test('a flipped byte, a cut, swapped chunks or another blob fail the read, never other bytes', async () => {
  const size = 3 * CHUNK + 100;
  const plain = randomBytes(size);
  const { encryption, stored } = seal(plain);
  const other = seal(randomBytes(size));
  const whole = { start: 0, end: size - 1 };
  const record = CHUNK + 16;
  const flipped = Buffer.from(stored);
  flipped[record + 5] = (flipped[record + 5] ?? 0) ^ 1;
  const swapped = Buffer.concat([stored.subarray(record, 2 * record), stored.subarray(0, record), stored.subarray(2 * record)]);
  const cutChunk = stored.subarray(0, 3 * record);
  const cutByte = stored.subarray(0, stored.length - 1);
  for (const [name, bad] of [['flipped', flipped], ['swapped', swapped], ['cut by a chunk', cutChunk], ['cut by a byte', cutByte], ['another blob', other.stored]] as const) {
    await assert.rejects(readRange(encryption, bad, size, whole), /encrypted blob/, name);
    assert.throws(() => cipher.openBytes(encryption, bad), /encrypted blob/, name);
  }
  // Dropping the last chunk whole and calling the one before it final does not pass either.
  const exact = seal(randomBytes(2 * CHUNK));
  assert.throws(() => cipher.openBytes(exact.encryption, exact.stored.subarray(0, 2 * record)), /encrypted blob/);
  await assert.rejects(readRange(exact.encryption, exact.stored.subarray(0, 2 * record), 2 * CHUNK, { start: 0, end: 2 * CHUNK - 1 }), /encrypted blob/);
  // A range inside the damaged chunk fails; one that does not touch it still reads.
  await assert.rejects(readRange(encryption, flipped, size, { start: CHUNK + 10, end: CHUNK + 20 }), /encrypted blob/);
  assert.deepEqual(await readRange(encryption, flipped, size, { start: 10, end: 20 }), plain.subarray(10, 21));
});

test('blobs sealed with CTR (before authenticated chunks) still open, whole and by range', async () => {
  const plain = randomBytes(200_000);
  const { encryption, stored } = seal(plain, 5000, new CtrCipher(clearWrapper));
  assert.equal(encryption.scheme, undefined);
  assert.equal(stored.length, plain.length);
  assert.deepEqual(cipher.openBytes(encryption, stored), plain);
  assert.deepEqual(await readRange(encryption, stored, plain.length, { start: 70_001, end: 150_000 }), plain.subarray(70_001, 150_001));
});

test('each blob has its own key and identity', () => {
  const a = seal(Buffer.from('same bytes'));
  const b = seal(Buffer.from('same bytes'));
  assert.equal(a.encryption.scheme, 'aes-256-gcm-64k');
  assert.notEqual(a.encryption.iv, b.encryption.iv);
  assert.notEqual(a.encryption.wrappedKey, b.encryption.wrappedKey);
  assert.notDeepEqual(a.stored, b.stored);
});

test("the key-wrapping seam: another wrapper (a hardware module) wraps the data keys in the master key's place", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'onggi-wrap-'));
  try {
    const keys = await ServerKeys.load(dir, { masterKey: 'ab'.repeat(32) });
    const wrapped: string[] = [];
    keys.wrapDataKeysWith({
      wrapDataKey: (key) => {
        const text = `module:${key.toString('hex')}`;
        wrapped.push(text);
        return text;
      },
      unwrapDataKey: (text) => Buffer.from(text.slice('module:'.length), 'hex'),
    });
    const sealed = seal(Buffer.from('through the module'), 4097, new Cipher(keys));
    assert.deepEqual(wrapped, [sealed.encryption.wrappedKey]);
    assert.equal(new Cipher(keys).openBytes(sealed.encryption, sealed.stored).toString(), 'through the module');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
