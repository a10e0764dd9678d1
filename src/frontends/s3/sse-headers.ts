/**
 * S3's server-side encryption headers: what a request asks for (`x-amz-server-side-encryption: AES256`, SSE-C's
 * customer key, for the object and for a copy's source) and what a response says of an object. The rules are
 * core's (customer-keys.ts); this only reads and writes headers.
 */
import type { IncomingMessage } from 'node:http';
import { CUSTOMER_ALGORITHM, CustomerKey } from '../../core/customer-keys.ts';
import type { ObjectRecord } from '../../core/types.ts';
import { headerValue } from '../../http/context.ts';
import { S3Error } from './errors.ts';
import type { Exchange } from './exchange.ts';

const SSE = 'x-amz-server-side-encryption';
const ALGORITHM = 'x-amz-server-side-encryption-customer-algorithm';
const KEY_MD5 = 'x-amz-server-side-encryption-customer-key-MD5';

/** The three headers of a customer key, for the object and for a copy's source. */
const KEY_HEADERS = {
  object: ['x-amz-server-side-encryption-customer-algorithm', 'x-amz-server-side-encryption-customer-key', 'x-amz-server-side-encryption-customer-key-md5'],
  source: ['x-amz-copy-source-server-side-encryption-customer-algorithm', 'x-amz-copy-source-server-side-encryption-customer-key', 'x-amz-copy-source-server-side-encryption-customer-key-md5'],
} as const;

/**
 * The SSE-C key a request gives (for the object, or with `source` for a copy's source); undefined when it gives
 * none. Refused over plain HTTP from elsewhere than loopback, as S3 refuses it without TLS.
 */
export function customerKeyOf(x: Exchange, which: keyof typeof KEY_HEADERS = 'object'): CustomerKey | undefined {
  return customerKeyIn(x, (name) => headerValue(x.req, name), which);
}

/** The same, from a request's headers or a browser form's fields (`valueOf` by lower-case name). */
export function customerKeyIn(x: Exchange, valueOf: (name: string) => string | undefined, which: keyof typeof KEY_HEADERS = 'object'): CustomerKey | undefined {
  const [algorithm, key, md5] = KEY_HEADERS[which].map(valueOf);
  if (algorithm === undefined && key === undefined && md5 === undefined) return undefined;
  if (!x.ctx.secureTransport()) {
    throw new S3Error('InvalidRequest', 400, 'Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.');
  }
  return CustomerKey.parse(algorithm, key, md5);
}

/**
 * `x-amz-server-side-encryption` of a write: AES256 asks for managed encryption (true); absent, undefined. SSE-KMS
 * is refused as MinIO refuses it without a KMS (501 NotImplemented), any other value as S3 does (InvalidArgument);
 * given with a customer key, refused as S3 refuses the pair.
 */
export function managedEncryptionOf(req: IncomingMessage, customerKey: CustomerKey | undefined): boolean | undefined {
  const value = headerValue(req, SSE);
  return value === undefined ? undefined : managedEncryptionIn(value, customerKey);
}

/** The value of `x-amz-server-side-encryption` (a header, or a field of a browser POST form): see managedEncryptionOf. */
export function managedEncryptionIn(value: string, customerKey?: CustomerKey): true {
  const method = value.trim();
  if (method === 'aws:kms' || method === 'aws:kms:dsse') {
    throw new S3Error('NotImplemented', 501, 'Server side encryption with AWS KMS keys (SSE-KMS) is not available: this server has no KMS. Use AES256 or SSE-C.', { Header: SSE });
  }
  if (method !== 'AES256') throw new S3Error('InvalidArgument', 400, 'The encryption method specified is not supported', { ArgumentName: SSE, ArgumentValue: method });
  if (customerKey) throw new S3Error('InvalidArgument', 400, 'Server Side Encryption with Customer provided key is incompatible with the encryption method specified', { ArgumentName: SSE, ArgumentValue: method });
  return true;
}

/** What a response says of an object's encryption: AES256 for managed, SSE-C's algorithm and the key's MD5 for a customer's key. */
export function addEncryptionHeaders(headers: Record<string, string | number>, encryption: ObjectRecord['encryption'], customerKey?: CustomerKey): void {
  if (encryption === 'managed') {
    headers[SSE] = 'AES256';
  } else if (encryption === 'customer') {
    headers[ALGORITHM] = CUSTOMER_ALGORITHM;
    if (customerKey) headers[KEY_MD5] = customerKey.keyMd5;
  }
}
