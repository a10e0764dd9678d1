/** Managed encryption at rest as it was before authenticated chunks (still read): AES-256-CTR per object (length-preserving, so ranges map 1:1 onto the blob). */
import { createCipheriv, createDecipheriv, randomBytes, type Cipher, type Decipher } from 'node:crypto';
import type { KeyWrapper } from './key-wrapping.ts';
import type { BlobEncryption } from './model.ts';

const BLOCK = 16;

export function newBlobEncryption(keys: KeyWrapper): { encryption: BlobEncryption; cipher: Cipher } {
  const dataKey = randomBytes(32);
  const iv = randomBytes(BLOCK);
  const cipher = createCipheriv('aes-256-ctr', dataKey, iv);
  return { encryption: { wrappedKey: keys.wrapDataKey(dataKey), iv: iv.toString('base64') }, cipher };
}

/** A decipher positioned at `blockStart`, which must be a multiple of the AES block size. */
export function decipherAt(keys: KeyWrapper, encryption: BlobEncryption, blockStart: number): Decipher {
  const iv = counterAt(Buffer.from(encryption.iv, 'base64'), blockStart / BLOCK);
  return createDecipheriv('aes-256-ctr', keys.unwrapDataKey(encryption.wrappedKey), iv);
}

export function alignToBlock(offset: number): number {
  return offset - (offset % BLOCK);
}

function counterAt(iv: Buffer, blocks: number): Buffer {
  const counter = Buffer.from(iv);
  let carry = BigInt(blocks);
  for (let i = BLOCK - 1; i >= 0 && carry > 0n; i--) {
    const sum = BigInt(counter[i] ?? 0) + (carry & 0xffn);
    counter[i] = Number(sum & 0xffn);
    carry = (carry >> 8n) + (sum >> 8n);
  }
  return counter;
}
