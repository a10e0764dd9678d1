/**
 * The object model as stored: the tables core keeps in the metadata store, their keys and row types.
 * Every table is (partition `pk`, sort key `sk`) → value; see src/store/meta/index.ts.
 *
 *   project ─┬─ bucket (immutable id; named (project, name))
 *            │    └─ key ── current version (inline bytes | one blob | parts | …)
 *            └─ users, roles, access keys
 *   blob ── reference count; freed through the durable `blob_gc` queue once nothing points at it
 */
import type { Role, Tag } from './constraints.ts';
import type { CorsRule } from './cors.ts';
import { bytesTable, jsonTable, type Table } from '../store/meta/index.ts';
import type { Metadata } from './types.ts';
import { packVersion, unpackVersion } from './version-codec.ts';

export interface ProjectRow {
  name: string;
  createdAt: number;
  meta: Metadata;
  /** Who, outside the project, may act on its whole account and how far (Swift's account ACL). */
  accountGrants?: AccountGrant[];
}

export interface UserRow {
  name: string;
  createdAt: number;
}

export interface RoleRow {
  role: Role;
  /** Tokens issued before this moment do not carry the assignment. */
  assignedAt: number;
}

export interface AccessKeyRow {
  name: string;
  userId: string;
  projectId: string;
  /** HMAC of the secret under the server key; the secret itself is never stored. */
  secretHash: string;
  /** When the current secret was set: tokens issued before it are refused. */
  createdAt: number;
  expiresAt: number | null;
  /** Keystone's rule: only a token from an unrestricted key may create or delete access keys. */
  unrestricted?: boolean;
}

/** An S3 (EC2-style) credential: its secret sealed under the server key, recoverable only to check signatures. */
export interface S3CredentialRow {
  userId: string;
  projectId: string;
  sealedSecret: string;
  createdAt: number;
}

export type EncryptionType = 'managed';

export const BUCKET_ROLES = ['Storage Admin', 'Storage Editor', 'Storage Viewer'] as const;
/** A user's role on one bucket (KakaoCloud's Object Storage roles). */
export type BucketRole = (typeof BUCKET_ROLES)[number];

export interface BucketRow {
  /** Immutable: a bucket deleted and created again under the same name is another bucket. */
  id: string;
  name: string;
  projectId: string;
  type: string;
  createdAt: number;
  updatedAt: number;
  publicRead: boolean;
  publicReadAllowIps: string[];
  encryption: EncryptionType | null;
  meta: Metadata;
  /**
   * Bucket roles assigned on this bucket, by user id; `null` = the user has no role here. Users not listed hold
   * their project role's default. Kept in the bucket row: every request reads it anyway, and it stays small.
   */
  roles?: Record<string, BucketRole | null>;
  /** CORS rules (none: cross-origin requests are refused); see cors.ts. */
  cors?: CorsRule[];
  /** Whether an enabled lifecycle rule applies (the rules themselves are in `lifecycle`). */
  lifecycle?: boolean;
  /** S3's versioning state; absent: never enabled (every key keeps only its current version, the null one). */
  versioning?: VersioningState;
  /**
   * Swift's legacy versioned writes (`X-Versions-Location`: stack, `X-History-Location`: history): before a write
   * or delete the current version is copied into this container of the same project.
   */
  archive?: ArchiveSetting;
  /** Who else may do what here: Swift's container ACLs and S3's ACLs, as data `authorize()` evaluates. */
  grants?: Grant[];
  /** A bucket policy (S3's), as statements `authorize()` evaluates: an explicit Deny beats every Allow. */
  policy?: PolicyStatement[];
  /**
   * The policy document as its author sent it (S3's GetBucketPolicy answers it unchanged), beside the statements
   * parsed from it (bucket-policy.ts). Absent with `policy` set: statements set by core alone (tests).
   */
  policyDocument?: string;
  /**
   * S3's Object Lock, once enabled (never disabled again; versioning stays enabled): versions may carry retention
   * and legal holds, and new versions get the default retention. Absent: no version here can be locked, so
   * deletes skip every lock check.
   */
  objectLock?: ObjectLockConfiguration;
}

