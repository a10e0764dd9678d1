/**
 * A key's chain of versions, with S3's rules, inside a transaction. The current version is the key's row of
 * `objects` (the one read a GET costs); versions that stopped being current and delete markers under the current
 * one are rows of `versions`, newest first right after their key. A bucket whose versioning was never enabled
 * keeps only the current one: each write replaces its null version. Enabled: each write and each delete adds a
 * version with an id of its own, and the one before stays. Suspended: writes and deletes replace the null version
 * wherever it is, and versions with ids stay.
 *
 * Invariant: a key that has any version has a current row (a delete marker at least), and it is the newest.
 */
import { newTimeOrderedId } from '../lib/ids.ts';
import type { AttachedRow, Table, Tx } from '../store/meta/index.ts';
import { addToTotals } from './buckets.ts';
import { fail } from './errors.ts';
import { referencesOf } from './object-intake.ts';
import { checkRemovable, type GovernanceBypass } from './object-lock.ts';
import { ALL, expiryKey, TABLES, type BucketRow, type VersionRow } from './model.ts';
import type { Indirect, ObjectRecord } from './types.ts';

/** S3's version id of a version written while versioning was never enabled, or suspended. */
export const NULL_VERSION_ID = 'null';
/** Between a key and its versions' ids in `versions`: below every character a name may hold. */
const SEPARATOR = '\u0001';
const NAMED_ID = /^[0-9a-f]{32}$/;

/** The version id a protocol shows. */
export function versionIdOf(version: VersionRow): string {
  return version.named ? version.id : NULL_VERSION_ID;
}

/**
 * A version as every protocol shows it. (Built as one literal and then added to, not with spreads: it runs for
 * every GET and HEAD, and every entry of a listing.)
 */
export function toRecord(bucket: string, key: string, version: VersionRow): ObjectRecord {
  const record: ObjectRecord = {
    bucket,
    key,
    versionId: versionIdOf(version),
    size: version.size,
    etag: version.etag,
    contentType: version.contentType,
    lastModified: version.lastModified,
    meta: version.meta,
    headers: version.headers,
    deleteAt: version.deleteAt,
  };
  if (version.state === 'delete-marker') record.deleteMarker = true;
  const indirect = indirectOf(version.data);
  if (indirect) record.indirect = indirect;
  else if (version.data.kind === 'multipart') record.parts = version.data.parts;
  if (version.retention) record.retention = version.retention;
  if (version.legalHold !== undefined) record.legalHold = version.legalHold;
  if (version.tags?.length) record.tagCount = version.tags.length;
  const encryption = encryptionOf(version.data);
  if (encryption) record.encryption = encryption;
  return record;
}

/** How a version's bytes are encrypted, as front ends say it (S3's x-amz-server-side-encryption headers). */
function encryptionOf(data: VersionRow['data']): ObjectRecord['encryption'] | null {
  switch (data.kind) {
    case 'attached':
    case 'inline':
    case 'blob':
      return data.encryption && (data.encryption.customer === undefined ? 'managed' : 'customer');
    case 'parts': {
      const first = data.parts[0]?.encryption;
      return first ? (first.customer === undefined ? 'managed' : 'customer') : null;
    }
    case 'multipart':
      return data.customer !== undefined ? 'customer' : data.encrypted ? 'managed' : null;
    default:
      return null;
  }
}

function indirectOf(data: VersionRow['data']): Indirect | null {
  switch (data.kind) {
    case 'static-manifest':
      return { kind: 'static-manifest' };
    case 'dynamic-manifest':
      return { kind: 'dynamic-manifest', bucket: data.bucket, prefix: data.prefix };
    case 'symlink':
      return { kind: 'symlink', account: data.account, bucket: data.bucket, key: data.key, etag: data.etag };
    default:
      return null;
  }
}

/** Refuses a version id that no version can have (S3: 400 "Invalid version id specified"). */
export function checkVersionId(versionId: string): void {
  if (versionId !== NULL_VERSION_ID && !NAMED_ID.test(versionId)) fail('InvalidArgument', 'Invalid version id specified');
}

/** The sort key of a non-current version: its key, then its id inverted, so that newer versions come first. */
export function noncurrentKey(key: string, id: string): string {
  let inverted = '';
  for (const digit of id) inverted += (15 - parseInt(digit, 16)).toString(16);
  return key + SEPARATOR + inverted;
}

