/** Every limit of the product in one place (Swift's constraints.py, with KakaoCloud's values). */
import { fail } from './errors.ts';

export const MAX_FILE_SIZE = 5 * 1024 ** 3 + 2;
/** S3's multipart limits: part numbers 1 to 10,000, parts of 5 MiB (except the last) to 5 GiB, objects to 5 TiB. */
export const MAX_PARTS = 10_000;
export const MIN_PART_SIZE = 5 * 1024 ** 2;
export const MAX_PART_SIZE = 5 * 1024 ** 3;
export const MAX_MULTIPART_OBJECT_SIZE = 5 * 1024 ** 4;
/** Objects up to this size live in the metadata store instead of a blob file. */
export const INLINE_OBJECT_MAX = 64 * 1024;
export const MAX_OBJECT_KEY_BYTES = 432;
export const MAX_META_NAME_LENGTH = 128;
export const MAX_META_VALUE_LENGTH = 256;
export const MAX_META_COUNT = 90;
export const MAX_META_OVERALL_SIZE = 4096;
export const MAX_HEADER_SIZE = 8192;
export const LISTING_LIMIT = 10_000;
/** S3's tag limits: 10 tags a version, 50 a bucket; keys of 1 to 128 characters, values of up to 256. */
export const MAX_OBJECT_TAGS = 10;
export const MAX_BUCKET_TAGS = 50;
/** A bucket policy document, in bytes (S3: 20 KB). */
export const MAX_BUCKET_POLICY_BYTES = 20 * 1024;
export const MAX_TAG_KEY_LENGTH = 128;
export const MAX_TAG_VALUE_LENGTH = 256;
/** Object Lock's longest default retention (S3: 100 years, or as many days). */
export const MAX_DEFAULT_RETENTION_YEARS = 100;
export const MAX_DEFAULT_RETENTION_DAYS = 36_500;
/** The largest static large object manifest a client may send (Swift's `max_manifest_size`). */
export const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;
export const BUCKET_LIST_LIMIT = 1000;
/** The latest X-Delete-At Swift can represent (its expirer sorts 10-digit timestamps): 2286-11-20. */
export const MAX_DELETE_AT_SECONDS = 9_999_999_999;
export const TOKEN_LIFETIME_MS = 12 * 3600 * 1000;
/** KakaoCloud allows each user two IAM access keys per project. */
export const MAX_ACCESS_KEYS_PER_PROJECT = 2;
/**
 * The first path segments the server's route table (src/routes.ts) serves itself. S3's path-style addressing
 * (`/{bucket}/{key}`) shares the listener, so no bucket may take one of these names, in any naming profile.
 */
export const ROUTE_NAMES: readonly string[] = ['identity', 'v1_ext', 'v1', 'info', 'auth', 'crossdomain.xml', 'console', 'healthz', 'readyz', 'metrics'];
/** Names no bucket may take: the routes', and those KakaoCloud reserves for its own endpoints. */
export const RESERVED_BUCKET_NAMES: ReadonlySet<string> = new Set([...ROUTE_NAMES, 'swagger', 'status', 'ping']);
export const BUCKET_TYPES: ReadonlySet<string> = new Set(['STANDARD']);
export const ROLES = ['admin', 'member', 'reader'] as const;
export type Role = (typeof ROLES)[number];

const KAKAOCLOUD_BUCKET_NAME = /^[a-z0-9][a-z0-9-]{2,61}[a-z0-9]$/;
/** The container swift CLI and rclone put a large upload's segments in, for bucket `<name>`. */
export const SEGMENTS_SUFFIX = '_segments';
const SWIFT_MAX_CONTAINER_NAME_BYTES = 256;
const SWIFT_MAX_OBJECT_NAME_BYTES = 1024;

export const NAMING_PROFILES = ['kakaocloud', 'swift'] as const;
export type NamingProfileName = (typeof NAMING_PROFILES)[number];