export const RETENTION_MODES = ['GOVERNANCE', 'COMPLIANCE'] as const;
/** GOVERNANCE yields to a caller allowed to bypass it; COMPLIANCE to nobody until its date. */
export type RetentionMode = (typeof RETENTION_MODES)[number];

/** A version's retention: it may not be removed or overwritten before `retainUntil` (ms since the epoch). */
export interface Retention {
  mode: RetentionMode;
  retainUntil: number;
}

/** A bucket's default retention: each new version is retained this long from its creation (days or years, one of them). */
export type DefaultRetention = { mode: RetentionMode } & ({ days: number } | { years: number });

export interface ObjectLockConfiguration {
  enabled: true;
  defaultRetention?: DefaultRetention;
}

export type VersioningState = 'enabled' | 'suspended';

export interface ArchiveSetting {
  mode: 'stack' | 'history';
  container: string;
}

/** Who a grant names: everyone, any signed-in caller, a project, a user, or requests from a referrer (Swift's `.r:`). */
export type Grantee =
  | { kind: 'anyone' }
  | { kind: 'authenticated' }
  | { kind: 'project'; projectId: string }
  | { kind: 'user'; userId: string; projectId?: string }
  /** `host`: `*`, a host, or `.domain` for it and its subdomains; `deny`: Swift's `.r:-host`. */
  | { kind: 'referrer'; host: string; deny?: boolean };

/** The levels of an account grant (Swift's `X-Account-Access-Control` keys), weakest first. */
export const ACCOUNT_ACCESS_LEVELS = ['read-only', 'read-write', 'admin'] as const;
export type AccountAccessLevel = (typeof ACCOUNT_ACCESS_LEVELS)[number];

/** An account grant: a project, a user or any signed-in caller, at one level over everything in the account. */
export interface AccountGrant {
  grantee: Extract<Grantee, { kind: 'authenticated' | 'project' | 'user' }>;
  level: AccountAccessLevel;
}

export type GrantPermission = 'read-objects' | 'list' | 'write-objects' | 'read-acl' | 'write-acl' | 'full-control';

export interface Grant {
  grantee: Grantee;
  permission: GrantPermission;
}

/**
 * One statement of a bucket policy. Actions are core's (`s3:<BucketAction>`, wildcards allowed; an S3 policy's IAM
 * actions are translated in bucket-policy.ts); keys are patterns within the bucket.
 */
export interface PolicyStatement {
  effect: 'Allow' | 'Deny';
  principal: '*' | { projects?: string[]; users?: string[] };
  actions: string[];
  /** Absent: the statement applies to the bucket and every key. Present: to the keys it matches. */
  keys?: string[];
  /** With `keys`: the statement applies to the bucket itself too (S3's `arn:aws:s3:::bucket` beside `bucket/…`). */
  bucket?: boolean;
  /** S3's NotPrincipal / NotAction / NotResource: the statement applies to all but what the field names. */
  except?: { principal?: boolean; actions?: boolean; resources?: boolean };
  /**
   * All must hold. `referer`: patterns (S3's StringLike), `refererEquals`: exact values (StringEquals);
   * `secureTransport`: whether the request came over TLS (S3's Bool aws:SecureTransport).
   */
  conditions?: { sourceIp?: string[]; notSourceIp?: string[]; referer?: string[]; refererEquals?: string[]; secureTransport?: boolean };
}

/**
 * A lifecycle rule (S3's model). Room is left for `noncurrentVersionExpiration`, `abortIncompleteMultipartUpload`
 * and tag filters, which come with versioning, multipart uploads and object tags.
 */
export interface LifecycleTag {
  key: string;
  value: string;
}