/** The object key of a `versions` sort key. */
export function keyOfNoncurrent(sk: string): string {
  return sk.slice(0, sk.lastIndexOf(SEPARATOR));
}

/** The prefix of every `versions` sort key of `key`. */
export function versionsPrefix(key: string): string {
  return key + SEPARATOR;
}

/** A fresh time-ordered version id, made larger than `after` (a write in the same millisecond sorts after it). */
export function nextVersionId(after: string | null): string {
  const id = newTimeOrderedId();
  if (after === null || id > after) return id;
  return (BigInt(`0x${after}`) + 1n).toString(16).padStart(32, '0');
}

/** What one change of a key's chain did: versions let go of (their blobs maybe released), the current one before. */
export interface ChainChange {
  previous: VersionRow | null;
  /** Blobs whose last reference went: the collector has work. */
  released: number;
}

/**
 * Makes `version` the key's current version in a bucket of the given versioning state: the current one before
 * it is kept as a non-current version or let go of, as the state says; in a suspended bucket the null version is
 * replaced wherever it is. The new version's id is made larger than the current one's when it has one of its own.
 */
export async function install(tx: Tx, bucket: BucketRow, key: string, version: VersionRow, attachment: Buffer | null, now: number): Promise<ChainChange> {
  const enabled = bucket.versioning === 'enabled';
  const current = enabled || bucket.versioning === 'suspended' ? await tx.getAttached(TABLES.objects, bucket.id, key) : await asAttached(tx, bucket.id, key);
  const previous = current?.value ?? null;
  if (enabled) {
    version.named = true;
    version.id = nextVersionId(previous?.named ? previous.id : null);
  } else {
    delete version.named;
  }
  let released = 0;
  if (current && previous) {
    // Enabled keeps every version; suspended keeps those with ids of their own (the null one is replaced).
    if (enabled || (bucket.versioning === 'suspended' && previous.named)) demote(tx, bucket.id, key, current, now);
    else {
      // Never refuses in a bucket with Object Lock (its versioning stays enabled): a guard that costs a field test.
      checkRemovable(previous, now);
      released += await release(tx, bucket.id, key, previous);
    }
  }
  if (bucket.versioning === 'suspended') released += await removeNoncurrentNull(tx, bucket.id, key, now);
  if (attachment) tx.putAttached(TABLES.objects, bucket.id, key, version, attachment);
  else tx.put(TABLES.objects, bucket.id, key, version);
  if (version.deleteAt !== null && version.state === 'complete') {
    tx.put(TABLES.expiry, ALL, expiryKey(version.deleteAt, bucket.id, key), { bucketId: bucket.id, key, versionId: version.id });
  }
  countChange(tx, bucket.id, previous, version);
  return { previous, released };
}

/** A delete marker to install (see `install`): the key reads as deleted, the versions under it stay. */
export function deleteMarker(now: number): VersionRow {
  return {
    id: newTimeOrderedId(),
    state: 'delete-marker',
    createdAt: now,
    lastModified: now,
    size: 0,
    etag: '',
    contentType: '',
    meta: {},
    headers: {},
    deleteAt: null,
    data: { kind: 'attached', encryption: null },
  };
}

/** Removes the key's current version for good, with no marker (unversioned buckets, emptying, expiry). */
export async function removeCurrent(tx: Tx, bucketId: string, key: string, current: VersionRow): Promise<number> {
  tx.delete(TABLES.objects, bucketId, key);
  const released = await release(tx, bucketId, key, current);
  countChange(tx, bucketId, current, null);
  return released;
}

/**
 * An expired current version (X-Delete-At) goes for good. When older versions lie under it, a delete marker takes
 * its place, as with Swift's object versioning, where the expired version goes and the key then reads as deleted:
 * an expiry never brings an older version back. Returns how many blobs lost their last reference.
 */
export async function expireCurrentVersion(tx: Tx, bucketId: string, key: string, current: VersionRow, now: number): Promise<number> {
  const [under] = await tx.scan(TABLES.versions, bucketId, { prefix: versionsPrefix(key), limit: 1, reverse: false });
  const released = await removeCurrent(tx, bucketId, key, current);
  if (!under) return released;
  const marker = deleteMarker(now);
  // The marker's id follows the expired version's kind: a named one in a bucket that names versions, else null.
  if (current.named) {
    marker.named = true;
    marker.id = nextVersionId(current.id);
  }
  tx.put(TABLES.objects, bucketId, key, marker);
  return released;
}