/** The rules for names, chosen at start (ONGGI_BUCKET_NAMES); the object model is the same under every profile. */
export interface NamingProfile {
  readonly name: NamingProfileName;
  /** Bucket names are unique across the server (so S3 path-style addressing can resolve them), not per project. */
  readonly serverWideNames: boolean;
  readonly maxBucketNameLength: number;
  readonly maxObjectKeyBytes: number;
  /** The rules as clients may check them before asking (the console does, from /info). */
  readonly bucketNameRules: { pattern: string; minLength: number; maxLength: number; reserved: readonly string[] };
  checkBucketName(name: string): void;
}

/**
 * KakaoCloud's rules: 4-63 lowercase letters, digits and "-", names unique across the server, keys up to 432
 * bytes. A `<valid name>_segments` container is accepted too: swift CLI and rclone store the segments of large
 * uploads there, and KakaoCloud's Swift endpoint lets them.
 */
export const KAKAOCLOUD_NAMES: NamingProfile = {
  name: 'kakaocloud',
  serverWideNames: true,
  maxBucketNameLength: 63 + SEGMENTS_SUFFIX.length,
  maxObjectKeyBytes: MAX_OBJECT_KEY_BYTES,
  bucketNameRules: { pattern: KAKAOCLOUD_BUCKET_NAME.source, minLength: 4, maxLength: 63, reserved: [...RESERVED_BUCKET_NAMES] },
  checkBucketName(name) {
    const base = name.endsWith(SEGMENTS_SUFFIX) ? name.slice(0, -SEGMENTS_SUFFIX.length) : name;
    if (RESERVED_BUCKET_NAMES.has(base)) fail('InvalidBucketName', `Bucket name "${base}" is reserved`);
    if (!KAKAOCLOUD_BUCKET_NAME.test(base)) {
      fail(
        'InvalidBucketName',
        'Bucket names are 4-63 characters of lowercase letters, digits and "-", starting and ending with a letter or digit ' +
          `(optionally followed by "${SEGMENTS_SUFFIX}" for a segment container)`,
      );
    }
  },
};

/** OpenStack Swift's rules: any UTF-8 container name without "/" up to 256 bytes, unique per account; keys up to 1024 bytes. */
export const SWIFT_NAMES: NamingProfile = {
  name: 'swift',
  serverWideNames: false,
  maxBucketNameLength: SWIFT_MAX_CONTAINER_NAME_BYTES,
  maxObjectKeyBytes: SWIFT_MAX_OBJECT_NAME_BYTES,
  bucketNameRules: { pattern: '^[^/\\u0000]+$', minLength: 1, maxLength: SWIFT_MAX_CONTAINER_NAME_BYTES, reserved: [...ROUTE_NAMES] },
  checkBucketName(name) {
    if (name.length === 0) fail('InvalidBucketName', 'Container name is empty');
    if (ROUTE_NAMES.includes(name)) fail('InvalidBucketName', `Container name "${name}" is reserved: the server serves that path itself`);
    if (name.includes('/')) fail('InvalidBucketName', 'Container names cannot contain "/"');
    if (!isWellFormed(name)) fail('InvalidBucketName', 'Container names must be valid UTF-8');
    checkNameCharacters(name, 'Container name', 'InvalidBucketName');
    const bytes = Buffer.byteLength(name, 'utf8');
    if (bytes > SWIFT_MAX_CONTAINER_NAME_BYTES) {
      fail('InvalidBucketName', `Container name length of ${bytes} bytes is longer than ${SWIFT_MAX_CONTAINER_NAME_BYTES}`);
    }
  },
};

export function namingProfile(name: string): NamingProfile {
  if (name === 'kakaocloud') return KAKAOCLOUD_NAMES;
  if (name === 'swift') return SWIFT_NAMES;
  throw new Error(`ONGGI_BUCKET_NAMES must be one of ${NAMING_PROFILES.join(', ')}, not "${name}"`);
}