/** S3's lifecycle rule. At least one action; rules stored before tags and the other actions existed read as they are. */
export interface LifecycleRule {
  id: string;
  enabled: boolean;
  /** Keys starting with this ('' for all). */
  prefix: string;
  /** Only objects that carry every one of these tags (absent or empty: no tag condition). */
  tags?: LifecycleTag[];
  /** Only versions larger than this many bytes (S3's ObjectSizeGreaterThan); delete markers are not sized. */
  objectSizeGreaterThan?: number;
  /** Only versions smaller than this many bytes (S3's ObjectSizeLessThan). */
  objectSizeLessThan?: number;
  /**
   * Current versions expire (`date`: ms since the epoch, at midnight UTC). With `days`, a current delete marker with
   * no version under it goes too once it is that old (S3 does so).
   */
  expiration?: { days: number } | { date: number };
  /** A current delete marker with no version under it is removed (S3's ExpiredObjectDeleteMarker; not with `expiration`). */
  expiredObjectDeleteMarker?: boolean;
  /** A version that stopped being current expires this many days later; the newest `newerNoncurrentVersions` stay. */
  noncurrentVersionExpiration?: { noncurrentDays: number; newerNoncurrentVersions?: number };
  /** A multipart upload not completed this many days after it began is aborted. */
  abortIncompleteMultipartUpload?: { daysAfterInitiation: number };
}

/** A bucket's lifecycle rules, with where the bucket is (rows written before versioning existed lack it). */
export interface LifecycleRow {
  rules: LifecycleRule[];
  bucket?: BucketName;
}

/** Where a bucket row is: (project, name). */
export interface BucketName {
  projectId: string;
  name: string;
}

/**
 * A bucket's object count and bytes, which writes add to without contending for one row: merged into the row
 * where the store takes merges (SQLite), else as delta rows folded into it in the background (PostgreSQL).
 */
export interface TotalsRow {
  objects: number;
  bytes: number;
  /** Time of the last write counted. */
  at: number;
}

/** Totals plus more totals: counts and bytes add up, `at` is the later time. */
export function addTotals(a: TotalsRow, b: TotalsRow): TotalsRow {
  return { objects: a.objects + b.objects, bytes: a.bytes + b.bytes, at: Math.max(a.at, b.at) };
}

/**
 * How a blob's bytes are encrypted at rest: a data key of its own, wrapped under the master key (key-wrapping.ts).
 * `scheme` absent: AES-256-CTR from the counter block `iv` (written before 2026-12-07, still read; `onggi admin
 * encryption migrate` rewrites them); `aes-256-gcm-64k`: authenticated 64 KiB chunks (chunked-gcm.ts), `iv` the
 * blob's random identity, bound into every chunk.
 */
export interface BlobEncryption {
  scheme?: 'aes-256-gcm-64k';
  wrappedKey: string;
  iv: string;
  /**
   * SSE-C (customer-keys.ts): the data key is wrapped under a key derived from the customer's key, not the master
   * key; this is the salted HMAC that recognises that key. Rotation, migration, fsck and the scrubber leave it be.
   */
  customer?: string;
}

/** A blob of the blob store, with how its bytes are encrypted. */
export interface BlobRef {
  blobId: string;
  size: number;
  encryption: BlobEncryption | null;
  /** CRC-32 of the plain bytes, taken as they were written: whole reads check it (blobs written before it: the MD5). */
  crc32?: number;
}

/**
 * Where a version's bytes are: in the metadata store itself (small objects: `attached` to the version's row in
 * `objects`, read with it in one statement), in one blob, or in an ordered list of blobs (multipart parts), read
 * one after the other. `inline`: a small version written before attachments existed (2026-12-02), whose bytes
 * are a row of `inline_data`; read and removed, never written any more.
 */