/** What may remove a locked version: nothing (the default), or governance's bypass, at a moment. */
export interface RemovalRule {
  now: number;
  bypass?: GovernanceBypass | undefined;
}

/**
 * Removes one version for good, current or not (S3's DELETE with a version id); when it was the current one,
 * the newest version under it becomes current — a delete marker removed brings back the version it hid.
 * Null: there is no such version. A version Object Lock keeps at `rule.now` is refused (ObjectLocked).
 */
export async function removeVersion(tx: Tx, bucketId: string, key: string, versionId: string, rule: RemovalRule): Promise<ChainChange | null> {
  const current = (await tx.get(TABLES.objects, bucketId, key))?.value ?? null;
  if (current && versionIdOf(current) === versionId) {
    checkRemovable(current, rule.now, rule.bypass);
    tx.delete(TABLES.objects, bucketId, key);
    const released = await release(tx, bucketId, key, current);
    const promoted = await promoteNewest(tx, bucketId, key);
    countChange(tx, bucketId, current, promoted);
    return { previous: current, released };
  }
  const found = await findNoncurrent(tx, bucketId, key, versionId);
  if (!found) return null;
  checkRemovable(found.version, rule.now, rule.bypass);
  tx.delete(TABLES.versions, bucketId, found.sk);
  if (!found.version.named) tx.delete(TABLES.nullVersions, bucketId, key);
  return { previous: found.version, released: await release(tx, bucketId, key, found.version) };
}

/** A version of the key by the id a protocol shows, current or not, with its bytes when small; null: none. */
export async function readVersion(tx: Tx, bucketId: string, key: string, versionId: string): Promise<AttachedRow<VersionRow> | null> {
  const current = await tx.getAttached(TABLES.objects, bucketId, key);
  if (current && versionIdOf(current.value) === versionId) return current;
  const found = await findNoncurrent(tx, bucketId, key, versionId);
  return found && tx.getAttached(TABLES.versions, bucketId, found.sk);
}

/** A version as stored: its table (current or not), sort key and row with its bytes when small. */
export interface StoredVersion {
  table: Table<VersionRow>;
  sk: string;
  row: AttachedRow<VersionRow>;
}

/** The key's current version (no id given) or the version of that id, where it is stored; null: none. */
export async function locateVersion(tx: Tx, bucketId: string, key: string, versionId: string | undefined): Promise<StoredVersion | null> {
  const current = await tx.getAttached(TABLES.objects, bucketId, key);
  if (versionId === undefined || (current && versionIdOf(current.value) === versionId)) return current && { table: TABLES.objects, sk: key, row: current };
  const found = await findNoncurrent(tx, bucketId, key, versionId);
  const row = found && (await tx.getAttached(TABLES.versions, bucketId, found.sk));
  return found && row ? { table: TABLES.versions, sk: found.sk, row } : null;
}

/** Writes a stored version's row anew in place (its tags, its lock), keeping its bytes. */
export function rewriteVersion(tx: Tx, bucketId: string, stored: StoredVersion, next: VersionRow): void {
  if (stored.row.attachment) tx.putAttached(stored.table, bucketId, stored.sk, next, stored.row.attachment);
  else tx.put(stored.table, bucketId, stored.sk, next);
}

async function findNoncurrent(tx: Tx, bucketId: string, key: string, versionId: string): Promise<{ sk: string; version: VersionRow } | null> {
  const sk = versionId === NULL_VERSION_ID ? (await tx.get(TABLES.nullVersions, bucketId, key))?.value.sk : noncurrentKey(key, versionId);
  if (sk === undefined) return null;
  const row = await tx.get(TABLES.versions, bucketId, sk);
  return row && versionIdOf(row.value) === versionId ? { sk, version: row.value } : null;
}

/** Moves the current version under the key, as the newest non-current one. */
function demote(tx: Tx, bucketId: string, key: string, current: AttachedRow<VersionRow>, now: number): void {
  const version = current.value;
  const sk = noncurrentKey(key, version.id);
  const kept: VersionRow = { ...version, noncurrentSince: now };
  if (current.attachment) tx.putAttached(TABLES.versions, bucketId, sk, kept, current.attachment);
  else tx.put(TABLES.versions, bucketId, sk, kept);
  if (!version.named) tx.put(TABLES.nullVersions, bucketId, key, { sk });
  if (version.deleteAt !== null) tx.delete(TABLES.expiry, ALL, expiryKey(version.deleteAt, bucketId, key));
}

