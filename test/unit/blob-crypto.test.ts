/** core/blob-crypto.ts: AES-256-CTR per blob; decryption can start at any block-aligned offset. */
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { alignToBlock, decipherAt, newBlobEncryption } from '../../src/core/blob-crypto.ts';
import { ServerKeys } from '../../src/core/server-keys.ts';
import type { BlobEncryption } from '../../src/core/model.ts';

let dir: string;
let keys: ServerKeys;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'onggi-crypto-'));
  keys = await ServerKeys.load(dir);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function decryptFrom(encryption: BlobEncryption, ciphertext: Buffer, offset: number): Buffer {
  const aligned = alignToBlock(offset);
  const decipher = decipherAt(keys, encryption, aligned);
  const plain = Buffer.concat([decipher.update(ciphertext.subarray(aligned)), decipher.final()]);
  return plain.subarray(offset - aligned);
}

test('alignToBlock', () => {
  assert.deepEqual(
    [0, 1, 15, 16, 17, 31, 32, 1000].map(alignToBlock),
    [0, 0, 0, 16, 16, 16, 32, 992],
  );
});

test('encrypts length-preservingly; decrypts from any offset, whole or ranged', () => {
  const plain = randomBytes(100_003);
  const { encryption, cipher } = newBlobEncryption(keys);
  // Feed in odd-sized pieces, as a stream would.
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < plain.length; offset += 4097) pieces.push(cipher.update(plain.subarray(offset, offset + 4097)));
  pieces.push(cipher.final());
  const ciphertext = Buffer.concat(pieces);
  assert.equal(ciphertext.length, plain.length);
  assert.notDeepEqual(ciphertext.subarray(0, 64), plain.subarray(0, 64));
  assert.deepEqual(decryptFrom(encryption, ciphertext, 0), plain);
  for (const offset of [1, 15, 16, 17, 4096, 4097, 65_536, 100_000, 100_002, ...Array.from({ length: 20 }, () => randomInt(plain.length))]) {
    assert.deepEqual(decryptFrom(encryption, ciphertext, offset), plain.subarray(offset), `offset ${offset}`);
  }
});

test('each blob gets its own key and IV; the data key is stored only wrapped', () => {
  const a = newBlobEncryption(keys);
  const b = newBlobEncryption(keys);
  assert.notEqual(a.encryption.iv, b.encryption.iv);
  assert.notEqual(a.encryption.wrappedKey, b.encryption.wrappedKey);
  const dataKey = keys.unwrapDataKey(a.encryption.wrappedKey);
  assert.equal(dataKey.length, 32);
  assert.ok(!Buffer.from(a.encryption.wrappedKey, 'base64').includes(dataKey));
});

test('the counter carries across byte boundaries exactly like AES-CTR itself (128-bit big-endian)', () => {
  const dataKey = randomBytes(32);
  const ivs = [
    'fffffffffffffffffffffffffffffff0',
    '000000000000000000000000000000ff',
    '00000000000000000000000000fffffe',
    '0000000000000000ffffffffffffffff',
    '7fffffffffffffffffffffffffffffff',
    'ffffffffffffffffffffffffffffffff',
    '00112233445566778899aabbccddeeff',
  ];
  const plain = randomBytes(16 * 600);
  for (const ivHex of ivs) {
    const iv = Buffer.from(ivHex, 'hex');
    const cipher = createCipheriv('aes-256-ctr', dataKey, iv);
    const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
    const encryption: BlobEncryption = { wrappedKey: keys.wrapDataKey(dataKey), iv: iv.toString('base64') };
    for (const offset of [0, 16, 16 * 15, 16 * 16, 16 * 255, 16 * 256, 16 * 257, 16 * 511, 16 * 599, 16 * 599 + 5]) {
      assert.deepEqual(decryptFrom(encryption, ciphertext, offset), plain.subarray(offset), `iv ${ivHex} offset ${offset}`);
    }
  }
});

test('the counter reaches far offsets (multi-GB) without precision loss', () => {
  const dataKey = randomBytes(32);
  const iv = Buffer.from('00000000000000000000fffffffffff0', 'hex');
  const encryption: BlobEncryption = { wrappedKey: keys.wrapDataKey(dataKey), iv: iv.toString('base64') };
  // Block n of the stream is AES(iv + n mod 2^128): compute the counter as one 128-bit integer.
  const blocks = (5 * 1024 ** 3) / 16 + 3;
  const counter = (BigInt(`0x${iv.toString('hex')}`) + BigInt(blocks)) % (1n << 128n);
  const expectedCounter = Buffer.from(counter.toString(16).padStart(32, '0'), 'hex');
  const reference = createCipheriv('aes-256-ctr', dataKey, expectedCounter);
  const zeros = Buffer.alloc(48);
  const keystream = Buffer.concat([reference.update(zeros), reference.final()]);
  const decipher = decipherAt(keys, encryption, blocks * 16);
  assert.deepEqual(Buffer.concat([decipher.update(zeros), decipher.final()]), keystream);
});