export type VersionData =
  | { kind: 'attached'; encryption: BlobEncryption | null }
  | { kind: 'inline'; encryption: BlobEncryption | null }
  | ({ kind: 'blob' } & BlobRef)
  | { kind: 'parts'; parts: BlobRef[] }
  /**
   * A completed multipart upload: its parts are rows of `partIndex` (batches, by offset), not of the version row,
   * so a 10,000-part object costs a GET one row more; versions sharing it count as one reference, `mpu:<id>`.
   */
  | { kind: 'multipart'; uploadId: string; parts: number; encrypted: boolean; customer?: string }
  /**
   * A static large object (Swift's SLO): other objects' bytes in order, each checked against the ETag and size it
   * had when the manifest was written. The segments are rows of `manifestSegments` (batches, by offset), shared by
   * the versions that copy the manifest as one reference, `slo:<id>`.
   */
  | { kind: 'static-manifest'; manifestId: string; segments: number }
  /** A dynamic large object (Swift's DLO): the objects of a container under a prefix, in name order, read at GET time. */
  | { kind: 'dynamic-manifest'; bucket: string; prefix: string }
  /** A symbolic link to another object (Swift's symlink), optionally pinned to the ETag its target had. */
  | { kind: 'symlink'; account: string; bucket: string; key: string; etag: string | null };

/** One segment of a static manifest: an object of the same account, all of it or a byte range of it. */
export interface SegmentRow {
  bucket: string;
  key: string;
  /** The segment object's ETag and size when the manifest was written. */
  etag: string;
  objectSize: number;
  /** The bytes taken, inclusive; null: all of them. */
  range: [number, number] | null;
  /** The segment is itself a static manifest (Swift's `sub_slo`). */
  nested?: boolean;
}

/** A batch of a static manifest's segments, in order, from the offset its sort key names. */
export interface SegmentBatchRow {
  segments: SegmentRow[];
}

/** A multipart upload in progress (S3's CreateMultipartUpload; Swift's multipart verbs share it). */
export interface UploadRow {
  id: string;
  key: string;
  initiatedAt: number;
  /** Who began it (S3's Initiator/Owner). */
  initiator: string;
  contentType: string | null;
  meta: Metadata;
  headers: Metadata;
  deleteAt: number | null;
  /** Whether the bucket encrypted at rest when it began (or the request asked for it): every part is, then. */
  encrypted: boolean;
  /** SSE-C: every part is sealed under the customer's key this check value recognises (see BlobEncryption). */
  customer?: string;
  /** What the completed version will carry: tags and Object Lock settings given when the upload began. */
  tags?: Tag[];
  retention?: Retention;
  legalHold?: boolean;
}

/** One uploaded part, by number, while its upload is open. */
export interface PartRow {
  blobId: string;
  size: number;
  /** MD5 of the part, hex. */
  etag: string;
  encryption: BlobEncryption | null;
  /** CRC-32 of the part's plain bytes (see BlobRef). */
  crc32?: number;
  uploadedAt: number;
  /** Checksums the part was verified against as it came in (S3's `x-amz-checksum-<algorithm>`), for the front end. */
  checksums?: Metadata;
}

/** A batch of a completed upload's parts, in order, from the offset its sort key names. */
export interface PartBatchRow {
  parts: { number: number; blobId: string; size: number; etag: string; encryption: BlobEncryption | null; crc32?: number }[];
}

export type VersionState = 'uploading' | 'complete' | 'delete-marker';

export interface VersionRow {
  id: string;
  state: VersionState;
  createdAt: number;
  lastModified: number;
  size: number;
  etag: string;
  contentType: string;
  meta: Metadata;
  /** Content-Disposition, Content-Encoding and the like, stored as given. */
  headers: Metadata;
  deleteAt: number | null;
  data: VersionData;
  /**
   * The version has an id of its own, written while versioning was enabled. Absent: it is the key's null
   * version (S3's `null` version id): written while versioning was never enabled or suspended.
   */
  named?: boolean;
  /** When it stopped being the key's current version (rows of `versions` only). */
  noncurrentSince?: number;
  /** Object Lock retention (see object-lock.ts); only in buckets with Object Lock. */
  retention?: Retention;
  /** Object Lock legal hold: true while on; false once turned off (S3 then answers OFF rather than "none"). */
  legalHold?: boolean;
  /** The version's tags (S3 object tagging), in the order given; absent: none. */
  tags?: Tag[];
  /** `onggi admin fsck --repair` found its bytes damaged: reads fail with ObjectDamaged (see integrity.ts). */
  damaged?: DamageMark;
}