/** Makes the newest non-current version current again; returns it (null: there is none). */
async function promoteNewest(tx: Tx, bucketId: string, key: string): Promise<VersionRow | null> {
  const [newest] = await tx.scan(TABLES.versions, bucketId, { prefix: versionsPrefix(key), limit: 1, reverse: false });
  if (!newest) return null;
  const row = await tx.getAttached(TABLES.versions, bucketId, newest.sk);
  if (!row) return null;
  const version: VersionRow = { ...row.value };
  delete version.noncurrentSince;
  tx.delete(TABLES.versions, bucketId, newest.sk);
  if (!version.named) tx.delete(TABLES.nullVersions, bucketId, key);
  if (row.attachment) tx.putAttached(TABLES.objects, bucketId, key, version, row.attachment);
  else tx.put(TABLES.objects, bucketId, key, version);
  if (version.deleteAt !== null && version.state === 'complete') {
    tx.put(TABLES.expiry, ALL, expiryKey(version.deleteAt, bucketId, key), { bucketId, key, versionId: version.id });
  }
  return version;
}

/** In a suspended bucket, a write or delete replaces the null version even when it is not the current one. */
async function removeNoncurrentNull(tx: Tx, bucketId: string, key: string, now: number): Promise<number> {
  const index = await tx.get(TABLES.nullVersions, bucketId, key);
  if (!index) return 0;
  tx.delete(TABLES.nullVersions, bucketId, key);
  const row = await tx.get(TABLES.versions, bucketId, index.value.sk);
  if (!row) return 0;
  checkRemovable(row.value, now);
  tx.delete(TABLES.versions, bucketId, index.value.sk);
  return release(tx, bucketId, key, row.value);
}

/**
 * Lets go of a version that is gone for good: its legacy inline row, its expiry entry, its blob references
 * (attached bytes go with the row itself). Returns how many blobs lost their last reference.
 */
export async function release(tx: Tx, bucketId: string, key: string, version: VersionRow): Promise<number> {
  if (version.data.kind === 'inline') tx.delete(TABLES.inlineData, bucketId, version.id);
  if (version.deleteAt !== null && version.noncurrentSince === undefined) tx.delete(TABLES.expiry, ALL, expiryKey(version.deleteAt, bucketId, key));
  let released = 0;
  for (const reference of referencesOf(version.data)) if (await unreference(tx, reference)) released++;
  return released;
}

/** One more version points at the blob (or completed upload: see referencesOf); a fresh one starts at one. */
export async function reference(tx: Tx, blobId: string, fresh: boolean): Promise<void> {
  if (fresh) {
    tx.put(TABLES.blobRefs, ALL, blobId, { count: 1 }, { ifVersion: null });
    return;
  }
  const refs = await tx.get(TABLES.blobRefs, ALL, blobId);
  if (!refs) fail('NoSuchKey', 'The specified object does not exist');
  tx.put(TABLES.blobRefs, ALL, blobId, { count: refs.value.count + 1 });
}

/** Drops one reference; the last one queues the blob for removal. True when it did. */
export async function unreference(tx: Tx, blobId: string): Promise<boolean> {
  const refs = await tx.get(TABLES.blobRefs, ALL, blobId);
  if (refs && refs.value.count > 1) {
    tx.put(TABLES.blobRefs, ALL, blobId, { count: refs.value.count - 1 });
    return false;
  }
  tx.delete(TABLES.blobRefs, ALL, blobId);
  tx.put(TABLES.blobGc, ALL, blobId, { queuedAt: Date.now() });
  return true;
}

/**
 * A bucket's totals count its current objects (not delete markers, not versions under them), as a listing shows
 * them; an expired one until it is reaped. Every change is recorded, zero or not: its time is the bucket's last
 * modification.
 */
function countChange(tx: Tx, bucketId: string, before: VersionRow | null, after: VersionRow | null): void {
  const counted = (version: VersionRow | null): version is VersionRow => version !== null && version.state === 'complete';
  const objects = (counted(after) ? 1 : 0) - (counted(before) ? 1 : 0);
  const bytes = (counted(after) ? after.size : 0) - (counted(before) ? before.size : 0);
  addToTotals(tx, bucketId, objects, bytes);
}

/** The current row without its attachment, in the shape `install` reads (an unversioned write never moves bytes). */
async function asAttached(tx: Tx, bucketId: string, key: string): Promise<AttachedRow<VersionRow> | null> {
  const row = await tx.get(TABLES.objects, bucketId, key);
  return row && { ...row, attachment: null };
}