export function checkObjectKey(key: string, profile: NamingProfile = KAKAOCLOUD_NAMES): void {
  if (key.length === 0) fail('InvalidObjectName', 'Object name is empty');
  if (!isWellFormed(key)) fail('InvalidObjectName', 'Object name is not valid UTF-8');
  checkNameCharacters(key, 'Object name');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > profile.maxObjectKeyBytes) {
    fail('InvalidObjectName', `Object name length of ${bytes} bytes is longer than ${profile.maxObjectKeyBytes}`);
  }
  if (key.split('/').some((segment) => segment === '.' || segment === '..')) {
    fail('InvalidObjectName', 'Object name contains a "." or ".." path segment');
  }
}

/**
 * Characters no name may hold. Swift refuses NUL (and names that are not UTF-8); KakaoCloud documents nothing
 * beyond the 432-byte limit. Onggi also refuses the other C0 controls and DEL — a CR or LF would forge lines
 * in plain-text listings, and XML 1.0 cannot carry them — and the noncharacters U+FFFE and U+FFFF, which XML
 * cannot carry either. Every other character, C1 controls and U+2028 included, stays allowed.
 */
// eslint-disable-next-line no-control-regex
const FORBIDDEN_IN_NAMES = /[\u0000-\u001f\u007f\ufffe\uffff]/;

export function checkNameCharacters(name: string, what: string, code: 'InvalidObjectName' | 'InvalidBucketName' = 'InvalidObjectName'): void {
  const found = FORBIDDEN_IN_NAMES.exec(name)?.[0];
  if (found === undefined) return;
  const codePoint = `U+${found.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  const kind = found === '\0' ? 'a NUL character' : found >= '\ufffe' ? `the noncharacter ${codePoint}` : `the control character ${codePoint}`;
  fail(code, `${what} contains ${kind}: names may not hold control characters (U+0000-U+001F, U+007F) or U+FFFE/U+FFFF`);
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

/** A tag: an object's (per version) or a bucket's. */
export interface Tag {
  key: string;
  value: string;
}

/** S3's tag characters: letters, digits, spaces (in any script), and `+ - = . _ : / @`. */
const TAG_CHARACTERS = /^[\p{L}\p{N}\p{Zs}+\-=._:/@]*$/u;
/** Keys with this prefix are AWS's own; nobody else may set them. */
const RESERVED_TAG_PREFIX = 'aws:';

/** S3's tag set rules, for a version's tags (`max` 10) or a bucket's (50); throws InvalidTag. */
export function checkTags(tags: readonly Tag[], max: number): void {
  if (tags.length > max) fail('InvalidTag', `Tags cannot be more than ${max}`, { tooMany: true });
  const keys = new Set<string>();
  for (const { key, value } of tags) {
    const keyLength = codePoints(key);
    if (keyLength === 0 || keyLength > MAX_TAG_KEY_LENGTH) fail('InvalidTag', `The TagKey you have provided is invalid: 1 to ${MAX_TAG_KEY_LENGTH} characters`);
    if (codePoints(value) > MAX_TAG_VALUE_LENGTH) fail('InvalidTag', `The TagValue you have provided is invalid: at most ${MAX_TAG_VALUE_LENGTH} characters`);
    if (!TAG_CHARACTERS.test(key)) fail('InvalidTag', 'The TagKey you have provided is invalid: letters, digits, spaces and + - = . _ : / @ only');
    if (!TAG_CHARACTERS.test(value)) fail('InvalidTag', 'The TagValue you have provided is invalid: letters, digits, spaces and + - = . _ : / @ only');
    if (key.toLowerCase().startsWith(RESERVED_TAG_PREFIX)) fail('InvalidTag', `System tags cannot be added or updated: keys may not start with "${RESERVED_TAG_PREFIX}"`);
    if (keys.has(key)) fail('InvalidTag', 'Cannot provide multiple Tags with the same key');
    keys.add(key);
  }
}

/** Characters as S3 counts a tag's (Unicode code points). */
function codePoints(text: string): number {
  return Array.from(text).length;
}

export function checkListingLimit(limit: number): void {
  if (limit > LISTING_LIMIT) fail('ListingLimitExceeded', `Maximum limit is ${LISTING_LIMIT}`);
}

function isWellFormed(value: string): boolean {
  // Lone surrogates are what a bad %-escape or a bad client leaves behind.
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value);
}