export const DAMAGE_REASONS = ['missing', 'size', 'hash'] as const;
/** What is wrong with stored bytes: gone, another size than recorded, or not hashing to the recorded MD5. */
export type DamageReason = (typeof DAMAGE_REASONS)[number];

export interface DamageMark {
  reason: DamageReason;
  /** When fsck marked it (ms since the epoch). */
  at: number;
}

/** "Empty bucket": every object is removed in the background, then (if asked) the bucket itself. */
export interface EmptyingRow {
  bucket: BucketRow;
  deleteBucket: boolean;
  startedAt: number;
  removed: number;
  state: 'running' | 'done';
  finishedAt: number | null;
  /** Where the pass under way has got to (see Objects.purge); absent: a pass starts from the beginning. */
  cursor?: PurgeCursor;
  /** Versions the pass under way removed, and left because Object Lock keeps them. */
  removedInPass?: number;
  lockedInPass?: number;
  /** Versions Object Lock kept when the run finished (the bucket, if it was to be deleted, stays). */
  locked?: number;
}

/** How far a purge of a bucket's versions has got: the table (non-current versions first) and the last sort key done. */
export interface PurgeCursor {
  table: 'versions' | 'objects';
  after: string;
}

/** A bucket's access logging, keyed by the source bucket's (project, name). */
export interface LoggingRow {
  bucketId: string;
  targetBucket: string;
  targetPrefix: string;
}

/** One access log line waiting for delivery into its target bucket. */
export interface AccessLogEntry {
  account: string;
  targetBucket: string;
  targetPrefix: string;
  line: string;
}

export interface LeaseRow {
  owner: string;
  until: number;
}

