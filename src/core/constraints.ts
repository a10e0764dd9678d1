/** Every limit of the product in one place (Swift's constraints.py, with KakaoCloud's values). */
import { fail } from './errors.ts';

export const MAX_FILE_SIZE = 5 * 1024 ** 3 + 2;
/** Objects up to this size live in the metadata store instead of a blob file. */
export const INLINE_OBJECT_MAX = 64 * 1024;
export const MAX_OBJECT_KEY_BYTES = 432;
export const MAX_META_NAME_LENGTH = 128;
export const MAX_META_VALUE_LENGTH = 256;
export const MAX_META_COUNT = 90;
export const MAX_META_OVERALL_SIZE = 4096;
export const MAX_HEADER_SIZE = 8192;
export const LISTING_LIMIT = 10_000;
export const BUCKET_LIST_LIMIT = 1000;
export const TOKEN_LIFETIME_MS = 12 * 3600 * 1000;
export const RESERVED_BUCKET_NAMES: ReadonlySet<string> = new Set(['v1_ext', 'swagger', 'status', 'ping', 'info']);
export const BUCKET_TYPES: ReadonlySet<string> = new Set(['STANDARD']);
export const ROLES = ['admin', 'member', 'reader'] as const;
export type Role = (typeof ROLES)[number];

export const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{2,61}[a-z0-9]$/;

export function checkBucketName(name: string): void {
  if (RESERVED_BUCKET_NAMES.has(name)) fail('InvalidBucketName', `Bucket name "${name}" is reserved`);
  if (!BUCKET_NAME.test(name)) {
    fail(
      'InvalidBucketName',
      'Bucket names are 4-63 characters of lowercase letters, digits and "-", starting and ending with a letter or digit',
    );
  }
}

export function checkObjectKey(key: string): void {
  if (key.length === 0) fail('InvalidObjectName', 'Object name is empty');
  if (key.includes('\0')) fail('InvalidObjectName', 'Object name contains a NUL character');
  if (!isWellFormed(key)) fail('InvalidObjectName', 'Object name is not valid UTF-8');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_OBJECT_KEY_BYTES) {
    fail('InvalidObjectName', `Object name length of ${bytes} bytes is longer than ${MAX_OBJECT_KEY_BYTES}`);
  }
  if (key.split('/').some((segment) => segment === '.' || segment === '..')) {
    fail('InvalidObjectName', 'Object name contains a "." or ".." path segment');
  }
}

/** User metadata: names are case-insensitive and kept lower-case. */
export function checkUserMetadata(meta: Readonly<Record<string, string>>): void {
  const names = Object.keys(meta);
  if (names.length > MAX_META_COUNT) fail('MetadataTooLarge', `Too many metadata items; max ${MAX_META_COUNT}`);
  let overall = 0;
  for (const name of names) {
    const value = meta[name] ?? '';
    if (name.length === 0) fail('InvalidArgument', 'Metadata name cannot be empty');
    if (name.length > MAX_META_NAME_LENGTH) fail('MetadataTooLarge', `Metadata name too long: ${name}; max ${MAX_META_NAME_LENGTH}`);
    if (value.length > MAX_META_VALUE_LENGTH) fail('MetadataTooLarge', `Metadata value longer than ${MAX_META_VALUE_LENGTH}: ${name}`);
    overall += Buffer.byteLength(name) + Buffer.byteLength(value);
  }
  if (overall > MAX_META_OVERALL_SIZE) fail('MetadataTooLarge', `Total metadata too large; max ${MAX_META_OVERALL_SIZE}`);
}

export function checkListingLimit(limit: number): void {
  if (limit > LISTING_LIMIT) fail('ListingLimitExceeded', `Maximum limit is ${LISTING_LIMIT}`);
}

function isWellFormed(value: string): boolean {
  // Lone surrogates are what a bad %-escape or a bad client leaves behind.
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value);
}
