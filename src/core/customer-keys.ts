/**
 * S3's SSE-C: objects encrypted under a key the client sends with each request and the server never keeps. The
 * blob is sealed as any other (authenticated 64 KiB chunks under a data key of its own, cipher.ts); its data key is
 * wrapped under a key derived from the customer's key instead of the master key, so no key the server holds opens
 * it, and a master key rotation has nothing to re-wrap. What is stored to recognise the key is a salted HMAC of it
 * (`BlobEncryption.customer`, as S3 does): checked before anything of the object is answered, with the wrap's own
 * authentication (AES-GCM) behind it. The customer key is never stored nor logged.
 *
 * The ETag of an SSE-C object is not the MD5 of its bytes (as on S3, where listing it without the key must not
 * reveal the plaintext's MD5): an HMAC of that MD5 under a key derived from the customer's key, so the same bytes
 * under the same key keep the same ETag (conditional requests, sync tools comparing two copies) and nothing else
 * can be learnt from it. Reads of such objects are checked by the GCM tags (every chunk, the cut, the swap) and the
 * byte count; no CRC-32 of the plaintext is recorded for them.
 */
import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { fail } from './errors.ts';
import type { KeyWrapper } from './key-wrapping.ts';
import type { VersionData } from './model.ts';
import { openGcm, sealGcm } from './server-keys.ts';

/** The one algorithm SSE-C names (`x-amz-server-side-encryption-customer-algorithm`). */
export const CUSTOMER_ALGORITHM = 'AES256';

const SALT_BYTES = 16;

/** A customer's key, as one request gave it: wraps and unwraps data keys, recognises the key an object was written with. */
export class CustomerKey implements KeyWrapper {
  private readonly wrapKey: Buffer;
  private readonly checkKey: Buffer;
  private readonly etagKey: Buffer;

  private constructor(
    key: Buffer,
    /** The key's MD5 (base64), as the client sent it: S3 echoes it in responses. */
    readonly keyMd5: string,
  ) {
    this.wrapKey = derive(key, 'onggi sse-c data key wrapping');
    this.checkKey = derive(key, 'onggi sse-c key check');
    this.etagKey = derive(key, 'onggi sse-c etag');
  }

  /**
   * The key of S3's three values (algorithm, base64 key, base64 MD5 of the key); InvalidArgument when one is
   * missing, the algorithm is not AES256, the key not 32 bytes, or the MD5 not the key's.
   */
  static parse(algorithm: string | undefined, key: string | undefined, keyMd5: string | undefined): CustomerKey {
    if (algorithm === undefined || algorithm.trim() !== CUSTOMER_ALGORITHM) {
      fail('InvalidArgument', 'Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.');
    }
    if (key === undefined || key.trim() === '') fail('InvalidArgument', 'Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.');
    if (keyMd5 === undefined || keyMd5.trim() === '') {
      fail('InvalidArgument', 'Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.');
    }
    const bytes = base64Bytes(key.trim());
    if (bytes?.length !== 32) fail('InvalidArgument', 'The secret key was invalid for the specified algorithm.');
    const given = base64Bytes(keyMd5.trim());
    const md5 = createHash('md5').update(bytes).digest();
    if (given?.length !== 16 || !timingSafeEqual(given, md5)) fail('InvalidArgument', 'The calculated MD5 hash of the key did not match the hash that was provided.');
    return new CustomerKey(bytes, md5.toString('base64'));
  }

  /** A fresh check value of this key for a new object (or upload): a random salt and the HMAC of it under the key. */
  newCheck(): string {
    const salt = randomBytes(SALT_BYTES);
    return `${salt.toString('base64')}.${this.mac(salt).toString('base64')}`;
  }

  /** Whether `check` (see newCheck) was made with this key. */
  matches(check: string): boolean {
    const [salt, mac] = check.split('.', 2);
    if (salt === undefined || mac === undefined) return false;
    const expected = Buffer.from(mac, 'base64');
    const found = this.mac(Buffer.from(salt, 'base64'));
    return expected.length === found.length && timingSafeEqual(expected, found);
  }

  /** The ETag shown for bytes of this MD5 (hex) under this key (see the top of this file). */
  etagOf(md5: string): string {
    return createHmac('sha256', this.etagKey).update(md5).digest('hex').slice(0, 32);
  }

  wrapDataKey(dataKey: Buffer): string {
    return sealGcm(this.wrapKey, dataKey);
  }

  unwrapDataKey(wrapped: string): Buffer {
    return openGcm(this.wrapKey, wrapped);
  }

  private mac(salt: Buffer): Buffer {
    return createHmac('sha256', this.checkKey).update(salt).digest();
  }
}

/** A write sealed under a customer's key, with the check value its rows carry (one per object or upload). */
export interface CustomerSeal {
  key: CustomerKey;
  check: string;
}

/** The check value of a version written under a customer's key; null for any other. */
export function customerCheckOf(data: VersionData): string | null {
  switch (data.kind) {
    case 'attached':
    case 'inline':
    case 'blob':
      return data.encryption?.customer ?? null;
    case 'parts':
      return data.parts[0]?.encryption?.customer ?? null;
    case 'multipart':
      return data.customer ?? null;
    default:
      return null;
  }
}

/**
 * S3's rules for the key a request gives an object (or upload) whose check value is `check` (null: not written
 * under a customer's key): none for one that was (InvalidRequest), the wrong one (AccessDenied), one for an object
 * that was not (InvalidRequest). Nothing of the object is in the errors.
 */
export function checkCustomerKey(check: string | null, given: CustomerKey | undefined): void {
  if (check === null) {
    if (given) fail('InvalidRequest', 'The encryption parameters are not applicable to this object.');
    return;
  }
  if (!given) fail('InvalidRequest', 'The object was stored using a form of Server Side Encryption (a customer-provided key, S3 SSE-C). The correct parameters must be provided to retrieve the object: read it through the S3 API with its key.');
  if (!given.matches(check)) fail('AccessDenied', 'Access Denied', { bucketVisible: true });
}

function base64Bytes(text: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  return Buffer.from(text, 'base64');
}

function derive(key: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), info, 32));
}