export const TABLES = {
  /** '' / project id */
  projects: jsonTable<ProjectRow>('projects'),
  /** '' / project name → id */
  projectNames: jsonTable<{ id: string }>('project_names'),
  /** '' / user id */
  users: jsonTable<UserRow>('users'),
  /** '' / user name → id */
  userNames: jsonTable<{ id: string }>('user_names'),
  /** project id / user id */
  roles: jsonTable<RoleRow>('roles'),
  /** '' / access key id */
  accessKeys: jsonTable<AccessKeyRow>('access_keys'),
  /** user id / key name → key id */
  accessKeyNames: jsonTable<{ id: string }>('access_key_names'),
  /** '' / S3 access key id */
  s3Credentials: jsonTable<S3CredentialRow>('s3_credentials'),
  /** project id / bucket name */
  buckets: jsonTable<BucketRow>('buckets'),
  /** '' / bucket name → owner, in profiles where names are unique across the server */
  globalBucketNames: jsonTable<{ projectId: string; bucketId: string }>('global_bucket_names'),
  /** bucket id / '' */
  bucketTotals: jsonTable<TotalsRow>('bucket_totals', { merge: addTotals }),
  /** '' / `${bucket id}/${unique}`: one row per write where the store takes no merges, folded into bucket_totals in the background */
  totalDeltas: jsonTable<TotalsRow>('bucket_total_deltas'),
  /**
   * bucket id / object key → the current version, with a small version's bytes attached; listings leave out
   * versions past their time in the query
   */
  objects: jsonTable<VersionRow>('objects', { liveUntil: versionLiveUntil, attachments: true, codec: { pack: packVersion, unpack: unpackVersion } }),
  /**
   * bucket id / `${object key}\u0001${version id, inverted}` → a version that is no longer current, or a delete
   * marker under the current one: a key's versions newest first, right after the key (names hold no U+0001).
   */
  versions: jsonTable<VersionRow>('versions', { attachments: true, codec: { pack: packVersion, unpack: unpackVersion } }),
  /** bucket id / object key → the sort key in `versions` of the key's null version, while it is not current */
  nullVersions: jsonTable<{ sk: string }>('null_versions'),
  /** bucket id / `${object key}\u0001${upload id}` → a multipart upload in progress (ids grow with time) */
  uploads: jsonTable<UploadRow>('uploads'),
  /** upload id / part number, 5 digits → a part uploaded; kept, with its blob, until the upload's object goes */
  parts: jsonTable<PartRow>('parts'),
  /** upload id / the first part's offset, 16 digits → a batch of a completed upload's parts (see VersionData) */
  partIndex: jsonTable<PartBatchRow>('part_index'),
  /** manifest id / the first segment's offset, 16 digits → a batch of a static manifest's segments */
  manifestSegments: jsonTable<SegmentBatchRow>('manifest_segments'),
  /** bucket id / version id → the bytes of a small version written before attachments (see VersionData) */
  inlineData: bytesTable('inline_data'),
  /** '' / blob id → how many versions point at it */
  blobRefs: jsonTable<{ count: number }>('blob_refs'),
  /** '' / blob id: blobs nothing points at any more, waiting to be removed from the blob store */
  blobGc: jsonTable<{ queuedAt: number }>('blob_gc'),
  /** '' / `${delete-at, 15 digits}/${bucket id}/${key}` → the version that expires then */
  expiry: jsonTable<{ bucketId: string; key: string; versionId: string }>('expiry'),
  /** '' / bucket id → the bucket's lifecycle rules */
  lifecycle: jsonTable<LifecycleRow>('lifecycle'),
  /** bucket id / '' → the bucket's tags (S3 bucket tagging), apart from the bucket row every request reads */
  bucketTags: jsonTable<{ tags: Tag[] }>('bucket_tags'),
  /** '' / bucket id → an "empty bucket" request and its progress */
  emptying: jsonTable<EmptyingRow>('emptying'),
  /** '' / `${project id}/${bucket name}` → where the bucket's access log goes */
  bucketLogging: jsonTable<LoggingRow>('bucket_logging'),
  /** '' / `${time, 15 digits}/${sequence}/${unique}` → an access log line not delivered yet */
  accessLogQueue: jsonTable<AccessLogEntry>('access_log_queue'),
  /** '' / job name: which node runs a background job */
  leases: jsonTable<LeaseRow>('leases'),
  /** '' / setting name: facts about the whole store, such as the check value of its master key */
  settings: jsonTable<{ value: string }>('settings'),
} as const;

export const ALL_TABLES: readonly Table<unknown>[] = Object.values(TABLES);

/**
 * Every table holding rows of one bucket, partitioned by its id: what must be empty before the bucket may be
 * deleted (`content`), and what goes with it (`bookkeeping`). A new table of a bucket's goes here, or
 * deleting and emptying buckets would forget it (test/core checks that each table is listed once).
 */
export const BUCKET_TABLES = {
  content: [TABLES.objects, TABLES.versions, TABLES.uploads],
  bookkeeping: [TABLES.nullVersions, TABLES.bucketTotals, TABLES.inlineData, TABLES.bucketTags],
} as const;

/** When a version stops being readable: at its X-Delete-At; a version not complete never is. */
export function versionLiveUntil(version: VersionRow): number | null {
  return version.state === 'complete' ? version.deleteAt : 0;
}

/** Whether a version is readable at `now`. */
export function isLive(version: VersionRow, now = Date.now()): boolean {
  const until = versionLiveUntil(version);
  return until === null || until > now;
}

/** The one partition of tables that have only one. */
export const ALL = '';

export function expiryKey(deleteAt: number, bucketId: string, key: string): string {
  return `${String(deleteAt).padStart(15, '0')}/${bucketId}/${key}`;
}

/** The sort key just past every expiry entry due at or before `time`. */
export function expiryUpTo(time: number): string {
  return `${String(time).padStart(15, '0')}0`;
}

/** The sort key of a part batch starting at `offset` bytes into its object. */
export function partOffsetKey(offset: number): string {
  return String(offset).padStart(16, '0');
}

/** The sort key of part `number` (1 to 10,000) of an upload. */
export function partNumberKey(number: number): string {
  return String(number).padStart(5, '0');
}
